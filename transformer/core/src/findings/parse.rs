//! Macie findings off the wire: bytes → JSON documents → findings → the
//! columns each detection points at.
//!
//! A source holds any number of JSON documents, whitespace-separated or
//! concatenated (`}{`, as Firehose writes EventBridge events). A document
//! is an EventBridge `Macie Finding` event, a finding alone (the event's
//! `detail`), a `GetFindings` response (`{"findings": […]}`) or an array of
//! events or findings. Only the subset of the finding in
//! `schemas/macie-finding.schema.json` is read; everything else is ignored.
//!
//! Error messages name where (line, item, finding id) and what was wrong,
//! never a value: serde's messages are stripped of the values they quote.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::table_def::{self, TableDef};
use crate::guard::{Detector, SuggestedFinding};

/// Macie cuts a `jsonPath` to at most this many characters, dropping leading
/// elements, so a path this long may have lost the top-level column.
/// (<https://docs.aws.amazon.com/macie/latest/APIReference/findings-describe.html>,
/// `Record.jsonPath`.)
const MAX_JSON_PATH: usize = 250;

/// The top-level DMS envelope members whose children are the columns.
const ENVELOPE_MEMBERS: [&str; 2] = ["data", "before-image"];

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

/// A sensitive-data type: a managed identifier (`NAME`) or a custom data
/// identifier, written `custom:<name>` so it can never be mistaken for a
/// managed one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataType {
    /// A Macie managed data identifier, e.g. `CREDIT_CARD_NUMBER`.
    Managed(String),
    /// A custom data identifier, by its name.
    Custom(String),
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Managed(name) => f.write_str(name),
            DataType::Custom(name) => write!(f, "custom:{name}"),
        }
    }
}

/// One detection of a finding, placed on columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detection {
    pub(crate) data_type: DataType,
    /// The columns its occurrences name, deduplicated, in order.
    pub(crate) columns: Vec<String>,
    /// Why some occurrences (or the detection) name no column.
    pub(crate) unresolved: Vec<String>,
}

/// A sensitive-data finding reduced to what the compiler needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scanned {
    pub(crate) id: String,
    pub(crate) bucket: Option<String>,
    pub(crate) key: String,
    pub(crate) detections: Vec<Detection>,
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
// The wire: the subset of the Macie finding that is read.
// ---------------------------------------------------------------------------

/// A Macie finding (`detail` of the EventBridge event).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Finding {
    id: String,
    /// `SensitiveData:S3Object/Personal`, `Policy:IAMUser/S3BucketPublic`, …
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    resources_affected: Option<ResourcesAffected>,
    #[serde(default)]
    classification_details: Option<ClassificationDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourcesAffected {
    #[serde(default)]
    s3_bucket: Option<S3Bucket>,
    #[serde(default)]
    s3_object: Option<S3Object>,
}

#[derive(Debug, Deserialize)]
struct S3Bucket {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct S3Object {
    key: String,
}

#[derive(Debug, Deserialize)]
struct ClassificationDetails {
    result: ClassificationResult,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClassificationResult {
    #[serde(default)]
    sensitive_data: Option<Vec<SensitiveDataItem>>,
    #[serde(default)]
    custom_data_identifiers: Option<CustomDataIdentifiers>,
}

#[derive(Debug, Deserialize)]
struct SensitiveDataItem {
    #[serde(default)]
    detections: Option<Vec<ManagedDetection>>,
}

#[derive(Debug, Deserialize)]
struct ManagedDetection {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    occurrences: Option<Occurrences>,
}

#[derive(Debug, Deserialize)]
struct CustomDataIdentifiers {
    #[serde(default)]
    detections: Option<Vec<CustomDetection>>,
}

#[derive(Debug, Deserialize)]
struct CustomDetection {
    name: String,
    #[serde(default)]
    occurrences: Option<Occurrences>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Occurrences {
    #[serde(default)]
    records: Option<Vec<Record>>,
    #[serde(default)]
    cells: Option<Vec<Cell>>,
    #[serde(default)]
    line_ranges: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(default)]
    offset_ranges: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(default)]
    pages: Option<Vec<serde::de::IgnoredAny>>,
}

/// An occurrence in Avro, Parquet, JSON or JSON Lines.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    #[serde(default)]
    json_path: Option<String>,
}

/// An occurrence in CSV, TSV or Excel.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cell {
    #[serde(default)]
    column: Option<i64>,
    #[serde(default)]
    column_name: Option<String>,
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
                one(Some(i), &|place| finding(item, place));
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
            Some(detail @ Value::Object(_)) => finding(detail, at),
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
        return finding(value, at);
    }
    problem(
        "neither a Macie finding, a Macie Finding event, a suggested finding nor a DMS \
         control record (no `detail`, `findings`, `schemaVersion`, `classificationDetails`, \
         `detector` or `metadata.record-type`)",
    )
}

