//! The protection policy: which columns of which tables are protected, and
//! how, in each view. The file format is `schemas/policy.schema.json`; this
//! module parses it, checks it, and compiles it into lookups that match
//! schema, table and column names case-insensitively.
//!
//! # Layout
//! - `file`: the file format, as serde reads and writes it.
//! - `compiled`: the checked policy and its case-insensitive lookups.
//! - `low_entropy`: columns whose few distinct values frequency analysis
//!   would reverse if protected deterministically.
//!
//! Here, the names the output reserves, the views, and the error.

mod compiled;
mod file;
mod low_entropy;
#[cfg(test)]
mod tests;

pub(crate) use compiled::check_key;
pub use compiled::{ColumnRule, Policy, TableRules};
pub use file::{
    Action, ColumnPolicy, DatePrecision, GuardMode, GuardSection, PolicyFile, TablePolicy,
};
pub use low_entropy::{is_low_entropy, low_entropy_warnings};

/// The seed's redaction string (the AWS sample's Glue job writes 18 `#`).
pub const DEFAULT_REDACTION: &str = "##################";

/// Names the flat output shape adds to every row; a source column with one of
/// these names is written as `<name>_src` instead.
pub const RESERVED_NAMES: [&str; 8] = [
    "_op",
    "_ts",
    "_txn",
    "_before",
    "_schema",
    "_table",
    "_key",
    GUARDED_FIELD,
];

/// The row field listing the columns the guard protected (names only).
pub const GUARDED_FIELD: &str = "_guarded";

/// Suffix of a renamed source column that collides with a generated name.
pub const COLLISION_SUFFIX: &str = "_src";

/// A policy that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid policy JSON.
    #[error("invalid policy: {0}")]
    Parse(String),
    /// Valid JSON, but not a usable policy.
    #[error("invalid policy: {0}")]
    Invalid(String),
}

/// Which output a transformation produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// For analysts: protected values masked or tokenised.
    Masked,
    /// For ML training: protected values encrypted.
    Encrypted,
}

impl View {
    /// `masked` or `encrypted`, as used in prefixes and partition keys.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Masked => "masked",
            View::Encrypted => "encrypted",
        }
    }

    /// The rename suffix of this view.
    pub fn suffix(self) -> &'static str {
        match self {
            View::Masked => "_masked",
            View::Encrypted => "_encrypted",
        }
    }
}

impl std::str::FromStr for View {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "masked" => Ok(View::Masked),
            "encrypted" => Ok(View::Encrypted),
            _ => Err(format!("unknown view {s:?} (expected masked or encrypted)")),
        }
    }
}

/// Lower-cases a name for case-insensitive matching (ASCII fast path).
pub fn lowercase(name: &str) -> String {
    if name.is_ascii() {
        name.to_ascii_lowercase()
    } else {
        name.to_lowercase()
    }
}
