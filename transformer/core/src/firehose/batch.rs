//! A batch's records transformed (or rejected) into arenas, then the
//! rejected ones sealed: everything the response is written from.

use std::ops::Range;

use super::response::Budget;
use super::spare::Pool;
use super::{
    iceberg_operation, spare, BatchStats, Event, EventRecord, IcebergDatabases, Plan, Routing,
    CONTROL_VIEW, QUARANTINE_VIEW,
};
use crate::cipher::{self, Sealing};
use crate::envelope::{self, DmsRecord};
use crate::json::{self, MemberVecs};
use crate::keys::{DataKeyCache, WrapError};
use crate::partition;
use crate::policy::View;
use crate::reason::Reason;
use crate::transform::{Outcome, Route, Scratch};

/// [`Routing`] without its borrow, kept by a batch.
enum RoutingOwned {
    S3,
    Iceberg(IcebergDatabases),
    Quarantine,
}

impl RoutingOwned {
    fn of(routing: Routing<'_>) -> Self {
        match routing {
            Routing::S3 => RoutingOwned::S3,
            Routing::Iceberg(databases) => RoutingOwned::Iceberg(databases.clone()),
            Routing::Quarantine => RoutingOwned::Quarantine,
        }
    }
}

/// What an `Ok` answer carries.
#[derive(Clone, Copy)]
pub(super) enum Carried {
    /// A row of the view.
    Row,
    /// A sealed quarantine record, and why.
    Sealed(Reason),
    /// A control record's log line (the quarantine stream).
    Control,
}

/// One record's answer before the response is written.
pub(super) enum Answer {
    /// Output line in the lines arena, and its rendered metadata members
    /// (`"partitionKeys":{…}` or `"otfMetadata":{…}`).
    Ok {
        line: Range<usize>,
        keys: Range<usize>,
        carried: Carried,
    },
    /// A control record (with its partition keys), or a record another
    /// delivery stream delivers (an empty range: no metadata).
    Dropped { keys: Range<usize> },
    /// To be sealed: original bytes in the originals arena.
    Rejected {
        reason: Reason,
        original: Range<usize>,
    },
    /// Past the response limit, so not transformed: its original bytes go
    /// into the overflow bundle, as its answer (a row or a sealed record)
    /// would have.
    Overflow,
}

/// Every record of an event, answered in arenas.
pub(super) struct Batch {
    pub(super) answers: Vec<Answer>,
    /// Every record id as a JSON string, back to back.
    pub(super) id_text: Vec<u8>,
    /// Each record's id in `id_text`.
    pub(super) ids: Vec<Range<usize>>,
    /// Output lines, back to back.
    pub(super) lines: Vec<u8>,
    /// Rendered `partitionKeys` objects.
    pub(super) keys: Vec<u8>,
    pub(super) stats: BatchStats,
    /// A view stream into Iceberg tables: nothing is sealed here, not
    /// even an overflow bundle.
    pub(super) iceberg: bool,
    routing: RoutingOwned,
    /// Original bytes of rejected records (zeroized once sealed).
    originals: Vec<u8>,
    recent_keys: RecentKeys,
    scratch: Scratch,
}

/// How many distinct partition keys a batch remembers ([`RecentKeys`]).
const RECENT_KEYS: usize = 8;

/// The partition keys a batch rendered last, by what they were rendered
/// from: a batch's rows come from a few tables on a few days, and answers
/// with the same keys share their bytes in the keys arena instead of each
/// rendering its own.
#[derive(Default)]
struct RecentKeys {
    entries: Vec<RenderedKeys>,
    /// The entry to replace next once all are taken.
    oldest: usize,
}

/// Partition keys in the keys arena, and the view, raw table names and
/// date they were rendered from.
struct RenderedKeys {
    view: &'static str,
    schema: String,
    table: String,
    date: String,
    keys: Range<usize>,
}

impl RecentKeys {
    fn find(&self, view: &str, route: &Route<'_>, date: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|e| {
                e.date == date
                    && e.table == route.table
                    && e.schema == route.schema
                    && e.view == view
            })
            .map(|e| e.keys.clone())
    }

    fn remember(&mut self, view: &'static str, route: &Route<'_>, date: &str, keys: Range<usize>) {
        let entry = RenderedKeys {
            view,
            schema: route.schema.as_ref().to_owned(),
            table: route.table.as_ref().to_owned(),
            date: date.to_owned(),
            keys,
        };
        if self.entries.len() < RECENT_KEYS {
            self.entries.push(entry);
        } else {
            self.entries[self.oldest] = entry;
            self.oldest = (self.oldest + 1) % RECENT_KEYS;
        }
    }
}

