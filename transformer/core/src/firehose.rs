//! The Firehose data-transformation contract: a batch of base64 records in,
//! exactly one answer per `recordId` out.
//!
//! A batch is processed in three steps so that no key service is called
//! while transforming and none at all when it is not needed:
//! 1. transform every record into one output arena (sync, pure);
//! 2. if a record was rejected, get a quarantine data key and seal it;
//! 3. write the response, keeping it under [`MAX_RESPONSE_BYTES`].
//!
//! Answers: a row change is `Ok` with its view in `partitionKeys.view`; a
//! control record is `Dropped`; a malformed record is `Ok` with view
//! `quarantine` and its original bytes sealed under the quarantine key. A
//! record whose answer would push the response past the limit is
//! `ProcessingFailed` (counted, logged): Firehose then writes its raw bytes to
//! the delivery stream's error prefix, which must be locked down like the
//! quarantine. `ProcessingFailed` is never used for anything else; when a key
//! cannot be had the whole invocation fails and Firehose retries it.

use std::borrow::Cow;
use std::ops::Range;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cipher;
use crate::json;
use crate::keys::DataKey;
use crate::partition;
use crate::policy::View;
use crate::reason::Reason;
use crate::transform::{Outcome, Route, Scratch, Transformer};

/// Largest response we produce. Lambda rejects synchronous responses over
/// 6 MB (measured limit 6,291,556 bytes); like AWS's own Firehose blueprint we
/// stop at 6,000,000 to keep a margin.
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const MAX_RESPONSE_BYTES: usize = 6_000_000;

/// Partition-key names every `Ok` and `Dropped` answer carries.
pub const PARTITION_KEYS: [&str; 4] = ["view", "schema", "table", "dt"];

/// `partitionKeys.view` of sealed malformed records.
pub const QUARANTINE_VIEW: &str = "quarantine";

/// `partitionKeys.view` of dropped control records.
pub const CONTROL_VIEW: &str = "control";

/// Accepts base64 with or without padding, as producers differ.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Which view an invocation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Always this view.
    Fixed(View),
    /// Taken from the invoking delivery stream's name: a name with a
    /// `masked` or `encrypted` segment (split on `-`, `_`, `.`), e.g.
    /// `cdc-masked`, `cdc-encrypted`.
    Auto,
}

/// An event that cannot be answered record by record.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The event is not a Firehose transformation event.
    #[error("not a Firehose transformation event ({0})")]
    BadEvent(String),
    /// `CDCMASK_VIEW=auto` and the delivery stream's name names no view.
    #[error("cannot tell the view from delivery stream {0:?}: its name must contain a `masked` or `encrypted` segment")]
    UnknownView(String),
}

/// Counts of one batch, by outcome.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchStats {
    /// Records in the event.
    pub records: u64,
    /// Rows written to the view (`Ok`).
    pub rows: u64,
    /// Control records answered `Dropped`.
    pub dropped_control: u64,
    /// Records sealed into the quarantine, by reason.
    pub quarantined: Vec<(Reason, u64)>,
    /// Records answered `ProcessingFailed` because the response was full.
    pub failed_response_full: u64,
    /// Records answered `ProcessingFailed` because the policy is stale.
    pub failed_policy_stale: u64,
    /// Bytes of the decoded input records.
    pub bytes_in: u64,
    /// Bytes of the response.
    pub bytes_out: u64,
}

impl BatchStats {
    fn quarantine(&mut self, reason: Reason) {
        match self.quarantined.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.quarantined.push((reason, 1)),
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
}

/// A processed batch: the response bytes and what happened.
#[derive(Debug)]
pub struct BatchResult {
    /// The response JSON (`{"records":[…]}`).
    pub response: Vec<u8>,
    /// The view written.
    pub view: View,
    /// Counts.
    pub stats: BatchStats,
}

/// A parsed Firehose transformation event; record data stays borrowed from
/// the event bytes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<'a> {
    #[serde(borrow, default)]
    delivery_stream_arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    records: Vec<EventRecord<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord<'a> {
    #[serde(borrow)]
    record_id: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    approximate_arrival_timestamp: Option<&'a RawValue>,
}

