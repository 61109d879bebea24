//! AWS KMS: the public halves of the `KEY_AGREEMENT` keys data keys are
//! wrapped to (`GetPublicKey`, once), and, for readers, unwrapping through
//! `DeriveSharedSecret` (or `Decrypt` for format version 1 `kms:` keys).
//!
//! A reader always names the KMS key it uses: a wrapped key's descriptor
//! only carries a key id (a hash of the public key) that must match the
//! configured key, so that a blob can never pick a key of someone else's
//! account. The encryption context of version 1 keys names only the
//! purpose (it is written to CloudTrail in clear).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyAgreementAlgorithmSpec, KeyUsageType};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::keys::{DataKey, Purpose, RecipientKey, WrappedKey};
use zeroize::{Zeroize as _, Zeroizing};

use super::{BoxFuture, KeyError, Unwrapper};

/// Descriptor prefix of format version 1 KMS-wrapped data keys:
/// `kms:<base64 CiphertextBlob>`.
const LEGACY_PREFIX: &str = "kms:";

/// Encryption-context key under which version 1 keys bound their purpose.
const CONTEXT_KEY: &str = "cdc-mask:purpose";

/// KMS as a key service.
pub struct KmsKeys {
    client: aws_sdk_kms::Client,
    /// The configured key of each purpose (id, ARN or alias).
    key_ids: [Option<String>; 2],
    /// Public keys fetched so far, by key id as configured.
    public_keys: Mutex<HashMap<String, RecipientKey>>,
    calls: AtomicU64,
}

impl KmsKeys {
    /// KMS through `client`, with the keys of the data and quarantine
    /// purposes (each needed only to read data of that purpose).
    pub fn new(
        client: aws_sdk_kms::Client,
        data_key_id: Option<String>,
        quarantine_key_id: Option<String>,
    ) -> Self {
        KmsKeys {
            client,
            key_ids: [data_key_id, quarantine_key_id],
            public_keys: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }
    }

    /// The public key of the `KEY_AGREEMENT` key `key_id` (`GetPublicKey`,
    /// once per key).
    ///
    /// # Errors
    /// [`KeyError`] if KMS refuses or cannot be reached, or the key is not a
    /// P-256 `KEY_AGREEMENT` key.
    pub async fn public_key(&self, key_id: &str) -> Result<RecipientKey, KeyError> {
        if let Some(known) = self.lock().get(key_id) {
            return Ok(known.clone());
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(classify)?;
        if out.key_usage() != Some(&KeyUsageType::KeyAgreement) {
            return Err(KeyError::Denied(format!(
                "KMS key {key_id} is not a KEY_AGREEMENT key (key spec ECC_NIST_P256, usage KEY_AGREEMENT)"
            )));
        }
        let der = out
            .public_key()
            .ok_or_else(|| KeyError::Unavailable("GetPublicKey returned no key".into()))?;
        let recipient = RecipientKey::from_spki_der(der.as_ref()).map_err(|e| {
            KeyError::Denied(format!(
                "KMS key {key_id}: {e} (use key spec ECC_NIST_P256)"
            ))
        })?;
        self.lock().insert(key_id.to_owned(), recipient.clone());
        Ok(recipient)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RecipientKey>> {
        self.public_keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key_id(&self, purpose: Purpose) -> Result<&str, KeyError> {
        let index = match purpose {
            Purpose::Data => 0,
            Purpose::Quarantine => 1,
        };
        self.key_ids[index].as_deref().ok_or_else(|| {
            KeyError::Denied(format!(
                "no KMS key configured for {} keys (give its key id: a wrapped key never chooses the key)",
                purpose.as_str()
            ))
        })
    }

    async fn unwrap_now(&self, purpose: Purpose, wrapped: String) -> Result<DataKey, KeyError> {
        let key_id = self.key_id(purpose)?;
        if let Some(blob) = wrapped.strip_prefix(LEGACY_PREFIX) {
            return self.unwrap_legacy(purpose, key_id, blob, &wrapped).await;
        }
        let parsed =
            WrappedKey::parse(&wrapped).map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        let recipient = self.public_key(key_id).await?;
        parsed
            .check_recipient(&recipient)
            .map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .derive_shared_secret()
            .key_id(key_id)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new(parsed.ephemeral_spki_der()))
            .send()
            .await
            .map_err(classify)?;
        let mut secret = out
            .shared_secret
            .ok_or_else(|| KeyError::Unavailable("DeriveSharedSecret returned no secret".into()))?
            .into_inner();
        let plaintext = parsed.unwrap_with_shared_secret(&recipient, purpose, &secret);
        secret.zeroize();
        let plaintext = plaintext.map_err(|e| KeyError::BadWrappedKey(e.to_string()))?;
        Ok(DataKey::shared(&plaintext, wrapped))
    }

    async fn unwrap_legacy(
        &self,
        purpose: Purpose,
        key_id: &str,
        blob: &str,
        wrapped: &str,
    ) -> Result<DataKey, KeyError> {
        let blob = BASE64
            .decode(blob)
            .map_err(|_| KeyError::BadWrappedKey("not a KMS-wrapped key".into()))?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let out = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(CONTEXT_KEY, purpose.as_str())
            .send()
            .await
            .map_err(classify)?;
        let mut plaintext = out
            .plaintext
            .ok_or_else(|| KeyError::Unavailable("Decrypt returned no plaintext".into()))?
            .into_inner();
        let key: Result<[u8; 32], _> = plaintext.as_slice().try_into();
        plaintext.zeroize();
        let key = key.map_err(|_| KeyError::BadWrappedKey("data key is not 32 bytes".into()))?;
        Ok(DataKey::shared(&Zeroizing::new(key), wrapped.to_owned()))
    }

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
        | "IncorrectKeyException"
        | "UnsupportedOperationException" => KeyError::Denied(message),
        "InvalidCiphertextException" => KeyError::BadWrappedKey(message),
        _ => KeyError::Unavailable(message),
    }
}

impl Unwrapper for KmsKeys {
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
