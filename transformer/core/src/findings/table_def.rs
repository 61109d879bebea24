//! Primary keys from DMS table definitions.
//!
//! With `IncludeControlDetails`, DMS announces each table with a control
//! record (`create-table`, and with `IncludeTableAlterOperations` the DDL
//! that changes it) whose `control.table-def` holds the columns and the
//! primary key:
//!
//! ```json
//! {"control":{"table-def":{"columns":{"id":{"type":"INT32","nullable":false}},"primary-key":["id"]}},
//!  "metadata":{"timestamp":"2026-11-28T09:15:03.000000Z","record-type":"control","operation":"create-table",
//!              "partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}
//! ```
//!
//! The router keeps these lines (`control` and `metadata` only) under
//! `control/` of the lake, so `findings compile … lake/control/` reads them
//! like any other source. A table of the policy whose overrides give no
//! `key` takes the latest primary key seen (by `metadata.timestamp`); a
//! table definition never adds a table. A key the policy cannot take (a
//! protected key column that is not deterministic in both views) is left
//! out with a warning naming the table: give it in the overrides.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::layout::TableName;
use super::parse::{Location, Problem};
use crate::policy::{check_key, lowercase, PolicyError, TablePolicy};

/// A primary key announced by a DMS control record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableDef {
    pub(crate) table: TableName,
    /// The key's columns, in order.
    pub(crate) key: Vec<String>,
    /// `metadata.timestamp` (ISO 8601, fixed width, so it sorts as text);
    /// empty when absent.
    pub(crate) timestamp: String,
}

/// Whether a document is a DMS control record (`metadata.record-type` is
/// `control`).
pub(crate) fn is_control_record(map: &Map<String, Value>) -> bool {
    map.get("metadata")
        .and_then(|m| m.get("record-type"))
        .and_then(Value::as_str)
        == Some("control")
}

/// The primary key a control record announces: `None` when it carries no
/// `control.table-def.primary-key` (a `drop-table`, a record of DMS's own
/// tables, or control details turned off).
///
/// # Errors
/// A primary key that is not a list of column names, or one without the
/// table's schema and name (a sentence fragment without values).
pub(crate) fn table_def(map: &Map<String, Value>) -> Result<Option<TableDef>, String> {
    let Some(key) = map
        .get("control")
        .and_then(|c| c.get("table-def"))
        .and_then(|d| d.get("primary-key"))
    else {
        return Ok(None);
    };
    let names = key
        .as_array()
        .filter(|items| !items.is_empty())
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        })
        .ok_or("DMS control record: control.table-def.primary-key is not a list of column names")?;
    let metadata = &map["metadata"];
    let name = |field: &str| metadata.get(field).and_then(Value::as_str).unwrap_or("");
    let (schema, table) = (name("schema-name"), name("table-name"));
    if schema.is_empty() {
        // DMS's own tables (`awsdms_apply_exceptions`) have no schema.
        return Ok(None);
    }
    if table.is_empty() {
        return Err("DMS control record with a primary key but no metadata.table-name".into());
    }
    Ok(Some(TableDef {
        table: TableName {
            schema: schema.to_owned(),
            table: table.to_owned(),
        },
        key: names,
        timestamp: name("timestamp").to_owned(),
    }))
}

/// Where a compiled table's key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The overrides' `key`.
    Overrides,
    /// The primary key of a DMS table definition.
    TableDef,
}

/// The key of one table of a compiled policy, for a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReport {
    /// The table, as the policy writes it.
    pub table: TableName,
    /// The key's columns.
    pub key: Vec<String>,
    /// Overrides or a table definition.
    pub origin: KeyOrigin,
}

/// The latest primary key seen per table (names compare
/// case-insensitively, as in the policy).
#[derive(Debug, Default)]
pub(crate) struct ObservedKeys {
    tables: BTreeMap<(String, String), (TableDef, Location)>,
}

