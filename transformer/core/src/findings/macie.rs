//! What a Macie sensitive-data finding says, reduced to what the compiler
//! needs: the scanned object, and per detection its type and the columns
//! its occurrences point at (`records[].jsonPath` or `cells[].columnName`).
//! Only the subset of the finding in `schemas/macie-finding.schema.json` is
//! read; everything else is ignored.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::parse::{serde_message, Location, Parsed};

/// Macie cuts a `jsonPath` to at most this many characters, dropping leading
/// elements, so a path this long may have lost the top-level column.
/// (<https://docs.aws.amazon.com/macie/latest/APIReference/findings-describe.html>,
/// `Record.jsonPath`.)
const MAX_JSON_PATH: usize = 250;

/// The top-level DMS envelope members whose children are the columns.
const ENVELOPE_MEMBERS: [&str; 2] = ["data", "before-image"];

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

/// A finding; sets its id in `at`.
pub(super) fn finding(value: &Value, at: &mut Location) -> Result<Parsed, String> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::parse::tests::{parse, sensitive, FINDING};

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
}
