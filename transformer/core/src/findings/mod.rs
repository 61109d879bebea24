//! `findings compile`: a protection policy from Amazon Macie findings.
//!
//! Feed a [`Compiler`] the bytes of each source (a file, or an S3 object
//! written by the EventBridge → Firehose rule), then [`Compiler::finish`]
//! with optional [`Overrides`]. Each sensitive-data finding is reduced to
//! `(schema.table, column, type, finding id)`:
//!
//! - the table from the scanned object's key, by a [`Layout`] (default: the
//!   DMS S3-target layout `…/<schema>/<table>/[<partitions>/]<file>`);
//! - the column from each occurrence: `records[].jsonPath` (Parquet, Avro,
//!   JSON, JSON Lines: the top-level field, after a leading `data` or
//!   `before-image` of the DMS envelope) or `cells[].columnName` (CSV, TSV);
//!   an occurrence that names no column (a cell with only a column index,
//!   a text file's line ranges) is a warning;
//! - the type from `sensitiveData[].detections[].type` (managed identifiers)
//!   or `customDataIdentifiers.detections[].name`, written `custom:<name>`.
//!
//! Columns are unioned across all findings (a finding proves a column is
//! sensitive; its absence proves nothing). Each column's masked action is
//! the default of its types, the most protective one when several types
//! disagree (`redact` over `token` over `partial`):
//!
//! | type | masked | encrypted |
//! | --- | --- | --- |
//! | `CREDIT_CARD_NUMBER`, `CREDIT_CARD_NUMBER_(NO_KEYWORD)` | `partial`, last 4 | `encrypt` |
//! | `EMAIL_ADDRESS`, or a custom identifier whose name contains `mail` (any case) | `token` | `encrypt` |
//! | anything else | `redact` (`##################`, as the AWS sample) | `encrypt` |
//!
//! [`Defaults::RedactAll`] redacts every type, exactly as the AWS sample's
//! Glue job. Overrides then win field by field (see [`Overrides`]).
//!
//! The output is deterministic: the same findings and overrides, in any
//! order, give the same [`PolicyFile`](crate::policy::PolicyFile) (sorted
//! tables and columns, sorted types, sorted finding ids as provenance, at
//! most [`MAX_PROVENANCE_IDS`] per column).
//!
//! # Layout
//! - `parse`: bytes → documents → findings, suggested findings and DMS
//!   control records.
//! - `macie`: a Macie finding's wire subset → the columns each detection
//!   points at.
//! - `layout`: S3 object key → `schema.table`.
//! - `compile`: the union per column, defaults per type.
//! - `overrides`: manual overrides, winning field by field.
//! - `render`: the policy file's bytes, one line per column.
//! - `table_def`: primary keys from DMS control records (the router's
//!   control log), for the tables whose overrides give no key.

mod compile;
mod layout;
mod macie;
mod overrides;
mod parse;
mod render;
mod table_def;

pub use compile::{ColumnReport, Compiled, Defaults, Origin, MAX_PROVENANCE_IDS};
pub use layout::{Layout, Pattern, TableName};
pub use macie::DataType;
pub use overrides::Overrides;
pub use parse::{Location, Problem};
pub use render::{checked_policy_json, policy_json};
pub use table_def::{KeyOrigin, KeyReport};

use crate::guard::{Detector, SuggestedFinding};
use crate::policy::low_entropy_warnings;
use compile::Accumulator;
use macie::Scanned;
use parse::Parsed;
use table_def::ObservedKeys;

