//! Findings off the wire: bytes → JSON documents → what each document
//! amounts to (a Macie finding, a suggested finding of the guard, a DMS
//! control record).
//!
//! A source holds any number of JSON documents, whitespace-separated or
//! concatenated (`}{`, as Firehose writes EventBridge events). A document
//! is an EventBridge `Macie Finding` event, a finding alone (the event's
//! `detail`), a `GetFindings` response (`{"findings": […]}`) or an array of
//! events or findings; or a suggested finding, or a DMS control record.
//! What a Macie finding says is read in `macie`.
//!
//! Error messages name where (line, item, finding id) and what was wrong,
//! never a value: serde's messages are stripped of the values they quote.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::macie::{self, Scanned};
use super::table_def::{self, TableDef};
use crate::guard::{Detector, SuggestedFinding};

/// Where in the sources a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file path or `s3://bucket/key` of the source.
    pub source: String,
    /// 1-based line of the document's start.
    pub line: usize,
    /// 1-based column (byte) of the document's start.
    pub column: usize,
    /// Index in an array or in a `GetFindings` response's `findings`.
    pub item: Option<usize>,
    /// The finding's id, once known.
    pub finding: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)?;
        if self.column > 1 {
            write!(f, ":{}", self.column)?;
        }
        if let Some(item) = self.item {
            write!(f, " item {item}")?;
        }
        if let Some(id) = &self.finding {
            write!(f, " (finding {id})")?;
        }
        Ok(())
    }
}

/// Something wrong with one finding (or one document), and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub at: Location,
    /// What, as a sentence fragment without values.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.what)
    }
}

/// What one finding document amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A sensitive-data finding.
    Sensitive(Scanned),
    /// A suggested finding of the guard (schemas/suggested-findings.md).
    Suggested(SuggestedFinding),
    /// A DMS control record, with the primary key its table definition
    /// announces, if any.
    Control(Option<TableDef>),
    /// A policy finding (`Policy:…`): nothing about columns.
    Skipped,
}

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

/// Calls `each` with every finding in `bytes`, in order: where it is, and
/// the parsed finding or what is wrong with it. Gzip-compressed bytes (as
/// Firehose delivers them) are decompressed first; lines are then those of
/// the decompressed text. Syntax errors skip to the next line (JSON Lines
/// recover; the rest of a line of concatenated events is lost, and
/// reported).
pub(crate) fn for_each_finding(
    source: &str,
    bytes: &[u8],
    mut each: impl FnMut(Location, Result<Parsed, String>),
) {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return for_each_in_text(source, bytes, each);
    }
    match gunzip(bytes) {
        Ok(text) => for_each_in_text(source, &text, each),
        Err(what) => each(
            Location {
                source: source.to_owned(),
                line: 1,
                column: 1,
                item: None,
                finding: None,
            },
            Err(what),
        ),
    }
}

/// The first two bytes of a gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// At most this much is decompressed from one source (a Firehose object is
/// at most 128 MiB before compression): a guard against gzip bombs.
const MAX_GUNZIPPED: u64 = 1 << 30;

/// The decompressed bytes of one or more concatenated gzip members.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_GUNZIPPED + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("gzip-compressed, but cannot be decompressed: {e}"))?;
    if text.len() as u64 > MAX_GUNZIPPED {
        return Err(format!(
            "gzip-compressed to more than {} MiB: too large",
            MAX_GUNZIPPED >> 20
        ));
    }
    Ok(text)
}

