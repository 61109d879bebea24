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

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{spare, BatchError};
use crate::json::{JsonError, Scanner};

/// Accepts base64 with or without padding, as producers differ.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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
    pub(super) data: Data,
    /// `approximateArrivalTimestamp` when it is a number (milliseconds).
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

/// Where a record's bytes are in an [`Arena`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Span {
    chunk: usize,
    range: Range<usize>,
}

/// Bytes of an [`Arena`] chunk (a record larger than this gets a chunk of
/// its own).
const CHUNK_BYTES: usize = 1024 * 1024;

/// The records' bytes, in chunks each allocated once at its final size: an
/// event's size is not known while it is read, and one growing buffer
/// would be copied at every doubling.
#[derive(Default)]
pub(super) struct Arena {
    chunks: Vec<Vec<u8>>,
    /// For each chunk, how far writes may have reached: bytes a failed
    /// decode wrote and took back (or left past the length) included.
    reached: Vec<usize>,
    len: usize,
}

impl Arena {
    /// Appends what `write` writes, which is at most `at_most` bytes, to a
    /// chunk with room for it; returns where the bytes are.
    fn append(&mut self, at_most: usize, write: impl FnOnce(&mut Vec<u8>)) -> Span {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= at_most);
        if !fits {
            self.chunks.push(spare::take(at_most.max(CHUNK_BYTES)));
            self.reached.push(0);
        }
        let chunk = self.chunks.len() - 1;
        let bytes = &mut self.chunks[chunk];
        let start = bytes.len();
        self.reached[chunk] = self.reached[chunk].max(start + at_most);
        write(bytes);
        self.len += bytes.len() - start;
        Span {
            chunk,
            range: start..bytes.len(),
        }
    }

    /// The bytes at `span`.
    fn get(&self, span: &Span) -> &[u8] {
        self.chunks
            .get(span.chunk)
            .map_or(&[], |c| &c[span.range.clone()])
    }

    /// Bytes held.
    pub(super) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Arena {
    /// Wipes every byte a write may have reached (clear PII, also what a
    /// failed decode left) and keeps the chunks for the next event
    /// ([`spare`]). The wipe cannot be optimised away: the chunk goes on to
    /// be shared with whichever event takes it.
    fn drop(&mut self) {
        for (mut chunk, reached) in self.chunks.drain(..).zip(self.reached.drain(..)) {
            wipe(&mut chunk, reached);
            spare::give(chunk);
        }
    }
}

/// Zeroes `chunk` up to `reached` bytes (or its length, if longer), past
/// its length too, leaving that many zeroes in it.
fn wipe(chunk: &mut Vec<u8>, reached: usize) {
    // Within capacity: `Arena::append` had room for every write.
    let reached = reached.min(chunk.capacity()).max(chunk.len());
    chunk.fill(0);
    chunk.resize(reached, 0);
}

impl Event {
    /// The `recordId` of `record`.
    pub(super) fn record_id(&self, record: &EventRecord) -> &str {
        self.ids.get(record.record_id.clone()).unwrap_or_default()
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
        read_event(bytes).map_err(|refusal| BatchError::BadEvent(refusal.to_string()))
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

/// Why an event was refused: what, and the byte where it was seen when
/// that is known. Never any of the input's bytes.
#[derive(Debug)]
struct Refusal {
    what: &'static str,
    at: Option<usize>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)?;
        match self.at {
            Some(at) => write!(f, " at byte {at}"),
            None => Ok(()),
        }
    }
}

impl From<JsonError> for Refusal {
    fn from(error: JsonError) -> Self {
        let (what, at) = match error {
            JsonError::Syntax(at) => ("malformed JSON", Some(at)),
            JsonError::TooDeep => ("JSON nested too deep", None),
            JsonError::Utf8 => ("not UTF-8", None),
        };
        Refusal { what, at }
    }
}

/// Refuses the value the scanner is at because it is not `what`.
fn refuse(scanner: &Scanner<'_>, what: &'static str) -> Refusal {
    Refusal {
        what,
        at: Some(scanner.position()),
    }
}

