//! Which table a scanned S3 object belongs to: the object key → `schema.table`.
//!
//! Three layouts:
//! - [`Layout::Dms`] (default): the way AWS DMS lays out an S3 target,
//!   `[<bucket folder>/…]<schema>/<table>/[<date partitions>/]<file>`.
//!   Precisely: split the key on `/` (empty segments ignored), drop the last
//!   segment (the object's file name: `LOAD00000001.parquet`,
//!   `20240131-103000123.csv`, …), then drop trailing *partition folders*
//!   — a folder that starts with a digit and holds only digits, `-` and `_`
//!   (DMS date partitions such as `2024`, `01`, `20240131`, `2024-01-31`,
//!   `2024013110`) or a Hive-style `name=value` folder (`dt=2024-01-31`).
//!   The last two folders left are `<schema>/<table>`; anything before them
//!   is a prefix and ignored. Fewer than two folders left is an error.
//! - [`Layout::Pattern`] (`--layout PATTERN`): a pattern over the whole key,
//!   see [`Pattern`].
//! - [`Layout::Fixed`] (`--table SCHEMA.TABLE`): every object belongs to one
//!   table.

use std::fmt;
use std::str::FromStr;

/// How S3 object keys map to tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Layout {
    /// The DMS S3-target layout (see the module documentation).
    #[default]
    Dms,
    /// A user pattern with `{schema}` and `{table}`.
    Pattern(Pattern),
    /// Every object belongs to this table.
    Fixed(TableName),
}

/// A `schema.table` pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName {
    /// Schema (database) name.
    pub schema: String,
    /// Table name.
    pub table: String,
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.table)
    }
}

impl FromStr for TableName {
    type Err = String;

    /// Parses `schema.table` (split at the first `.`; both parts non-empty).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('.') {
            Some((schema, table)) if !schema.is_empty() && !table.is_empty() => Ok(TableName {
                schema: schema.to_owned(),
                table: table.to_owned(),
            }),
            _ => Err(format!("expected SCHEMA.TABLE, got {s:?}")),
        }
    }
}

impl Layout {
    /// The table an object key belongs to.
    ///
    /// # Errors
    /// A sentence saying why the key does not fit the layout (it names the
    /// layout, not the key: the caller knows the key).
    pub fn table_of(&self, key: &str) -> Result<TableName, String> {
        match self {
            Layout::Dms => dms_table(key),
            Layout::Pattern(pattern) => pattern.table_of(key),
            Layout::Fixed(table) => Ok(table.clone()),
        }
    }
}

fn dms_table(key: &str) -> Result<TableName, String> {
    let mut folders: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    if key.ends_with('/') {
        return Err("the key is a folder, not an object".into());
    }
    folders.pop();
    while folders.last().is_some_and(|f| is_partition_folder(f)) {
        folders.pop();
    }
    match folders.as_slice() {
        [.., schema, table] => Ok(TableName {
            schema: (*schema).to_owned(),
            table: (*table).to_owned(),
        }),
        _ => Err(
            "the key does not follow the DMS layout <schema>/<table>/[<partitions>/]<file> \
             (use --layout or --table)"
                .into(),
        ),
    }
}

/// A DMS date-partition folder (`2024`, `20240131`, `2024-01-31`, …) or a
/// Hive-style `name=value` folder.
fn is_partition_folder(folder: &str) -> bool {
    let bytes = folder.as_bytes();
    let date = bytes.first().is_some_and(u8::is_ascii_digit)
        && bytes
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b'-' || *b == b'_');
    let hive = folder
        .split_once('=')
        .is_some_and(|(name, _)| !name.is_empty());
    date || hive
}

/// A key pattern: segments separated by `/`, matched against the whole key.
///
/// - `{schema}` and `{table}`: the names, each exactly once, anywhere inside a
///   segment (`{schema}/{table}/…`, `{schema}.{table}/…`, `{schema}__{table}`);
///   each matches one or more characters other than `/`, as few as possible,
///   left to right.
/// - `*`: any characters other than `/` (possibly none).
/// - `**` as a whole segment: any number of segments (possibly none); at most
///   one per pattern.
/// - Anything else matches itself.
///
/// Examples: `raw/{schema}/{table}/**`, `**/{schema}.{table}/*`,
/// `exports/{schema}__{table}_*.parquet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`
    Any,
    /// One key segment.
    Parts(Vec<Part>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Star,
    Schema,
    Table,
}

impl FromStr for Pattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("layout pattern {text:?}: {why}");
        let mut segments = Vec::new();
        let (mut schemas, mut tables, mut anys) = (0, 0, 0);
        for segment in text.split('/') {
            if segment == "**" {
                anys += 1;
                segments.push(Segment::Any);
                continue;
            }
            if segment.is_empty() {
                return Err(bad("empty segment (leading, trailing or double `/`)"));
            }
            let mut parts = Vec::new();
            let mut rest = segment;
            while !rest.is_empty() {
                let part = if let Some(after) = rest.strip_prefix("{schema}") {
                    rest = after;
                    schemas += 1;
                    Part::Schema
                } else if let Some(after) = rest.strip_prefix("{table}") {
                    rest = after;
                    tables += 1;
                    Part::Table
                } else if rest.starts_with("**") {
                    return Err(bad("`**` must be a whole segment"));
                } else if let Some(after) = rest.strip_prefix('*') {
                    rest = after;
                    Part::Star
                } else if rest.starts_with('{') {
                    return Err(bad("unknown placeholder (use {schema} and {table})"));
                } else {
                    let end = rest.find(['{', '*']).unwrap_or(rest.len());
                    let (literal, after) = rest.split_at(end);
                    rest = after;
                    Part::Literal(literal.to_owned())
                };
                parts.push(part);
            }
            segments.push(Segment::Parts(parts));
        }
        if schemas != 1 || tables != 1 {
            return Err(bad("needs {schema} and {table}, once each"));
        }
        if anys > 1 {
            return Err(bad("at most one `**`"));
        }
        Ok(Pattern {
            text: text.to_owned(),
            segments,
        })
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a match captured.
#[derive(Default, Clone, Copy)]
struct Captures<'k> {
    schema: Option<&'k str>,
    table: Option<&'k str>,
}

