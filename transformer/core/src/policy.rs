//! The protection policy: which columns of which tables are protected, and
//! how, in each view. The file format is `schemas/policy.schema.json`; this
//! module parses it, checks it, and compiles it into lookups that match
//! schema, table and column names case-insensitively.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Deserializer, Serialize};

use crate::guard::{Detector, Guard};

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
    /// The detectors that run (names of [`Detector::as_str`]); absent means
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

/// The compiled rule for one column.
#[derive(Debug, Clone)]
pub struct ColumnRule {
    /// Action in the masked view.
    pub masked: Action,
    /// Action in the encrypted view.
    pub encrypted: Action,
    /// Whether the output name gets the view's suffix.
    pub rename: bool,
    /// Join domain of tokens (`""`: the default, global domain).
    pub domain: String,
}

impl Action {
    /// Whether equal values give equal outputs that still tell values apart
    /// (`token`, `encrypt-deterministic`), so joins and upserts work on them.
    pub fn is_deterministic(&self) -> bool {
        matches!(self, Action::Token | Action::EncryptDeterministic)
    }
}

impl ColumnRule {
    /// The action for `view`.
    pub fn action(&self, view: View) -> &Action {
        match view {
            View::Masked => &self.masked,
            View::Encrypted => &self.encrypted,
        }
    }
}

/// The compiled rules of one table.
#[derive(Debug, Clone, Default)]
pub struct TableRules {
    /// Lower-cased column name → rule.
    columns: HashMap<String, ColumnRule, NameHash>,
    /// Lower-cased names that the protected columns produce, per view; a
    /// source column with such a name would collide.
    generated: [HashSet<String, NameHash>; 2],
}

/// Hashing of the policy's lookup tables: FNV-1a. Every column of every
/// record is looked up, and for short names SipHash's setup costs more than
/// the lookup. The tables hold only the policy's own names, so input cannot
/// grow them (no flooding to defend against).
type NameHash = BuildHasherDefault<Fnv1a>;

/// The 64-bit FNV-1a hash.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TableRules {
    /// The rule of a column, by its lower-cased name.
    pub fn column(&self, lowercase_name: &str) -> Option<&ColumnRule> {
        self.columns.get(lowercase_name)
    }

    /// Whether an unprotected source column (lower-cased name) would collide
    /// with a name this table's protected columns generate in `view`.
    pub fn collides(&self, view: View, lowercase_name: &str) -> bool {
        self.generated[view as usize].contains(lowercase_name)
    }
}

/// A checked, compiled policy ready for lookups.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    tables: HashMap<String, TableRules, NameHash>,
    redact_with: String,
    uses_token: [bool; 2],
    uses_deterministic: bool,
    warnings: Vec<String>,
    guard: Guard,
    guard_mode: GuardMode,
}

