//! Findings → policy: the union per column, the default action per type,
//! the overrides, and a deterministic [`PolicyFile`].

use std::collections::{BTreeMap, BTreeSet};

use super::layout::TableName;
use super::macie::DataType;
use super::overrides::{apply, Overrides};
use super::parse::Problem;
use super::table_def::KeyReport;
use crate::policy::{
    lowercase, Action, ColumnPolicy, GuardMode, GuardSection, PolicyFile, TablePolicy,
};

/// At most this many finding ids are kept per column; more are summed up as
/// a last entry `+N more`.
pub const MAX_PROVENANCE_IDS: usize = 20;

/// `keep_last` of the `partial` action given to card numbers.
const CARD_KEEP_LAST: usize = 4;

/// The description of a compiled policy when the overrides give none.
const DESCRIPTION: &str = "Compiled from Amazon Macie findings by `cdc-mask findings compile`.";

/// Which masked action a type gets when no override says otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Defaults {
    /// The per-type table: card numbers `partial` (last 4), e-mail `token`,
    /// everything else `redact`.
    #[default]
    ByType,
    /// `redact` for every type, exactly what the AWS sample's Glue job does.
    RedactAll,
}

impl Defaults {
    /// The masked action for one type.
    pub fn action(self, data_type: &DataType) -> Action {
        if self == Defaults::RedactAll {
            return redact();
        }
        match data_type {
            DataType::Managed(name) if name.starts_with("CREDIT_CARD_NUMBER") => Action::Partial {
                keep_last: CARD_KEEP_LAST,
            },
            DataType::Managed(name) if name == "EMAIL_ADDRESS" => Action::Token,
            DataType::Custom(name) if lowercase(name).contains("mail") => Action::Token,
            _ => redact(),
        }
    }

    /// The masked action for a column holding all of `types`: the most
    /// protective of their actions (`redact` over `token` over `partial`).
    fn combined<'t>(self, types: impl IntoIterator<Item = &'t DataType>) -> Action {
        types
            .into_iter()
            .map(|t| self.action(t))
            .max_by_key(protection)
            .unwrap_or_else(redact)
    }
}

pub(super) fn redact() -> Action {
    Action::Redact { with: None }
}

/// How much of a value an action hides, for combining types.
fn protection(action: &Action) -> u8 {
    match action {
        Action::Partial { .. } => 0,
        Action::Token => 1,
        _ => 2,
    }
}

/// Where a compiled column's protection comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Findings only: the default actions of its types.
    Findings,
    /// Overrides only: a column Macie did not report.
    Overrides,
    /// Found, and overridden.
    Both,
}

/// One protected column of a compiled policy, for a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnReport {
    /// The table.
    pub table: TableName,
    /// The column name as written in the policy.
    pub column: String,
    /// The types (managed identifiers, `custom:<name>`), sorted.
    pub types: Vec<String>,
    /// Action in the masked view.
    pub masked: Action,
    /// Action in the encrypted view.
    pub encrypted: Action,
    /// Found, overridden, or both.
    pub origin: Origin,
}

/// The result of a compilation.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The policy, deterministic for the same findings and overrides.
    pub policy: PolicyFile,
    /// The protected columns, sorted by table and column (case-insensitively).
    pub columns: Vec<ColumnReport>,
    /// The tables with a key, and where each key comes from.
    pub keys: Vec<KeyReport>,
    /// Sensitive-data findings read.
    pub findings: usize,
    /// DMS control records read (table definitions).
    pub control_records: usize,
    /// Other findings (policy findings) read and skipped.
    pub skipped: usize,
    /// Malformed documents and findings that could not be placed on a table;
    /// the policy holds everything else. Use the policy only when this is
    /// empty, or when told to keep going.
    pub errors: Vec<Problem>,
    /// Detections that name no column (add those columns with overrides),
    /// and primary keys of table definitions the policy cannot take.
    pub warnings: Vec<Problem>,
    /// One line per low-entropy column that a view tokenises or encrypts
    /// deterministically, as policy load logs them
    /// ([`low_entropy_warnings`](crate::policy::low_entropy_warnings)).
    pub low_entropy: Vec<String>,
}