/// Answers of earlier batches, for the next ([`spare`]).
static ANSWERS: Pool<Answer> = Pool::new();
/// Where each record id is in a batch's `id_text`, kept the same way.
static ID_RANGES: Pool<Range<usize>> = Pool::new();

impl Drop for Batch {
    /// Keeps the large buffers for the next batch ([`spare`]).
    fn drop(&mut self) {
        for buffer in [&mut self.lines, &mut self.keys, &mut self.id_text] {
            spare::give(std::mem::take(buffer));
        }
        ANSWERS.give(std::mem::take(&mut self.answers));
        ID_RANGES.give(std::mem::take(&mut self.ids));
    }
}

impl Batch {
    /// Answers every record of `event` as `plan` says, addressed as
    /// `routing` says; rejected records wait for [`Batch::seal_rejected`].
    ///
    /// Delivering to S3, records after the point where the answers can no
    /// longer all fit ([`Budget`]) are not transformed: they end up in the
    /// overflow bundle whatever their answer would be, unless they are
    /// control records (answered `Dropped` either way). The guard's tally
    /// therefore counts only what is transformed.
    pub(super) fn new(event: &Event, plan: Plan<'_>, routing: Routing<'_>) -> Self {
        // Masked lines weigh about as much as the records, encrypted ones
        // 1.7 times (measured on the sample tables): reserved once, so the
        // arena is not copied as it grows.
        let lines = match plan {
            Plan::Transform { transformer, .. } if transformer.view() == View::Encrypted => {
                event.data.len() * 2
            }
            _ => event.data.len() + event.data.len() / 4,
        };
        let mut id_text = spare::take(event.records.len() * 64);
        let mut ids = ID_RANGES.take(event.records.len());
        ids.extend(event.records.iter().map(|r| {
            let start = id_text.len();
            event.write_record_id(r, &mut id_text);
            start..id_text.len()
        }));
        // Iceberg view streams bundle nothing, and the quarantine stream
        // drops rows: both answer every record as it is.
        let mut budget = matches!(routing, Routing::S3).then(|| Budget::new(&ids));
        let mut batch = Batch {
            answers: ANSWERS.take(event.records.len()),
            id_text,
            ids,
            lines: spare::take(lines),
            // `"partitionKeys":{…}` of a sample row is about 85 bytes.
            keys: spare::take(event.records.len() * 96),
            stats: BatchStats::default(),
            iceberg: matches!(routing, Routing::Iceberg(_)),
            routing: RoutingOwned::of(routing),
            originals: Vec::new(),
            recent_keys: RecentKeys::default(),
            scratch: Scratch::default(),
        };
        let mut spent = false;
        for (record, id) in event.records.iter().zip(0..) {
            batch.stats.records += 1;
            if spent {
                batch.add_overflowing(plan, event, record);
                continue;
            }
            batch.add(plan, event, record);
            if let (Some(budget), Some(answer)) = (&mut budget, batch.answers.last()) {
                spent = budget.spend(answer, batch.ids[id].len());
            }
        }
        batch.stats.guard = batch.scratch.take_guard_tally();
        batch
    }

    fn add(&mut self, plan: Plan<'_>, event: &Event, record: &EventRecord) {
        let decoded = match event.original(record) {
            (true, decoded) => decoded,
            // Keep whatever was sent (the JSON text of `data`), sealed.
            (false, text) => {
                self.reject(Reason::InvalidBase64, text);
                return;
            }
        };
        self.stats.bytes_in += u64::try_from(decoded.len()).unwrap_or(u64::MAX);
        let (transformer, data_key) = match plan {
            Plan::Transform {
                transformer,
                data_key,
            } => (transformer, data_key),
            Plan::Seal { reason, .. } => {
                self.reject(reason, decoded);
                return;
            }
        };
        let start = self.lines.len();
        let view = transformer.view();
        match transformer.transform(decoded, data_key, &mut self.lines, &mut self.scratch) {
            Outcome::Row(route) => self.row(view, &route, record, start, decoded),
            Outcome::Control(route) => {
                let keys = self.render_keys(CONTROL_VIEW, &route, record);
                self.stats.dropped_control += 1;
                if let RoutingOwned::Quarantine = self.routing {
                    let line = self.lines.len();
                    crate::envelope::write_control_line(decoded, &mut self.lines);
                    self.lines.push(b'\n');
                    self.answers.push(Answer::Ok {
                        line: line..self.lines.len(),
                        keys,
                        carried: Carried::Control,
                    });
                } else {
                    self.answers.push(Answer::Dropped { keys });
                }
            }
            Outcome::Rejected(reason) => self.reject(reason, decoded),
        }
    }

