//! AWS KMS as the key provider: `GenerateDataKey` for new data keys,
//! `Decrypt` to unwrap them. The encryption context names only the purpose
//! (it is written to CloudTrail in clear, so it must never hold data).

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use zeroize::{Zeroize as _, Zeroizing};

use cdc_mask_core::keys::{DataKey, Purpose};

use super::{BoxFuture, KeyError, KeyProvider};

/// Descriptor prefix of KMS-wrapped data keys: `kms:<base64 CiphertextBlob>`.
pub const KMS_PREFIX: &str = "kms:";

/// Encryption-context key under which the purpose is bound.
pub const CONTEXT_KEY: &str = "cdc-mask:purpose";

/// KMS-backed data keys.
pub struct KmsKeys {
    client: aws_sdk_kms::Client,
    key_id: Option<String>,
    calls: AtomicU64,
}

impl KmsKeys {
    /// A provider that generates data keys under `key_id` (required to
    /// encrypt; decrypting works without it, KMS reads the key from the blob).
    pub fn new(client: aws_sdk_kms::Client, key_id: Option<String>) -> Self {
        KmsKeys {
            client,
            key_id,
            calls: AtomicU64::new(0),
        }
    }

    async fn generate_now(&self, purpose: Purpose) -> Result<DataKey, KeyError> {
        let key_id = self
            .key_id
            .as_deref()
            .ok_or_else(|| KeyError::Denied("no KMS key id configured for encryption".into()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, purpose.as_str())
            .send()
            .await
            .map_err(classify)?;
        let blob = out.ciphertext_blob().ok_or_else(|| {
            KeyError::Unavailable("GenerateDataKey returned no ciphertext".into())
        })?;
        let wrapped = format!("{KMS_PREFIX}{}", BASE64.encode(blob.as_ref()));
        let mut plaintext = out
            .plaintext
            .ok_or_else(|| KeyError::Unavailable("GenerateDataKey returned no plaintext".into()))?
            .into_inner();
        let key = to_key(&plaintext);
        plaintext.zeroize();
        Ok(DataKey::new(&key?, wrapped))
    }

    async fn unwrap_now(&self, purpose: Purpose, wrapped: String) -> Result<DataKey, KeyError> {
        let blob = wrapped
            .strip_prefix(KMS_PREFIX)
            .and_then(|b| BASE64.decode(b).ok())
            .ok_or_else(|| KeyError::BadWrappedKey("not a KMS-wrapped key".into()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, purpose.as_str());
        if let Some(key_id) = &self.key_id {
            request = request.key_id(key_id);
        }
        let out = request.send().await.map_err(classify)?;
        let mut plaintext = out
            .plaintext
            .ok_or_else(|| KeyError::Unavailable("Decrypt returned no plaintext".into()))?
            .into_inner();
        let key = to_key(&plaintext);
        plaintext.zeroize();
        Ok(DataKey::shared(&key?, wrapped))
    }
}

impl KmsKeys {
    /// Decrypts a small secret that an operator encrypted with `aws kms
    /// encrypt` (no encryption context), such as the token key.
    ///
    /// # Errors
    /// [`KeyError`] if KMS refuses or cannot be reached.
    pub async fn decrypt_secret(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .send()
            .await
            .map_err(classify)?;
        let plaintext = out
            .plaintext
            .ok_or_else(|| KeyError::Unavailable("Decrypt returned no plaintext".into()))?
            .into_inner();
        Ok(Zeroizing::new(plaintext))
    }
}

fn to_key(bytes: &[u8]) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|_| KeyError::BadWrappedKey("data key is not 32 bytes".into()))?;
    Ok(Zeroizing::new(key))
}

/// Splits KMS errors into "try again later" and "will not work".
fn classify<E, R>(err: SdkError<E, R>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = err.code().unwrap_or("").to_owned();
    let message = crate::aws::error_line(&err);
    match code.as_str() {
        "AccessDeniedException"
        | "NotFoundException"
        | "DisabledException"
        | "KMSInvalidStateException"
        | "InvalidKeyUsageException"
        | "IncorrectKeyException" => KeyError::Denied(message),
        "InvalidCiphertextException" => KeyError::BadWrappedKey(message),
        _ => KeyError::Unavailable(message),
    }
}

impl KeyProvider for KmsKeys {
    fn generate(&self, purpose: Purpose) -> BoxFuture<'_, Result<DataKey, KeyError>> {
        Box::pin(self.generate_now(purpose))
    }

    fn unwrap(
        &self,
        purpose: Purpose,
        wrapped: String,
    ) -> BoxFuture<'_, Result<DataKey, KeyError>> {
        Box::pin(self.unwrap_now(purpose, wrapped))
    }

    fn remote_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}