/// [`for_each_finding`] on uncompressed bytes.
fn for_each_in_text(
    source: &str,
    bytes: &[u8],
    mut each: impl FnMut(Location, Result<Parsed, String>),
) {
    let lines = LineIndex::new(bytes);
    let at = |offset: usize, item: Option<usize>| {
        let (line, column) = lines.position(offset);
        Location {
            source: source.to_owned(),
            line,
            column,
            item,
            finding: None,
        }
    };
    let mut base = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    while base < bytes.len() {
        let mut stream = serde_json::Deserializer::from_slice(&bytes[base..]).into_iter::<Value>();
        loop {
            let before = base + stream.byte_offset();
            match stream.next() {
                None => return,
                Some(Ok(value)) => {
                    let start = skip_whitespace(bytes, before);
                    document(&value, &|item| at(start, item), &mut each);
                }
                Some(Err(e)) => {
                    // serde_json counts lines from the slice's start, which
                    // is always the start of a line.
                    let line = lines.line_of(base) + e.line().saturating_sub(1);
                    let place = if e.is_eof() {
                        // Cut short: where the document starts says more
                        // than where the bytes end.
                        at(skip_whitespace(bytes, before), None)
                    } else {
                        Location {
                            column: e.column().max(1),
                            ..at(lines.start_of(line), None)
                        }
                    };
                    each(place, Err(format!("not JSON: {}", serde_message(&e))));
                    match lines.start_of_next(line) {
                        Some(next) => {
                            base = next;
                            break;
                        }
                        None => return,
                    }
                }
            }
        }
    }
}

/// The offset of the first non-whitespace byte from `offset` on.
fn skip_whitespace(bytes: &[u8], offset: usize) -> usize {
    offset
        + bytes[offset..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0)
}

/// One top-level JSON document: an event, a finding, a `GetFindings`
/// response or an array of events and findings.
fn document(
    value: &Value,
    at: &dyn Fn(Option<usize>) -> Location,
    each: &mut impl FnMut(Location, Result<Parsed, String>),
) {
    let mut one = |item, parse: &dyn Fn(&mut Location) -> Result<Parsed, String>| {
        let mut place = at(item);
        let result = parse(&mut place);
        each(place, result);
    };
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                one(Some(i), &|place| event_or_finding(item, place));
            }
        }
        Value::Object(map) if map.get("findings").is_some_and(Value::is_array) => {
            for (i, item) in map["findings"].as_array().into_iter().flatten().enumerate() {
                one(Some(i), &|place| macie::finding(item, place));
            }
        }
        _ => one(None, &|place| event_or_finding(value, place)),
    }
}

/// An EventBridge event or a finding; sets the finding id in `at`.
fn event_or_finding(value: &Value, at: &mut Location) -> Result<Parsed, String> {
    let problem = |what: &str| Err(what.to_owned());
    let Some(map) = value.as_object() else {
        return problem("expected a JSON object (a Macie finding or event)");
    };
    if map.contains_key("detector") {
        return SuggestedFinding::deserialize(value)
            .map_err(|e| format!("malformed suggested finding: {}", serde_message(&e)))
            .and_then(|s| match s.detector.parse::<Detector>() {
                Ok(_) => Ok(Parsed::Suggested(s)),
                Err(e) => Err(format!("suggested finding: {e}")),
            });
    }
    if table_def::is_control_record(map) {
        return table_def::table_def(map).map(Parsed::Control);
    }
    if map.contains_key("detail-type") || map.contains_key("detail") {
        let is_macie = map.get("source").and_then(Value::as_str) == Some("aws.macie")
            && map.get("detail-type").and_then(Value::as_str) == Some("Macie Finding");
        if !is_macie {
            return problem(
                "an EventBridge event that is not a Macie Finding \
                 (needs source aws.macie and detail-type \"Macie Finding\")",
            );
        }
        return match map.get("detail") {
            Some(detail @ Value::Object(_)) => macie::finding(detail, at),
            _ => problem("Macie Finding event without a `detail` object"),
        };
    }
    if [
        "schemaVersion",
        "classificationDetails",
        "resourcesAffected",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
    {
        return macie::finding(value, at);
    }
    problem(
        "neither a Macie finding, a Macie Finding event, a suggested finding nor a DMS \
         control record (no `detail`, `findings`, `schemaVersion`, `classificationDetails`, \
         `detector` or `metadata.record-type`)",
    )
}

/// A serde error's message without the value it may quote (`invalid type:
/// string "…", expected …` → `invalid type: string, expected …`) and
/// without serde's own position.
pub(super) fn serde_message(e: &serde_json::Error) -> String {
    let mut message = e.to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let kind = if rest.starts_with("floating point") {
                "floating point"
            } else {
                rest.split([' ', ',']).next().unwrap_or("")
            };
            let expected = rest.rfind(", expected ").map_or("", |i| &rest[i..]);
            return format!("{prefix}{kind}{expected}");
        }
    }
    if message.starts_with("unknown variant") {
        return "unknown variant".into();
    }
    message
}

