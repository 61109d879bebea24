//! Settings of the transformer, from one builder fed either by the Lambda's
//! environment or by the `cdc-mask` command line, so that both check them
//! the same way and name a wrong one the way it was given
//! (`CDCMASK_KMS_KEY_ID` or `--kms-key-id`).
//!
//! # Layout
//! - this module: the settings, their names, the builder and its errors.
//! - `load`: settings turned into the processor's parts (keys, policy).

mod load;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::firehose::{Destination, IcebergDatabases};
use cdc_mask_core::keys::CacheLimits;
use cdc_mask_core::policy::GuardMode;
use cdc_mask_core::{Shape, View, ViewMode};

pub use load::Components;

use crate::aws::Aws;
use crate::keys::KeyError;
use crate::policy_cache::PolicyLimits;
use crate::policy_source::PolicyLocation;

/// One setting, with its environment and command-line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setting {
    /// `masked`, `encrypted` or `auto` (from the delivery stream's name).
    View,
    /// The policy: a path or `s3://bucket/key`.
    Policy,
    /// Seconds between background re-checks of the policy.
    PolicyTtl,
    /// Seconds a policy stays usable without a successful check.
    PolicyMaxAge,
    /// `flat` or `envelope`.
    Shape,
    /// A local keyring directory (instead of KMS or public keys).
    Keyring,
    /// The KMS `KEY_AGREEMENT` key data keys are wrapped to.
    KmsKeyId,
    /// Or its public key, PEM.
    DataPublicKey,
    /// The KMS `KEY_AGREEMENT` key quarantine keys are wrapped to.
    QuarantineKmsKeyId,
    /// Or its public key, PEM.
    QuarantinePublicKey,
    /// Base64 KMS ciphertext of the token key.
    TokenKeyCiphertext,
    /// Secrets Manager secret holding the token key.
    TokenKeySecret,
    /// Version written into tokens.
    TokenKeyVersion,
    /// Oldest a data key may get, in seconds.
    DataKeyMaxAge,
    /// Most records one data key may encrypt.
    DataKeyMaxRecords,
    /// Secrets Manager secret holding the deterministic (AES-SIV) key of
    /// `encrypt-deterministic`: 128 hex digits (or the 64 bytes).
    DeterministicKeySecret,
    /// `s3` (change logs under `masked/`, `encrypted/`) or `iceberg` (rows
    /// routed to Iceberg tables with `otfMetadata`).
    Destination,
    /// Iceberg database of the masked view (default `<schema>_masked`).
    IcebergDatabaseMasked,
    /// Iceberg database of the encrypted view (default
    /// `<schema>_encrypted`).
    IcebergDatabaseEncrypted,
    /// The guard's mode (`off`, `report`, `protect`), overriding the
    /// policy's `guard.mode`.
    Guard,
}

impl Setting {
    /// Every setting of the Lambda's environment.
    pub const ALL: [Setting; 20] = [
        Setting::View,
        Setting::Policy,
        Setting::PolicyTtl,
        Setting::PolicyMaxAge,
        Setting::Shape,
        Setting::Keyring,
        Setting::KmsKeyId,
        Setting::DataPublicKey,
        Setting::QuarantineKmsKeyId,
        Setting::QuarantinePublicKey,
        Setting::TokenKeyCiphertext,
        Setting::TokenKeySecret,
        Setting::TokenKeyVersion,
        Setting::DataKeyMaxAge,
        Setting::DataKeyMaxRecords,
        Setting::DeterministicKeySecret,
        Setting::Destination,
        Setting::IcebergDatabaseMasked,
        Setting::IcebergDatabaseEncrypted,
        Setting::Guard,
    ];

