//! The policy compiled for lookups: checked once, then one hash lookup per
//! table and per column, names matched case-insensitively.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::*;
use crate::guard::{Detector, Guard};

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
    /// The rules, in no particular order.
    rules: Vec<ColumnRule>,
    /// Lower-cased column name → its rule's index in `rules`.
    columns: HashMap<String, usize, NameHash>,
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
        self.column_index(lowercase_name).map(|i| &self.rules[i])
    }

    /// Where the rule of a column (by its lower-cased name) is, for
    /// [`TableRules::rule_at`]: so that a caller can remember a lookup
    /// without borrowing the policy.
    pub fn column_index(&self, lowercase_name: &str) -> Option<usize> {
        self.columns.get(lowercase_name).copied()
    }

    /// The rule at `index`, from [`TableRules::column_index`] of this table.
    ///
    /// # Panics
    /// If `index` did not come from this table.
    pub fn rule_at(&self, index: usize) -> &ColumnRule {
        &self.rules[index]
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
    /// The tables' rules, in no particular order.
    tables: Vec<TableRules>,
    /// Lower-cased `schema\0table` → the table's index in `tables`.
    table_index: HashMap<String, usize, NameHash>,
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
            tables: Vec::new(),
            table_index: HashMap::default(),
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
            // The lookup key joins the names with a NUL: with one in a
            // name, two tables could share a key.
            if table.schema.contains('\0') || table.table.contains('\0') {
                return Err(invalid(format!(
                    "table {:?}.{:?}: names cannot hold U+0000",
                    table.schema, table.table
                )));
            }
            let key = table_key(&table.schema, &table.table);
            if policy.table_index.contains_key(&key) {
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
                if rules.columns.insert(lower, rules.rules.len()).is_some() {
                    return Err(invalid(format!("column {at} is listed twice")));
                }
                rules.rules.push(rule);
            }
            policy.table_index.insert(key, policy.tables.len());
            policy.tables.push(rules);
        }
        Ok(policy)
    }

    /// The rules of a table, if the policy protects it; the lookup key is
    /// built in `buf` (reused between records, so the hot path does not
    /// allocate).
    pub fn table_with(&self, schema: &str, table: &str, buf: &mut String) -> Option<&TableRules> {
        self.table_index(schema, table, buf)
            .map(|i| self.table_at(i))
    }

    /// Where the rules of a table are, for [`Policy::table_at`]: so that a
    /// caller can remember a lookup without borrowing the policy. `buf` as
    /// in [`Policy::table_with`].
    pub fn table_index(&self, schema: &str, table: &str, buf: &mut String) -> Option<usize> {
        buf.clear();
        push_lowercase(buf, schema);
        buf.push('\0');
        push_lowercase(buf, table);
        self.table_index.get(buf.as_str()).copied()
    }

    /// The rules at `index`, from [`Policy::table_index`] of this policy.
    ///
    /// # Panics
    /// If `index` did not come from this policy.
    pub fn table_at(&self, index: usize) -> &TableRules {
        &self.tables[index]
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
