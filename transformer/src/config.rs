//! Configuration shared by the Lambda (from its environment) and the CLI
//! (from its flags): what to load, and how to build a [`Processor`] from it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use cdc_mask_core::keys::{Purpose, TokenKey};
use cdc_mask_core::{Policy, SetupError, Shape, Transformer, View, ViewMode};

use crate::aws::Aws;
use crate::keys::{read_token_key, CacheLimits, DataKeyCache, KeyProvider, KmsKeys, LocalKeyring};
use crate::policy_cache::{BuildViews, PolicyCache, PolicyLimits, Views};
use crate::policy_source::{FilePolicy, PolicyLocation, PolicySource, S3Policy};
use crate::processor::Processor;

/// Environment variables the Lambda reads (and nothing else of ours).
pub mod env {
    /// `masked`, `encrypted` or `auto` (default: from the delivery stream name).
    pub const VIEW: &str = "CDCMASK_VIEW";
    /// Policy JSON: a path or `s3://bucket/key`.
    pub const POLICY: &str = "CDCMASK_POLICY";
    /// Seconds between background re-checks of the policy (default 60).
    pub const POLICY_TTL: &str = "CDCMASK_POLICY_TTL";
    /// Seconds a policy stays usable without a successful check (default 900).
    pub const POLICY_MAX_AGE: &str = "CDCMASK_POLICY_MAX_AGE";
    /// `flat` (default) or `envelope`.
    pub const SHAPE: &str = "CDCMASK_SHAPE";
    /// Local keyring directory (instead of KMS).
    pub const KEYRING: &str = "CDCMASK_KEYRING";
    /// KMS key for data keys of the encrypted view.
    pub const KMS_KEY_ID: &str = "CDCMASK_KMS_KEY_ID";
    /// KMS key for quarantine data keys (default: `CDCMASK_KMS_KEY_ID`).
    pub const QUARANTINE_KMS_KEY_ID: &str = "CDCMASK_QUARANTINE_KMS_KEY_ID";
    /// Base64 KMS ciphertext of the token (HMAC) key, decrypted at start.
    pub const TOKEN_KEY_CIPHERTEXT: &str = "CDCMASK_TOKEN_KEY_CIPHERTEXT";
    /// Secrets Manager secret (name or ARN) holding the token key, read at
    /// start; the other way to give it (set one of the two, never both).
    pub const TOKEN_KEY_SECRET: &str = "CDCMASK_TOKEN_KEY_SECRET";
    /// Version written into tokens (`tok<N>_`), default 1.
    pub const TOKEN_KEY_VERSION: &str = "CDCMASK_TOKEN_KEY_VERSION";
    /// Oldest a data key may get, in seconds (default 300).
    pub const DATA_KEY_MAX_AGE: &str = "CDCMASK_DATA_KEY_MAX_AGE_SECONDS";
    /// Most records one data key may encrypt (default 1,000,000).
    pub const DATA_KEY_MAX_RECORDS: &str = "CDCMASK_DATA_KEY_MAX_RECORDS";

    /// Every variable above, for documentation and tests.
    pub const ALL: [&str; 13] = [
        VIEW,
        POLICY,
        POLICY_TTL,
        POLICY_MAX_AGE,
        SHAPE,
        KEYRING,
        KMS_KEY_ID,
        QUARANTINE_KMS_KEY_ID,
        TOKEN_KEY_CIPHERTEXT,
        TOKEN_KEY_SECRET,
        TOKEN_KEY_VERSION,
        DATA_KEY_MAX_AGE,
        DATA_KEY_MAX_RECORDS,
    ];
}

/// A configuration that cannot work; the message is one line, for people.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A local keyring directory.
    Local(PathBuf),
    /// AWS KMS.
    Kms {
        /// Key for data keys.
        key_id: String,
        /// Key for quarantine data keys.
        quarantine_key_id: String,
        /// Where the token key comes from, if there is one.
        token_key: Option<TokenKeySource>,
    },
}

/// Where the token (HMAC) key comes from with KMS (a keyring holds its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKeySource {
    /// KMS ciphertext of the key (`aws kms encrypt`), decrypted at start.
    Ciphertext(Vec<u8>),
    /// A Secrets Manager secret id or ARN, read at start: its `SecretString`
    /// bytes (or `SecretBinary`) are the key.
    Secret(String),
}

