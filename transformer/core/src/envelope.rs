//! The AWS DMS Kinesis-target record: `data`, `metadata`, optional
//! `before-image`, and `control` for DDL records.

use std::borrow::Cow;

use crate::json::{self, Kind, Member, MemberVecs};
use crate::reason::Reason;

/// Largest record accepted (DMS caps a Kinesis message at 1 MiB).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Field name of the before-image (DMS `BeforeImageSettings.FieldName`).
pub const BEFORE_IMAGE_FIELD: &str = "before-image";

/// A parsed DMS record, borrowing from the input.
#[derive(Debug)]
pub enum DmsRecord<'a> {
    /// A row change (`record-type: data`).
    Data(DataRecord<'a>),
    /// A DDL or task record (`record-type: control`).
    Control {
        /// `schema-name`, if present.
        schema: Option<Cow<'a, str>>,
        /// `table-name`, if present.
        table: Option<Cow<'a, str>>,
        /// The raw `timestamp` value, if present.
        timestamp: Option<&'a str>,
    },
}

/// A row change.
#[derive(Debug)]
pub struct DataRecord<'a> {
    /// The top-level members in input order (for the envelope shape).
    pub top: Vec<Member<'a>>,
    /// The columns of `data`.
    pub data: Vec<Member<'a>>,
    /// The columns of the before-image, when there is one (not `null`).
    pub before: Option<Vec<Member<'a>>>,
    /// The members of `metadata`.
    pub metadata: Vec<Member<'a>>,
    /// `schema-name`, decoded ([`Member::text`]: borrowed exactly when it
    /// has no escapes).
    pub schema: Cow<'a, str>,
    /// `table-name`, decoded as `schema`.
    pub table: Cow<'a, str>,
    /// The raw values of `operation`, `timestamp` and `transaction-id`
    /// (the first of each), as the flat shape writes them.
    pub written_meta: [Option<&'a str>; 3],
}

impl DataRecord<'_> {
    /// Gives the record's member vectors to `vecs`, for the next record.
    pub fn give_members(&mut self, vecs: &mut MemberVecs) {
        for members in [&mut self.top, &mut self.data, &mut self.metadata] {
            vecs.give(std::mem::take(members));
        }
        if let Some(before) = self.before.take() {
            vecs.give(before);
        }
    }
}

/// The metadata members the flat shape writes, in the order of
/// [`DataRecord::written_meta`], with the names it writes them under.
pub const WRITTEN_META: [(&str, &str); 3] = [
    ("operation", "_op"),
    ("timestamp", "_ts"),
    ("transaction-id", "_txn"),
];

/// The metadata members a record is parsed by (where each first occurs,
/// and whether it occurs again), found in one pass.
#[derive(Default)]
struct MetaIndex {
    first: [Option<usize>; 6],
    repeated: [bool; 6],
}

/// The members [`MetaIndex`] finds: the three of [`WRITTEN_META`], then
/// the three a record is told apart by.
const PARSED_META: [&str; 6] = [
    WRITTEN_META[0].0,
    WRITTEN_META[1].0,
    WRITTEN_META[2].0,
    "record-type",
    "schema-name",
    "table-name",
];

/// Positions in [`PARSED_META`].
const TIMESTAMP: usize = 1;
const RECORD_TYPE: usize = 3;
const SCHEMA_NAME: usize = 4;
const TABLE_NAME: usize = 5;

impl MetaIndex {
    fn of(metadata: &[Member<'_>]) -> Self {
        let mut index = MetaIndex::default();
        for (i, member) in metadata.iter().enumerate() {
            let decoded = member.name();
            let Some(known) = PARSED_META
                .iter()
                .position(|name| json::name_eq(name.as_bytes(), decoded.as_bytes()))
            else {
                continue;
            };
            match index.first[known] {
                None => index.first[known] = Some(i),
                Some(_) => index.repeated[known] = true,
            }
        }
        index
    }
}

/// Parses one DMS record, its member vectors taken from `vecs` (see
/// [`DataRecord::give_members`]).
///
/// # Errors
/// The [`Reason`] the record cannot be processed: not JSON, too deep, too
/// large, or not shaped like a DMS record.
pub fn parse<'a>(input: &'a [u8], vecs: &mut MemberVecs) -> Result<DmsRecord<'a>, Reason> {
    if input.len() > MAX_RECORD_BYTES {
        return Err(Reason::TooLarge);
    }
    // One pass over the record: the members of `data`, `metadata` and the
    // before-image come with the top level.
    let (top, [data_members, metadata_members, before_members]) =
        json::parse_object_expanding(input, ["data", "metadata", BEFORE_IMAGE_FIELD], vecs)?;
    let mut data = None;
    let mut metadata = None;
    let mut before = None;
    for member in &top {
        let slot = match member.name().as_ref() {
            "data" => &mut data,
            "metadata" => &mut metadata,
            BEFORE_IMAGE_FIELD => &mut before,
            _ => continue,
        };
        if slot.replace(member).is_some() {
            return Err(Reason::DuplicateField);
        }
    }
    // Each name occurs at most once now, so a slot holds the members of
    // that one member when its value is an object.
    let metadata = match (metadata, metadata_members) {
        (Some(m), Some(members)) if m.kind == Kind::Object => members,
        _ => return Err(Reason::NotDms),
    };
    let index = MetaIndex::of(&metadata);
    let text = |known: usize| -> Result<Option<Cow<'a, str>>, Reason> {
        match index.first[known].map(|i| &metadata[i]) {
            None => Ok(None),
            Some(m) if m.kind == Kind::String && !index.repeated[known] => Ok(Some(m.text())),
            Some(_) => Err(Reason::NotDms),
        }
    };
    let raw = |known: usize| index.first[known].map(|i| metadata[i].raw);
    let record_type = text(RECORD_TYPE)?.ok_or(Reason::NotDms)?;
    match record_type.as_ref() {
        "control" => {
            let schema = text(SCHEMA_NAME)?;
            let table = text(TABLE_NAME)?;
            let timestamp = raw(TIMESTAMP);
            Ok(DmsRecord::Control {
                schema,
                table,
                timestamp,
            })
        }
        "data" => {
            let schema = text(SCHEMA_NAME)?.ok_or(Reason::NotDms)?;
            let table = text(TABLE_NAME)?.ok_or(Reason::NotDms)?;
            let written_meta = std::array::from_fn(raw);
            let data = match (data, data_members) {
                (Some(d), Some(members)) if d.kind == Kind::Object => members,
                _ => return Err(Reason::NotDms),
            };
            let before = match (before, before_members) {
                (None, _) => None,
                (Some(b), _) if b.kind == Kind::Null => None,
                (Some(b), Some(members)) if b.kind == Kind::Object => Some(members),
                (Some(_), _) => return Err(Reason::NotDms),
            };
            Ok(DmsRecord::Data(DataRecord {
                top,
                data,
                before,
                metadata,
                schema,
                table,
                written_meta,
            }))
        }
        _ => Err(Reason::UnknownRecordType),
    }
}