    /// The environment variable (the Lambda's configuration).
    pub const fn env(self) -> &'static str {
        match self {
            Setting::View => "CDCMASK_VIEW",
            Setting::Policy => "CDCMASK_POLICY",
            Setting::PolicyTtl => "CDCMASK_POLICY_TTL",
            Setting::PolicyMaxAge => "CDCMASK_POLICY_MAX_AGE",
            Setting::Shape => "CDCMASK_SHAPE",
            Setting::Keyring => "CDCMASK_KEYRING",
            Setting::KmsKeyId => "CDCMASK_KMS_KEY_ID",
            Setting::DataPublicKey => "CDCMASK_DATA_PUBLIC_KEY",
            Setting::QuarantineKmsKeyId => "CDCMASK_QUARANTINE_KMS_KEY_ID",
            Setting::QuarantinePublicKey => "CDCMASK_QUARANTINE_PUBLIC_KEY",
            Setting::TokenKeyCiphertext => "CDCMASK_TOKEN_KEY_CIPHERTEXT",
            Setting::TokenKeySecret => "CDCMASK_TOKEN_KEY_SECRET",
            Setting::TokenKeyVersion => "CDCMASK_TOKEN_KEY_VERSION",
            Setting::DataKeyMaxAge => "CDCMASK_DATA_KEY_MAX_AGE_SECONDS",
            Setting::DataKeyMaxRecords => "CDCMASK_DATA_KEY_MAX_RECORDS",
            Setting::DeterministicKeySecret => "CDCMASK_DETERMINISTIC_KEY_SECRET",
            Setting::Destination => "CDCMASK_DESTINATION",
            Setting::IcebergDatabaseMasked => "CDCMASK_ICEBERG_DATABASE_MASKED",
            Setting::IcebergDatabaseEncrypted => "CDCMASK_ICEBERG_DATABASE_ENCRYPTED",
            Setting::Guard => "CDCMASK_GUARD",
        }
    }

    /// The command-line flag (`cdc-mask`).
    pub const fn flag(self) -> &'static str {
        match self {
            Setting::View => "--view",
            Setting::Policy => "--policy",
            Setting::PolicyTtl => "--policy-ttl",
            Setting::PolicyMaxAge => "--policy-max-age",
            Setting::Shape => "--shape",
            Setting::Keyring => "--keyring",
            Setting::KmsKeyId => "--kms-key-id",
            Setting::DataPublicKey => "--data-public-key",
            Setting::QuarantineKmsKeyId => "--quarantine-kms-key-id",
            Setting::QuarantinePublicKey => "--quarantine-public-key",
            Setting::TokenKeyCiphertext => "--token-key-ciphertext",
            Setting::TokenKeySecret => "--token-key-secret",
            Setting::TokenKeyVersion => "--token-key-version",
            Setting::DataKeyMaxAge => "--data-key-max-age",
            Setting::DataKeyMaxRecords => "--data-key-max-records",
            Setting::DeterministicKeySecret => "--deterministic-key-secret",
            Setting::Destination => "--destination",
            Setting::IcebergDatabaseMasked => "--iceberg-database-masked",
            Setting::IcebergDatabaseEncrypted => "--iceberg-database-encrypted",
            Setting::Guard => "--guard",
        }
    }
}

/// Environment variables the Lambda reads (and nothing else of ours).
pub mod env {
    use super::Setting;

    /// Every variable, for documentation and tests.
    pub const ALL: [&str; Setting::ALL.len()] = {
        let mut names = [""; Setting::ALL.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = Setting::ALL[i].env();
            i += 1;
        }
        names
    };
}

/// A configuration that cannot work. Each names the setting, never a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is missing.
    #[error("{name} is not set ({what})")]
    Missing {
        /// The setting's name as given (variable or flag).
        name: &'static str,
        /// What it should hold.
        what: &'static str,
    },
    /// A setting's value is wrong.
    #[error("{name}: {message}")]
    Invalid {
        /// The setting's name as given.
        name: &'static str,
        /// What is wrong.
        message: String,
    },
    /// No key source at all.
    #[error("no keys: set {kms} (a KMS KEY_AGREEMENT key), {pem} (its public key, PEM) or {keyring} (a local keyring)")]
    NoKeys {
        /// The KMS key setting's name as given.
        kms: &'static str,
        /// The PEM setting's name as given.
        pem: &'static str,
        /// The keyring setting's name as given.
        keyring: &'static str,
    },
    /// Two settings that exclude each other are both given.
    #[error("set only one of {0} and {1}")]
    Conflict(&'static str, &'static str),
    /// A key named by a setting cannot be had (keyring, KMS public key,
    /// secret).
    #[error("{name}: {source}")]
    Key {
        /// The setting's name as given.
        name: &'static str,
        /// What failed.
        source: KeyError,
    },
}

