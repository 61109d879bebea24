//! The pure core: one DMS record in, one output line of one view out. No I/O,
//! no async, no allocation per field on the common path.

use std::borrow::Cow;
use std::collections::HashMap;

mod guard;
use std::sync::Arc;

use crate::cipher::{self, Place};
use crate::envelope::{self, DataRecord, DmsRecord};
use crate::guard::{Context, Tally};
use crate::json::{self, Kind, Member};
use crate::keys::{det, DataKey, DeterministicKey, TokenKey};
use crate::mask;
use crate::policy::{
    lowercase, Action, GuardMode, Policy, TableRules, View, COLLISION_SUFFIX, RESERVED_NAMES,
};
use crate::reason::Reason;

/// How output rows are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// One flat object per change: the columns, then `_op`, `_ts`, `_txn`,
    /// `_before`, `_schema`, `_table` (and `_key` in the encrypted view).
    #[default]
    Flat,
    /// The DMS envelope (`data`, `metadata`, `before-image`), protected.
    Envelope,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "flat" => Ok(Shape::Flat),
            "envelope" => Ok(Shape::Envelope),
            _ => Err(format!("unknown shape {s:?} (expected flat or envelope)")),
        }
    }
}

/// A transformer that cannot be built from its parts.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The policy tokenises a column of this view but no token key was given.
    #[error("the policy tokenises columns in the {0} view but no token key is configured")]
    NoTokenKey(&'static str),
    /// The policy encrypts a column deterministically but no deterministic
    /// key was given.
    #[error(
        "the policy encrypts columns deterministically but no deterministic key is configured"
    )]
    NoDeterministicKey,
}

/// Where a transformed or control record belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    /// `schema-name` as DMS reported it.
    pub schema: Cow<'a, str>,
    /// `table-name` as DMS reported it.
    pub table: Cow<'a, str>,
    /// The change's date (`YYYY-MM-DD` from `metadata.timestamp`), if valid.
    pub date: Option<&'a str>,
    /// The change's `metadata.operation` (`load`, `insert`, `update`,
    /// `delete`), if it is a plain string.
    pub operation: Option<&'a str>,
}