/// Top-level members of a control record that go to the control log: the
/// table definition and the metadata. Anything else (a `data` or
/// before-image a control record should not have) could hold row values.
const CONTROL_LOG_MEMBERS: [&str; 2] = ["control", "metadata"];

/// Appends the control-log line of a control record to `out`: one JSON
/// object with only its `control` and `metadata` members, on one line,
/// without the newline. Writes `{}` for input that is not a JSON object
/// (callers pass records [`parse`] accepted as control records).
pub fn write_control_line(input: &[u8], out: &mut Vec<u8>) {
    let members = json::parse_object(input).unwrap_or_default();
    json::write_members(
        out,
        members
            .iter()
            .filter(|m| CONTROL_LOG_MEMBERS.contains(&m.name().as_ref())),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_line_keeps_only_the_definition_and_the_metadata() {
        let input = br#"{"data":{"name":"Jane"},"control":{"table-def":{"columns":{"name":{"type":"STRING"}}}},
            "before-image":{"name":"Joe"},"metadata":{"record-type":"control","table-name":"t"},"x":"Jim"}"#;
        let mut out = Vec::new();
        write_control_line(input, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"control":{"table-def":{"columns":{"name":{"type":"STRING"}}}},"metadata":{"record-type":"control","table-name":"t"}}"#
        );
    }

    #[test]
    fn parses_data_and_control() {
        let rec = br#"{"data":{"id":1,"mail":"a@b.c"},"before-image":{"id":1},"metadata":{"timestamp":"2026-01-02T03:04:05.000006Z","record-type":"data","operation":"update","partition-key-type":"schema-table","schema-name":"dataset","table-name":"customer","transaction-id":42}}"#;
        let DmsRecord::Data(d) = parse(rec, &mut MemberVecs::default()).unwrap() else {
            panic!("not data")
        };
        assert_eq!(
            (d.schema.as_ref(), d.table.as_ref()),
            ("dataset", "customer")
        );
        assert_eq!(d.data.len(), 2);
        assert_eq!(d.before.as_ref().unwrap().len(), 1);
        assert_eq!(
            d.written_meta,
            [
                Some("\"update\""),
                Some("\"2026-01-02T03:04:05.000006Z\""),
                Some("42")
            ]
        );

        let ctl = br#"{"control":{"table-def":{}},"metadata":{"record-type":"control","operation":"create-table","schema-name":"","table-name":"awsdms_apply_exceptions"}}"#;
        assert!(matches!(
            parse(ctl, &mut MemberVecs::default()).unwrap(),
            DmsRecord::Control { .. }
        ));
    }

    #[test]
    fn rejects_what_is_not_dms() {
        for (bad, reason) in [
            (&br#"{"data":{}}"#[..], Reason::NotDms),
            (br#"{"data":{},"metadata":{"record-type":"data","table-name":"t"}}"#, Reason::NotDms),
            (br#"{"data":[],"metadata":{"record-type":"data","schema-name":"s","table-name":"t"}}"#, Reason::NotDms),
            (br#"{"data":{},"metadata":{"record-type":"oops"}}"#, Reason::UnknownRecordType),
            (br#"{"data":{},"data":{},"metadata":{"record-type":"data"}}"#, Reason::DuplicateField),
            (br#"{"data":{},"metadata":{"record-type":"data","record-type":"control"}}"#, Reason::NotDms),
            (br#"{"data":{},"metadata":{"record-type":"data","schema-name":"s","table-name":"t","table-name":"u"}}"#, Reason::NotDms),
            (br#"{"data":{},"metadata":{"record-type":"data","schema-name":1,"table-name":"t"}}"#, Reason::NotDms),
            (br#"{"data":{},"metadata":{"record-type":"data","schema-name":"s","table-name":"t"},"before-image":"x"}"#, Reason::NotDms),
            (b"{\"data\":", Reason::InvalidJson),
            (b"\xff", Reason::InvalidUtf8),
        ] {
            let refused = parse(bad, &mut MemberVecs::default()).unwrap_err();
            assert_eq!(refused, reason, "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            parse(
                &vec![b' '; MAX_RECORD_BYTES + 1],
                &mut MemberVecs::default()
            )
            .unwrap_err(),
            Reason::TooLarge
        );
    }
}