/// A finding; sets its id in `at`.
fn finding(value: &Value, at: &mut Location) -> Result<Parsed, String> {
    at.finding = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let finding = Finding::deserialize(value)
        .map_err(|e| format!("malformed finding: {}", serde_message(&e)))?;
    if !finding.kind.starts_with("SensitiveData:") {
        return Ok(Parsed::Skipped);
    }
    let resources = finding.resources_affected.as_ref();
    let Some(key) = resources
        .and_then(|r| r.s3_object.as_ref())
        .map(|o| o.key.clone())
    else {
        return Err("sensitive-data finding without resourcesAffected.s3Object.key".into());
    };
    let bucket = resources
        .and_then(|r| r.s3_bucket.as_ref())
        .and_then(|b| b.name.clone());
    let Some(details) = finding.classification_details else {
        return Err("sensitive-data finding without classificationDetails.result".into());
    };
    let result = details.result;
    let managed = result
        .sensitive_data
        .into_iter()
        .flatten()
        .flat_map(|item| item.detections.into_iter().flatten())
        .map(|d| (DataType::Managed(d.kind), d.occurrences));
    let custom = result
        .custom_data_identifiers
        .into_iter()
        .flat_map(|c| c.detections.into_iter().flatten())
        .map(|d| (DataType::Custom(d.name), d.occurrences));
    let detections = managed
        .chain(custom)
        .map(|(data_type, occurrences)| place(data_type, occurrences.unwrap_or_default()))
        .collect();
    Ok(Parsed::Sensitive(Scanned {
        id: finding.id,
        bucket,
        key,
        detections,
    }))
}

/// The columns a detection's occurrences name, and why others name none.
fn place(data_type: DataType, occurrences: Occurrences) -> Detection {
    let mut columns: Vec<String> = Vec::new();
    let mut unresolved = Vec::new();
    let mut add = |column: String| {
        if !columns.contains(&column) {
            columns.push(column);
        }
    };
    for record in occurrences.records.iter().flatten() {
        match record.json_path.as_deref().map(column_of_json_path) {
            Some(Ok(column)) => add(column),
            Some(Err(why)) => unresolved.push(why.to_owned()),
            None => unresolved.push(
                "a record occurrence without jsonPath (Macie omits it when a field name \
                 is itself sensitive)"
                    .to_owned(),
            ),
        }
    }
    for cell in occurrences.cells.iter().flatten() {
        match (cell.column_name.as_deref(), cell.column) {
            (Some(name), _) if !name.is_empty() => add(name.to_owned()),
            (_, Some(index)) => unresolved.push(format!(
                "a cell occurrence in column {index} without columnName (no header row)"
            )),
            _ => unresolved.push("a cell occurrence without column or columnName".to_owned()),
        }
    }
    for (kind, present) in [
        (
            "lineRanges",
            occurrences.line_ranges.is_some_and(|v| !v.is_empty()),
        ),
        (
            "offsetRanges",
            occurrences.offset_ranges.is_some_and(|v| !v.is_empty()),
        ),
        ("pages", occurrences.pages.is_some_and(|v| !v.is_empty())),
    ] {
        if present {
            unresolved.push(format!("{kind} occurrences (not a table format)"));
        }
    }
    if columns.is_empty() && unresolved.is_empty() {
        unresolved.push("no occurrences reported".to_owned());
    }
    Detection {
        data_type,
        columns,
        unresolved,
    }
}

/// The top-level column a Macie `jsonPath` points into: `$.mail`,
/// `$['mail']` and `$[3].mail` → `mail`; `$.data.mail` and
/// `$['before-image'].mail` (DMS envelope JSON) → `mail`;
/// `$.address.street` → `address`.
///
/// # Errors
/// Why no column can be named (a sentence fragment without the path).
pub(crate) fn column_of_json_path(path: &str) -> Result<String, &'static str> {
    if path.chars().count() >= MAX_JSON_PATH {
        return Err(
            "a jsonPath of 250 characters or more (Macie may have cut its leading elements)",
        );
    }
    let malformed = "a jsonPath that is not a simple JSONPath";
    let mut names: Vec<String> = Vec::new();
    let mut rest = match path.strip_prefix('$') {
        Some(rest) => rest,
        None if !path.is_empty() && !path.starts_with(['.', '[']) => {
            // A bare `mail.x`: read it as `$.mail.x`.
            let end = path.find(['.', '[']).unwrap_or(path.len());
            names.push(path[..end].to_owned());
            &path[end..]
        }
        None => return Err(malformed),
    };
    while !rest.is_empty() && names.len() < 2 {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(malformed);
            }
            names.push(after[..end].to_owned());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            match after.chars().next() {
                Some(quote @ ('\'' | '"')) => {
                    let (name, after) = quoted(&after[1..], quote).ok_or(malformed)?;
                    names.push(name);
                    rest = after.strip_prefix(']').ok_or(malformed)?;
                }
                _ => {
                    // An index (`[3]`, `[*]`): arrays are not columns.
                    let end = after.find(']').ok_or(malformed)?;
                    rest = &after[end + 1..];
                }
            }
        } else {
            return Err(malformed);
        }
    }
    let column = match names.as_slice() {
        [envelope, column, ..] if ENVELOPE_MEMBERS.contains(&envelope.as_str()) => column,
        [column, ..] => column,
        [] => return Err("a jsonPath that names no field"),
    };
    if column.is_empty() {
        return Err("a jsonPath with an empty field name");
    }
    Ok(column.clone())
}