impl Policy {
    /// Parses and compiles policy JSON.
    ///
    /// # Errors
    /// [`PolicyError`] if the JSON is not a usable policy.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PolicyError> {
        let file: PolicyFile =
            serde_json::from_slice(bytes).map_err(|e| PolicyError::Parse(e.to_string()))?;
        Self::compile(&file)
    }

    /// Checks a parsed policy file and compiles it.
    ///
    /// # Errors
    /// [`PolicyError::Invalid`] for a wrong version, a duplicate table or
    /// column (names compare case-insensitively), an encryption action in the
    /// masked view, or an unsupported action.
    pub fn compile(file: &PolicyFile) -> Result<Self, PolicyError> {
        let invalid = |msg: String| PolicyError::Invalid(msg);
        if file.version != 1 {
            return Err(invalid(format!("unsupported version {}", file.version)));
        }
        let mut policy = Policy {
            tables: HashMap::default(),
            redact_with: file
                .redact_with
                .clone()
                .unwrap_or_else(|| DEFAULT_REDACTION.to_owned()),
            uses_token: [false; 2],
            uses_deterministic: false,
            warnings: low_entropy_warnings(file),
            guard: Guard::default(),
            guard_mode: GuardMode::Protect,
        };
        if let Some(section) = &file.guard {
            policy.guard_mode = section.mode;
            if let Some(names) = &section.detectors {
                let detectors = names
                    .iter()
                    .map(|name| name.parse::<Detector>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| invalid(format!("guard: {e}")))?;
                policy.guard = Guard::new(&detectors);
            }
        }
        for table in &file.tables {
            check_key(table)?;
            let key = table_key(&table.schema, &table.table);
            if policy.tables.contains_key(&key) {
                return Err(invalid(format!(
                    "table {}.{} is listed twice",
                    table.schema, table.table
                )));
            }
            let mut rules = TableRules::default();
            for (name, column) in &table.columns {
                let at = format!("{}.{}.{}", table.schema, table.table, name);
                check_action(&column.masked, View::Masked, &at)?;
                check_action(&column.encrypted, View::Encrypted, &at)?;
                let lower = lowercase(name);
                for view in [View::Masked, View::Encrypted] {
                    let action = if view == View::Masked {
                        &column.masked
                    } else {
                        &column.encrypted
                    };
                    policy.uses_token[view as usize] |= *action == Action::Token;
                    policy.uses_deterministic |= *action == Action::EncryptDeterministic;
                    if column.rename && *action != Action::Keep {
                        rules.generated[view as usize].insert(format!("{lower}{}", view.suffix()));
                    }
                }
                let domain = column.domain.clone().unwrap_or_default();
                if crate::keys::check_domain(&domain).is_err()
                    || column.domain.as_deref() == Some("")
                {
                    return Err(invalid(format!(
                        "{at}: domain must match [a-z0-9_]{{1,64}}"
                    )));
                }
                let rule = ColumnRule {
                    masked: column.masked.clone(),
                    encrypted: column.encrypted.clone(),
                    rename: column.rename,
                    domain,
                };
                if rules.columns.insert(lower, rule).is_some() {
                    return Err(invalid(format!("column {at} is listed twice")));
                }
            }
            policy.tables.insert(key, rules);
        }
        Ok(policy)
    }

    /// The rules of a table, if the policy protects it; the lookup key is
    /// built in `buf` (reused between records, so the hot path does not
    /// allocate).
    pub fn table_with(&self, schema: &str, table: &str, buf: &mut String) -> Option<&TableRules> {
        buf.clear();
        push_lowercase(buf, schema);
        buf.push('\0');
        push_lowercase(buf, table);
        self.tables.get(buf.as_str())
    }

    /// The guard's detectors, if it runs (mode `report` or `protect`).
    pub fn guard(&self) -> Option<&Guard> {
        (self.guard_mode != GuardMode::Off).then_some(&self.guard)
    }

    /// The guard's mode.
    pub fn guard_mode(&self) -> GuardMode {
        self.guard_mode
    }

    /// Overrides the guard's mode (`CDCMASK_GUARD`, `--guard`).
    pub fn set_guard_mode(&mut self, mode: GuardMode) {
        self.guard_mode = mode;
    }

    /// What `redact` writes by default.
    pub fn redact_with(&self) -> &str {
        &self.redact_with
    }

    /// Whether any column is tokenised in `view` (then a token key is
    /// required).
    pub fn uses_token(&self, view: View) -> bool {
        self.uses_token[view as usize]
    }

    /// Whether any column is encrypted deterministically (then the
    /// encrypted view needs the deterministic key).
    pub fn uses_deterministic(&self) -> bool {
        self.uses_deterministic
    }

    /// Warnings about the policy (one line each, naming the column), for
    /// whoever loads it to log: low-entropy columns protected
    /// deterministically.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Column names (lower-cased, as words of the name) of values with few
/// distinct values: gender, birthdates, flags, small enums.
const LOW_ENTROPY_WORDS: [&str; 9] = [
    "gender",
    "sex",
    "birthdate",
    "dob",
    "birthday",
    "flag",
    "status",
    "active",
    "enabled",
];

/// Whether a column probably holds few distinct values (by its name or its
/// types): frequency analysis reverses such values when they are
/// protected deterministically.
pub fn is_low_entropy(name: &str, types: &[String]) -> bool {
    let lower = lowercase(name);
    let by_name = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| LOW_ENTROPY_WORDS.contains(&word))
        || lower.starts_with("is_")
        || lower.starts_with("has_")
        || lower.contains("birth");
    by_name
        || types
            .iter()
            .any(|t| t == "DATE_OF_BIRTH" || t == "GENDER" || t == "SEX")
}

/// One warning per low-entropy column that a view tokenises or encrypts
/// deterministically.
pub fn low_entropy_warnings(file: &PolicyFile) -> Vec<String> {
    let mut warnings = Vec::new();
    for table in &file.tables {
        for (name, column) in &table.columns {
            let deterministic = [&column.masked, &column.encrypted]
                .into_iter()
                .filter(|a| a.is_deterministic())
                .count();
            if deterministic > 0 && is_low_entropy(name, &column.types) {
                warnings.push(format!(
                    "{}.{}.{name}: low-entropy column protected deterministically (token or encrypt-deterministic): frequency analysis can reverse its values",
                    table.schema, table.table
                ));
            }
        }
    }
    warnings
}

