//! A configuration that cannot work, named the way it was given.

use crate::keys::KeyError;

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
