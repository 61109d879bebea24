//! The policy file (`schemas/policy.schema.json`) as serde reads and
//! writes it: tables, columns, actions per view, the guard section.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// The policy file as written by people and by `findings compile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Format version; must be 1.
    pub version: u32,
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What `redact` writes, unless a column says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redact_with: Option<String>,
    /// The protected tables. Columns not listed (in listed and unlisted
    /// tables) are left to the guard.
    pub tables: Vec<TablePolicy>,
    /// The detection guard over unlisted columns; absent means `protect`
    /// with every detector (fail safe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardSection>,
}

/// The policy's `guard` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardSection {
    /// What the guard does with a detected value (default `protect`).
    #[serde(default)]
    pub mode: GuardMode,
    /// The detectors that run (names of [`Detector::as_str`](crate::guard::Detector::as_str)); absent means
    /// every detector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectors: Option<Vec<String>>,
}

/// What the guard does with a value of an unlisted column in which a
/// detector fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GuardMode {
    /// Nothing: the guard does not run.
    Off,
    /// Counts what it finds; changes no byte.
    Report,
    /// Replaces the value with the view's default action (`redact` in the
    /// masked view, `encrypt` in the encrypted view) and counts it.
    #[default]
    Protect,
}

impl GuardMode {
    /// `off`, `report` or `protect`.
    pub fn as_str(self) -> &'static str {
        match self {
            GuardMode::Off => "off",
            GuardMode::Report => "report",
            GuardMode::Protect => "protect",
        }
    }
}

impl std::str::FromStr for GuardMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(GuardMode::Off),
            "report" => Ok(GuardMode::Report),
            "protect" => Ok(GuardMode::Protect),
            _ => Err(format!(
                "unknown guard mode {s:?} (expected off, report or protect)"
            )),
        }
    }
}

impl std::fmt::Display for GuardMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The protected columns of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TablePolicy {
    /// Schema (database) name as DMS reports it in `schema-name`.
    pub schema: String,
    /// Table name as DMS reports it in `table-name`.
    pub table: String,
    /// The primary key's columns, in order (`"key": ["id"]`): what the
    /// `<table>_current` views and Iceberg upserts go by. Protected key
    /// columns must be deterministic in each view.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<String>,
    /// Column name → how to protect it.
    pub columns: BTreeMap<String, ColumnPolicy>,
}

/// How one column is protected in each view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnPolicy {
    /// The sensitive-data types found in this column (Macie identifiers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Action in the masked view (default `redact`).
    #[serde(default = "default_masked", deserialize_with = "action")]
    pub masked: Action,
    /// Action in the encrypted view (default `encrypt`).
    #[serde(default = "default_encrypted", deserialize_with = "action")]
    pub encrypted: Action,
    /// Write the column as `<col>_masked` / `<col>_encrypted` (default true).
    #[serde(default = "yes")]
    pub rename: bool,
    /// Join domain of `token` (and `encrypt-deterministic`): equal values
    /// give equal tokens only within one domain. Default: the one global
    /// domain, shared by every column that does not name one, which makes a
    /// value tokenised in one column linkable to the same value in any
    /// other. `[a-z0-9_]{1,64}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Provenance: the ids of the Macie findings that reported this column,
    /// sorted and deduplicated; `findings compile` keeps at most 20 and then
    /// ends the list with `+N more`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

fn default_masked() -> Action {
    Action::Redact { with: None }
}

fn default_encrypted() -> Action {
    Action::Encrypt
}

fn yes() -> bool {
    true
}

/// What happens to a protected value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    /// Replace with a fixed string (default `##################`).
    Redact {
        /// The replacement; defaults to the policy's `redact_with`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<String>,
    },
    /// Keep the last `keep_last` characters, mask the rest with `*`. Values
    /// too short to keep that many and still hide as many are fully masked.
    Partial {
        /// How many trailing characters stay readable.
        keep_last: usize,
    },
    /// Deterministic keyed token: `tok<version>_<base64url HMAC-SHA-256>`.
    Token,
    /// Replace with JSON `null`.
    Null,
    /// Leave the value as it is (and the column name too).
    Keep,
    /// Keep only the year (`to: year`) or year and month of a date.
    Generalize {
        /// How much of the date survives.
        to: DatePrecision,
    },
    /// AES-256-GCM with a random nonce (encrypted view).
    Encrypt,
    /// AES-SIV (RFC 5297) under the deterministic key, bound to the
    /// column's join domain: `det<version>_…` (encrypted view). Equal values
    /// in one domain give equal ciphertexts.
    EncryptDeterministic,
}

/// What `generalize` keeps of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatePrecision {
    /// `YYYY`.
    Year,
    /// `YYYY-MM`.
    Month,
}

/// Accepts an action as a bare name (`"token"`) or as an object
/// (`{"action": "partial", "keep_last": 4}`).
fn action<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Action, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let value = match value {
        serde_json::Value::String(name) => serde_json::json!({ "action": name }),
        other => other,
    };
    Action::deserialize(value).map_err(serde::de::Error::custom)
}
