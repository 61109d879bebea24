//! Manual overrides: a policy file whose columns and keys win over what the
//! findings say, field by field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::compile::{sorted_strings, Origin, OutTable};
use super::layout::TableName;
use crate::policy::{lowercase, Policy, PolicyError, PolicyFile};

/// Manual overrides: a policy file whose columns win over the findings.
///
/// Each override column replaces the compiled column field by field: the
/// `masked`, `encrypted` and `rename` it gives win; those it leaves out keep
/// the compiled value (or the policy default for a column no finding
/// reports). Its `types` are added to the types found; its `findings` are
/// ignored (provenance comes from the findings). Tables and columns no
/// finding reports are added. `description` and `redact_with` carry over.
#[derive(Debug, Clone)]
pub struct Overrides {
    pub(super) file: PolicyFile,
    /// Per table of `file`, per column name: the fields given.
    given: Vec<BTreeMap<String, Given>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Given {
    masked: bool,
    encrypted: bool,
    rename: bool,
}

impl Overrides {
    /// Parses and checks an overrides file (the policy format).
    ///
    /// # Errors
    /// [`PolicyError`] when it is not a usable policy.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PolicyError> {
        let file: PolicyFile =
            serde_json::from_slice(bytes).map_err(|e| PolicyError::Parse(e.to_string()))?;
        Policy::compile(&file)?;
        // The same document again, to see which fields each column gives.
        #[derive(Deserialize)]
        struct Shape {
            tables: Vec<ShapeTable>,
        }
        #[derive(Deserialize)]
        struct ShapeTable {
            columns: BTreeMap<String, serde_json::Map<String, Value>>,
        }
        let shape: Shape =
            serde_json::from_slice(bytes).map_err(|e| PolicyError::Parse(e.to_string()))?;
        let given = shape
            .tables
            .into_iter()
            .map(|table| {
                table
                    .columns
                    .into_iter()
                    .map(|(name, fields)| {
                        let given = Given {
                            masked: fields.contains_key("masked"),
                            encrypted: fields.contains_key("encrypted"),
                            rename: fields.contains_key("rename"),
                        };
                        (name, given)
                    })
                    .collect()
            })
            .collect();
        Ok(Overrides { file, given })
    }
}

/// Applies `overrides` to the tables compiled from the findings.
pub(super) fn apply(tables: &mut BTreeMap<(String, String), OutTable>, overrides: &Overrides) {
    for (table, given) in overrides.file.tables.iter().zip(&overrides.given) {
        let name = TableName {
            schema: table.schema.clone(),
            table: table.table.clone(),
        };
        let key = (lowercase(&name.schema), lowercase(&name.table));
        let out = tables.entry(key).or_insert_with(|| OutTable {
            name: name.clone(),
            key: Vec::new(),
            columns: BTreeMap::new(),
        });
        out.name = name;
        // Findings never name a key: the override's is the table's.
        if !table.key.is_empty() {
            out.key.clone_from(&table.key);
        }
        for (column_name, column) in &table.columns {
            let given = given.get(column_name).copied().unwrap_or_default();
            let lower = lowercase(column_name);
            let merged = match out.columns.remove(&lower) {
                Some((_, mut found, _)) => {
                    if given.masked {
                        found.masked = column.masked.clone();
                    }
                    if given.encrypted {
                        found.encrypted = column.encrypted.clone();
                    }
                    if given.rename {
                        found.rename = column.rename;
                    }
                    // Findings never name a join domain: an override's wins.
                    if column.domain.is_some() {
                        found.domain.clone_from(&column.domain);
                    }
                    found.types = sorted_strings(found.types.iter().chain(&column.types));
                    (column_name.clone(), found, Origin::Both)
                }
                None => {
                    let mut added = column.clone();
                    added.types = sorted_strings(column.types.iter());
                    added.findings.clear();
                    (column_name.clone(), added, Origin::Overrides)
                }
            };
            out.columns.insert(lower, merged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::compile::tests::{managed, t};
    use crate::findings::compile::{redact, Accumulator, Defaults};
    use crate::policy::Action;

    #[test]
    fn overrides_win_field_by_field() {
        let mut acc = Accumulator::default();
        let card = t("dataset.card");
        acc.add(&card, "card_number", &managed("CREDIT_CARD_NUMBER"), "f1");
        acc.add(&card, "cvv", &managed("CREDIT_CARD_SECURITY_CODE"), "f1");
        acc.add(&card, "note", &managed("NAME"), "f1");
        let overrides = Overrides::from_slice(
            br#"{"version":1,"description":"mine","redact_with":"***","tables":[
              {"schema":"DATASET","table":"card","columns":{
                "card_number":{"masked":"keep"},
                "CVV":{"encrypted":"null","rename":false,"types":["X"],"findings":["bogus"]},
                "holder":{"types":["NAME"],"masked":"token"}}},
              {"schema":"hr","table":"pay","columns":{"iban":{}}}]}"#,
        )
        .unwrap();
        let (policy, reports) = acc.finish(Defaults::ByType, Some(&overrides));
        assert_eq!(policy.description.as_deref(), Some("mine"));
        assert_eq!(policy.redact_with.as_deref(), Some("***"));
        let card = &policy.tables[0];
        assert_eq!(card.schema, "DATASET", "the override's spelling");
        let number = &card.columns["card_number"];
        assert_eq!(number.masked, Action::Keep, "an override forces keep");
        assert_eq!(number.encrypted, Action::Encrypt);
        assert_eq!(number.findings, ["f1"]);
        let cvv = &card.columns["CVV"];
        assert_eq!(cvv.masked, redact(), "not given: the finding's default");
        assert_eq!(cvv.encrypted, Action::Null);
        assert!(!cvv.rename);
        assert_eq!(cvv.types, ["CREDIT_CARD_SECURITY_CODE", "X"]);
        assert_eq!(cvv.findings, ["f1"]);
        assert!(!card.columns.contains_key("cvv"));
        let holder = &card.columns["holder"];
        assert_eq!(holder.masked, Action::Token);
        assert!(holder.findings.is_empty());
        assert_eq!(card.columns["note"].masked, redact());
        assert_eq!(policy.tables[1].columns["iban"].masked, redact());
        let origins: Vec<(String, Origin)> = reports
            .iter()
            .map(|r| (r.column.clone(), r.origin))
            .collect();
        assert_eq!(
            origins,
            [
                ("card_number".to_owned(), Origin::Both),
                ("CVV".to_owned(), Origin::Both),
                ("holder".to_owned(), Origin::Overrides),
                ("note".to_owned(), Origin::Findings),
                ("iban".to_owned(), Origin::Overrides),
            ]
        );
        Policy::compile(&policy).unwrap();
    }

    #[test]
    fn bad_overrides_are_refused() {
        for bad in [
            &br#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"encrypt"}}}]}"#[..],
            br#"{"version":1,"tables":[],"extra":1}"#,
            br#"not json"#,
        ] {
            assert!(Overrides::from_slice(bad).is_err());
        }
    }
}
