//! The inverse of the encrypted view and of the quarantine, for whoever
//! holds the data keys. Parsing a row or quarantine record tells which
//! wrapped key it needs; unwrapping that key is the caller's business (KMS
//! or a keyring), so that this stays pure.
//!
//! # Layout
//! - `row`: a row of the encrypted view, its values opened in place.
//! - `quarantine`: a quarantine line, unsealed to the original bytes.
//!
//! Here, the error and the reader of deterministic values.

use std::borrow::Cow;
use std::collections::HashMap;

use zeroize::Zeroizing;

use crate::cipher::{self, Place};
use crate::json::{self, Kind, Member};
use crate::keys::{det, DataKey, DeterministicKey, OpenError};
use crate::policy::{View, COLLISION_SUFFIX};

mod quarantine;
mod row;

pub use quarantine::{QuarantineRecord, Unsealed};
pub use row::EncryptedRow;

/// Why a row could not be decrypted. Names columns, never values.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The line is not a JSON object.
    #[error("not a JSON object")]
    NotJson,
    /// The row holds encrypted values but no `_key`.
    #[error("encrypted values but no _key field")]
    NoKey,
    /// The row holds deterministic values but no deterministic key was
    /// given.
    #[error("column {column}: deterministic value but no deterministic key")]
    NoDeterministicKey {
        /// The column.
        column: String,
    },
    /// A `_quarantine` record given to row decryption, or the reverse.
    #[error("{0}")]
    WrongKind(&'static str),
    /// A value written by a newer format version.
    #[error("column {column}: unsupported ciphertext version")]
    UnsupportedVersion {
        /// The column.
        column: String,
    },
    /// A value that does not decrypt: wrong key, moved to another column or
    /// table, or tampered with.
    #[error("column {column}: {error}")]
    Open {
        /// The column.
        column: String,
        /// What failed.
        error: OpenError,
    },
}

/// What reads `det<version>_` values: the deterministic key and the join
/// domain of each column (default `""`), by the column's original name as
/// `column`, `table.column` or `schema.table.column` (the most specific
/// wins), as the Python reader takes them.
pub struct DetReader {
    key: DeterministicKey,
    domains: HashMap<String, String>,
}

impl DetReader {
    /// A reader of `key`'s values with these `(column, domain)` pairs.
    ///
    /// # Errors
    /// [`det::DetError::InvalidDomain`] for a domain that is not `""` or
    /// `[a-z0-9_]{1,64}`.
    pub fn new(
        key: DeterministicKey,
        domains: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, det::DetError> {
        let domains = domains
            .into_iter()
            .map(|(column, domain)| det::check_domain(&domain).map(|()| (column, domain)))
            .collect::<Result<_, _>>()?;
        Ok(DetReader { key, domains })
    }

    fn domain(&self, schema: &str, table: &str, column: &str) -> Option<&str> {
        [
            format!("{schema}.{table}.{column}"),
            format!("{table}.{column}"),
            column.to_owned(),
        ]
        .iter()
        .find_map(|name| self.domains.get(name))
        .map(String::as_str)
    }
}

impl std::fmt::Debug for DetReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetReader")
            .field("version", &self.key.version())
            .field("domains", &self.domains.len())
            .finish()
    }
}