/// The union of all detections so far: table → column → types and findings.
/// Names compare case-insensitively, as in the policy; the spelling kept is
/// the smallest one seen (so the order of the sources does not matter).
#[derive(Debug, Default)]
pub(crate) struct Accumulator {
    tables: BTreeMap<(String, String), TableAcc>,
}

#[derive(Debug)]
struct TableAcc {
    name: TableName,
    columns: BTreeMap<String, ColumnAcc>,
}

#[derive(Debug)]
struct ColumnAcc {
    name: String,
    types: BTreeSet<DataType>,
    findings: BTreeSet<String>,
}

fn keep_smallest(kept: &mut String, seen: &str) {
    if seen < kept.as_str() {
        seen.clone_into(kept);
    }
}

impl Accumulator {
    /// Records that finding `finding` saw `data_type` in `table.column`.
    pub(crate) fn add(
        &mut self,
        table: &TableName,
        column: &str,
        data_type: &DataType,
        finding: &str,
    ) {
        let key = (lowercase(&table.schema), lowercase(&table.table));
        let entry = self.tables.entry(key).or_insert_with(|| TableAcc {
            name: table.clone(),
            columns: BTreeMap::new(),
        });
        keep_smallest(&mut entry.name.schema, &table.schema);
        keep_smallest(&mut entry.name.table, &table.table);
        let acc = entry
            .columns
            .entry(lowercase(column))
            .or_insert_with(|| ColumnAcc {
                name: column.to_owned(),
                types: BTreeSet::new(),
                findings: BTreeSet::new(),
            });
        keep_smallest(&mut acc.name, column);
        if !acc.types.contains(data_type) {
            acc.types.insert(data_type.clone());
        }
        if !acc.findings.contains(finding) {
            acc.findings.insert(finding.to_owned());
        }
    }

    /// The policy: found columns with their default actions, then the
    /// overrides applied; tables sorted by schema and table, columns by name.
    pub(crate) fn finish(
        self,
        defaults: Defaults,
        overrides: Option<&Overrides>,
    ) -> (PolicyFile, Vec<ColumnReport>) {
        let mut tables: BTreeMap<(String, String), OutTable> = BTreeMap::new();
        for (key, table) in self.tables {
            let columns = table
                .columns
                .into_iter()
                .map(|(lower, acc)| {
                    let column = ColumnPolicy {
                        types: sorted_strings(acc.types.iter()),
                        masked: defaults.combined(&acc.types),
                        encrypted: Action::Encrypt,
                        rename: true,
                        domain: None,
                        findings: provenance(acc.findings),
                    };
                    (lower, (acc.name, column, Origin::Findings))
                })
                .collect();
            tables.insert(
                key,
                OutTable {
                    name: table.name,
                    key: Vec::new(),
                    columns,
                },
            );
        }
        if let Some(overrides) = overrides {
            apply(&mut tables, overrides);
        }
        let mut reports = Vec::new();
        let tables = tables
            .into_values()
            .map(|table| {
                let columns = table
                    .columns
                    .into_values()
                    .map(|(name, column, origin)| {
                        reports.push(ColumnReport {
                            table: table.name.clone(),
                            column: name.clone(),
                            types: column.types.clone(),
                            masked: column.masked.clone(),
                            encrypted: column.encrypted.clone(),
                            origin,
                        });
                        (name, column)
                    })
                    .collect();
                TablePolicy {
                    schema: table.name.schema,
                    table: table.name.table,
                    key: table.key,
                    columns,
                }
            })
            .collect();
        let (description, redact_with, guard) = overrides.map_or((None, None, None), |o| {
            (
                o.file.description.clone(),
                o.file.redact_with.clone(),
                o.file.guard.clone(),
            )
        });
        let policy = PolicyFile {
            version: 1,
            description: Some(description.unwrap_or_else(|| DESCRIPTION.to_owned())),
            redact_with,
            tables,
            // Written out, so that whoever reads the policy sees the guard
            // (absent means the same: protect).
            guard: Some(guard.unwrap_or(GuardSection {
                mode: GuardMode::Protect,
                detectors: None,
            })),
        };
        (policy, reports)
    }
}

/// A table being written: its key, and lower-cased column name → (name,
/// column, origin).
pub(super) struct OutTable {
    pub(super) name: TableName,
    pub(super) key: Vec<String>,
    pub(super) columns: BTreeMap<String, (String, ColumnPolicy, Origin)>,
}

