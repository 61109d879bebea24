//! The event read with the core's JSON scanner: its members, each
//! record's id, `data` (decoded where it sits) and arrival time.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::{Arena, Data, Event, EventRecord, Span, RECORDS};
use crate::firehose::{spare, BatchError};
use crate::json::{JsonError, Scanner};

/// Accepts base64 with or without padding, as producers differ.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

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

/// Reads an event ([`Event::parse`]).
pub(super) fn read_event(bytes: &[u8]) -> Result<Event, BatchError> {
    read_members(bytes).map_err(|refusal| BatchError::BadEvent(refusal.to_string()))
}

/// The event's members (depth 1).
fn read_members(bytes: &[u8]) -> Result<Event, Refusal> {
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
    // Room for a typical event's records (a few hundred bytes each) and
    // their ids (56 characters each); both grow as needed, and are kept as
    // grown.
    let records_hint = bytes.len() / 256;
    let mut ids = String::from_utf8(spare::take(bytes.len() / 16)).unwrap_or_default();
    scanner.object(1, |s, name| {
        match s.name_text(&name).as_ref() {
            "deliveryStreamArn" => {
                let mut arn = String::new();
                delivery_stream_arn = read_text(s, &mut arn)?.map(|_| arn);
            }
            // A repeated member: the last one counts.
            "records" => records = Some(read_records(s, records_hint, &mut data, &mut ids)?),
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
/// their ids appended to `ids`; room for `capacity` records is taken
/// first.
fn read_records(
    scanner: &mut Scanner<'_>,
    capacity: usize,
    arena: &mut Arena,
    ids: &mut String,
) -> Result<Vec<EventRecord>, Refusal> {
    if scanner.peek() != Some(b'[') {
        return Err(refuse(scanner, "not records, an array"));
    }
    let mut records = RECORDS.take(capacity);
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
    let mut record_id_plain = false;
    let mut data = None;
    let mut arrival = None;
    scanner.object(3, |s, name| {
        match s.name_text(&name).as_ref() {
            // A repeated id: the last one counts (`null` as none).
            "recordId" => {
                let start = s.position();
                record_id = read_text(s, ids)?;
                // Escapes always take more bytes than what they stand for.
                record_id_plain = record_id
                    .as_ref()
                    .is_some_and(|id| id.len() + 2 == s.position() - start);
            }
            "data" => data = Some(read_data(s, arena)?),
            "approximateArrivalTimestamp" => {
                let start = s.position();
                s.value(3)?;
                arrival = arrival_millis(s.raw_since(start));
            }
            _ => {
                s.value(3)?;
            }
        }
        Ok::<_, Refusal>(())
    })?;
    Ok(EventRecord {
        record_id: record_id.ok_or_else(|| refuse(scanner, "a record without a recordId"))?,
        record_id_plain,
        data: data.unwrap_or(Data::NotBase64(Span::default())),
        arrival_millis: arrival,
    })
}

/// A finite `approximateArrivalTimestamp` from its raw JSON. Firehose
/// writes whole milliseconds, read without the float parser: up to 15
/// digits are below 2^53, so the integer converts exactly, to the same
/// value the parser gives.
pub(super) fn arrival_millis(raw: &str) -> Option<f64> {
    const EXACT_DIGITS: usize = 15;
    if (1..=EXACT_DIGITS).contains(&raw.len()) {
        let whole = raw.bytes().try_fold(0u64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
        });
        if let Some(whole) = whole {
            // Below 10^15 < 2^53: exact.
            #[expect(clippy::cast_precision_loss, reason = "exact below 2^53")]
            return Some(whole as f64);
        }
    }
    raw.parse::<f64>().ok().filter(|millis| millis.is_finite())
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
pub(super) fn decode_base64(text: &[u8], out: &mut Vec<u8>) -> bool {
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
