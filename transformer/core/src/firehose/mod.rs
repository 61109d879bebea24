//! The Firehose data-transformation contract: a batch of base64 records in,
//! exactly one answer per `recordId` out, and never a raw record back.
//!
//! Firehose writes the raw bytes of every `ProcessingFailed` record, and of
//! every record of an invocation that fails, to its error prefix. So no
//! answer here is ever `ProcessingFailed`, and an event that parses is always
//! answered:
//! - a row change is `Ok` with its view in `partitionKeys.view` (or, for
//!   an Iceberg destination, with `otfMetadata` naming its table);
//! - a control record is `Dropped` (counted);
//! - a record that cannot be protected — its own bytes are not a DMS record,
//!   or something outside it is missing (no usable policy, no view, no key)
//!   — is `Ok` with view `quarantine` and its original bytes sealed under
//!   the quarantine key (a public key: sealing needs no network);
//! - answers that do not fit the response limit are sealed together in one
//!   overflow bundle, carried by one of them; the others are `Dropped`.
//!
//! With an Iceberg destination ([`Routing`]) no table may receive a sealed
//! or control record: the view streams answer them `Dropped`, and a third
//! stream (`CDCMASK_VIEW=quarantine`, S3) answers every row `Dropped` and
//! seals what the view streams leave, and logs control records.
//!
//! # Layout
//! - this module: the plan of a batch, its counts and result.
//! - `event`: the event, read without ever quoting input in an error.
//! - `batch`: every record transformed or sealed into arenas.
//! - `response`: the response written within [`MAX_RESPONSE_BYTES`].

mod batch;
mod event;
mod response;
pub mod spare;

use crate::guard::Tally;
use crate::keys::{DataKey, DataKeyCache, WrapError};
use crate::policy::View;
use crate::reason::Reason;
use crate::transform::Transformer;

pub use event::Event;
use event::EventRecord;

/// Largest response we produce. Lambda rejects synchronous responses over
/// 6 MB (measured limit 6,291,556 bytes); like AWS's own Firehose blueprint we
/// stop at 6,000,000 to keep a margin.
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const MAX_RESPONSE_BYTES: usize = 6_000_000;

/// Partition-key names every `Ok` answer carries (and `Dropped` control
/// answers).
pub const PARTITION_KEYS: [&str; 4] = ["view", "schema", "table", "dt"];

/// `partitionKeys.view` of sealed records.
pub const QUARANTINE_VIEW: &str = "quarantine";

/// `partitionKeys.view` of dropped control records.
pub const CONTROL_VIEW: &str = "control";

/// Which view an invocation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Always this view.
    Fixed(View),
    /// Taken from the invoking delivery stream's name: a name with a
    /// `masked` or `encrypted` segment (split on `-`, `_`, `.`), e.g.
    /// `cdc-masked`, `cdc-encrypted`.
    Auto,
    /// The quarantine stream of an Iceberg deployment: no view at all. Rows
    /// are answered `Dropped` (the view streams deliver them), records that
    /// cannot be protected are sealed `Ok`, control records logged `Ok`
    /// under `control/`. Records are checked with the encrypted view's
    /// transformer, which rejects whatever the masked view rejects (only
    /// encryption can fail on a value).
    Quarantine,
}

/// Where a delivery stream delivers, from `CDCMASK_DESTINATION`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Destination {
    /// S3 with dynamic partitioning: every answer carries `partitionKeys`.
    #[default]
    S3,
    /// Apache Iceberg tables: rows carry `otfMetadata`.
    Iceberg(IcebergDatabases),
}

/// The Glue databases of the Iceberg tables, per view; `None`:
/// `<schema>_<view>` of each row (lower-cased), as the template names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcebergDatabases {
    /// Database of the masked view.
    pub masked: Option<String>,
    /// Database of the encrypted view.
    pub encrypted: Option<String>,
}

/// How a batch's answers are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing<'t> {
    /// S3: rows and sealed records `Ok` with `partitionKeys`, control
    /// records `Dropped`.
    S3,
    /// A view stream into Iceberg tables: rows `Ok` with `otfMetadata`;
    /// sealed and control records `Dropped` (the quarantine stream
    /// delivers them).
    Iceberg(&'t IcebergDatabases),
    /// The quarantine stream ([`ViewMode::Quarantine`]): rows `Dropped`,
    /// sealed and control records `Ok` with `partitionKeys`.
    Quarantine,
}

