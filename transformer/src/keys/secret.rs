//! Secrets from AWS Secrets Manager, read once at cold start: the token key
//! and the deterministic key then never appear in the function's
//! configuration. CloudFormation generates them, encrypted under a customer
//! managed KMS key (`infra/template.yaml`).

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use zeroize::Zeroizing;

use super::KeyError;

/// Length of the deterministic (AES-SIV) key.
const DETERMINISTIC_KEY_LEN: usize = 64;

/// Reads secret `secret_id` (name or ARN): the UTF-8 bytes of its
/// `SecretString`, or its `SecretBinary` as is.
///
/// # Errors
/// [`KeyError::Denied`] if the secret does not exist, cannot be decrypted or
/// may not be read, or holds nothing; [`KeyError::Unavailable`] if Secrets
/// Manager cannot be reached. Messages never hold the secret.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(classify)?;
    // Taken by value so that no copy of the secret is left behind unzeroized.
    let aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput {
        secret_string,
        secret_binary,
        ..
    } = out;
    let bytes = match (secret_string, secret_binary) {
        (Some(text), _) => Zeroizing::new(text.into_bytes()),
        (None, Some(blob)) => Zeroizing::new(blob.into_inner()),
        (None, None) => return Err(KeyError::Denied("the secret holds no value".into())),
    };
    Ok(bytes)
}

/// The 64-byte deterministic key a secret holds: 128 hex digits (what
/// CloudFormation can generate as a string), or the 64 bytes themselves.
///
/// # Errors
/// [`KeyError::Denied`] for anything else (the message never holds it).
pub fn deterministic_key_bytes(secret: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    if secret.len() == DETERMINISTIC_KEY_LEN {
        return Ok(Zeroizing::new(secret.to_vec()));
    }
    let text = secret.trim_ascii();
    if text.len() == 2 * DETERMINISTIC_KEY_LEN && text.iter().all(u8::is_ascii_hexdigit) {
        let hex = |b: u8| match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => b - b'A' + 10,
        };
        return Ok(Zeroizing::new(
            text.chunks(2)
                .map(|pair| hex(pair[0]) << 4 | hex(pair[1]))
                .collect(),
        ));
    }
    Err(KeyError::Denied(format!(
        "the deterministic key must be {DETERMINISTIC_KEY_LEN} bytes, or {} hex digits",
        2 * DETERMINISTIC_KEY_LEN
    )))
}

/// Splits Secrets Manager errors into "will not work" and "try again later".
fn classify<E, R>(err: SdkError<E, R>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = err.code().unwrap_or("").to_owned();
    let message = crate::aws::error_line(&err);
    match code.as_str() {
        "AccessDeniedException"
        | "ResourceNotFoundException"
        | "DecryptionFailure"
        | "InvalidRequestException"
        | "InvalidParameterException" => KeyError::Denied(message),
        _ => KeyError::Unavailable(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_keys_from_hex_or_bytes() {
        let raw = [7u8; 64];
        assert_eq!(deterministic_key_bytes(&raw).unwrap().as_slice(), &raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            deterministic_key_bytes(hex.as_bytes()).unwrap().as_slice(),
            &raw
        );
        assert_eq!(
            deterministic_key_bytes(hex.to_uppercase().as_bytes())
                .unwrap()
                .as_slice(),
            &raw
        );
        for bad in [&b"short"[..], &[b'g'; 128], &[0u8; 63]] {
            let e = deterministic_key_bytes(bad).unwrap_err().to_string();
            assert!(!e.contains("ggg"), "{e}");
        }
    }
}
