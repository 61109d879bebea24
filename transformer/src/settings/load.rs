//! Settings turned into the parts a processor or a pipeline works with:
//! the public keys data and quarantine keys are wrapped to, the token key,
//! and the policy cache. This is the only place the write path talks to a
//! key service, once, at start: `GetPublicKey` (unless PEM is given) and
//! the token key's secret.

use std::sync::Arc;

use cdc_mask_core::keys::{DataKeyCache, DeterministicKey, Purpose, RecipientKey, TokenKey};
use cdc_mask_core::policy::GuardMode;
use cdc_mask_core::{Policy, SetupError, Transformer, View};
use tokio::sync::OnceCell;

use super::{ConfigError, KeySource, PublicKeySource, SecretSource, Setting, Settings};
use crate::aws::Aws;
use crate::keys::{deterministic_key_bytes, read_secret, KmsKeys, LocalKeyring};
use crate::policy_cache::{BuildViews, PolicyCache, PolicyUnavailable, Views};
use crate::policy_source::{FilePolicy, PolicyLocation, PolicySource, S3Policy};
use crate::processor::Processor;

/// Version of the deterministic key (`det1_`): one key so far; rotating
/// it means a new version and new ciphertexts everywhere.
pub const DETERMINISTIC_KEY_VERSION: u32 = 1;

/// The built parts of the settings.
#[derive(Clone)]
pub struct Components {
    /// The policy and its transformers, refreshed in the background.
    pub policies: Arc<PolicyCache>,
    /// Data keys of the encrypted view.
    pub data_keys: Arc<DataKeyCache>,
    /// Data keys of the quarantine.
    pub quarantine_keys: Arc<DataKeyCache>,
}

impl Components {
    /// Whether a usable policy is in hand: commands check this at start, to
    /// stop with one line rather than seal everything they read.
    ///
    /// # Errors
    /// [`PolicyUnavailable`] naming the policy and the cause.
    pub async fn check_policy(&self) -> Result<(), PolicyUnavailable> {
        self.policies.current().await.map(drop)
    }
}

impl Settings {
    /// Loads the keys and starts the policy cache, then builds the Firehose
    /// processor.
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub async fn processor(&self) -> Result<Processor, ConfigError> {
        Ok(Processor::new(
            self.load().await?,
            self.view,
            self.destination.clone(),
        ))
    }