/// A table's key: distinct columns, and each protected one deterministic
/// (or kept) in both views, so upserts and `<table>_current` go by it.
pub(crate) fn check_key(table: &TablePolicy) -> Result<(), PolicyError> {
    let mut seen = HashSet::new();
    for name in &table.key {
        let at = format!("{}.{}.{name}", table.schema, table.table);
        if !seen.insert(lowercase(name)) {
            return Err(PolicyError::Invalid(format!(
                "{at}: listed twice in the key"
            )));
        }
        let column = table
            .columns
            .iter()
            .find(|(c, _)| lowercase(c) == lowercase(name))
            .map(|(_, c)| c);
        let Some(column) = column else { continue };
        for (view, action) in [
            (View::Masked, &column.masked),
            (View::Encrypted, &column.encrypted),
        ] {
            if !(action.is_deterministic() || *action == Action::Keep) {
                return Err(PolicyError::Invalid(format!(
                    "{at}: a key column must be token, encrypt-deterministic or keep in the {} view (upserts and joins go by it)",
                    view.as_str()
                )));
            }
        }
    }
    Ok(())
}

fn check_action(action: &Action, view: View, at: &str) -> Result<(), PolicyError> {
    match (action, view) {
        (Action::Encrypt | Action::EncryptDeterministic, View::Masked) => {
            Err(PolicyError::Invalid(format!(
                "{at}: encryption is not allowed in the masked view"
            )))
        }
        (Action::Partial { keep_last: 0 }, _) => Err(PolicyError::Invalid(format!(
            "{at}: partial needs keep_last >= 1 (use redact to keep nothing)"
        ))),
        _ => Ok(()),
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

fn push_lowercase(buf: &mut String, name: &str) {
    if name.is_ascii() {
        let start = buf.len();
        buf.push_str(name);
        buf[start..].make_ascii_lowercase();
    } else {
        buf.push_str(&name.to_lowercase());
    }
}

fn table_key(schema: &str, table: &str) -> String {
    let mut key = lowercase(schema);
    key.push('\0');
    key.push_str(&lowercase(table));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "version": 1,
      "tables": [{
        "schema": "Dataset", "table": "Customer",
        "columns": {
          "Mail": {"types": ["EMAIL_ADDRESS"], "masked": "token"},
          "card": {"masked": {"action": "partial", "keep_last": 4}, "rename": false},
          "birthdate": {"masked": {"action": "generalize", "to": "year"}, "encrypted": "keep"}
        }
      }]
    }"#;

    #[test]
    fn compiles_and_matches_case_insensitively() {
        let policy = Policy::from_slice(SAMPLE.as_bytes()).unwrap();
        assert!(policy.uses_token(View::Masked));
        assert!(!policy.uses_token(View::Encrypted));
        let table = policy
            .table_with("DATASET", "customer", &mut String::new())
            .unwrap();
        let mail = table.column("mail").unwrap();
        assert_eq!(mail.masked, Action::Token);
        assert_eq!(mail.encrypted, Action::Encrypt);
        assert!(mail.rename);
        assert_eq!(
            table.column("card").unwrap().masked,
            Action::Partial { keep_last: 4 }
        );
        assert!(table.collides(View::Masked, "mail_masked"));
        assert!(!table.collides(View::Masked, "card_masked"));
        assert!(!table.collides(View::Encrypted, "birthdate_encrypted"));
        assert!(policy
            .table_with("dataset", "bank", &mut String::new())
            .is_none());
        assert_eq!(policy.redact_with(), DEFAULT_REDACTION);
    }

    #[test]
    fn rejects_bad_policies() {
        for (bad, why) in [
            (r#"{"version":2,"tables":[]}"#, "version"),
            (r#"{"version":1,"tables":[],"extra":1}"#, "unknown field"),
            (
                r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"encrypt"}}}]}"#,
                "not allowed in the masked view",
            ),
            (
                r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"shred"}}}]}"#,
                "unknown variant",
            ),
            (
                r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{},"C":{}}}]}"#,
                "listed twice",
            ),
            (
                r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{}},{"schema":"A","table":"B","columns":{}}]}"#,
                "listed twice",
            ),
            (
                r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":{"action":"partial","keep_last":0}}}}]}"#,
                "keep_last",
            ),
        ] {
            let err = Policy::from_slice(bad.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
