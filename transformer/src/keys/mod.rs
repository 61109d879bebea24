//! Where keys come from, at the AWS edge.
//!
//! The write path needs only public keys (data keys are wrapped to them by
//! the core) and the symmetric token and deterministic keys; readers unwrap
//! data keys through an [`Unwrapper`]: the local keyring, or KMS.
//!
//! # Layout
//! - `local`: the local keyring (key files in a private directory).
//! - `kms`: KMS `GetPublicKey`, `DeriveSharedSecret`, `Decrypt`.
//! - `secret`: secrets (token and deterministic keys) from Secrets Manager.
//! - `cache`: unwrapped keys by descriptor, for readers.

mod cache;
mod kms;
mod local;
mod secret;

use std::future::Future;
use std::pin::Pin;

use cdc_mask_core::keys::{DataKey, Purpose};

pub use cache::{ReadError, UnwrapCache};
pub use kms::KmsKeys;
pub use local::LocalKeyring;
pub use secret::{deterministic_key_bytes, read_secret};

/// A boxed future, so that unwrappers can be chosen at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a key could not be had. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key service could not be reached or failed; retrying may work.
    #[error("key service unavailable: {0}")]
    Unavailable(String),
    /// The key service refused (no permission, disabled or unknown key).
    #[error("key service refused: {0}")]
    Denied(String),
    /// The wrapped key is malformed, tampered with, or for another key.
    #[error("cannot unwrap data key: {0}")]
    BadWrappedKey(String),
    /// Local keyring files could not be read or created.
    #[error("keyring: {0}")]
    Keyring(String),
}

/// Unwraps data keys: what a reader needs (KMS or the local keyring).
pub trait Unwrapper: Send + Sync {
    /// Unwraps a data key of `purpose` from its descriptor (a row's `_key`,
    /// a quarantine record's `key`).
    fn unwrap(&self, purpose: Purpose, wrapped: String)
        -> BoxFuture<'_, Result<DataKey, KeyError>>;
    /// How many remote key-service calls this unwrapper has made.
    fn remote_calls(&self) -> u64;
}