    /// Loads the keys and starts the policy cache (which never fails: a
    /// policy that cannot be had yet makes batches seal their records).
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting whose key cannot be had: a keyring
    /// that cannot be opened, a KMS key that is not a P-256 `KEY_AGREEMENT`
    /// key or cannot be read, a PEM that is not a P-256 public key, a token
    /// key that cannot be read or is too short.
    pub async fn load(&self) -> Result<Components, ConfigError> {
        // Loaded on first use only: local runs never read AWS configuration.
        let aws = OnceCell::new();
        let aws = || {
            aws.get_or_init(|| async {
                match &self.aws {
                    Some(given) => given.clone(),
                    None => Aws::load(self.endpoint_url.as_deref()).await,
                }
            })
        };
        let (data, quarantine, token, deterministic) = match &self.keys {
            KeySource::Local(dir) => {
                let key_error = |source| ConfigError::Key {
                    name: Setting::Keyring.env(),
                    source,
                };
                let ring = LocalKeyring::open(dir).map_err(key_error)?;
                (
                    ring.recipient(Purpose::Data).map_err(key_error)?,
                    ring.recipient(Purpose::Quarantine).map_err(key_error)?,
                    Some(ring.token_key().map_err(key_error)?),
                    Some(ring.deterministic_key().map_err(key_error)?),
                )
            }
            KeySource::Remote {
                data,
                quarantine,
                token,
                deterministic,
            } => {
                let kms = OnceCell::new();
                let kms =
                    || kms.get_or_init(|| async { KmsKeys::new(aws().await.kms(), None, None) });
                let public =
                    |source: &PublicKeySource, kms_setting: Setting, pem_setting: Setting| {
                        let source = source.clone();
                        async move {
                            match source {
                                PublicKeySource::Kms(id) => {
                                    kms().await.public_key(&id).await.map_err(|source| {
                                        ConfigError::Key {
                                            name: kms_setting.env(),
                                            source,
                                        }
                                    })
                                }
                                PublicKeySource::Pem(pem) => {
                                    RecipientKey::from_pem(&pem).map_err(|e| ConfigError::Invalid {
                                        name: pem_setting.env(),
                                        message: e.to_string(),
                                    })
                                }
                            }
                        }
                    };
                let data = public(data, Setting::KmsKeyId, Setting::DataPublicKey).await?;
                let quarantine = public(
                    quarantine,
                    Setting::QuarantineKmsKeyId,
                    Setting::QuarantinePublicKey,
                )
                .await?;
                let token = match token {
                    None => None,
                    Some(SecretSource::KmsCiphertext(blob)) => {
                        Some(kms().await.decrypt_secret(blob).await.map_err(|source| {
                            ConfigError::Key {
                                name: Setting::TokenKeyCiphertext.env(),
                                source,
                            }
                        })?)
                    }
                    Some(SecretSource::SecretsManager(id)) => Some(
                        read_secret(&aws().await.secrets(), id)
                            .await
                            .map_err(|source| ConfigError::Key {
                                name: Setting::TokenKeySecret.env(),
                                source,
                            })?,
                    ),
                };
                let deterministic = match deterministic {
                    None => None,
                    Some(id) => {
                        let key_error = |source| ConfigError::Key {
                            name: Setting::DeterministicKeySecret.env(),
                            source,
                        };
                        let secret = read_secret(&aws().await.secrets(), id)
                            .await
                            .map_err(key_error)?;
                        Some(deterministic_key_bytes(&secret).map_err(key_error)?)
                    }
                };
                (data, quarantine, token, deterministic)
            }
        };
        let deterministic_key = deterministic
            .map(|bytes| DeterministicKey::new(&bytes, DETERMINISTIC_KEY_VERSION).map(Arc::new))
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                name: Setting::DeterministicKeySecret.env(),
                message: e.to_string(),
            })?;
        let token_key = token
            .map(|bytes| TokenKey::new(&bytes, self.token_key_version))
            .transpose()
            .map_err(|e| ConfigError::Invalid {
                name: Setting::TokenKeySecret.env(),
                message: e.to_string(),
            })?;
        let source: Box<dyn PolicySource> = match &self.policy {
            PolicyLocation::File(path) => Box::new(FilePolicy::new(path.clone())),
            PolicyLocation::S3 { bucket, key } => {
                Box::new(S3Policy::new(aws().await.s3(), bucket.clone(), key.clone()))
            }
        };
        let policies = PolicyCache::start(
            source,
            build_views(self.shape, token_key, deterministic_key, self.guard),
            self.policy_limits,
        )
        .await;
        Ok(Components {
            policies,
            data_keys: Arc::new(DataKeyCache::new(data, Purpose::Data, self.cache)),
            quarantine_keys: Arc::new(DataKeyCache::new(
                quarantine,
                Purpose::Quarantine,
                self.cache,
            )),
        })
    }
}

/// How each policy version becomes the two transformers; `guard` overrides
/// the policy's guard mode.
fn build_views(
    shape: cdc_mask_core::Shape,
    token_key: Option<TokenKey>,
    deterministic_key: Option<Arc<DeterministicKey>>,
    guard: Option<GuardMode>,
) -> Box<BuildViews> {
    Box::new(move |policy: Arc<Policy>| {
        for warning in policy.warnings() {
            tracing::warn!("{warning}");
        }
        let policy = match guard {
            Some(mode) if mode != policy.guard_mode() => {
                let mut policy = Policy::clone(&policy);
                policy.set_guard_mode(mode);
                Arc::new(policy)
            }
            _ => policy,
        };
        let make = |view: View| {
            Transformer::with_keys(
                Arc::clone(&policy),
                view,
                shape,
                token_key.clone(),
                deterministic_key.clone(),
            )
            .map_err(|e| match e {
                SetupError::NoTokenKey(_) => format!(
                    "{e}: set {} (Secrets Manager) or {} (KMS ciphertext), or use a keyring",
                    Setting::TokenKeySecret.env(),
                    Setting::TokenKeyCiphertext.env()
                ),
                SetupError::NoDeterministicKey => format!(
                    "{e}: set {} (Secrets Manager), or use a keyring",
                    Setting::DeterministicKeySecret.env()
                ),
            })
        };
        Ok(Views {
            masked: make(View::Masked)?,
            encrypted: make(View::Encrypted)?,
        })
    })
}