impl<'t> Routing<'t> {
    /// The routing of a stream in `mode` delivering to `destination`.
    pub fn of(mode: ViewMode, destination: &'t Destination) -> Self {
        match (mode, destination) {
            (ViewMode::Quarantine, _) => Routing::Quarantine,
            (_, Destination::S3) => Routing::S3,
            (_, Destination::Iceberg(databases)) => Routing::Iceberg(databases),
        }
    }
}

/// The Iceberg operation of a DMS `operation`: `load` and `insert` insert,
/// `update` updates, `delete` deletes; anything else has no table
/// operation.
pub fn iceberg_operation(dms: &str) -> Option<&'static str> {
    match dms {
        "load" | "insert" => Some("insert"),
        "update" => Some("update"),
        "delete" => Some("delete"),
        _ => None,
    }
}

/// An event that cannot be answered record by record.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The event is not a Firehose transformation event: there are no
    /// record ids to answer.
    #[error("not a Firehose transformation event ({0})")]
    BadEvent(String),
    /// `CDCMASK_VIEW=auto` and the delivery stream's name names no view.
    #[error("cannot tell the view from delivery stream {0:?}: its name must contain a `masked` or `encrypted` segment")]
    UnknownView(String),
    /// A quarantine key could not be made (the system random generator
    /// failed): nothing can be sealed, so the invocation must fail.
    #[error("cannot make a quarantine key: {0}")]
    Seal(#[from] WrapError),
}

/// What to do with every record of a batch.
#[derive(Debug, Clone, Copy)]
pub enum Plan<'t> {
    /// Transform each record for the transformer's view; `data_key` is the
    /// data key of the encrypted view.
    Transform {
        /// The transformer of the view.
        transformer: &'t Transformer,
        /// The encrypted view's data key.
        data_key: Option<&'t DataKey>,
    },
    /// Seal every record: something outside the records (a transient
    /// `reason`) keeps them from being protected now.
    Seal {
        /// Why.
        reason: Reason,
        /// The view the batch was for, if known.
        view: Option<View>,
    },
}

/// Counts of one batch, by outcome. Every record is counted exactly once:
/// `records = rows + dropped_control + routed_elsewhere + quarantined_total()
/// + lost`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    /// Records in the event.
    pub records: u64,
    /// Rows written to the view (`Ok`).
    pub rows: u64,
    /// Control records: answered `Dropped`, or logged `Ok` under
    /// `control/` by the quarantine stream.
    pub dropped_control: u64,
    /// Records answered `Dropped` because another delivery stream of an
    /// Iceberg deployment delivers them: records that cannot be protected,
    /// in a view stream; rows, in the quarantine stream.
    pub routed_elsewhere: u64,
    /// Records sealed into the quarantine, by reason (overflow bundles under
    /// [`Reason::ResponseOverflow`]).
    pub quarantined: Vec<(Reason, u64)>,
    /// Records that fitted nowhere, not even in an overflow bundle, and were
    /// answered `Dropped` (possible only when a single event's records,
    /// compressed and sealed, exceed the response limit; the stream still
    /// holds them for a replay).
    pub lost: u64,
    /// Bytes of the decoded input records.
    pub bytes_in: u64,
    /// Bytes of the response.
    pub bytes_out: u64,
    /// What the guard found in unlisted columns (names and counts).
    pub guard: Tally,
}

impl BatchStats {
    fn quarantine(&mut self, reason: Reason, count: u64) {
        if count == 0 {
            return;
        }
        match self.quarantined.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += count,
            None => self.quarantined.push((reason, count)),
        }
    }

    fn unquarantine(&mut self, reason: Reason) {
        if let Some((_, n)) = self.quarantined.iter_mut().find(|(r, _)| *r == reason) {
            *n -= 1;
        }
        self.quarantined.retain(|(_, n)| *n > 0);
    }

    /// Total records sealed into the quarantine.
    pub fn quarantined_total(&self) -> u64 {
        self.quarantined.iter().map(|(_, n)| n).sum()
    }

    /// Records sealed for a transient reason (something was down).
    pub fn quarantined_transient(&self) -> u64 {
        self.quarantined
            .iter()
            .filter(|(r, _)| r.is_transient())
            .map(|(_, n)| n)
            .sum()
    }
}