impl Pattern {
    fn table_of(&self, key: &str) -> Result<TableName, String> {
        let segments: Vec<&str> = key.split('/').collect();
        let mut captures = Captures::default();
        if !match_segments(&self.segments, &segments, &mut captures) {
            return Err(format!("the key does not match the layout {:?}", self.text));
        }
        match (captures.schema, captures.table) {
            (Some(schema), Some(table)) => Ok(TableName {
                schema: schema.to_owned(),
                table: table.to_owned(),
            }),
            // The pattern holds both placeholders (checked when parsed), so a
            // match captured both.
            _ => Err(format!("the layout {:?} captured no table", self.text)),
        }
    }
}

fn match_segments<'k>(pattern: &[Segment], key: &[&'k str], captures: &mut Captures<'k>) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((Segment::Any, rest)) => (0..=key.len()).any(|skip| {
            let saved = *captures;
            match_segments(rest, &key[skip..], captures) || {
                *captures = saved;
                false
            }
        }),
        Some((Segment::Parts(parts), rest)) => match key.split_first() {
            Some((segment, key_rest)) => {
                let saved = *captures;
                (match_parts(parts, segment, captures) && match_segments(rest, key_rest, captures))
                    || {
                        *captures = saved;
                        false
                    }
            }
            None => false,
        },
    }
}

fn match_parts<'k>(parts: &[Part], text: &'k str, captures: &mut Captures<'k>) -> bool {
    let Some((part, rest)) = parts.split_first() else {
        return text.is_empty();
    };
    match part {
        Part::Literal(literal) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|after| match_parts(rest, after, captures)),
        Part::Star | Part::Schema | Part::Table => {
            // Shortest first; a placeholder takes at least one character.
            let min = usize::from(*part != Part::Star);
            text.char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .filter(|&end| end >= min)
                .any(|end| {
                    let saved = *captures;
                    match part {
                        Part::Schema => captures.schema = Some(&text[..end]),
                        Part::Table => captures.table = Some(&text[..end]),
                        _ => {}
                    }
                    match_parts(rest, &text[end..], captures) || {
                        *captures = saved;
                        false
                    }
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dms(key: &str) -> Result<String, String> {
        Layout::Dms.table_of(key).map(|t| t.to_string())
    }

    #[test]
    fn dms_layout() {
        for (key, table) in [
            ("dataset/customer/LOAD00000001.parquet", "dataset.customer"),
            ("dms/raw/dataset/bank/LOAD00000002.csv", "dataset.bank"),
            ("dataset/card/20240131-103000123.parquet", "dataset.card"),
            (
                "dataset/card/2024/01/31/20240131-103000123.csv",
                "dataset.card",
            ),
            ("dataset/card/20240131/x.parquet", "dataset.card"),
            ("dataset/card/2024-01-31/x.parquet", "dataset.card"),
            ("masked/dataset/card/dt=2024-01-31/x.jsonl", "dataset.card"),
            ("/dataset//card/x", "dataset.card"),
        ] {
            assert_eq!(dms(key).as_deref(), Ok(table), "{key}");
        }
        for key in [
            "customer/LOAD1.parquet",
            "LOAD1.parquet",
            "2024/01/x",
            "a/b/",
        ] {
            assert!(dms(key).is_err(), "{key}");
        }
    }

    #[test]
    fn patterns() {
        let table = |pattern: &str, key: &str| {
            let pattern: Pattern = pattern.parse().unwrap();
            Layout::Pattern(pattern)
                .table_of(key)
                .map(|t| t.to_string())
        };
        assert_eq!(
            table("raw/{schema}/{table}/**", "raw/s/t/2024/x.parquet").as_deref(),
            Ok("s.t")
        );
        assert_eq!(
            table("**/{schema}.{table}/*", "a/b/db.users/part-0.parquet").as_deref(),
            Ok("db.users")
        );
        assert_eq!(
            table(
                "exports/{schema}__{table}_*.csv",
                "exports/hr__pay_roll_2024.csv"
            )
            .as_deref(),
            Ok("hr.pay")
        );
        assert_eq!(
            table("{schema}/{table}/**", "s/t").as_deref(),
            Ok("s.t"),
            "** matches no segment"
        );
        assert!(table("raw/{schema}/{table}/*", "other/s/t/x").is_err());
        assert!(table("raw/{schema}/{table}/*", "raw/s/t/u/x").is_err());
        assert!(
            table("{schema}{table}/*", "x/f").is_err(),
            "one character is not two names"
        );
        for bad in [
            "{schema}/*",
            "{schema}/{table}/{table}",
            "**/{schema}/**/{table}",
            "{schema}/{table}//*",
            "{schema}/{table}/{date}",
            "{schema}/{table}/x**",
        ] {
            assert!(bad.parse::<Pattern>().is_err(), "{bad}");
        }
    }

    #[test]
    fn fixed_and_table_names() {
        let fixed = Layout::Fixed("s.t.u".parse().unwrap());
        assert_eq!(fixed.table_of("anything").unwrap().to_string(), "s.t.u");
        for bad in ["s", ".t", "s.", ""] {
            assert!(bad.parse::<TableName>().is_err(), "{bad}");
        }
    }
}
