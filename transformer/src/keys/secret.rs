//! The token key from AWS Secrets Manager, read once at cold start. The key
//! then never appears in the function's configuration: CloudFormation can
//! generate the secret itself, encrypted under a customer managed KMS key
//! that only the transformer may use (`infra/template.yaml`).

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use zeroize::Zeroizing;

use super::KeyError;

/// Reads the token key from secret `secret_id` (name or ARN): the UTF-8 bytes
/// of its `SecretString`, or its `SecretBinary` as is.
///
/// # Errors
/// [`KeyError::Denied`] if the secret does not exist, cannot be decrypted or
/// may not be read, or holds nothing; [`KeyError::Unavailable`] if Secrets
/// Manager cannot be reached. Messages never hold the secret.
pub async fn read_token_key(
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