/// Where a public key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeySource {
    /// A KMS `KEY_AGREEMENT` key: `GetPublicKey` once at start.
    Kms(String),
    /// A PEM `PUBLIC KEY` block: no KMS call at all.
    Pem(String),
}

/// Where a symmetric key (the token key) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// KMS ciphertext (`aws kms encrypt`), decrypted at start.
    KmsCiphertext(Vec<u8>),
    /// A Secrets Manager secret id or ARN, read at start: its
    /// `SecretString` bytes (or `SecretBinary`).
    SecretsManager(String),
}

/// Where keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A local keyring directory (both public keys, the token key and the
    /// deterministic key).
    Local(PathBuf),
    /// Public keys from KMS or PEM, the token and deterministic keys from
    /// secrets.
    Remote {
        /// Data keys of the encrypted view are wrapped to this key.
        data: PublicKeySource,
        /// Quarantine keys are wrapped to this key.
        quarantine: PublicKeySource,
        /// The token key, if the policy tokenises.
        token: Option<SecretSource>,
        /// The Secrets Manager secret (id or ARN) holding the deterministic
        /// key, if the policy encrypts deterministically.
        deterministic: Option<String>,
    },
}

/// Everything needed to build a processor or a pipeline.
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
    /// Where the delivery stream delivers (`s3` or `iceberg`).
    pub destination: Destination,
    /// Data-key cache limits.
    pub cache: CacheLimits,
    /// The guard's mode, when it overrides the policy's.
    pub guard: Option<GuardMode>,
    /// Endpoint for every AWS call (`--endpoint-url`); `AWS_ENDPOINT_URL`
    /// works too.
    pub endpoint_url: Option<String>,
    /// The AWS configuration to use instead of loading the standard
    /// environment (tests point it at a local server).
    pub aws: Option<Aws>,
}

/// Collects setting values, then checks them all at once.
#[derive(Debug, Clone, Default)]
pub struct SettingsBuilder {
    values: HashMap<Setting, String>,
    /// Name settings by their flags (else by their variables) in errors.
    flags: bool,
    endpoint_url: Option<String>,
}