/// A processed batch: the response bytes and what happened.
#[derive(Debug)]
pub struct BatchResult {
    /// The response JSON (`{"records":[…]}`).
    pub response: Vec<u8>,
    /// The view written, if it could be told.
    pub view: Option<View>,
    /// Answered by the quarantine stream of an Iceberg deployment
    /// ([`ViewMode::Quarantine`]), which writes no view.
    pub quarantine_stream: bool,
    /// Counts.
    pub stats: BatchStats,
}

impl Drop for BatchResult {
    /// Keeps the response's buffer for the next batch ([`spare`]).
    fn drop(&mut self) {
        spare::give(std::mem::take(&mut self.response));
    }
}

impl BatchResult {
    /// What the batch is reported as (the metrics' `View` dimension):
    /// `masked`, `encrypted`, `quarantine` or `unknown`.
    pub fn view_label(&self) -> &'static str {
        if self.quarantine_stream {
            "quarantine"
        } else {
            self.view.map_or("unknown", View::as_str)
        }
    }
}

impl Event {
    /// Records in the event.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the event holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The view this event is for.
    ///
    /// # Errors
    /// [`BatchError::UnknownView`] in [`ViewMode::Auto`] when the delivery
    /// stream's name names no view.
    pub fn view(&self, mode: ViewMode) -> Result<View, BatchError> {
        match mode {
            ViewMode::Fixed(view) => Ok(view),
            // Checks records as the encrypted view would (see the mode).
            ViewMode::Quarantine => Ok(View::Encrypted),
            ViewMode::Auto => view_from_stream(self.delivery_stream_arn.as_deref().unwrap_or("")),
        }
    }

    /// Answers every record as `plan` says and addressed as `routing`
    /// says, sealing what cannot be protected with keys from `quarantine`,
    /// and writes the response.
    ///
    /// # Errors
    /// [`BatchError::Seal`] only if a quarantine key is needed and the
    /// system random generator fails.
    pub fn answer(
        &self,
        plan: Plan<'_>,
        routing: Routing<'_>,
        quarantine: &DataKeyCache,
    ) -> Result<BatchResult, BatchError> {
        let view = match plan {
            Plan::Transform { transformer, .. } => Some(transformer.view()),
            Plan::Seal { view, .. } => view,
        };
        let mut batch = batch::Batch::new(self, plan, routing);
        batch.seal_rejected(self, quarantine)?;
        let (response, stats) = response::write(batch, self, quarantine)?;
        Ok(BatchResult {
            response,
            view,
            quarantine_stream: routing == Routing::Quarantine,
            stats,
        })
    }
}

/// The view named by a delivery stream ARN or name.
///
/// # Errors
/// [`BatchError::UnknownView`] unless exactly one of `masked` / `encrypted`
/// is a segment of the name.
pub fn view_from_stream(arn: &str) -> Result<View, BatchError> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let mut found = None;
    for part in name.split(['-', '_', '.']) {
        let view = if part.eq_ignore_ascii_case("masked") {
            View::Masked
        } else if part.eq_ignore_ascii_case("encrypted") {
            View::Encrypted
        } else {
            continue;
        };
        if found.is_some_and(|f| f != view) {
            return Err(BatchError::UnknownView(name.to_owned()));
        }
        found = Some(view);
    }
    found.ok_or_else(|| BatchError::UnknownView(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_from_stream_names() {
        let arn = |n: &str| format!("arn:aws:firehose:us-east-1:123456789012:deliverystream/{n}");
        assert_eq!(view_from_stream(&arn("cdc-masked")).unwrap(), View::Masked);
        assert_eq!(
            view_from_stream(&arn("dcp_Encrypted")).unwrap(),
            View::Encrypted
        );
        assert_eq!(view_from_stream("cdc-encrypted").unwrap(), View::Encrypted);
        for bad in ["cdc", "cdc-unmasked", "masked-encrypted", ""] {
            assert!(view_from_stream(&arn(bad)).is_err(), "{bad}");
        }
    }
}