    /// Answers a record past the response limit without transforming it
    /// (see [`Batch::new`]).
    fn add_overflowing(&mut self, plan: Plan<'_>, event: &Event, record: &EventRecord) {
        let (decoded, original) = event.original(record);
        if decoded {
            self.stats.bytes_in += u64::try_from(original.len()).unwrap_or(u64::MAX);
        }
        // Only a plan that transforms tells control records apart.
        let control = decoded
            && matches!(plan, Plan::Transform { .. })
            && may_be_control(original)
            && matches!(
                envelope::parse(original, &mut MemberVecs::default()),
                Ok(DmsRecord::Control { .. })
            );
        if control {
            self.stats.dropped_control += 1;
            self.answers.push(Answer::Dropped { keys: 0..0 });
        } else {
            self.answers.push(Answer::Overflow);
        }
    }

    /// Answers a row written to the lines arena from `start`.
    fn row(
        &mut self,
        view: View,
        route: &Route<'_>,
        record: &EventRecord,
        start: usize,
        decoded: &[u8],
    ) {
        let operation = match &self.routing {
            RoutingOwned::S3 => None,
            RoutingOwned::Iceberg(_) | RoutingOwned::Quarantine => {
                // A row no table operation fits is sealed, by the
                // quarantine stream (the view streams leave it).
                match route.operation.and_then(iceberg_operation) {
                    Some(operation) => Some(operation),
                    None => {
                        self.lines.truncate(start);
                        self.reject(Reason::NotDms, decoded);
                        return;
                    }
                }
            }
        };
        let keys = match (&self.routing, operation) {
            (RoutingOwned::Quarantine, _) => {
                self.lines.truncate(start);
                self.answers.push(Answer::Dropped { keys: 0..0 });
                self.stats.routed_elsewhere += 1;
                return;
            }
            (RoutingOwned::Iceberg(databases), Some(operation)) => {
                let keys = self.keys.len();
                write_otf(&mut self.keys, databases, view, route, operation);
                keys..self.keys.len()
            }
            _ => self.render_keys(view.as_str(), route, record),
        };
        self.answers.push(Answer::Ok {
            line: start..self.lines.len(),
            keys,
            carried: Carried::Row,
        });
        self.stats.rows += 1;
    }

    fn reject(&mut self, reason: Reason, original: &[u8]) {
        if self.iceberg {
            // The quarantine stream seals it: never into a table.
            self.answers.push(Answer::Dropped { keys: 0..0 });
            self.stats.routed_elsewhere += 1;
            return;
        }
        let start = self.originals.len();
        self.originals.extend_from_slice(original);
        self.answers.push(Answer::Rejected {
            reason,
            original: start..self.originals.len(),
        });
        self.stats.quarantine(reason, 1);
    }

    /// Renders `{"view":…,"schema":…,"table":…,"dt":…}` into the keys arena,
    /// or gives those of an earlier record of the same view, table and day
    /// ([`RecentKeys`]); the date is the change's own, else the record's
    /// arrival date.
    fn render_keys(
        &mut self,
        view: &'static str,
        route: &Route<'_>,
        record: &EventRecord,
    ) -> Range<usize> {
        let fallback;
        let date = match route.date {
            Some(date) => date,
            None => {
                fallback = arrival_date(record);
                fallback.as_deref().unwrap_or(partition::UNKNOWN)
            }
        };
        if let Some(keys) = self.recent_keys.find(view, route, date) {
            return keys;
        }
        let start = self.keys.len();
        write_keys(
            &mut self.keys,
            view,
            &partition::segment(&route.schema),
            &partition::segment(&route.table),
            date,
        );
        let keys = start..self.keys.len();
        self.recent_keys.remember(view, route, date, keys.clone());
        keys
    }