impl ObservedKeys {
    /// Records a table definition read at `at`. The latest by timestamp
    /// wins; ties go to the greatest key, then the first place, so the
    /// order of the sources does not matter.
    pub(crate) fn add(&mut self, def: TableDef, at: Location) {
        let id = (lowercase(&def.table.schema), lowercase(&def.table.table));
        let rank = |d: &TableDef, at: &Location| {
            (
                d.timestamp.clone(),
                d.key.clone(),
                std::cmp::Reverse((at.source.clone(), at.line, at.column)),
            )
        };
        match self.tables.get(&id) {
            Some((kept, kept_at)) if rank(kept, kept_at) >= rank(&def, &at) => {}
            _ => {
                self.tables.insert(id, (def, at));
            }
        }
    }

    /// Gives each table of `tables` whose key is empty (the overrides gave
    /// none) the key observed for it, when the policy can take it; reports
    /// every table's key, and a warning for each observed key left out.
    pub(crate) fn apply(
        &self,
        tables: &mut [TablePolicy],
        warnings: &mut Vec<Problem>,
    ) -> Vec<KeyReport> {
        let mut reports = Vec::new();
        for table in tables {
            let name = TableName {
                schema: table.schema.clone(),
                table: table.table.clone(),
            };
            if !table.key.is_empty() {
                reports.push(KeyReport {
                    table: name,
                    key: table.key.clone(),
                    origin: KeyOrigin::Overrides,
                });
                continue;
            }
            let id = (lowercase(&table.schema), lowercase(&table.table));
            let Some((def, at)) = self.tables.get(&id) else {
                continue;
            };
            table.key.clone_from(&def.key);
            if let Err(PolicyError::Invalid(why) | PolicyError::Parse(why)) = check_key(table) {
                table.key.clear();
                warnings.push(Problem {
                    at: at.clone(),
                    what: format!(
                        "primary key ({}) of {name} from the table definition not used: {why}; \
                         give the key and the key columns' actions in the overrides",
                        def.key.join(", ")
                    ),
                });
                continue;
            }
            reports.push(KeyReport {
                table: name,
                key: def.key.clone(),
                origin: KeyOrigin::TableDef,
            });
        }
        reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Action, ColumnPolicy};

    fn map(text: &str) -> Map<String, Value> {
        serde_json::from_str(text).unwrap()
    }

    fn control(table: &str, key: &str, timestamp: &str) -> Map<String, Value> {
        map(&format!(
            r#"{{"control":{{"table-def":{{"columns":{{"id":{{"type":"INT32","nullable":false}}}},"primary-key":{key}}}}},"metadata":{{"timestamp":"{timestamp}","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"{table}"}}}}"#
        ))
    }

    fn at(source: &str, line: usize) -> Location {
        Location {
            source: source.into(),
            line,
            column: 1,
            item: None,
            finding: None,
        }
    }

    fn table(name: &str, key: &[&str], columns: &[(&str, Action, Action)]) -> TablePolicy {
        TablePolicy {
            schema: "dataset".into(),
            table: name.into(),
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            columns: columns
                .iter()
                .map(|(c, masked, encrypted)| {
                    let column = ColumnPolicy {
                        types: Vec::new(),
                        masked: masked.clone(),
                        encrypted: encrypted.clone(),
                        rename: true,
                        domain: None,
                        findings: Vec::new(),
                    };
                    ((*c).to_owned(), column)
                })
                .collect(),
        }
    }