/// A quoted name up to its closing `quote` (backslash escapes the next
/// character), and what follows the quote.
fn quoted(text: &str, quote: char) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => name.push(chars.next()?.1),
            c if c == quote => return Some((name, &text[i + c.len_utf8()..])),
            c => name.push(c),
        }
    }
    None
}

/// A serde error's message without the value it may quote (`invalid type:
/// string "…", expected …` → `invalid type: string, expected …`) and
/// without serde's own position.
fn serde_message(e: &serde_json::Error) -> String {
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
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Result<Parsed, Problem>> {
        parse_bytes(text.as_bytes())
    }

    fn parse_bytes(bytes: &[u8]) -> Vec<Result<Parsed, Problem>> {
        let mut out = Vec::new();
        for_each_finding("f.jsonl", bytes, |at, r| {
            out.push(r.map_err(|what| Problem { at, what }));
        });
        out
    }

    const FINDING: &str = r#"{"schemaVersion":"1.0","id":"f1","type":"SensitiveData:S3Object/Personal",
      "resourcesAffected":{"s3Bucket":{"name":"b"},"s3Object":{"key":"dataset/customer/LOAD1.parquet"}},
      "classificationDetails":{"result":{
        "sensitiveData":[{"category":"PERSONAL_INFORMATION","detections":[
          {"type":"NAME","count":2,"occurrences":{"records":[{"jsonPath":"$.name","recordIndex":0},{"jsonPath":"$['name']","recordIndex":1}]}},
          {"type":"ADDRESS","count":1,"occurrences":{"cells":[{"cellReference":null,"column":3,"columnName":null,"row":2}]}}]}],
        "customDataIdentifiers":{"totalCount":1,"detections":[
          {"arn":"arn:aws:macie2:us-east-1:1:custom-data-identifier/x","name":"email","count":1,
           "occurrences":{"cells":[{"column":5,"columnName":"mail","row":4}]}}]}}}}"#;

    fn sensitive(result: &Result<Parsed, Problem>) -> &Scanned {
        match result {
            Ok(Parsed::Sensitive(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_paths() {
        for (path, column) in [
            ("$.mail", "mail"),
            ("$['mail']", "mail"),
            ("$[\"ma.il\"]", "ma.il"),
            ("$['it\\'s']", "it's"),
            ("$.data.mail", "mail"),
            ("$['before-image'].mail", "mail"),
            ("$.data", "data"),
            ("$[3].mail", "mail"),
            ("$[*].address.street", "address"),
            ("$.phones[0]", "phones"),
            ("mail", "mail"),
            ("$.data[0].x", "x"),
        ] {
            assert_eq!(column_of_json_path(path).as_deref(), Ok(column), "{path}");
        }
        let long = format!("$.{}", "a".repeat(248));
        for bad in [
            "",
            "$",
            "$[0]",
            "$..mail",
            "$['open",
            "$[0",
            "$x",
            ".a",
            long.as_str(),
        ] {
            assert!(column_of_json_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_finding_with_records_cells_and_custom_identifiers() {
        let out = parse(FINDING);
        assert_eq!(out.len(), 1);
        let s = sensitive(&out[0]);
        assert_eq!(
            (s.id.as_str(), s.key.as_str()),
            ("f1", "dataset/customer/LOAD1.parquet")
        );
        assert_eq!(s.bucket.as_deref(), Some("b"));
        assert_eq!(s.detections.len(), 3);
        assert_eq!(s.detections[0].data_type.to_string(), "NAME");
        assert_eq!(s.detections[0].columns, ["name"]);
        assert!(s.detections[1].columns.is_empty());
        assert!(s.detections[1].unresolved[0].contains("column 3 without columnName"));
        assert_eq!(s.detections[2].data_type.to_string(), "custom:email");
        assert_eq!(s.detections[2].columns, ["mail"]);
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