    /// Seals every rejected record under a quarantine key and turns its
    /// answer into an `Ok` one (view `quarantine`).
    ///
    /// # Errors
    /// [`WrapError::Random`] if a quarantine key is needed and the system
    /// random generator fails.
    pub(super) fn seal_rejected(
        &mut self,
        event: &Event,
        quarantine: &DataKeyCache,
    ) -> Result<(), WrapError> {
        let rejected = self
            .answers
            .iter()
            .filter(|a| matches!(a, Answer::Rejected { .. }))
            .count();
        if rejected == 0 {
            return Ok(());
        }
        let key = quarantine.key_for(u64::try_from(rejected).unwrap_or(u64::MAX))?;
        let mut sealed = Vec::new();
        for (answer, input) in self.answers.iter_mut().zip(&event.records) {
            let Answer::Rejected { reason, original } = answer else {
                continue;
            };
            tracing::warn!(record_id = %event.record_id(input), reason = %reason, "quarantined");
            let start = self.lines.len();
            cipher::write_quarantine(
                &key,
                reason.as_str(),
                event.record_id(input),
                Sealing::Record(&self.originals[original.clone()]),
                &mut sealed,
                &mut self.lines,
            );
            let keys = quarantine_keys(&mut self.keys, input);
            *answer = Answer::Ok {
                line: start..self.lines.len(),
                keys,
                carried: Carried::Sealed(*reason),
            };
        }
        // The originals held raw records: do not keep them around.
        zeroize::Zeroize::zeroize(&mut self.originals);
        Ok(())
    }
}

/// Whether `record` may be a control record: its `record-type` can only
/// say `control` in those letters or with escapes. Most rows have neither,
/// and are told apart without being parsed.
fn may_be_control(record: &[u8]) -> bool {
    memchr::memmem::find(record, b"control").is_some() || memchr::memchr(b'\\', record).is_some()
}

/// Renders the partition keys of a sealed record into `keys`:
/// `quarantine/unknown/unknown/dt=<arrival date>`.
pub(super) fn quarantine_keys(keys: &mut Vec<u8>, record: &EventRecord) -> Range<usize> {
    let start = keys.len();
    let date = arrival_date(record);
    write_keys(
        keys,
        QUARANTINE_VIEW,
        partition::UNKNOWN,
        partition::UNKNOWN,
        date.as_deref().unwrap_or(partition::UNKNOWN),
    );
    start..keys.len()
}

/// `YYYY-MM-DD` of a record's arrival time, if Firehose gave one.
fn arrival_date(record: &EventRecord) -> Option<String> {
    record
        .arrival_millis
        // Finite, and the float-to-int conversion saturates.
        .map(|ms| partition::date_from_millis(ms as i64))
}

/// Writes `"otfMetadata":{"destinationDatabaseName":…,
/// "destinationTableName":…,"operation":…}`: the view's database (given,
/// or `<schema>_<view>`) and the table, lower-cased as Glue names them.
fn write_otf(
    out: &mut Vec<u8>,
    databases: &IcebergDatabases,
    view: View,
    route: &Route<'_>,
    operation: &str,
) {
    let given = match view {
        View::Masked => databases.masked.as_deref(),
        View::Encrypted => databases.encrypted.as_deref(),
    };
    let database = match given {
        Some(name) => name.to_owned(),
        None => format!("{}_{}", route.schema.to_lowercase(), view.as_str()),
    };
    out.extend_from_slice(b"\"otfMetadata\":{\"destinationDatabaseName\":");
    json::write_string(out, &database);
    out.extend_from_slice(b",\"destinationTableName\":");
    json::write_string(out, &route.table.to_lowercase());
    out.extend_from_slice(b",\"operation\":");
    json::write_string(out, operation);
    out.push(b'}');
}

/// Writes `"partitionKeys":{"view":…,"schema":…,"table":…,"dt":…}`.
///
/// Every value is a partition value (a view name, [`partition::segment`],
/// a date or [`partition::UNKNOWN`]), so none needs escaping: each is
/// written as it is between quotes.
fn write_keys(out: &mut Vec<u8>, view: &str, schema: &str, table: &str, date: &str) {
    out.extend_from_slice(b"\"partitionKeys\":");
    for (i, (name, value)) in super::PARTITION_KEYS
        .iter()
        .zip([view, schema, table, date])
        .enumerate()
    {
        debug_assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'),
            "partition values need no escaping"
        );
        out.extend_from_slice(if i == 0 { b"{\"" } else { b",\"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":\"");
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
}
