//! Settings of the transformer, from one builder fed either by the Lambda's
//! environment or by the `cdc-mask` command line, so that both check them
//! the same way and name a wrong one the way it was given
//! (`CDCMASK_KMS_KEY_ID` or `--kms-key-id`).
//!
//! # Layout
//! - this module: the settings and where their keys come from.
//! - `setting`: each setting and its two names (variable and flag).
//! - `builder`: the builder that checks them all at once.
//! - `error`: what a configuration that cannot work is told.
//! - `load`: settings turned into the processor's parts (keys, policy).

mod builder;
mod error;
mod load;
mod setting;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use cdc_mask_core::firehose::Destination;
use cdc_mask_core::keys::CacheLimits;
use cdc_mask_core::policy::GuardMode;
use cdc_mask_core::{Shape, ViewMode};

pub use builder::SettingsBuilder;
pub use error::ConfigError;
pub use load::Components;
pub use setting::{env, Setting};

use crate::aws::Aws;
use crate::policy_cache::PolicyLimits;
use crate::policy_source::PolicyLocation;

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
