//! What the guard found in a batch: a count per `(schema, table, column,
//! detector)`, never a value. It leaves the process as metrics, as the
//! suggested-findings JSON lines of `schemas/suggested-findings.md`, and as
//! input to `findings compile`.

use serde::{Deserialize, Serialize};

use super::Detector;

/// One suggested-findings line: a detector fired `count` times on values of
/// one column. Names and a count only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedFinding {
    /// Schema (database) name as DMS reported it.
    pub schema: String,
    /// Table name as DMS reported it.
    pub table: String,
    /// Column name as DMS reported it.
    pub column: String,
    /// The detector's name ([`Detector::as_str`]).
    pub detector: String,
    /// How many values it fired on.
    pub count: u64,
}

/// Counts per `(schema, table, column, detector)`.
///
/// Adding is a linear search over the distinct keys seen, which are few per
/// batch (a detector fires on few columns), and allocates only for a new
/// key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    counts: Vec<(Key, u64)>,
    unlisted_column_added: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    schema: String,
    table: String,
    column: String,
    detector: Detector,
}

impl Key {
    fn is(&self, schema: &str, table: &str, column: &str, detector: Detector) -> bool {
        self.detector == detector
            && self.column == column
            && self.table == table
            && self.schema == schema
    }
}

impl Tally {
    /// Counts `n` more values of `column` on which `detector` fired.
    pub fn add(&mut self, schema: &str, table: &str, column: &str, detector: Detector, n: u64) {
        match self
            .counts
            .iter_mut()
            .find(|(key, _)| key.is(schema, table, column, detector))
        {
            Some((_, count)) => *count += n,
            None => self.counts.push((
                Key {
                    schema: schema.to_owned(),
                    table: table.to_owned(),
                    column: column.to_owned(),
                    detector,
                },
                n,
            )),
        }
    }

    /// Counts `n` columns that a DDL control record announced and the policy
    /// does not list.
    pub fn add_unlisted_columns(&mut self, n: u64) {
        self.unlisted_column_added += n;
    }

    /// Columns announced by DDL records that the policy does not list
    /// (`unlisted_column_added`).
    pub fn unlisted_column_added(&self) -> u64 {
        self.unlisted_column_added
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Tally) {
        self.unlisted_column_added += other.unlisted_column_added;
        for (key, n) in &other.counts {
            self.add(&key.schema, &key.table, &key.column, key.detector, *n);
        }
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.unlisted_column_added == 0
    }

    /// Values counted, all keys.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// The counts as suggested findings, sorted by schema, table, column and
    /// detector.
    pub fn findings(&self) -> Vec<SuggestedFinding> {
        let mut sorted: Vec<&(Key, u64)> = self.counts.iter().collect();
        sorted.sort();
        sorted
            .into_iter()
            .map(|(key, count)| SuggestedFinding {
                schema: key.schema.clone(),
                table: key.table.clone(),
                column: key.column.clone(),
                detector: key.detector.as_str().to_owned(),
                count: *count,
            })
            .collect()
    }

    /// The counts as suggested-findings JSON lines (each ending in `\n`),
    /// appended to `out`.
    pub fn write_json_lines(&self, out: &mut Vec<u8>) {
        for finding in self.findings() {
            // A struct of strings and a number always serialises.
            serde_json::to_writer(&mut *out, &finding).expect("a finding serialises");
            out.push(b'\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_writes_sorted_lines() {
        let mut tally = Tally::default();
        tally.add("hr", "employee", "ssn", Detector::UsSsn, 1);
        tally.add("dataset", "customer", "notes", Detector::Email, 2);
        tally.add("hr", "employee", "ssn", Detector::UsSsn, 1);
        let mut other = Tally::default();
        other.add("hr", "employee", "ssn", Detector::UsSsn, 3);
        tally.merge(&other);
        assert_eq!(tally.total(), 7);
        let mut out = Vec::new();
        tally.write_json_lines(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"schema\":\"dataset\",\"table\":\"customer\",\"column\":\"notes\",\"detector\":\"email\",\"count\":2}\n\
             {\"schema\":\"hr\",\"table\":\"employee\",\"column\":\"ssn\",\"detector\":\"us_ssn\",\"count\":5}\n"
        );
        assert!(Tally::default().is_empty());
        let mut ddl = Tally::default();
        ddl.add_unlisted_columns(2);
        assert!(!ddl.is_empty());
        tally.merge(&ddl);
        assert_eq!(tally.unlisted_column_added(), 2);
    }
}