/// One record's answer before the response is written.
enum Answer {
    /// Output line in the arena, and its rendered partition keys; `sealed`
    /// names the reason when the line is a sealed quarantine record.
    Ok {
        line: Range<usize>,
        keys: Range<usize>,
        sealed: Option<Reason>,
    },
    /// A control record.
    Dropped { keys: Range<usize> },
    /// Original bytes (in the rejects arena), to be sealed.
    Rejected {
        reason: Reason,
        original: Range<usize>,
        date: String,
    },
}

impl<'a> Event<'a> {
    /// Parses an event.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] if it is not a Firehose transformation event
    /// (the message says where and what kind, never quotes input).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BatchError> {
        serde_json::from_slice(bytes).map_err(|e| {
            // serde's message can quote input; report only where and what kind.
            BatchError::BadEvent(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }

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
            ViewMode::Auto => view_from_stream(self.delivery_stream_arn.as_deref().unwrap_or("")),
        }
    }

    /// Transforms every record with `transformer` (and `key`, the data key
    /// of the encrypted view). Rejected records wait for
    /// [`Batch::seal_rejected`].
    pub fn transform(&self, transformer: &Transformer, key: Option<&DataKey>) -> Batch {
        let mut batch = Batch::default();
        for record in &self.records {
            batch.add(transformer, key, record);
        }
        batch
    }

    /// Answers every record `ProcessingFailed` (fail closed: no usable
    /// policy).
    pub fn fail_all(&self, view: View) -> BatchResult {
        fail_all(view, &self.records)
    }
}