    #[test]
    fn reads_the_primary_key_of_a_control_record() {
        let record = control(
            "customer",
            r#"["id","region"]"#,
            "2026-11-28T09:15:03.000000Z",
        );
        assert!(is_control_record(&record));
        let def = table_def(&record).unwrap().unwrap();
        assert_eq!(def.table.to_string(), "dataset.customer");
        assert_eq!(def.key, ["id", "region"]);
        assert_eq!(def.timestamp, "2026-11-28T09:15:03.000000Z");
        // No key: a drop-table, DMS's own table.
        let dropped = map(
            r#"{"control":{"table-def":{}},"metadata":{"record-type":"control","operation":"drop-table","schema-name":"dataset","table-name":"card"}}"#,
        );
        assert_eq!(table_def(&dropped), Ok(None));
        let own = map(
            r#"{"control":{"table-def":{"primary-key":["x"]}},"metadata":{"record-type":"control","schema-name":"","table-name":"awsdms_apply_exceptions"}}"#,
        );
        assert_eq!(table_def(&own), Ok(None));
        assert!(!is_control_record(&map(
            r#"{"metadata":{"record-type":"data"}}"#
        )));
        for bad in [r"[]", r#""id""#, r#"["id",1]"#, r#"[""]"#] {
            let err = table_def(&control("customer", bad, "t")).unwrap_err();
            assert!(err.contains("not a list of column names"), "{bad}: {err}");
        }
        let nameless = map(
            r#"{"control":{"table-def":{"primary-key":["id"]}},"metadata":{"record-type":"control","schema-name":"s"}}"#,
        );
        assert!(table_def(&nameless).unwrap_err().contains("table-name"));
    }

    #[test]
    fn the_latest_definition_wins_whatever_the_order() {
        let defs = [
            ("customer", r#"["id"]"#, "2026-11-28T09:00:00.000000Z"),
            (
                "CUSTOMER",
                r#"["customer_id"]"#,
                "2026-11-29T09:00:00.000000Z",
            ),
            ("card", r#"["id"]"#, "2026-11-28T09:00:00.000000Z"),
        ];
        let keys = |order: &[usize]| {
            let mut observed = ObservedKeys::default();
            for (line, &i) in order.iter().enumerate() {
                let (name, key, ts) = defs[i];
                let def = table_def(&control(name, key, ts)).unwrap().unwrap();
                observed.add(def, at("control.jsonl", line + 1));
            }
            let mut tables = vec![table("Customer", &[], &[]), table("bank", &[], &[])];
            let reports = observed.apply(&mut tables, &mut Vec::new());
            (tables, reports)
        };
        let (tables, reports) = keys(&[0, 1, 2]);
        assert_eq!(keys(&[2, 1, 0]).0, tables);
        assert_eq!(tables[0].key, ["customer_id"]);
        assert!(tables[1].key.is_empty(), "no definition seen");
        assert_eq!(
            reports,
            [KeyReport {
                table: "dataset.Customer".parse().unwrap(),
                key: vec!["customer_id".into()],
                origin: KeyOrigin::TableDef,
            }]
        );
    }

    #[test]
    fn overrides_win_and_unusable_keys_are_left_out_with_a_warning() {
        let mut observed = ObservedKeys::default();
        for name in ["customer", "card", "bank"] {
            let def = table_def(&control(name, r#"["id"]"#, "t"))
                .unwrap()
                .unwrap();
            observed.add(def, at(&format!("control/{name}.jsonl"), 1));
        }
        let random = ("id", Action::Redact { with: None }, Action::Encrypt);
        let deterministic = ("id", Action::Token, Action::EncryptDeterministic);
        let mut tables = vec![
            table("customer", &["customer_id"], &[]),
            table("card", &[], &[random]),
            table("bank", &[], &[deterministic]),
        ];
        let mut warnings = Vec::new();
        let reports = observed.apply(&mut tables, &mut warnings);
        assert_eq!(tables[0].key, ["customer_id"], "the override's key");
        assert!(tables[1].key.is_empty());
        assert_eq!(tables[2].key, ["id"]);
        let origins: Vec<_> = reports
            .iter()
            .map(|r| (r.table.table.as_str(), r.origin))
            .collect();
        assert_eq!(
            origins,
            [
                ("customer", KeyOrigin::Overrides),
                ("bank", KeyOrigin::TableDef)
            ]
        );
        assert_eq!(warnings.len(), 1);
        let warning = warnings[0].to_string();
        assert!(
            warning.starts_with("control/card.jsonl:1: primary key (id) of dataset.card"),
            "{warning}"
        );
        assert!(warning.contains("give the key"), "{warning}");
    }
}