/// The event's members (depth 1).
fn read_event(bytes: &[u8]) -> Result<Event, Refusal> {
    let mut scanner = Scanner::new(bytes)?;
    if scanner.peek() != Some(b'{') {
        return Err(refuse(
            &scanner,
            "not a Firehose transformation event (an object)",
        ));
    }
    let mut delivery_stream_arn = None;
    let mut records = None;
    let mut data = Arena::default();
    let mut ids = String::new();
    scanner.object(1, |s, name| {
        match s.name_text(&name).as_ref() {
            "deliveryStreamArn" => {
                let mut arn = String::new();
                delivery_stream_arn = read_text(s, &mut arn)?.map(|_| arn);
            }
            // A repeated member: the last one counts.
            "records" => records = Some(read_records(s, &mut data, &mut ids)?),
            _ => {
                s.value(1)?;
            }
        }
        Ok::<_, Refusal>(())
    })?;
    scanner.end()?;
    Ok(Event {
        delivery_stream_arn,
        records: records.ok_or_else(|| refuse(&scanner, "no records"))?,
        data,
        ids,
    })
}

/// The `records` array (depth 2), their data decoded into `arena` and
/// their ids appended to `ids`.
fn read_records(
    scanner: &mut Scanner<'_>,
    arena: &mut Arena,
    ids: &mut String,
) -> Result<Vec<EventRecord>, Refusal> {
    if scanner.peek() != Some(b'[') {
        return Err(refuse(scanner, "not records, an array"));
    }
    let mut records = Vec::new();
    scanner.array(2, |s| {
        records.push(read_record(s, arena, ids)?);
        Ok::<_, Refusal>(())
    })?;
    Ok(records)
}

/// One record (depth 3).
fn read_record(
    scanner: &mut Scanner<'_>,
    arena: &mut Arena,
    ids: &mut String,
) -> Result<EventRecord, Refusal> {
    if scanner.peek() != Some(b'{') {
        return Err(refuse(scanner, "not a record, an object"));
    }
    let mut record_id = None;
    let mut data = None;
    let mut arrival = None;
    scanner.object(3, |s, name| {
        match s.name_text(&name).as_ref() {
            // A repeated id: the last one counts (`null` as none).
            "recordId" => record_id = read_text(s, ids)?,
            "data" => data = Some(read_data(s, arena)?),
            "approximateArrivalTimestamp" => {
                let start = s.position();
                s.value(3)?;
                arrival = s.raw_since(start).parse::<f64>().ok();
            }
            _ => {
                s.value(3)?;
            }
        }
        Ok::<_, Refusal>(())
    })?;
    Ok(EventRecord {
        record_id: record_id.ok_or_else(|| refuse(scanner, "a record without a recordId"))?,
        data: data.unwrap_or(Data::NotBase64(Span::default())),
        arrival_millis: arrival,
    })
}

/// An optional string member, appended to `out`: its place there, or
/// `None` for `null`. Anything else is refused without its value.
fn read_text(scanner: &mut Scanner<'_>, out: &mut String) -> Result<Option<Range<usize>>, Refusal> {
    match scanner.peek() {
        Some(b'"') => {
            let at = out.len();
            out.push_str(&scanner.string_text()?);
            Ok(Some(at..out.len()))
        }
        Some(b'n') => {
            // `null` nests nothing: the depth does not matter.
            scanner.value(1)?;
            Ok(None)
        }
        _ => Err(refuse(scanner, "a string member is not a string")),
    }
}

/// A record's `data` (depth 3), decoded into `arena`.
///
/// Base64 without escapes, as Firehose sends it, is read by the decoder
/// alone; anything else is scanned, and its decoded text tried as base64,
/// else kept as its JSON text.
fn read_data(scanner: &mut Scanner<'_>, arena: &mut Arena) -> Result<Data, Refusal> {
    let mut decoded = None;
    if scanner.plain_string_with(|body| {
        decoded = decode_into(arena, body);
        decoded.is_some()
    }) {
        return Ok(Data::Decoded(decoded.unwrap_or_default()));
    }
    let start = scanner.position();
    if scanner.peek() == Some(b'"') {
        // Escaped base64 (`\/`) decodes like the plain.
        if let Cow::Owned(text) = scanner.string_text()? {
            if let Some(span) = decode_into(arena, &text) {
                return Ok(Data::Decoded(span));
            }
        }
    } else {
        scanner.value(3)?;
    }
    let raw = scanner.raw_since(start);
    Ok(Data::NotBase64(arena.append(raw.len(), |bytes| {
        bytes.extend_from_slice(raw.as_bytes())
    })))
}