/// Answers every record `ProcessingFailed` (fail closed: no usable policy).
fn fail_all(view: View, records: &[EventRecord<'_>]) -> BatchResult {
    let mut response = b"{\"records\":[".to_vec();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            response.push(b',');
        }
        response.extend_from_slice(b"{\"recordId\":");
        json::write_string(&mut response, &record.record_id);
        response.extend_from_slice(b",\"result\":\"ProcessingFailed\",\"data\":\"\"}");
    }
    response.extend_from_slice(b"]}");
    let count = u64::try_from(records.len()).unwrap_or(u64::MAX);
    let stats = BatchStats {
        records: count,
        failed_policy_stale: count,
        bytes_out: u64::try_from(response.len()).unwrap_or(u64::MAX),
        ..BatchStats::default()
    };
    BatchResult {
        response,
        view,
        stats,
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

/// A transformed batch, before its response is written.
#[derive(Default)]
pub struct Batch {
    answers: Vec<Answer>,
    /// Output lines of all rows, back to back.
    lines: Vec<u8>,
    /// Rendered `partitionKeys` objects.
    keys: Vec<u8>,
    /// Original bytes of rejected records.
    originals: Vec<u8>,
    decoded: Vec<u8>,
    scratch: Scratch,
    rejected: u64,
    stats: BatchStats,
}

impl Batch {
    fn add(&mut self, transformer: &Transformer, key: Option<&DataKey>, record: &EventRecord<'_>) {
        self.stats.records += 1;
        // Needed only when the record carries no usable date of its own.
        let arrival = || {
            record
                .approximate_arrival_timestamp
                .and_then(|raw| raw.get().parse::<f64>().ok())
                .filter(|ms| ms.is_finite())
                // Saturating float-to-int conversion; any value is safe here.
                .map(|ms| partition::date_from_millis(ms as i64))
        };
        let decoded = match record.data.and_then(string_value) {
            Some(text) => {
                self.decoded.clear();
                LENIENT_BASE64
                    .decode_vec(text.as_bytes(), &mut self.decoded)
                    .is_ok()
            }
            _ => false,
        };
        if !decoded {
            // Keep whatever was sent (the JSON text of `data`), sealed.
            let original = record.data.map_or("", |raw| raw.get()).as_bytes().to_vec();
            self.reject(Reason::InvalidBase64, &original, arrival());
            return;
        }
        self.stats.bytes_in += u64::try_from(self.decoded.len()).unwrap_or(u64::MAX);
        let start = self.lines.len();
        let decoded = std::mem::take(&mut self.decoded);
        match transformer.transform(&decoded, key, &mut self.lines, &mut self.scratch) {
            Outcome::Row(route) => {
                let keys = self.render_keys(transformer.view().as_str(), &route, arrival);
                self.answers.push(Answer::Ok {
                    line: start..self.lines.len(),
                    sealed: None,
                    keys,
                });
                self.stats.rows += 1;
            }
            Outcome::Control(route) => {
                let keys = self.render_keys(CONTROL_VIEW, &route, arrival);
                self.answers.push(Answer::Dropped { keys });
                self.stats.dropped_control += 1;
            }
            Outcome::Rejected(reason) => self.reject(reason, &decoded, arrival()),
        }
        self.decoded = decoded;
    }

    fn reject(&mut self, reason: Reason, original: &[u8], arrival: Option<String>) {
        let start = self.originals.len();
        self.originals.extend_from_slice(original);
        self.answers.push(Answer::Rejected {
            reason,
            original: start..self.originals.len(),
            date: arrival.unwrap_or_else(|| partition::UNKNOWN.to_owned()),
        });
        self.rejected += 1;
        self.stats.quarantine(reason);
    }

    /// Renders `{"view":…,"schema":…,"table":…,"dt":…}` into the keys arena.
    fn render_keys(
        &mut self,
        view: &str,
        route: &Route<'_>,
        arrival: impl FnOnce() -> Option<String>,
    ) -> Range<usize> {
        let fallback;
        let date = match route.date {
            Some(date) => date,
            None => {
                fallback = arrival();
                fallback.as_deref().unwrap_or(partition::UNKNOWN)
            }
        };
        let start = self.keys.len();
        write_keys(
            &mut self.keys,
            view,
            &partition::segment(&route.schema),
            &partition::segment(&route.table),
            date,
        );
        start..self.keys.len()
    }

    /// Records that must be sealed into the quarantine.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Seals every rejected record of `event` (the event this batch was
    /// transformed from) and turns its answer into an `Ok` one.
    pub fn seal_rejected(&mut self, key: &DataKey, event: &Event<'_>) {
        let records = &event.records;
        let mut sealed = Vec::new();
        for (answer, input) in self.answers.iter_mut().zip(records) {
            let Answer::Rejected {
                reason,
                original,
                date,
            } = answer
            else {
                continue;
            };
            tracing::warn!(record_id = %input.record_id, reason = %reason, "quarantined");
            let start = self.lines.len();
            cipher::write_quarantine(
                key,
                reason.as_str(),
                &input.record_id,
                &self.originals[original.clone()],
                &mut sealed,
                &mut self.lines,
            );
            let keys_start = self.keys.len();
            write_keys(
                &mut self.keys,
                QUARANTINE_VIEW,
                partition::UNKNOWN,
                partition::UNKNOWN,
                date,
            );
            *answer = Answer::Ok {
                line: start..self.lines.len(),
                keys: keys_start..self.keys.len(),
                sealed: Some(*reason),
            };
        }
        // The originals held raw records: do not keep them around.
        zeroize::Zeroize::zeroize(&mut self.originals);
    }

    /// Writes the response to `event` (the event this batch was transformed
    /// from), answering every record once, in order, and keeping the total
    /// under [`MAX_RESPONSE_BYTES`].
    pub fn respond(mut self, view: View, event: &Event<'_>) -> BatchResult {
        let mut stats = std::mem::take(&mut self.stats);
        let response = self.write_response(view, &event.records, &mut stats);
        stats.bytes_out = u64::try_from(response.len()).unwrap_or(u64::MAX);
        BatchResult {
            response,
            view,
            stats,
        }
    }

    fn write_response(
        &self,
        view: View,
        records: &[EventRecord<'_>],
        stats: &mut BatchStats,
    ) -> Vec<u8> {
        const OPEN: &[u8] = b"{\"records\":[";
        const CLOSE: &[u8] = b"]}";
        let failed_len = |id: &str| 2 * id.len() + 64;
        let mut reserve: usize = records.iter().map(|r| failed_len(&r.record_id)).sum();
        let expected =
            self.lines.len() * 4 / 3 + self.keys.len() + reserve + OPEN.len() + CLOSE.len();
        let mut out = Vec::with_capacity(expected.min(MAX_RESPONSE_BYTES + 1024));
        out.extend_from_slice(OPEN);
        for (i, (answer, record)) in self.answers.iter().zip(records).enumerate() {
            reserve -= failed_len(&record.record_id);
            let start = out.len();
            if i > 0 {
                out.push(b',');
            }
            // An upper bound of the answer's size, so that an answer that
            // cannot fit is not base64-encoded only to be thrown away.
            let bound = match answer {
                Answer::Ok { line, keys, .. } => line.len().div_ceil(3) * 4 + keys.len(),
                Answer::Dropped { keys } => keys.len(),
                Answer::Rejected { .. } => 0,
            } + 2 * record.record_id.len()
                + 96;
            let fits = out.len() + bound + reserve + CLOSE.len() <= MAX_RESPONSE_BYTES;
            out.extend_from_slice(b"{\"recordId\":");
            json::write_string(&mut out, &record.record_id);
            let keys = match answer {
                _ if !fits => None,
                Answer::Ok { line, keys, .. } => {
                    out.extend_from_slice(b",\"result\":\"Ok\",\"data\":\"");
                    append_base64(&mut out, &self.lines[line.clone()]);
                    out.push(b'"');
                    Some(keys)
                }
                Answer::Dropped { keys } => {
                    out.extend_from_slice(b",\"result\":\"Dropped\",\"data\":\"\"");
                    Some(keys)
                }
                // Every rejected record was sealed before responding; should
                // one not be, it is retried by Firehose, not answered Ok.
                Answer::Rejected { .. } => None,
            };
            if let Some(keys) = keys {
                out.extend_from_slice(b",\"metadata\":{\"partitionKeys\":");
                out.extend_from_slice(&self.keys[keys.clone()]);
                out.extend_from_slice(b"}}");
            }
            if keys.is_none() || out.len() + reserve + CLOSE.len() > MAX_RESPONSE_BYTES {
                out.truncate(start);
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"recordId\":");
                json::write_string(&mut out, &record.record_id);
                out.extend_from_slice(b",\"result\":\"ProcessingFailed\",\"data\":\"\"}");
                stats.failed_response_full += 1;
                // Counted once, where it ended up.
                match answer {
                    Answer::Ok { sealed: None, .. } => stats.rows -= 1,
                    Answer::Ok {
                        sealed: Some(reason),
                        ..
                    } => stats.unquarantine(*reason),
                    Answer::Dropped { .. } => stats.dropped_control -= 1,
                    Answer::Rejected { reason, .. } => stats.unquarantine(*reason),
                }
            }
        }
        if stats.failed_response_full > 0 {
            tracing::error!(
                view = view.as_str(),
                failed = stats.failed_response_full,
                "response would exceed {MAX_RESPONSE_BYTES} bytes: records answered ProcessingFailed; lower the processor's BufferSizeInMBs"
            );
        }
        out.extend_from_slice(CLOSE);
        out
    }
}

/// The text of a JSON string value, or `None` if `raw` is not a string.
/// Borrowed when it has no escapes, as base64 never needs any: then it
/// is not scanned a second time.
fn string_value(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    match text.as_bytes() {
        // A valid JSON string without a backslash is its body, as written.
        [b'"', body @ .., b'"'] if memchr::memchr(b'\\', body).is_none() => {
            text.get(1..text.len() - 1).map(Cow::Borrowed)
        }
        _ => serde_json::from_str(text).ok(),
    }
}

fn write_keys(out: &mut Vec<u8>, view: &str, schema: &str, table: &str, date: &str) {
    for (i, (name, value)) in PARTITION_KEYS
        .iter()
        .zip([view, schema, table, date])
        .enumerate()
    {
        out.extend_from_slice(if i == 0 { b"{\"" } else { b",\"" });
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
        json::write_string(out, value);
    }
    out.push(b'}');
}

fn append_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    let written = STANDARD.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
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
