//! DDL control records that announce columns the policy does not list
//! (`create-table`, `add-column`, a table definition): their names, so that
//! they are logged and counted as `unlisted_column_added` instead of
//! dropped without a word. Until the policy lists them, the guard covers
//! their values.

use std::borrow::Cow;

use crate::json::{self, Kind, Member};
use crate::policy::{lowercase, Policy};

/// The columns that `control.table-def.columns` of a control record names
/// and the policy does not list for `schema.table`, in record order. Empty
/// when the record carries no table definition.
pub fn unlisted_columns<'a>(
    policy: &Policy,
    input: &'a [u8],
    schema: &str,
    table: &str,
) -> Vec<Cow<'a, str>> {
    let Some(columns) = table_def_columns(input) else {
        return Vec::new();
    };
    let rules = policy.table_with(schema, table, &mut String::new());
    columns
        .into_iter()
        .filter(|c| {
            rules
                .and_then(|r| r.column(&lowercase(&c.name())))
                .is_none()
        })
        .map(|c| c.name())
        .collect()
}

/// The members of `control.table-def.columns`, if the record has them.
fn table_def_columns(input: &[u8]) -> Option<Vec<Member<'_>>> {
    let top = json::parse_object(input).ok()?;
    let control = json::parse_object(object(&top, "control")?).ok()?;
    let def = json::parse_object(object(&control, "table-def")?).ok()?;
    json::parse_object(object(&def, "columns")?).ok()
}

/// The raw value of the object member `name`.
fn object<'a>(members: &[Member<'a>], name: &str) -> Option<&'a [u8]> {
    members
        .iter()
        .find(|m| m.name() == name && m.kind == Kind::Object)
        .map(|m| m.raw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(operation: &str, schema: &str, table: &str, columns: &str) -> String {
        format!(
            r#"{{"control":{{"table-def":{{"columns":{columns},"primary-key":["id"]}}}},"metadata":{{"timestamp":"2026-12-01T10:00:00Z","record-type":"control","operation":"{operation}","partition-key-type":"task-id","schema-name":"{schema}","table-name":"{table}"}}}}"#
        )
    }

    #[test]
    fn names_the_columns_the_policy_does_not_list() {
        let policy = Policy::from_slice(
            br#"{"version":1,"tables":[{"schema":"dataset","table":"customer","columns":{"Email":{}}}]}"#,
        )
        .unwrap();
        let cols =
            r#"{"id":{"type":"INT32"},"email":{"type":"STRING"},"loyalty_iban":{"type":"STRING"}}"#;
        let added = control("add-column", "dataset", "customer", cols);
        assert_eq!(
            unlisted_columns(&policy, added.as_bytes(), "dataset", "customer"),
            ["id", "loyalty_iban"]
        );
        let created = control("create-table", "hr", "employee", cols);
        assert_eq!(
            unlisted_columns(&policy, created.as_bytes(), "hr", "employee").len(),
            3
        );
        let dropped = br#"{"metadata":{"record-type":"control","operation":"drop-table","schema-name":"hr","table-name":"employee"}}"#;
        assert!(unlisted_columns(&policy, dropped, "hr", "employee").is_empty());
    }
}