impl SettingsBuilder {
    /// A builder fed from the environment through `var` (blank values count
    /// as unset); errors name the variables.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let values = Setting::ALL
            .into_iter()
            .filter_map(|s| var(s.env()).map(|v| (s, v)))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        SettingsBuilder {
            values,
            flags: false,
            endpoint_url: None,
        }
    }

    /// An empty builder for command-line values; errors name the flags.
    pub fn from_flags() -> Self {
        SettingsBuilder {
            flags: true,
            ..SettingsBuilder::default()
        }
    }

    /// Sets a value (a blank one is ignored).
    pub fn set(&mut self, setting: Setting, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        if !value.trim().is_empty() {
            self.values.insert(setting, value);
        }
        self
    }

    /// Sets a value if there is one.
    pub fn set_opt(&mut self, setting: Setting, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(value) = value {
            self.set(setting, value);
        }
        self
    }

    /// Sends every AWS call to `url` (the `--endpoint-url` flag).
    pub fn endpoint_url(&mut self, url: Option<String>) -> &mut Self {
        self.endpoint_url = url;
        self
    }

    fn name(&self, setting: Setting) -> &'static str {
        if self.flags {
            setting.flag()
        } else {
            setting.env()
        }
    }

    fn get(&self, setting: Setting) -> Option<&str> {
        self.values.get(&setting).map(|v| v.trim())
    }

    fn invalid(&self, setting: Setting, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            name: self.name(setting),
            message: message.into(),
        }
    }

    fn number(&self, setting: Setting, default: u64) -> Result<u64, ConfigError> {
        self.get(setting).map_or(Ok(default), |v| {
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| self.invalid(setting, "must be a positive integer"))
        })
    }

    fn public_key(
        &self,
        kms: Setting,
        pem: Setting,
    ) -> Result<Option<PublicKeySource>, ConfigError> {
        match (self.get(kms), self.values.get(&pem)) {
            (Some(_), Some(_)) => Err(ConfigError::Conflict(self.name(kms), self.name(pem))),
            (Some(id), None) => Ok(Some(PublicKeySource::Kms(id.to_owned()))),
            (None, Some(text)) => Ok(Some(PublicKeySource::Pem(text.clone()))),
            (None, None) => Ok(None),
        }
    }

    /// Checks every value and builds the settings.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting that is missing or wrong.
    pub fn build(&self) -> Result<Settings, ConfigError> {
        let view = match self.get(Setting::View).unwrap_or("auto") {
            "auto" => ViewMode::Auto,
            "quarantine" => ViewMode::Quarantine,
            other => ViewMode::Fixed(
                other
                    .parse::<View>()
                    .map_err(|e| self.invalid(Setting::View, e))?,
            ),
        };
        let policy = self.get(Setting::Policy).ok_or(ConfigError::Missing {
            name: self.name(Setting::Policy),
            what: "path or s3://bucket/key of the policy JSON",
        })?;
        let policy = PolicyLocation::parse(policy).map_err(|e| self.invalid(Setting::Policy, e))?;
        let shape = match self.get(Setting::Shape) {
            Some(s) => s.parse().map_err(|e| self.invalid(Setting::Shape, e))?,
            None => Shape::Flat,
        };
        let keys = self.key_source()?;
        let destination = self.destination(view, shape)?;
        let guard = self
            .get(Setting::Guard)
            .map(|mode| mode.parse().map_err(|e| self.invalid(Setting::Guard, e)))
            .transpose()?;
        let policy_defaults = PolicyLimits::default();
        let cache_defaults = CacheLimits::default();
        Ok(Settings {
            view,
            policy,
            policy_limits: PolicyLimits {
                ttl: Duration::from_secs(
                    self.number(Setting::PolicyTtl, policy_defaults.ttl.as_secs())?,
                ),
                max_age: Duration::from_secs(
                    self.number(Setting::PolicyMaxAge, policy_defaults.max_age.as_secs())?,
                ),
                wait: policy_defaults.wait,
            },
            shape,
            keys,
            destination,
            token_key_version: u32::try_from(self.number(Setting::TokenKeyVersion, 1)?)
                .map_err(|_| self.invalid(Setting::TokenKeyVersion, "is too large"))?,
            cache: CacheLimits {
                max_age: Duration::from_secs(
                    self.number(Setting::DataKeyMaxAge, cache_defaults.max_age.as_secs())?,
                ),
                max_records: self.number(Setting::DataKeyMaxRecords, cache_defaults.max_records)?,
            },
            guard,
            endpoint_url: self.endpoint_url.clone(),
            aws: None,
        })
    }

    /// The destination, checked against the view mode and the shape.
    fn destination(&self, view: ViewMode, shape: Shape) -> Result<Destination, ConfigError> {
        let database = |setting: Setting| {
            self.get(setting)
                .map(|name| {
                    let ok = !name.is_empty()
                        && name.len() <= 255
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    ok.then(|| name.to_owned()).ok_or_else(|| {
                        self.invalid(setting, "a Glue database name: [a-z0-9_], 1 to 255")
                    })
                })
                .transpose()
        };
        let destination = match self.get(Setting::Destination).unwrap_or("s3") {
            "s3" => Destination::S3,
            "iceberg" => Destination::Iceberg(IcebergDatabases {
                masked: database(Setting::IcebergDatabaseMasked)?,
                encrypted: database(Setting::IcebergDatabaseEncrypted)?,
            }),
            _ => return Err(self.invalid(Setting::Destination, "expected s3 or iceberg")),
        };
        match (&destination, view, shape) {
            (Destination::S3, ViewMode::Quarantine, _) => Err(self.invalid(
                Setting::View,
                format!(
                    "quarantine is the third stream of {}=iceberg",
                    self.name(Setting::Destination)
                ),
            )),
            // Iceberg columns are the row's first-level members.
            (Destination::Iceberg(_), _, Shape::Envelope) => Err(self.invalid(
                Setting::Shape,
                format!(
                    "{}=iceberg needs the flat shape",
                    self.name(Setting::Destination)
                ),
            )),
            _ => Ok(destination),
        }
    }

    fn key_source(&self) -> Result<KeySource, ConfigError> {
        let token = match (
            self.get(Setting::TokenKeyCiphertext),
            self.get(Setting::TokenKeySecret),
        ) {
            (None, None) => None,
            (Some(b64), None) => {
                Some(SecretSource::KmsCiphertext(BASE64.decode(b64).map_err(
                    |_| self.invalid(Setting::TokenKeyCiphertext, "is not base64"),
                )?))
            }
            (None, Some(id)) => Some(SecretSource::SecretsManager(id.to_owned())),
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict(
                    self.name(Setting::TokenKeyCiphertext),
                    self.name(Setting::TokenKeySecret),
                ))
            }
        };
        let deterministic = self.get(Setting::DeterministicKeySecret).map(str::to_owned);
        let data = self.public_key(Setting::KmsKeyId, Setting::DataPublicKey)?;
        let quarantine =
            self.public_key(Setting::QuarantineKmsKeyId, Setting::QuarantinePublicKey)?;
        let Some(dir) = self.get(Setting::Keyring) else {
            let data = data.ok_or(ConfigError::NoKeys {
                kms: self.name(Setting::KmsKeyId),
                pem: self.name(Setting::DataPublicKey),
                keyring: self.name(Setting::Keyring),
            })?;
            let quarantine = quarantine.ok_or(ConfigError::Missing {
                name: self.name(Setting::QuarantineKmsKeyId),
                what: "the KMS KEY_AGREEMENT key quarantined records are sealed to (admins only); or its PEM",
            })?;
            return Ok(KeySource::Remote {
                data,
                quarantine,
                token,
                deterministic,
            });
        };
        let given = [
            (data.is_some(), Setting::KmsKeyId),
            (quarantine.is_some(), Setting::QuarantineKmsKeyId),
            (token.is_some(), Setting::TokenKeySecret),
            (deterministic.is_some(), Setting::DeterministicKeySecret),
        ];
        if let Some((_, other)) = given.into_iter().find(|(set, _)| *set) {
            return Err(ConfigError::Conflict(
                self.name(Setting::Keyring),
                self.name(other),
            ));
        }
        Ok(KeySource::Local(PathBuf::from(dir)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        SettingsBuilder::from_env(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .build()
    }

    const POLICY: &str = "CDCMASK_POLICY";

    #[test]
    fn reads_the_environment() {
        let s = from(&[
            (POLICY, "/p.json"),
            ("CDCMASK_KEYRING", "/k"),
            ("CDCMASK_VIEW", "encrypted"),
        ])
        .unwrap();
        assert_eq!(s.view, ViewMode::Fixed(View::Encrypted));
        assert_eq!(s.keys, KeySource::Local("/k".into()));
        assert_eq!(s.cache, CacheLimits::default());
        assert_eq!(s.guard, None);
        let s = from(&[
            (POLICY, "/p.json"),
            ("CDCMASK_KEYRING", "/k"),
            ("CDCMASK_GUARD", "report"),
        ])
        .unwrap();
        assert_eq!(s.guard, Some(GuardMode::Report));
        let s = from(&[
            (POLICY, "/p.json"),
            ("CDCMASK_KMS_KEY_ID", "alias/data"),
            (
                "CDCMASK_QUARANTINE_PUBLIC_KEY",
                "-----BEGIN PUBLIC KEY-----",
            ),
            (
                "CDCMASK_TOKEN_KEY_SECRET",
                " arn:aws:secretsmanager:eu-west-1:1:secret:t ",
            ),
        ])
        .unwrap();
        assert_eq!(s.view, ViewMode::Auto);
        assert_eq!(
            s.keys,
            KeySource::Remote {
                data: PublicKeySource::Kms("alias/data".into()),
                quarantine: PublicKeySource::Pem("-----BEGIN PUBLIC KEY-----".into()),
                token: Some(SecretSource::SecretsManager(
                    "arn:aws:secretsmanager:eu-west-1:1:secret:t".into()
                )),
                deterministic: None,
            }
        );
        assert_eq!(s.destination, Destination::S3);
        let s = from(&[
            (POLICY, "/p.json"),
            ("CDCMASK_KEYRING", "/k"),
            ("CDCMASK_VIEW", "quarantine"),
            ("CDCMASK_DESTINATION", "iceberg"),
            ("CDCMASK_ICEBERG_DATABASE_MASKED", "dataset_masked"),
        ])
        .unwrap();
        assert_eq!(s.view, ViewMode::Quarantine);
        assert_eq!(
            s.destination,
            Destination::Iceberg(IcebergDatabases {
                masked: Some("dataset_masked".into()),
                encrypted: None,
            })
        );
        let s = from(&[
            (POLICY, "/p.json"),
            ("CDCMASK_KMS_KEY_ID", "k"),
            ("CDCMASK_QUARANTINE_KMS_KEY_ID", "q"),
            ("CDCMASK_DETERMINISTIC_KEY_SECRET", "det"),
        ])
        .unwrap();
        let KeySource::Remote { deterministic, .. } = s.keys else {
            panic!("remote keys")
        };
        assert_eq!(deterministic.as_deref(), Some("det"));
    }

    #[test]
    fn names_what_is_wrong_the_way_it_was_given() {
        for (vars, needle) in [
            (vec![("CDCMASK_KEYRING", "/k")], "CDCMASK_POLICY is not set"),
            (vec![(POLICY, "/p")], "no keys: set CDCMASK_KMS_KEY_ID"),
            (
                vec![(POLICY, "/p"), ("CDCMASK_KMS_KEY_ID", "k")],
                "CDCMASK_QUARANTINE_KMS_KEY_ID is not set",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_KMS_KEY_ID", "k"),
                ],
                "set only one of CDCMASK_KEYRING and CDCMASK_KMS_KEY_ID",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_VIEW", "raw"),
                ],
                "CDCMASK_VIEW: unknown view",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_DATA_KEY_MAX_RECORDS", "0"),
                ],
                "CDCMASK_DATA_KEY_MAX_RECORDS: must be a positive integer",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_GUARD", "loud"),
                ],
                "CDCMASK_GUARD: unknown guard mode",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KMS_KEY_ID", "k"),
                    ("CDCMASK_DATA_PUBLIC_KEY", "pem"),
                ],
                "set only one of CDCMASK_KMS_KEY_ID and CDCMASK_DATA_PUBLIC_KEY",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_TOKEN_KEY_SECRET", "t"),
                ],
                "set only one of CDCMASK_KEYRING and CDCMASK_TOKEN_KEY_SECRET",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_DETERMINISTIC_KEY_SECRET", "d"),
                ],
                "set only one of CDCMASK_KEYRING and CDCMASK_DETERMINISTIC_KEY_SECRET",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_DESTINATION", "delta"),
                ],
                "CDCMASK_DESTINATION: expected s3 or iceberg",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_VIEW", "quarantine"),
                ],
                "CDCMASK_VIEW: quarantine is the third stream of CDCMASK_DESTINATION=iceberg",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_DESTINATION", "iceberg"),
                    ("CDCMASK_SHAPE", "envelope"),
                ],
                "CDCMASK_SHAPE: CDCMASK_DESTINATION=iceberg needs the flat shape",
            ),
            (
                vec![
                    (POLICY, "/p"),
                    ("CDCMASK_KEYRING", "/k"),
                    ("CDCMASK_DESTINATION", "iceberg"),
                    ("CDCMASK_ICEBERG_DATABASE_ENCRYPTED", "Dataset-Encrypted"),
                ],
                "CDCMASK_ICEBERG_DATABASE_ENCRYPTED: a Glue database name",
            ),
        ] {
            let err = from(&vars).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let mut flags = SettingsBuilder::from_flags();
        flags.set(Setting::Policy, "/p");
        let err = flags.build().unwrap_err().to_string();
        assert!(err.starts_with("no keys: set --kms-key-id"), "{err}");
        assert!(err.contains("--keyring"), "{err}");
    }

    #[test]
    fn every_setting_has_distinct_names() {
        let envs: std::collections::HashSet<_> = env::ALL.iter().collect();
        let flags: std::collections::HashSet<_> = Setting::ALL.iter().map(|s| s.flag()).collect();
        assert_eq!(envs.len(), Setting::ALL.len());
        assert_eq!(flags.len(), Setting::ALL.len());
        assert!(env::ALL.iter().all(|e| e.starts_with("CDCMASK_")));
    }
}