/// Compiles findings from any number of sources into one policy.
#[derive(Debug)]
pub struct Compiler {
    layout: Layout,
    defaults: Defaults,
    columns: Accumulator,
    keys: ObservedKeys,
    findings: usize,
    control_records: usize,
    skipped: usize,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Compiler {
    /// A compiler that maps object keys with `layout` and gives each type
    /// its `defaults` action.
    pub fn new(layout: Layout, defaults: Defaults) -> Self {
        Compiler {
            layout,
            defaults,
            columns: Accumulator::default(),
            keys: ObservedKeys::default(),
            findings: 0,
            control_records: 0,
            skipped: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads every finding in one source (gzip-compressed or not). `source`
    /// names it in problems (a path or `s3://bucket/key`). Never fails: what
    /// cannot be read is recorded in [`Compiled::errors`], the rest is
    /// compiled.
    pub fn add_source(&mut self, source: &str, bytes: &[u8]) {
        parse::for_each_finding(source, bytes, |at, result| match result {
            Err(what) => self.errors.push(Problem { at, what }),
            Ok(Parsed::Skipped) => self.skipped += 1,
            Ok(Parsed::Sensitive(scanned)) => {
                self.findings += 1;
                self.add_scanned(at, scanned);
            }
            Ok(Parsed::Suggested(suggested)) => {
                self.findings += 1;
                self.add_suggested(source, &suggested);
            }
            Ok(Parsed::Control(def)) => {
                self.control_records += 1;
                if let Some(def) = def {
                    self.keys.add(def, at);
                }
            }
        });
    }

    /// A column the guard caught values in: protected like a Macie finding
    /// of the matching type, with `guard:<source>` as provenance.
    fn add_suggested(&mut self, source: &str, suggested: &SuggestedFinding) {
        let table = TableName {
            schema: suggested.schema.clone(),
            table: suggested.table.clone(),
        };
        // The parser let only known detector names through.
        let Ok(detector) = suggested.detector.parse::<Detector>() else {
            return;
        };
        let data_type = DataType::Managed(macie_type(detector).to_owned());
        self.columns.add(
            &table,
            &suggested.column,
            &data_type,
            &format!("guard:{source}"),
        );
    }

    fn add_scanned(&mut self, at: Location, scanned: Scanned) {
        let object = match &scanned.bucket {
            Some(bucket) => format!("s3://{bucket}/{}", scanned.key),
            None => scanned.key.clone(),
        };
        let table = match self.layout.table_of(&scanned.key) {
            Ok(table) => table,
            Err(why) => {
                self.errors.push(Problem {
                    at,
                    what: format!("object {object}: {why}"),
                });
                return;
            }
        };
        if scanned.detections.is_empty() {
            self.warnings.push(Problem {
                at: at.clone(),
                what: format!("no detections for {object}"),
            });
        }
        for detection in &scanned.detections {
            for column in &detection.columns {
                self.columns
                    .add(&table, column, &detection.data_type, &scanned.id);
            }
            for why in &detection.unresolved {
                self.warnings.push(Problem {
                    at: at.clone(),
                    what: format!(
                        "{} in {object} ({table}): {why}; no column to protect \
                         (add it in the overrides)",
                        detection.data_type
                    ),
                });
            }
        }
    }

    /// The policy from everything read, with `overrides` applied, then the
    /// primary keys of the table definitions read where the overrides give
    /// no key.
    pub fn finish(mut self, overrides: Option<&Overrides>) -> Compiled {
        let (mut policy, columns) = self.columns.finish(self.defaults, overrides);
        let keys = self.keys.apply(&mut policy.tables, &mut self.warnings);
        let low_entropy = low_entropy_warnings(&policy);
        Compiled {
            policy,
            columns,
            keys,
            findings: self.findings,
            control_records: self.control_records,
            skipped: self.skipped,
            errors: self.errors,
            warnings: self.warnings,
            low_entropy,
        }
    }
}

/// The Macie managed identifier closest to a guard detector, so that a
/// suggested column gets that type's default action (`partial` for cards,
/// `token` for e-mail, `redact` otherwise).
fn macie_type(detector: Detector) -> &'static str {
    match detector {
        Detector::CreditCard => "CREDIT_CARD_NUMBER",
        Detector::Email => "EMAIL_ADDRESS",
        Detector::Phone => "PHONE_NUMBER",
        Detector::UsSsn => "USA_SOCIAL_SECURITY_NUMBER",
        Detector::Iban => "BANK_ACCOUNT_NUMBER",
        Detector::AbaRouting => "USA_ABA_ROUTING_NUMBER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Action;

    fn event(id: &str, key: &str, detections: &str, custom: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e-{id}","detail-type":"Macie Finding","source":"aws.macie","account":"111122223333","time":"2026-11-28T10:00:00Z","region":"us-east-1","resources":[],"detail":{{"schemaVersion":"1.0","id":"{id}","type":"SensitiveData:S3Object/Multiple","resourcesAffected":{{"s3Bucket":{{"name":"raw"}},"s3Object":{{"key":"{key}"}}}},"classificationDetails":{{"result":{{"sensitiveData":[{{"category":"PERSONAL_INFORMATION","detections":[{detections}]}}],"customDataIdentifiers":{{"totalCount":1,"detections":[{custom}]}}}}}}}}}}"#
        )
    }

    fn record(data_type: &str, path: &str) -> String {
        format!(
            r#"{{"type":"{data_type}","count":1,"occurrences":{{"records":[{{"jsonPath":"{path}","recordIndex":0}}]}}}}"#
        )
    }

    #[test]
    fn compiles_events_into_a_policy() {
        let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
        let custom = r#"{"arn":"arn:x","name":"email","count":1,"occurrences":{"cells":[{"column":2,"columnName":"mail","row":1}]}}"#;
        let one = event(
            "f1",
            "dataset/customer/LOAD00000001.parquet",
            &record("NAME", "$.name"),
            custom,
        );
        let two = event(
            "f2",
            "dataset/card/2026/11/28/x.parquet",
            &record("CREDIT_CARD_NUMBER", "$.data.card_number"),
            "",
        );
        let bad_key = event("f3", "nofolder.parquet", &record("NAME", "$.x"), "");
        let unplaced = event("f4", "dataset/customer/y.csv", r#"{"type":"NAME"}"#, "");
        compiler.add_source(
            "a.jsonl",
            format!("{one}\n{two}{bad_key}\n{unplaced}").as_bytes(),
        );
        compiler.add_source("b.json", br#"{"schemaVersion":"1.0","id":"p","type":"Policy:IAMUser/S3BlockPublicAccessDisabled"}"#);
        let compiled = compiler.finish(None);
        assert_eq!((compiled.findings, compiled.skipped), (4, 1));
        assert_eq!(compiled.errors.len(), 1);
        let error = compiled.errors[0].to_string();
        assert!(error.starts_with("a.jsonl:2:"), "{error}");
        assert!(
            error.contains("(finding f3): object s3://raw/nofolder.parquet"),
            "{error}"
        );
        assert_eq!(compiled.warnings.len(), 1);
        assert!(compiled.warnings[0].to_string().contains(
            "NAME in s3://raw/dataset/customer/y.csv (dataset.customer): no occurrences"
        ));
        let policy = &compiled.policy;
        let tables: Vec<String> = policy
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.schema, t.table))
            .collect();
        assert_eq!(tables, ["dataset.card", "dataset.customer"]);
        assert_eq!(
            policy.tables[0].columns["card_number"].masked,
            Action::Partial { keep_last: 4 }
        );
        let customer = &policy.tables[1].columns;
        assert_eq!(customer["mail"].masked, Action::Token);
        assert_eq!(customer["mail"].types, ["custom:email"]);
        assert_eq!(customer["name"].findings, ["f1"]);
        assert_eq!(compiled.columns.len(), 3);
    }

    #[test]
    fn fixed_and_pattern_layouts() {
        let finding = event("f", "exports/hr.pay.csv", &record("NAME", "$.n"), "");
        let mut fixed = Compiler::new(Layout::Fixed("s.t".parse().unwrap()), Defaults::RedactAll);
        fixed.add_source("x", finding.as_bytes());
        assert_eq!(fixed.finish(None).policy.tables[0].table, "t");
        let pattern = Layout::Pattern("exports/{schema}.{table}.csv".parse().unwrap());
        let mut compiler = Compiler::new(pattern, Defaults::RedactAll);
        compiler.add_source("x", finding.as_bytes());
        let compiled = compiler.finish(None);
        assert_eq!(compiled.policy.tables[0].schema, "hr");
        assert_eq!(compiled.policy.tables[0].table, "pay");
    }

    #[test]
    fn table_definitions_give_keys_and_low_entropy_columns_are_named() {
        let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
        let finding = event(
            "f1",
            "dataset/customer/LOAD00000001.parquet",
            &record("NAME", "$.name"),
            "",
        );
        compiler.add_source("findings.jsonl", finding.as_bytes());
        // The router's control log: `control` and `metadata` of each record.
        let control = |table: &str, key: &str| {
            format!(
                r#"{{"control":{{"table-def":{{"columns":{{"id":{{"type":"INT32","nullable":false}}}},"primary-key":{key}}}}},"metadata":{{"timestamp":"2026-11-28T09:15:03.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"{table}"}}}}"#
            )
        };
        let log = format!(
            "{}\n{}\n{}\n",
            control("customer", r#"["id"]"#),
            control("bank", r#"["id"]"#),
            control("card", "7"),
        );
        compiler.add_source("lake/control/x.jsonl", log.as_bytes());
        let overrides = Overrides::from_slice(
            br#"{"version":1,"tables":[{"schema":"dataset","table":"customer","columns":{
                "gender":{"masked":"token"},"birthdate":{"encrypted":"encrypt-deterministic"}}}]}"#,
        )
        .unwrap();
        let compiled = compiler.finish(Some(&overrides));
        assert_eq!((compiled.findings, compiled.control_records), (1, 2));
        assert_eq!(compiled.errors.len(), 1, "the malformed primary key");
        assert!(compiled.errors[0]
            .to_string()
            .starts_with("lake/control/x.jsonl:3: DMS control record"));
        let customer = &compiled.policy.tables[0];
        assert_eq!(customer.key, ["id"]);
        assert_eq!(
            compiled.policy.tables.len(),
            1,
            "a definition adds no table"
        );
        assert_eq!(compiled.keys.len(), 1);
        assert_eq!(compiled.keys[0].origin, KeyOrigin::TableDef);
        // The same lines as policy load logs, one per column.
        assert_eq!(compiled.low_entropy.len(), 2);
        assert!(compiled.low_entropy[0].starts_with("dataset.customer.birthdate: low-entropy"));
        assert!(compiled.low_entropy[1].starts_with("dataset.customer.gender: low-entropy"));
        assert_eq!(
            compiled.low_entropy,
            crate::policy::Policy::compile(&compiled.policy)
                .unwrap()
                .warnings()
        );
    }
}