pub(super) fn sorted_strings<T: ToString>(items: impl Iterator<Item = T>) -> Vec<String> {
    let set: BTreeSet<String> = items.map(|t| t.to_string()).collect();
    set.into_iter().collect()
}

/// Sorted finding ids, at most [`MAX_PROVENANCE_IDS`], then `+N more`.
fn provenance(ids: BTreeSet<String>) -> Vec<String> {
    let total = ids.len();
    let mut kept: Vec<String> = ids.into_iter().take(MAX_PROVENANCE_IDS).collect();
    if total > MAX_PROVENANCE_IDS {
        kept.push(format!("+{} more", total - MAX_PROVENANCE_IDS));
    }
    kept
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::findings) fn t(s: &str) -> TableName {
        s.parse().unwrap()
    }

    pub(in crate::findings) fn managed(name: &str) -> DataType {
        DataType::Managed(name.into())
    }

    #[test]
    fn default_actions_per_type() {
        let d = Defaults::ByType;
        assert_eq!(
            d.action(&managed("CREDIT_CARD_NUMBER")),
            Action::Partial { keep_last: 4 }
        );
        assert_eq!(
            d.action(&managed("CREDIT_CARD_NUMBER_(NO_KEYWORD)")),
            Action::Partial { keep_last: 4 }
        );
        assert_eq!(d.action(&managed("CREDIT_CARD_EXPIRATION")), redact());
        assert_eq!(d.action(&managed("EMAIL_ADDRESS")), Action::Token);
        assert_eq!(d.action(&DataType::Custom("E-Mail".into())), Action::Token);
        assert_eq!(d.action(&DataType::Custom("username".into())), redact());
        assert_eq!(d.action(&managed("NAME")), redact());
        assert_eq!(
            Defaults::RedactAll.action(&managed("CREDIT_CARD_NUMBER")),
            redact()
        );
        assert_eq!(
            Defaults::RedactAll.action(&managed("EMAIL_ADDRESS")),
            redact()
        );
        // The most protective type wins.
        let mixed = [managed("CREDIT_CARD_NUMBER"), managed("EMAIL_ADDRESS")];
        assert_eq!(d.combined(&mixed), Action::Token);
        let mixed = [managed("EMAIL_ADDRESS"), managed("NAME")];
        assert_eq!(d.combined(&mixed), redact());
    }

    #[test]
    fn union_is_case_insensitive_and_order_free() {
        let adds = [
            (
                "Dataset.Customer",
                "Mail",
                DataType::Custom("email".into()),
                "f2",
            ),
            ("dataset.customer", "mail", managed("EMAIL_ADDRESS"), "f1"),
            ("dataset.customer", "name", managed("NAME"), "f1"),
            ("dataset.customer", "mail", managed("EMAIL_ADDRESS"), "f1"),
        ];
        let run = |order: &[usize]| {
            let mut acc = Accumulator::default();
            for &i in order {
                let (table, column, data_type, id) = &adds[i];
                acc.add(&t(table), column, data_type, id);
            }
            acc.finish(Defaults::ByType, None)
        };
        let (policy, reports) = run(&[0, 1, 2, 3]);
        assert_eq!(run(&[3, 2, 1, 0]).0, policy);
        assert_eq!(policy.tables.len(), 1);
        let table = &policy.tables[0];
        assert_eq!(
            (table.schema.as_str(), table.table.as_str()),
            ("Dataset", "Customer")
        );
        let mail = &table.columns["Mail"];
        assert_eq!(mail.types, ["EMAIL_ADDRESS", "custom:email"]);
        assert_eq!(mail.findings, ["f1", "f2"]);
        assert_eq!(mail.masked, Action::Token);
        assert_eq!(mail.encrypted, Action::Encrypt);
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].origin, Origin::Findings);
        assert_eq!(policy.description.as_deref(), Some(DESCRIPTION));
    }

    #[test]
    fn provenance_is_capped() {
        let ids: BTreeSet<String> = (0..25).map(|i| format!("id{i:02}")).collect();
        let kept = provenance(ids);
        assert_eq!(kept.len(), MAX_PROVENANCE_IDS + 1);
        assert_eq!(kept[0], "id00");
        assert_eq!(kept[MAX_PROVENANCE_IDS], "+5 more");
    }
}