/// Everything needed to build a [`Processor`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which view to write.
    pub view: ViewMode,
    /// Where the policy is.
    pub policy: PolicyLocation,
    /// How long the policy is trusted.
    pub policy_limits: PolicyLimits,
    /// Output shape.
    pub shape: Shape,
    /// Key source.
    pub keys: KeySource,
    /// Token key version.
    pub token_key_version: u32,
    /// Data-key cache limits.
    pub cache: CacheLimits,
    /// Endpoint for every AWS call (`--endpoint-url`); `AWS_ENDPOINT_URL`
    /// works too.
    pub endpoint_url: Option<String>,
}

impl Settings {
    /// Settings with defaults for everything but the policy, view and keys.
    pub fn new(view: ViewMode, policy: PolicyLocation, keys: KeySource) -> Self {
        Settings {
            view,
            policy,
            policy_limits: PolicyLimits::default(),
            shape: Shape::Flat,
            keys,
            token_key_version: 1,
            cache: CacheLimits::default(),
            endpoint_url: None,
        }
    }

    /// Reads the Lambda's environment through `var`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable that is missing or wrong.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let view = match set(env::VIEW).as_deref().unwrap_or("auto") {
            "auto" => ViewMode::Auto,
            other => ViewMode::Fixed(
                other
                    .parse::<View>()
                    .map_err(|e| ConfigError(format!("{}: {e}", env::VIEW)))?,
            ),
        };
        let policy = set(env::POLICY).ok_or_else(|| {
            ConfigError(format!(
                "{} is not set (path or s3://bucket/key of the policy JSON)",
                env::POLICY
            ))
        })?;
        let policy = PolicyLocation::parse(policy.trim())
            .map_err(|e| ConfigError(format!("{}: {e}", env::POLICY)))?;
        let shape = match set(env::SHAPE) {
            Some(s) => s
                .parse()
                .map_err(|e| ConfigError(format!("{}: {e}", env::SHAPE)))?,
            None => Shape::Flat,
        };
        let token_key = match (set(env::TOKEN_KEY_CIPHERTEXT), set(env::TOKEN_KEY_SECRET)) {
            (None, None) => None,
            (Some(b64), None) => Some(TokenKeySource::Ciphertext(
                BASE64.decode(b64.trim()).map_err(|_| {
                    ConfigError(format!("{} is not base64", env::TOKEN_KEY_CIPHERTEXT))
                })?,
            )),
            (None, Some(id)) => Some(TokenKeySource::Secret(id.trim().to_owned())),
            (Some(_), Some(_)) => {
                return Err(ConfigError(format!(
                    "set only one of {} and {} (both give the token key)",
                    env::TOKEN_KEY_CIPHERTEXT,
                    env::TOKEN_KEY_SECRET
                )))
            }
        };
        let keys = match (set(env::KEYRING), set(env::KMS_KEY_ID)) {
            (Some(_), None) if token_key.is_some() => {
                return Err(ConfigError(format!(
                    "{} has its own token key: unset {} and {}",
                    env::KEYRING,
                    env::TOKEN_KEY_CIPHERTEXT,
                    env::TOKEN_KEY_SECRET
                )))
            }
            (Some(dir), None) => KeySource::Local(PathBuf::from(dir)),
            (None, Some(key_id)) => KeySource::Kms {
                quarantine_key_id: set(env::QUARANTINE_KMS_KEY_ID)
                    .unwrap_or_else(|| key_id.clone()),
                key_id,
                token_key,
            },
            (Some(_), Some(_)) => {
                return Err(ConfigError(format!(
                    "set only one of {} and {}",
                    env::KEYRING,
                    env::KMS_KEY_ID
                )))
            }
            (None, None) => {
                return Err(ConfigError(format!(
                    "set {} (KMS) or {} (local keyring)",
                    env::KMS_KEY_ID,
                    env::KEYRING
                )))
            }
        };
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            set(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| ConfigError(format!("{name} must be a positive integer")))
            })
        };
        let defaults = CacheLimits::default();
        let policy_defaults = PolicyLimits::default();
        Ok(Settings {
            view,
            policy,
            policy_limits: PolicyLimits {
                ttl: Duration::from_secs(number(env::POLICY_TTL, policy_defaults.ttl.as_secs())?),
                max_age: Duration::from_secs(number(
                    env::POLICY_MAX_AGE,
                    policy_defaults.max_age.as_secs(),
                )?),
            },
            shape,
            keys,
            token_key_version: u32::try_from(number(env::TOKEN_KEY_VERSION, 1)?)
                .map_err(|_| ConfigError(format!("{} is too large", env::TOKEN_KEY_VERSION)))?,
            cache: CacheLimits {
                max_age: Duration::from_secs(number(
                    env::DATA_KEY_MAX_AGE,
                    defaults.max_age.as_secs(),
                )?),
                max_records: number(env::DATA_KEY_MAX_RECORDS, defaults.max_records)?,
            },
            endpoint_url: None,
        })
    }

    /// Loads the policy and keys and builds the Firehose processor.
    ///
    /// # Errors
    /// As [`Settings::components`].
    pub async fn build(&self) -> Result<Processor, ConfigError> {
        let parts = self.components().await?;
        Ok(Processor::new(
            parts.policies,
            self.view,
            parts.data_keys,
            parts.quarantine_keys,
        ))
    }

    /// Loads the policy and keys: the policy cache and the key caches (for
    /// callers that drive records themselves, like the router).
    ///
    /// # Errors
    /// [`ConfigError`] if the policy cannot be loaded or used, the keyring
    /// cannot be opened, or the token key is needed and cannot be had.
    pub async fn components(&self) -> Result<Components, ConfigError> {
        // Loaded on first use only: local runs never read AWS configuration.
        let aws = tokio::sync::OnceCell::new();
        let aws = || aws.get_or_init(|| Aws::load(self.endpoint_url.as_deref()));
        let (data, quarantine, token): (Arc<dyn KeyProvider>, Arc<dyn KeyProvider>, _) = match &self
            .keys
        {
            KeySource::Local(dir) => {
                let ring = LocalKeyring::open(dir).map_err(|e| ConfigError(e.to_string()))?;
                let token = Some(
                    ring.token_key_bytes()
                        .map_err(|e| ConfigError(e.to_string()))?
                        .to_vec(),
                );
                let ring: Arc<dyn KeyProvider> = Arc::new(ring);
                (Arc::clone(&ring), ring, token)
            }
            KeySource::Kms {
                key_id,
                quarantine_key_id,
                token_key,
            } => {
                let kms = KmsKeys::new(aws().await.kms(), Some(key_id.clone()));
                let token = match token_key {
                    None => None,
                    Some(TokenKeySource::Ciphertext(blob)) => Some(
                        kms.decrypt_secret(blob)
                            .await
                            .map_err(|e| ConfigError(format!("cannot decrypt the token key: {e}")))?
                            .to_vec(),
                    ),
                    Some(TokenKeySource::Secret(id)) => Some(
                        read_token_key(&aws().await.secrets(), id)
                            .await
                            .map_err(|e| {
                                ConfigError(format!(
                                    "cannot read the token key secret ({}): {e}",
                                    env::TOKEN_KEY_SECRET
                                ))
                            })?
                            .to_vec(),
                    ),
                };
                let data: Arc<dyn KeyProvider> = Arc::new(kms);
                let quarantine: Arc<dyn KeyProvider> = if quarantine_key_id == key_id {
                    Arc::clone(&data)
                } else {
                    Arc::new(KmsKeys::new(
                        aws().await.kms(),
                        Some(quarantine_key_id.clone()),
                    ))
                };
                (data, quarantine, token)
            }
        };
        let token_key = token
            .map(|bytes| {
                let bytes = zeroize::Zeroizing::new(bytes);
                TokenKey::new(&bytes, self.token_key_version)
            })
            .transpose()
            .map_err(|e| ConfigError(e.to_string()))?;
        let shape = self.shape;
        let build: Box<BuildViews> = Box::new(move |policy: Arc<Policy>| {
            let make = |view| {
                Transformer::new(Arc::clone(&policy), view, shape, token_key.clone()).map_err(|e| {
                    match e {
                        SetupError::NoTokenKey(_) => format!(
                            "{e}: set {} (Secrets Manager) or {} (KMS ciphertext), or use a keyring",
                            env::TOKEN_KEY_SECRET,
                            env::TOKEN_KEY_CIPHERTEXT
                        ),
                    }
                })
            };
            Ok(Views {
                masked: make(View::Masked)?,
                encrypted: make(View::Encrypted)?,
            })
        });
        let source: Box<dyn PolicySource> = match &self.policy {
            PolicyLocation::File(path) => Box::new(FilePolicy::new(path.clone())),
            PolicyLocation::S3 { bucket, key } => {
                Box::new(S3Policy::new(aws().await.s3(), bucket.clone(), key.clone()))
            }
        };
        let policies = PolicyCache::load(source, build, self.policy_limits)
            .await
            .map_err(|e| ConfigError(e.to_string()))?;
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

/// The built parts of a configuration.
pub struct Components {
    /// The policy and its transformers, refreshed in the background.
    pub policies: Arc<PolicyCache>,
    /// Data keys of the encrypted view.
    pub data_keys: Arc<DataKeyCache>,
    /// Data keys of the quarantine.
    pub quarantine_keys: Arc<DataKeyCache>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::from_env(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn reads_the_environment() {
        let s = from(&[
            (env::POLICY, "/p.json"),
            (env::KEYRING, "/k"),
            (env::VIEW, "encrypted"),
        ])
        .unwrap();
        assert_eq!(s.view, ViewMode::Fixed(View::Encrypted));
        assert_eq!(s.keys, KeySource::Local("/k".into()));
        assert_eq!(s.cache, CacheLimits::default());
        let s = from(&[(env::POLICY, "/p.json"), (env::KMS_KEY_ID, "alias/x")]).unwrap();
        assert_eq!(s.view, ViewMode::Auto);
        assert!(
            matches!(s.keys, KeySource::Kms { ref quarantine_key_id, .. } if quarantine_key_id == "alias/x")
        );
    }

    #[test]
    fn reads_either_token_key_source() {
        let kms = |extra: (&str, &str)| match from(&[
            (env::POLICY, "/p.json"),
            (env::KMS_KEY_ID, "k"),
            extra,
        ])
        .unwrap()
        .keys
        {
            KeySource::Kms { token_key, .. } => token_key,
            KeySource::Local(_) => unreachable!("KMS was configured"),
        };
        assert_eq!(
            kms((
                env::TOKEN_KEY_SECRET,
                " arn:aws:secretsmanager:eu-west-1:1:secret:t-AbCdEf "
            )),
            Some(TokenKeySource::Secret(
                "arn:aws:secretsmanager:eu-west-1:1:secret:t-AbCdEf".into()
            ))
        );
        assert_eq!(
            kms((env::TOKEN_KEY_CIPHERTEXT, "AQID")),
            Some(TokenKeySource::Ciphertext(vec![1, 2, 3]))
        );
        assert_eq!(kms((env::SHAPE, "flat")), None);
    }

    #[test]
    fn names_what_is_wrong() {
        for (vars, needle) in [
            (vec![(env::KEYRING, "/k")], env::POLICY),
            (vec![(env::POLICY, "/p")], env::KMS_KEY_ID),
            (
                vec![
                    (env::POLICY, "/p"),
                    (env::KEYRING, "/k"),
                    (env::KMS_KEY_ID, "k"),
                ],
                "only one",
            ),
            (
                vec![
                    (env::POLICY, "/p"),
                    (env::KEYRING, "/k"),
                    (env::VIEW, "raw"),
                ],
                env::VIEW,
            ),
            (
                vec![
                    (env::POLICY, "/p"),
                    (env::KEYRING, "/k"),
                    (env::DATA_KEY_MAX_RECORDS, "0"),
                ],
                env::DATA_KEY_MAX_RECORDS,
            ),
            (
                vec![
                    (env::POLICY, "/p"),
                    (env::KMS_KEY_ID, "k"),
                    (env::TOKEN_KEY_CIPHERTEXT, "AAAA"),
                    (env::TOKEN_KEY_SECRET, "dcp/cdc-mask/token-key"),
                ],
                "set only one of CDCMASK_TOKEN_KEY_CIPHERTEXT and CDCMASK_TOKEN_KEY_SECRET",
            ),
            (
                vec![
                    (env::POLICY, "/p"),
                    (env::KEYRING, "/k"),
                    (env::TOKEN_KEY_SECRET, "dcp/cdc-mask/token-key"),
                ],
                "has its own token key",
            ),
        ] {
            let err = from(&vars).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