/// Byte offsets of line starts, for 1-based line and column numbers.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// 1-based (line, column) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        (line, offset - self.start_of(line) + 1)
    }

    /// Byte offset where a 1-based line starts.
    fn start_of(&self, line: usize) -> usize {
        self.starts[line.clamp(1, self.starts.len()) - 1]
    }

    /// Byte offset of the line after `line`, if any.
    fn start_of_next(&self, line: usize) -> Option<usize> {
        self.starts.get(line).copied()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::findings) fn parse(text: &str) -> Vec<Result<Parsed, Problem>> {
        parse_bytes(text.as_bytes())
    }

    fn parse_bytes(bytes: &[u8]) -> Vec<Result<Parsed, Problem>> {
        let mut out = Vec::new();
        for_each_finding("f.jsonl", bytes, |at, r| {
            out.push(r.map_err(|what| Problem { at, what }));
        });
        out
    }

    pub(in crate::findings) const FINDING: &str = r#"{"schemaVersion":"1.0","id":"f1","type":"SensitiveData:S3Object/Personal",
      "resourcesAffected":{"s3Bucket":{"name":"b"},"s3Object":{"key":"dataset/customer/LOAD1.parquet"}},
      "classificationDetails":{"result":{
        "sensitiveData":[{"category":"PERSONAL_INFORMATION","detections":[
          {"type":"NAME","count":2,"occurrences":{"records":[{"jsonPath":"$.name","recordIndex":0},{"jsonPath":"$['name']","recordIndex":1}]}},
          {"type":"ADDRESS","count":1,"occurrences":{"cells":[{"cellReference":null,"column":3,"columnName":null,"row":2}]}}]}],
        "customDataIdentifiers":{"totalCount":1,"detections":[
          {"arn":"arn:aws:macie2:us-east-1:1:custom-data-identifier/x","name":"email","count":1,
           "occurrences":{"cells":[{"column":5,"columnName":"mail","row":4}]}}]}}}}"#;

    pub(in crate::findings) fn sensitive(result: &Result<Parsed, Problem>) -> &Scanned {
        match result {
            Ok(Parsed::Sensitive(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_concatenated_arrays_and_get_findings_responses() {
        let event = format!(
            r#"{{"version":"0","id":"e","detail-type":"Macie Finding","source":"aws.macie","detail":{FINDING}}}"#
        )
        .replace('\n', " ");
        let text =
            format!("{event}{event}\n{event}\n[{FINDING}, {event}]\n{{\"findings\":[{FINDING}]}}");
        let out = parse(&text);
        assert_eq!(out.len(), 6);
        assert!(out.iter().all(|r| sensitive(r).id == "f1"));
    }

    #[test]
    fn policy_findings_are_skipped() {
        let out = parse(
            r#"{"schemaVersion":"1.0","id":"p","type":"Policy:IAMUser/S3BucketPublic","resourcesAffected":{"s3Bucket":{"name":"b"}}}"#,
        );
        assert_eq!(out, [Ok(Parsed::Skipped)]);
    }

    #[test]
    fn problems_name_the_place_and_never_a_value() {
        let text = "\u{feff}{\"schemaVersion\":\"1.0\",\"id\":\"ok\",\"type\":\"Policy:x\"}\n\
            {\"broken\" 1}\n\
            {\"schemaVersion\":\"1.0\",\"id\":\"f9\",\"type\":7}\n\
            {\"schemaVersion\":\"1.0\",\"id\":\"f8\",\"type\":\"SensitiveData:S3Object/Personal\",\"resourcesAffected\":{\"s3Object\":{\"key\":\"secret-looking-value\"}},\"classificationDetails\":{\"result\":{\"sensitiveData\":\"4111111111111111\"}}}\n\
            {\"detail-type\":\"Other\",\"source\":\"aws.s3\",\"detail\":{}}\n\
            {\"hello\":\"there\"} 42\n\
            [{\"findings\":1}]";
        let out = parse(text);
        let problems: Vec<String> = out
            .iter()
            .filter_map(|r| r.as_ref().err().map(ToString::to_string))
            .collect();
        assert_eq!(out[0], Ok(Parsed::Skipped));
        assert_eq!(problems.len(), 7, "{problems:#?}");
        assert!(problems[0].starts_with("f.jsonl:2:"), "{}", problems[0]);
        assert!(problems[0].contains("not JSON"));
        assert!(problems[1].starts_with("f.jsonl:3 (finding f9): malformed finding: invalid type: integer, expected a string"), "{}", problems[1]);
        assert!(problems[2].starts_with("f.jsonl:4 (finding f8): malformed finding: invalid type: string, expected a sequence"), "{}", problems[2]);
        assert!(!problems[2].contains("4111"));
        assert!(problems[3].contains("not a Macie Finding"));
        assert!(problems[4].starts_with("f.jsonl:6: neither"));
        assert!(
            problems[5].starts_with("f.jsonl:6:19: expected a JSON object"),
            "{}",
            problems[5]
        );
        assert!(
            problems[6].starts_with("f.jsonl:7 item 0: neither"),
            "{}",
            problems[6]
        );
    }

    #[test]
    fn a_document_cut_short_is_reported_where_it_starts() {
        let out = parse("[]\n  {\"cut\": [\n\n");
        let problem = out[0].as_ref().unwrap_err().to_string();
        assert_eq!(problem, "f.jsonl:2:3: not JSON: EOF while parsing a list");
    }

    #[test]
    fn gzip_and_missing_parts() {
        let problem = parse_bytes(b"\x1f\x8brest")[0].clone().unwrap_err();
        assert!(problem.what.contains("cannot be decompressed"), "{problem}");
        assert_eq!(problem.to_string().split(": ").next(), Some("f.jsonl:1"));
        // Two gzip members (as `cat a.gz b.gz`): both read, lines of the text.
        let gzip = |text: &str| {
            use std::io::Write as _;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(text.as_bytes()).unwrap();
            encoder.finish().unwrap()
        };
        let mut bytes = gzip(&format!("{}\n", FINDING.replace('\n', " ")));
        bytes.extend(gzip("{\"broken\"\n"));
        let out = parse_bytes(&bytes);
        assert_eq!(sensitive(&out[0]).id, "f1");
        let problem = out[1].as_ref().unwrap_err().to_string();
        assert!(problem.starts_with("f.jsonl:2: not JSON"), "{problem}");
        let out = parse(
            r#"{"schemaVersion":"1.0","id":"x","type":"SensitiveData:S3Object/Personal","resourcesAffected":{"s3Bucket":{"name":"b"}}}"#,
        );
        assert!(out[0].as_ref().unwrap_err().what.contains("s3Object.key"));
        let out = parse(
            r#"{"schemaVersion":"1.0","id":"x","type":"SensitiveData:S3Object/Personal","resourcesAffected":{"s3Object":{"key":"a/b/c"}}}"#,
        );
        assert!(out[0]
            .as_ref()
            .unwrap_err()
            .what
            .contains("classificationDetails"));
        let out = parse(
            r#"{"schemaVersion":"1.0","id":"x","type":"SensitiveData:S3Object/Personal","resourcesAffected":{"s3Object":{"key":"a/b/c"}},"classificationDetails":{"result":{"sensitiveData":[{"detections":[{"type":"NAME","occurrences":{"lineRanges":[{"start":1,"end":1}]}},{"type":"NAME"}]}]}}}"#,
        );
        let s = sensitive(&out[0]);
        assert!(s.detections[0].unresolved[0].contains("lineRanges"));
        assert!(s.detections[1].unresolved[0].contains("no occurrences"));
    }
}
