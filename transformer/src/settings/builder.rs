//! The settings builder: values collected from the environment or from
//! flags (blank counts as unset), then checked all at once into
//! [`Settings`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::firehose::{Destination, IcebergDatabases};
use cdc_mask_core::keys::CacheLimits;
use cdc_mask_core::{Shape, View, ViewMode};

use super::{ConfigError, KeySource, PublicKeySource, SecretSource, Setting, Settings};
use crate::policy_cache::PolicyLimits;
use crate::policy_source::PolicyLocation;

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