/// The bytes `text` encodes as base64, appended to `arena`; `None` (and
/// nothing kept) if it is not base64.
fn decode_into(arena: &mut Arena, text: &str) -> Option<Span> {
    // Base64 of n characters encodes at most 3n/4 bytes.
    let mut decoded = false;
    let span = arena.append(text.len().div_ceil(4) * 3, |bytes| {
        decoded = decode_base64(text.as_bytes(), bytes);
    });
    decoded.then_some(span)
}

/// Appends the bytes `text` encodes to `out`; false (and `out` as it was)
/// if it is not base64.
///
/// Canonical padded base64 (what Firehose sends) goes through the SIMD
/// decoder, which accepts exactly that; anything else through the lenient
/// one, which also accepts it unpadded. Together they accept what the
/// lenient decoder alone accepts, with the same bytes.
fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    if base64_simd::STANDARD.decode_append(text, out).is_ok() {
        return true;
    }
    out.truncate(start);
    if LENIENT_BASE64.decode_vec(text, out).is_ok() {
        return true;
    }
    out.truncate(start);
    false
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_the_contract_and_ignores_the_rest() {
        let event = Event::parse(
            br#"{"invocationId":"i","deliveryStreamArn":"arn:x/cdc-masked","records":[{"recordId":"1","approximateArrivalTimestamp":1764321303000,"data":"eyJ9","kinesisRecordMetadata":{"shardId":"s"}},{"recordId":"2","data":42}]}"#,
        )
        .unwrap();
        assert_eq!(
            event.delivery_stream_arn.as_deref(),
            Some("arn:x/cdc-masked")
        );
        assert_eq!(event.records.len(), 2);
        assert_eq!(event.original(&event.records[0]), (true, &b"{\"}"[..]));
        assert_eq!(event.records[0].arrival_millis, Some(1764321303000.0));
        assert_eq!(event.original(&event.records[1]), (false, &b"42"[..]));
        assert_eq!(event.records[1].arrival_millis, None);
        let ids: Vec<&str> = event.records.iter().map(|r| event.record_id(r)).collect();
        assert_eq!(ids, ["1", "2"]);
        let repeated = Event::parse(
            br#"{"records":[{"recordId":"a","recordId":"b\u00e9"},{"recordId":"c"}]}"#,
        )
        .unwrap();
        let ids: Vec<&str> = repeated
            .records
            .iter()
            .map(|r| repeated.record_id(r))
            .collect();
        assert_eq!(ids, ["b\u{e9}", "c"], "the last id counts");
        assert!(Event::parse(br#"{"records":[{"recordId":"a","recordId":null}]}"#).is_err());
    }

    #[test]
    fn a_wipe_reaches_what_was_taken_back_and_what_lies_past_the_length() {
        let mut chunk = Vec::with_capacity(64);
        chunk.extend_from_slice(b"jdoe@example.com");
        chunk.truncate(4);
        chunk.spare_capacity_mut()[20].write(b'!');
        wipe(&mut chunk, 21);
        assert_eq!(chunk, [0; 21]);
        let mut longer = b"longer than reached".to_vec();
        wipe(&mut longer, 3);
        assert_eq!(longer, [0; 19], "never shorter than its length");
    }

    #[test]
    fn data_is_decoded_strictly_or_leniently_else_kept_as_sent() {
        let event = Event::parse(
            br#"{"records":[{"recordId":"a","data":"eyJhIjoxfQ=="},{"recordId":"b","data":"eyJhIjoxfQ"},{"recordId":"c","data":"eyJh\/w=="},{"recordId":"d","data":"eyJhIjoxfR=="},{"recordId":"e","data":"not base64!"},{"recordId":"f"},{"recordId":"g","data":null}]}"#,
        )
        .unwrap();
        let originals: Vec<(bool, &[u8])> =
            event.records.iter().map(|r| event.original(r)).collect();
        assert_eq!(
            originals,
            [
                // Padded, unpadded and with an escaped `/`: the same decoder's bytes.
                (true, &br#"{"a":1}"#[..]),
                (true, &br#"{"a":1}"#[..]),
                (true, &b"{\"a\xff"[..]),
                // Non-canonical trailing bits are not base64, as before.
                (false, &br#""eyJhIjoxfR==""#[..]),
                (false, &br#""not base64!""#[..]),
                (false, &b""[..]),
                (false, &b"null"[..]),
            ]
        );
    }

    #[test]
    fn errors_never_quote_input() {
        for bad in [
            r#""jdoe@example.com""#,
            r#"["jdoe@example.com"]"#,
            r#"{"records":"jdoe@example.com"}"#,
            r#"{"records":["jdoe@example.com"]}"#,
            r#"{"records":[{"recordId":"jdoe@example.com"}],"deliveryStreamArn":["jdoe@example.com"]}"#,
            r#"{"records":[{"recordId":{"mail":"jdoe@example.com"}}]}"#,
            r#"{"records":[{"data":"jdoe@example.com"}]}"#,
            r#"{"deliveryStreamArn":"jdoe@example.com"}"#,
            r#"{"records":[{"recordId":"1","data":"jdoe@example.com"#,
        ] {
            let e = Event::parse(bad.as_bytes()).unwrap_err().to_string();
            assert!(!e.contains("jdoe"), "{e}");
            assert_eq!(e.matches(" at byte ").count(), 1, "{e}");
            assert!(e.starts_with("not a Firehose transformation event"), "{e}");
        }
        let deep = format!(
            r#"{{"records":[],"x":{}{}}}"#,
            "[".repeat(99),
            "]".repeat(99)
        );
        let bad_utf8 = b"{\"records\":[],\"x\":\"\xff\"}";
        for (bad, why) in [
            (deep.as_bytes(), "JSON nested too deep"),
            (&bad_utf8[..], "not UTF-8"),
        ] {
            let e = Event::parse(bad).unwrap_err().to_string();
            assert_eq!(e, format!("not a Firehose transformation event ({why})"));
        }
    }

    /// An object's members in order, repeated names included.
    struct Members(Vec<(String, Box<RawValue>)>);

    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Ordered;
            impl<'de> de::Visitor<'de> for Ordered {
                type Value = Members;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        members.push(member);
                    }
                    Ok(Members(members))
                }
            }
            deserializer.deserialize_map(Ordered)
        }
    }

    /// What `serde_json` reads in an event, by the contract's rules (a
    /// repeated member: the last counts, but each must have the right
    /// type): the reference the scanner's reader must agree with.
    type Expected = Option<(Option<String>, Vec<(String, (bool, Vec<u8>), Option<f64>)>)>;

    /// A string member's text, `None` for `null`; `None` outside if it is
    /// neither.
    fn optional_text(value: serde_json::Value) -> Option<Option<String>> {
        match value {
            serde_json::Value::Null => Some(None),
            serde_json::Value::String(text) => Some(Some(text)),
            _ => None,
        }
    }

    fn expected(text: &str) -> Expected {
        use serde_json::Value;
        let value = |raw: &RawValue| serde_json::from_str::<Value>(raw.get()).unwrap();
        let Members(event) = serde_json::from_str(text).ok()?;
        let mut arn = None;
        let mut records = None;
        for (name, raw) in &event {
            match (name.as_str(), value(raw)) {
                ("deliveryStreamArn", value) => arn = optional_text(value)?,
                ("records", Value::Array(_)) => {
                    records = Some(serde_json::from_str::<Vec<Members>>(raw.get()).ok()?);
                }
                ("records", _) => return None,
                _ => {}
            }
        }
        let mut read = Vec::new();
        for Members(record) in records? {
            let (mut id, mut data, mut arrival) = (None, (false, Vec::new()), None);
            for (name, raw) in &record {
                match (name.as_str(), value(raw)) {
                    ("recordId", value) => id = optional_text(value)?,
                    ("data", Value::String(text)) => {
                        let mut bytes = Vec::new();
                        data = if decode_base64(text.as_bytes(), &mut bytes) {
                            (true, bytes)
                        } else {
                            (false, raw.get().as_bytes().to_vec())
                        };
                    }
                    ("data", _) => data = (false, raw.get().as_bytes().to_vec()),
                    ("approximateArrivalTimestamp", value) => arrival = value.as_f64(),
                    _ => {}
                }
            }
            read.push((id?, data, arrival));
        }
        Some((arn, read))
    }

    fn read(text: &str) -> Expected {
        let event = Event::parse(text.as_bytes()).ok()?;
        let records = event
            .records
            .iter()
            .map(|r| {
                let (decoded, bytes) = event.original(r);
                let id = event.record_id(r).to_owned();
                (id, (decoded, bytes.to_vec()), r.arrival_millis)
            })
            .collect();
        Some((event.delivery_stream_arn.clone(), records))
    }

    /// One record's members, as JSON text.
    fn record_strategy() -> impl Strategy<Value = String> {
        let id = prop_oneof![
            "[a-zA-Z0-9]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\u00e9\"\\""#.to_owned()),
            Just("null".to_owned()),
            Just("7".to_owned()),
        ];
        let bytes = prop::collection::vec(any::<u8>(), 0..40);
        let data = prop_oneof![
            bytes
                .clone()
                .prop_map(|b| format!("\"{}\"", STANDARD.encode(b))),
            bytes
                .clone()
                .prop_map(|b| format!("\"{}\"", STANDARD_NO_PAD.encode(b))),
            bytes.prop_map(|b| format!("\"{}\"", STANDARD.encode(b).replace('/', r"\/"))),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""eyJhIjoxfR==""#.to_owned()),
            Just(r#""ey\"J9""#.to_owned()),
            Just("null".to_owned()),
            Just("-12.5e3".to_owned()),
            Just(r#"{"a":[1,{"b":"c"}]}"#.to_owned()),
        ];
        let arrival = prop_oneof![
            (0u64..1 << 50).prop_map(|n| n.to_string()),
            Just(r#""1764321303000""#.to_owned()),
            Just("1.5e12".to_owned()),
        ];
        let member = prop_oneof![
            id.prop_map(|v| format!(r#""recordId":{v}"#)),
            data.prop_map(|v| format!(r#""data":{v}"#)),
            arrival.prop_map(|v| format!(r#""approximateArrivalTimestamp":{v}"#)),
            Just(r#""kinesisRecordMetadata":{"shardId":"s","x":[true,false,null]}"#.to_owned()),
            Just(r#""rec\u006frdId":"escaped name""#.to_owned()),
        ];
        prop::collection::vec(member, 0..5).prop_map(|m| format!("{{{}}}", m.join(",")))
    }

    /// Hand-made damage to an event's text: a byte replaced, or the text cut.
    fn damaged(text: &str, at: usize, byte: u8, cut: bool) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let at = at % (bytes.len() + 1);
        if cut {
            bytes.truncate(at);
        } else if at < bytes.len() {
            bytes[at] = byte;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The reader agrees with `serde_json` on every event: whether it
        /// is one, and then its stream, ids, data and arrival times; also
        /// once a byte of it is damaged.
        #[test]
        fn reads_what_serde_json_reads(
            records in prop::collection::vec(record_strategy(), 0..6),
            arn in prop_oneof![
                Just(String::new()),
                Just(r#""deliveryStreamArn":"arn:x/cdc-masked","#.to_owned()),
                Just(r#""deliveryStreamArn":null,"#.to_owned()),
                Just(r#""deliveryStreamArn":1,"#.to_owned()),
            ],
            spaced in any::<bool>(),
            at in 0..4096usize,
            byte in any::<u8>(),
            cut in any::<bool>(),
        ) {
            let (space, end) = if spaced { (" \n\t", "\r\n ") } else { ("", "") };
            let text = format!(
                r#"{space}{{{space}"invocationId":"i",{arn}"records"{space}:{space}[{}]{space}}}{end}"#,
                records.join(",")
            );
            prop_assert_eq!(read(&text), expected(&text), "{}", text);
            let damaged = damaged(&text, at, byte, cut);
            prop_assert_eq!(read(&damaged), expected(&damaged), "{}", damaged);
        }
    }
}
