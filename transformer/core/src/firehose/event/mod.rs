//! The Firehose transformation event, read with the core's own JSON
//! scanner. The Lambda runtime deserializes the body once, into an
//! [`Event`] (serde hands over the body's text, which the scanner reads),
//! and reports a failure in the invocation's error (and its log): so
//! errors never quote input, which serde's type errors do
//! (`invalid type: string "…"`).
//!
//! Record `data` is decoded as it is read, into a few large chunks for the
//! whole event ([`Arena`]): no allocation per record, and no chunk is ever
//! reallocated (copied) as the event grows.
//!
//! # Layout
//! - `read`: the reader (one pass, strict, errors that quote nothing).
//! - `arena`: the records' bytes, wiped when the event is dropped.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::spare::{self, Pool};
use super::BatchError;
use crate::json;

mod arena;
mod read;
#[cfg(test)]
mod tests;

pub(super) use arena::Arena;
use arena::Span;

/// A Firehose transformation event: what the contract needs of it.
pub struct Event {
    pub(super) delivery_stream_arn: Option<String>,
    pub(super) records: Vec<EventRecord>,
    /// Every record's [`Data`].
    pub(super) data: Arena,
    /// Every record's id, back to back.
    ids: String,
}

/// One record of an event.
pub(super) struct EventRecord {
    /// Where its `recordId` is in [`Event::record_id`]'s text.
    record_id: Range<usize>,
    /// Whether the `recordId` came without escapes (so its text holds
    /// nothing a JSON string must escape).
    record_id_plain: bool,
    pub(super) data: Data,
    /// `approximateArrivalTimestamp` when it is a finite number
    /// (milliseconds).
    pub(super) arrival_millis: Option<f64>,
}

/// A record's `data`, in [`Event::data`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Data {
    /// The bytes its base64 encodes.
    Decoded(Span),
    /// Not base64, or not a string: its JSON text, as sent (empty when the
    /// record has no `data`).
    NotBase64(Span),
}

/// The records of earlier events, for the next ([`spare`]).
static RECORDS: Pool<EventRecord> = Pool::new();

impl Drop for Event {
    /// Keeps the records and ids for the next event ([`spare`]); the
    /// arena wipes and keeps the records' bytes itself.
    fn drop(&mut self) {
        RECORDS.give(std::mem::take(&mut self.records));
        spare::give(std::mem::take(&mut self.ids).into_bytes());
    }
}

impl Event {
    /// The `recordId` of `record`.
    pub(super) fn record_id(&self, record: &EventRecord) -> &str {
        self.ids.get(record.record_id.clone()).unwrap_or_default()
    }

    /// Appends the `recordId` of `record` as a JSON string: as it came
    /// when it had no escapes (the same bytes [`json::write_string`]
    /// gives, without its scan), else escaped again.
    pub(super) fn write_record_id(&self, record: &EventRecord, out: &mut Vec<u8>) {
        let id = self.record_id(record);
        if record.record_id_plain {
            out.push(b'"');
            out.extend_from_slice(id.as_bytes());
            out.push(b'"');
        } else {
            json::write_string(out, id);
        }
    }

    /// The original bytes of `record`: its decoded `data`, or the JSON text
    /// of `data` when that is not base64; and whether it was decoded.
    pub(super) fn original(&self, record: &EventRecord) -> (bool, &[u8]) {
        match &record.data {
            Data::Decoded(span) => (true, self.data.get(span)),
            Data::NotBase64(span) => (false, self.data.get(span)),
        }
    }
}

impl Event {
    /// Parses an event (strictly: RFC 8259, as `serde_json` reads it, but
    /// at most [`crate::json::MAX_DEPTH`] deep).
    ///
    /// One pass: record `data` is decoded where it sits, and a base64
    /// `data` is scanned only by the decoder (SIMD), which accepts nothing
    /// a JSON string would have to escape.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] if it is not a Firehose transformation event
    /// (the message says where and what kind, never quotes input).
    pub fn parse(bytes: &[u8]) -> Result<Self, BatchError> {
        read::read_event(bytes)
    }
}

impl<'de> Deserialize<'de> for Event {
    /// As [`Event::parse`] of the document's text, borrowed: the
    /// deserializer must read from a slice (`serde_json::from_slice`, as
    /// `lambda_runtime` does), and checks it is JSON first.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        Event::parse(raw.get().as_bytes()).map_err(de::Error::custom)
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the records' data: it is raw PII.
        f.debug_struct("Event")
            .field("delivery_stream_arn", &self.delivery_stream_arn)
            .field("records", &self.records.len())
            .finish()
    }
}
