//! The Firehose transformation event. The Lambda runtime deserializes the
//! body once, into an [`Event`], and reports a failure in the invocation's
//! error (and its log): so deserialization errors never quote input, which
//! serde's type errors do (`invalid type: string "…"`).
//!
//! Record `data` is decoded as it is read, borrowed from the event's bytes
//! (which therefore must be a slice: `serde_json::from_slice`), into a few
//! large chunks for the whole event ([`Arena`]): no allocation per record,
//! and no chunk is ever reallocated (copied) as the event grows.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::BatchError;

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
            self.chunks
                .push(Vec::with_capacity(at_most.max(CHUNK_BYTES)));
        }
        let chunk = self.chunks.len() - 1;
        let bytes = &mut self.chunks[chunk];
        let start = bytes.len();
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
    /// Parses an event.
    ///
    /// # Errors
    /// [`BatchError::BadEvent`] if it is not a Firehose transformation event
    /// (the message says where and what kind, never quotes input).
    pub fn parse(bytes: &[u8]) -> Result<Self, BatchError> {
        serde_json::from_slice(bytes).map_err(|e| {
            BatchError::BadEvent(format!(
                "{:?} error at line {} column {}: {}",
                e.classify(),
                e.line(),
                e.column(),
                // Our visitors' messages name fields only; serde_json's own
                // (syntax, EOF) quote nothing.
                e.to_string().split(" at line ").next().unwrap_or_default()
            ))
        })
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

/// A visitor whose type errors name what was expected, never the value.
macro_rules! refuse_scalars {
    ($what:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(concat!("not ", $what)))
        }
    };
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Firehose transformation event")
    }

    refuse_scalars!("a Firehose transformation event (an object)");

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Event, A::Error> {
        Err(de::Error::custom(
            "not a Firehose transformation event (an object)",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut delivery_stream_arn = None;
        let mut records = None;
        let mut data = Arena::default();
        let mut ids = String::new();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::DeliveryStreamArn => {
                    let mut arn = String::new();
                    delivery_stream_arn = map.next_value_seed(Text(&mut arn))?.map(|_| arn);
                }
                Key::Records => {
                    records = Some(map.next_value_seed(Records {
                        data: &mut data,
                        ids: &mut ids,
                    })?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Event {
            delivery_stream_arn,
            records: records.ok_or_else(|| de::Error::custom("no records"))?,
            data,
            ids,
        })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventVisitor)
    }
}

/// The member names the contract reads; any other is `Other`. Compared
/// as they are read, never kept (no allocation per member).
enum Key {
    DeliveryStreamArn,
    Records,
    RecordId,
    Data,
    ApproximateArrivalTimestamp,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "deliveryStreamArn" => Key::DeliveryStreamArn,
                    "records" => Key::Records,
                    "recordId" => Key::RecordId,
                    "data" => Key::Data,
                    "approximateArrivalTimestamp" => Key::ApproximateArrivalTimestamp,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// An optional string member, appended to the `String`: its place there,
/// or `None` for `null`. Anything else is refused without its value.
struct Text<'b>(&'b mut String);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = Option<Range<usize>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct TextVisitor<'b>(&'b mut String);
        impl<'de> Visitor<'de> for TextVisitor<'_> {
            type Value = Option<Range<usize>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                let start = self.0.len();
                self.0.push_str(text);
                Ok(Some(start..self.0.len()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Err(not_a_string())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Err(not_a_string())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Err(not_a_string())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(not_a_string())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(not_a_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(not_a_string())
            }
        }
        deserializer.deserialize_any(TextVisitor(self.0))
    }
}

/// The error of a string member that is not a string (its value unsaid).
fn not_a_string<E: de::Error>() -> E {
    E::custom("a string member is not a string")
}

/// The `records` array, their data decoded into the arena and their ids
/// appended to `ids`.
struct Records<'b> {
    data: &'b mut Arena,
    ids: &'b mut String,
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = Vec<EventRecord>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct RecordsVisitor<'b>(Records<'b>);
        impl<'de> Visitor<'de> for RecordsVisitor<'_> {
            type Value = Vec<EventRecord>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("records, an array")
            }
            refuse_scalars!("records, an array");
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
                Err(de::Error::custom("not records, an array"))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(record) = seq.next_element_seed(Record(Records {
                    data: &mut *self.0.data,
                    ids: &mut *self.0.ids,
                }))? {
                    records.push(record);
                }
                Ok(records)
            }
        }
        deserializer.deserialize_any(RecordsVisitor(self))
    }
}

/// One record, its data decoded into the arena and its id appended.
struct Record<'b>(Records<'b>);

impl<'de> DeserializeSeed<'de> for Record<'_> {
    type Value = EventRecord;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        struct RecordVisitor<'b>(Records<'b>);
        impl<'de> Visitor<'de> for RecordVisitor<'_> {
            type Value = EventRecord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record, an object")
            }
            refuse_scalars!("a record, an object");
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<EventRecord, A::Error> {
                Err(de::Error::custom("not a record, an object"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventRecord, A::Error> {
                let Records { data: arena, ids } = self.0;
                let mut record_id = None;
                let mut data = None;
                let mut arrival = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        // A repeated id: the last one counts.
                        Key::RecordId => record_id = map.next_value_seed(Text(&mut *ids))?,
                        Key::Data => {
                            let raw = map.next_value::<&'de RawValue>()?;
                            data = Some(decode_data(raw, arena));
                        }
                        Key::ApproximateArrivalTimestamp => {
                            let raw = map.next_value::<&'de RawValue>()?;
                            arrival = raw.get().parse::<f64>().ok();
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EventRecord {
                    record_id: record_id
                        .ok_or_else(|| de::Error::custom("a record without a recordId"))?,
                    data: data.unwrap_or(Data::NotBase64(Span::default())),
                    arrival_millis: arrival,
                })
            }
        }
        deserializer.deserialize_any(RecordVisitor(self.0))
    }
}

/// Decodes a record's `data` (its JSON text `raw`) into `arena`.
fn decode_data(raw: &RawValue, arena: &mut Arena) -> Data {
    if let Some(text) = string_value(raw) {
        // Base64 of n characters encodes at most 3n/4 bytes.
        let mut decoded = false;
        let span = arena.append(text.len().div_ceil(4) * 3, |bytes| {
            decoded = decode_base64(text.as_bytes(), bytes);
        });
        if decoded {
            return Data::Decoded(span);
        }
    }
    let text = raw.get().as_bytes();
    Data::NotBase64(arena.append(text.len(), |bytes| bytes.extend_from_slice(text)))
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

#[cfg(test)]
mod tests {
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
            assert!(e.starts_with("not a Firehose transformation event"), "{e}");
        }
    }
}
