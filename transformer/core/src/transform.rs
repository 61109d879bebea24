//! The pure core: one DMS record in, one output line of one view out. No I/O,
//! no async, no allocation per field on the common path.
//!
//! # Layout
//! - this module: the transformer, its setup and what it answers.
//! - `row`: one row written in the flat or envelope shape, value by value.
//! - `guard`: the guard's part (unlisted columns scanned and protected).

use std::borrow::Cow;
use std::sync::Arc;

mod guard;
mod plan;
mod row;

use plan::PlanCache;
use row::{field_name, RowWriter};

use crate::cipher::{self, Place};
use crate::envelope::{self, DataRecord, DmsRecord};
use crate::guard::Tally;
use crate::json::{self, Kind, Member, MemberVecs};
use crate::keys::{det, DataKey, DeterministicKey, TokenKey};
use crate::mask;
use crate::policy::{Action, GuardMode, Policy, TableRules, View, COLLISION_SUFFIX};
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
    sealed: Vec<u8>,
    /// What the policy says of each column, per table and row layout.
    plans: PlanCache,
    /// Columns of the current row the guard protected.
    guarded: Vec<String>,
    /// What the guard found, until the caller takes it.
    tally: Tally,
    /// The member vectors of the records parsed before.
    members: MemberVecs,
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
        let mut record = match envelope::parse(input, &mut scratch.members) {
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
        let table = scratch
            .plans
            .table(self, &record.schema, &record.table, &mut scratch.name);
        let mut writer = RowWriter {
            transformer: self,
            record: &record,
            rules: table.rules.map(|i| self.policy.table_at(i)),
            table,
            key,
            scratch,
            encrypted_any: false,
        };
        let written = match self.shape {
            Shape::Flat => writer.flat(out),
            Shape::Envelope => writer.envelope(out),
        };
        record.give_members(&mut scratch.members);
        if let Err(reason) = written {
            out.truncate(start);
            return Outcome::Rejected(reason);
        }
        let [operation, timestamp, _] = record.written_meta;
        let date = timestamp.and_then(date_of);
        let operation = operation.and_then(plain_string);
        Outcome::Row(Route {
            schema: record.schema,
            table: record.table,
            date,
            operation,
        })
    }
}

/// `YYYY-MM-DD` from a raw JSON string that starts with an ISO date.
fn date_of(raw: &str) -> Option<&str> {
    let date = raw.get(1..11)?;
    let ok = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    ok.then_some(date)
}

/// The body of a raw JSON string without escapes.
fn plain_string(raw: &str) -> Option<&str> {
    let body = raw.strip_prefix('"')?.strip_suffix('"')?;
    (!body.contains('\\')).then_some(body)
}