/// What became of one input record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// A row change, written to the output as one JSON line.
    Row(Route<'a>),
    /// A control (DDL) record: nothing written.
    Control(Route<'a>),
    /// Cannot be transformed: must be sealed into the quarantine.
    Rejected(Reason),
}

/// Reusable buffers, so that transforming a batch allocates nothing per field,
/// and what the guard found so far.
#[derive(Default)]
pub struct Scratch {
    name: String,
    table_key: String,
    aad: Vec<u8>,
    sealed: Vec<u8>,
    /// Guard context per lower-cased column name (all detectors' hints; the
    /// guard masks them with its own).
    contexts: HashMap<String, Context>,
    /// Columns of the current row the guard protected.
    guarded: Vec<String>,
    /// What the guard found, until the caller takes it.
    tally: Tally,
}

impl Scratch {
    /// What the guard found since the last [`Scratch::take_guard_tally`]:
    /// every value of an unlisted column a detector fired on, in `report` and
    /// `protect` mode.
    pub fn guard_tally(&self) -> &Tally {
        &self.tally
    }

    /// Takes what the guard found, leaving an empty tally.
    pub fn take_guard_tally(&mut self) -> Tally {
        std::mem::take(&mut self.tally)
    }
}

/// Masks or encrypts DMS records for one view under one policy.
#[derive(Debug, Clone)]
pub struct Transformer {
    policy: Arc<Policy>,
    view: View,
    shape: Shape,
    token_key: Option<TokenKey>,
    deterministic_key: Option<Arc<DeterministicKey>>,
}

impl Transformer {
    /// A transformer for `view`, without a deterministic key.
    ///
    /// # Errors
    /// As [`Transformer::with_keys`].
    pub fn new(
        policy: Arc<Policy>,
        view: View,
        shape: Shape,
        token_key: Option<TokenKey>,
    ) -> Result<Self, SetupError> {
        Self::with_keys(policy, view, shape, token_key, None)
    }

    /// A transformer for `view` with the token key and the deterministic
    /// key (`encrypt-deterministic`, the same in every instance).
    ///
    /// # Errors
    /// [`SetupError::NoTokenKey`] if the policy tokenises a column in this
    /// view and `token_key` is `None`; [`SetupError::NoDeterministicKey`]
    /// if this is the encrypted view, the policy encrypts a column
    /// deterministically and `deterministic_key` is `None`.
    pub fn with_keys(
        policy: Arc<Policy>,
        view: View,
        shape: Shape,
        token_key: Option<TokenKey>,
        deterministic_key: Option<Arc<DeterministicKey>>,
    ) -> Result<Self, SetupError> {
        if policy.uses_token(view) && token_key.is_none() {
            return Err(SetupError::NoTokenKey(view.as_str()));
        }
        if view == View::Encrypted && policy.uses_deterministic() && deterministic_key.is_none() {
            return Err(SetupError::NoDeterministicKey);
        }
        Ok(Transformer {
            policy,
            view,
            shape,
            token_key,
            deterministic_key,
        })
    }

    /// The view this transformer writes.
    pub fn view(&self) -> View {
        self.view
    }

    /// Transforms one DMS record, appending its output line (ending in `\n`)
    /// to `out` when the outcome is [`Outcome::Row`]. On any other outcome
    /// `out` is left as it was. `key` is the data key of the encrypted view.
    pub fn transform<'a>(
        &self,
        input: &'a [u8],
        key: Option<&DataKey>,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> Outcome<'a> {
        let record = match envelope::parse(input) {
            Ok(DmsRecord::Data(record)) => record,
            Ok(DmsRecord::Control {
                schema,
                table,
                timestamp,
            }) => {
                self.note_unlisted_columns(input, schema.as_deref(), table.as_deref(), scratch);
                return Outcome::Control(Route {
                    schema: schema.unwrap_or_default(),
                    table: table.unwrap_or_default(),
                    date: timestamp.and_then(date_of),
                    operation: None,
                });
            }
            Err(reason) => return Outcome::Rejected(reason),
        };
        let start = out.len();
        scratch.guarded.clear();
        let mut writer = RowWriter {
            transformer: self,
            record: &record,
            rules: self
                .policy
                .table_with(&record.schema, &record.table, &mut scratch.table_key),
            key,
            scratch,
            encrypted_any: false,
        };
        let written = match self.shape {
            Shape::Flat => writer.flat(out),
            Shape::Envelope => writer.envelope(out),
        };
        if let Err(reason) = written {
            out.truncate(start);
            return Outcome::Rejected(reason);
        }
        let date = record.meta("timestamp").and_then(|m| date_of(m.raw));
        let operation = record.meta("operation").and_then(|m| plain_string(m.raw));
        Outcome::Row(Route {
            schema: record.schema,
            table: record.table,
            date,
            operation,
        })
    }
}

/// `YYYY-MM-DD` from a raw JSON string that starts with an ISO date.
fn date_of(raw: &[u8]) -> Option<&str> {
    let date = raw.get(1..11)?;
    let ok = date.iter().enumerate().all(|(i, b)| match i {
        4 | 7 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    if ok {
        std::str::from_utf8(date).ok()
    } else {
        None
    }
}

/// The body of a raw JSON string without escapes.
fn plain_string(raw: &[u8]) -> Option<&str> {
    match raw {
        [b'"', body @ .., b'"'] if !body.contains(&b'\\') => std::str::from_utf8(body).ok(),
        _ => None,
    }
}

struct RowWriter<'t, 'r, 'a> {
    transformer: &'t Transformer,
    record: &'r DataRecord<'a>,
    rules: Option<&'t TableRules>,
    key: Option<&'t DataKey>,
    scratch: &'t mut Scratch,
    encrypted_any: bool,
}

impl RowWriter<'_, '_, '_> {
    fn flat(&mut self, out: &mut Vec<u8>) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        self.columns(&self.record.data, Place::Row, &mut first, out)?;
        for (meta, name) in [
            ("operation", "_op"),
            ("timestamp", "_ts"),
            ("transaction-id", "_txn"),
        ] {
            if let Some(m) = self.record.meta(meta) {
                field_name(name, &mut first, out);
                json::write_raw_one_line(out, m.raw);
            }
        }
        if let Some(before) = &self.record.before {
            field_name("_before", &mut first, out);
            self.object(before, Place::Before, out)?;
        }
        field_name("_schema", &mut first, out);
        json::write_string(out, &self.record.schema);
        field_name("_table", &mut first, out);
        json::write_string(out, &self.record.table);
        self.guarded_field(&mut first, out);
        self.key_field(&mut first, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    fn envelope(&mut self, out: &mut Vec<u8>) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        for member in &self.record.top {
            match member.name.as_ref() {
                "data" => {
                    field_name("data", &mut first, out);
                    self.object(&self.record.data, Place::Row, out)?;
                }
                envelope::BEFORE_IMAGE_FIELD => {
                    field_name(envelope::BEFORE_IMAGE_FIELD, &mut first, out);
                    match &self.record.before {
                        Some(before) => self.object(before, Place::Before, out)?,
                        None => out.extend_from_slice(b"null"),
                    }
                }
                "metadata" => {
                    field_name("metadata", &mut first, out);
                    self.metadata(out);
                }
                // Anything else could carry data the policy does not know.
                _ => {}
            }
        }
        self.guarded_field(&mut first, out);
        self.key_field(&mut first, out);
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    /// Copies the metadata, except `partition-key-value` of protected tables
    /// (DMS puts the primary key there, which may itself be PII).
    fn metadata(&self, out: &mut Vec<u8>) {
        let protected = self.rules.is_some();
        json::write_members(
            out,
            self.record
                .metadata
                .iter()
                .filter(|m| !(protected && m.name == "partition-key-value")),
        );
    }

    fn key_field(&self, first: &mut bool, out: &mut Vec<u8>) {
        if let (true, Some(key)) = (self.encrypted_any, self.key) {
            field_name("_key", first, out);
            // Providers make descriptors of base64 and ':' only.
            out.push(b'"');
            out.extend_from_slice(key.wrapped().as_bytes());
            out.push(b'"');
        }
    }

    fn object(
        &mut self,
        members: &[Member<'_>],
        place: Place,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        out.push(b'{');
        let mut first = true;
        self.columns(members, place, &mut first, out)?;
        out.push(b'}');
        Ok(())
    }

    fn columns(
        &mut self,
        members: &[Member<'_>],
        place: Place,
        first: &mut bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        for member in members {
            if !*first {
                out.push(b',');
            }
            *first = false;
            self.column(member, place, out)?;
        }
        Ok(())
    }

    /// Writes `"name":value` for one column, protected as the policy says.
    fn column(
        &mut self,
        member: &Member<'_>,
        place: Place,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let view = self.transformer.view;
        let flat = self.transformer.shape == Shape::Flat;
        let lower = &mut self.scratch.name;
        lower.clear();
        if member.name.is_ascii() {
            lower.push_str(&member.name);
            lower.make_ascii_lowercase();
        } else {
            lower.push_str(&lowercase(&member.name));
        }
        let reserved = flat && RESERVED_NAMES.contains(&lower.as_str());
        let rule = self.rules.and_then(|r| r.column(lower));
        let action = match rule.map(|r| r.action(view)) {
            Some(Action::Keep) | None => {
                let collides = reserved || self.rules.is_some_and(|r| r.collides(view, lower));
                let detected = if rule.is_none() {
                    self.guard(member)
                } else {
                    None
                };
                if collides {
                    write_name(member, COLLISION_SUFFIX, out);
                } else {
                    out.extend_from_slice(member.raw_name);
                }
                out.push(b':');
                if detected.is_some() && self.transformer.policy.guard_mode() == GuardMode::Protect
                {
                    return self.protect(member, place, out);
                }
                if view == View::Encrypted && looks_encrypted(member) {
                    // Readers must refuse a whole ciphertext that does not
                    // open, so one never passes in clear: it is encrypted.
                    return self.encrypt(member, place, out);
                }
                json::write_raw_one_line(out, member.raw);
                return Ok(());
            }
            Some(action) => action,
        };
        let renamed = rule.is_some_and(|r| r.rename);
        let suffix = if renamed { view.suffix() } else { "" };
        let collides = flat && !renamed && reserved;
        write_name(
            member,
            if collides { COLLISION_SUFFIX } else { suffix },
            out,
        );
        out.push(b':');
        if member.kind == Kind::Null {
            // Nothing to hide in a null; keeping it lets analysts count them.
            out.extend_from_slice(b"null");
            return Ok(());
        }
        let redaction = self.transformer.policy.redact_with();
        match action {
            Action::Redact { with } => mask::redact(with.as_deref().unwrap_or(redaction), out),
            Action::Partial { keep_last } => mask::partial(member, *keep_last, out),
            Action::Token => match &self.transformer.token_key {
                Some(key) => mask::token(member, key, rule.map_or("", |r| &r.domain), out),
                // Unreachable by construction (checked in `new`); fail closed.
                None => mask::redact(redaction, out),
            },
            Action::Null => out.extend_from_slice(b"null"),
            Action::Generalize { to } => mask::generalize(member, *to, redaction, out),
            Action::Encrypt => return self.encrypt(member, place, out),
            Action::EncryptDeterministic => {
                // Checked in `with_keys`; fail closed all the same.
                let key = self
                    .transformer
                    .deterministic_key
                    .as_deref()
                    .ok_or(Reason::NoDataKey)?;
                let domain = rule.map_or("", |r| &r.domain);
                let value = key
                    .encrypt_json(domain, member.raw)
                    .map_err(|_| Reason::UnsupportedValue)?
                    .ok_or(Reason::UnsupportedValue)?;
                out.push(b'"');
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            }
            Action::Keep => out.extend_from_slice(member.raw),
        }
        Ok(())
    }

    /// Writes the value encrypted under the row's data key, bound to its
    /// schema, table, column and place.
    fn encrypt(
        &mut self,
        member: &Member<'_>,
        place: Place,
        out: &mut Vec<u8>,
    ) -> Result<(), Reason> {
        let key = self.key.ok_or(Reason::NoDataKey)?;
        cipher::cell_aad(
            &self.record.schema,
            &self.record.table,
            &member.name,
            place,
            &mut self.scratch.aad,
        );
        cipher::write_cell(
            key,
            &self.scratch.aad,
            member.raw,
            &mut self.scratch.sealed,
            out,
        );
        self.encrypted_any = true;
        Ok(())
    }
}

/// Whether a value is a whole cdc-mask ciphertext by its syntax (see
/// [`cipher::is_complete_enc`]); only strings starting `"enc` or `"det` are
/// decoded to find out.
fn looks_encrypted(member: &Member<'_>) -> bool {
    if member.kind != Kind::String
        || !(member.raw.starts_with(b"\"enc") || member.raw.starts_with(b"\"det"))
    {
        return false;
    }
    let text = member.text();
    cipher::is_complete_enc(&text) || det::is_well_formed(&text)
}

/// Writes `"<name><suffix>"`, the name as written when it has no escapes
/// (then writing the decoded name would give the same bytes).
fn write_name(member: &Member<'_>, suffix: &str, out: &mut Vec<u8>) {
    let raw = member.raw_name;
    if memchr::memchr(b'\\', raw).is_none() {
        out.extend_from_slice(&raw[..raw.len() - 1]);
    } else {
        json::write_string(out, &member.name);
        out.pop();
    }
    out.extend_from_slice(suffix.as_bytes());
    out.push(b'"');
}

/// Writes `,"name":` (or without the comma for the first field).
fn field_name(name: &str, first: &mut bool, out: &mut Vec<u8>) {
    if !*first {
        out.push(b',');
    }
    *first = false;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}
