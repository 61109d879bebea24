//! Records in, both views out: the router's loop body. Every record ends in
//! exactly one place: a row in both views, the control log, or the
//! quarantine (sealed, with its reason in clear). Nothing outside a record
//! stops the pipeline: without a usable policy its records are sealed
//! (reason `policy_unavailable`) and `cdc-mask quarantine reprocess` brings
//! them back later.

use std::collections::BTreeMap;
use std::sync::Arc;

use cdc_mask_core::cipher::{self, Sealing};
use cdc_mask_core::envelope;
use cdc_mask_core::guard::Tally;
use cdc_mask_core::keys::{DataKeyCache, WrapError};
use cdc_mask_core::partition::{self, UNKNOWN};
use cdc_mask_core::{Outcome, Reason, Scratch};
use cdc_mask_transformer::policy_cache::PolicyCache;
use cdc_mask_transformer::settings::Components;

use crate::sink::{OutputView, Partition, Sink};

/// One input record and where it came from.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// Its position in the source (`file:line`, `shard/sequence`, …).
    pub id: String,
    /// The DMS record bytes.
    pub bytes: Vec<u8>,
}

/// Counts of what the pipeline did.
#[derive(Debug, Default, Clone)]
pub struct PipelineStats {
    /// Input records.
    pub records: u64,
    /// Input bytes.
    pub bytes: u64,
    /// Rows written per (schema, table); each went to both views.
    pub rows: BTreeMap<(String, String), u64>,
    /// Control records written to the control log.
    pub control: u64,
    /// Records sealed into the quarantine, by reason.
    pub quarantined: BTreeMap<Reason, u64>,
    /// What the guard found in unlisted columns (counted once per row, in
    /// the masked view's pass).
    pub guard: Tally,
}

impl PipelineStats {
    /// Adds another pipeline's counts to these.
    pub fn merge(&mut self, other: &PipelineStats) {
        self.records += other.records;
        self.bytes += other.bytes;
        for (table, n) in &other.rows {
            *self.rows.entry(table.clone()).or_default() += n;
        }
        self.control += other.control;
        for (reason, n) in &other.quarantined {
            *self.quarantined.entry(*reason).or_default() += n;
        }
        self.guard.merge(&other.guard);
    }

    /// Rows written, all tables.
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// Records quarantined, all reasons.
    pub fn total_quarantined(&self) -> u64 {
        self.quarantined.values().sum()
    }

    /// Records that ended somewhere: a row, the control log or the
    /// quarantine (equal to `records` when nothing is unaccounted for).
    pub fn accounted(&self) -> u64 {
        self.total_rows() + self.control + self.total_quarantined()
    }

    /// `schema.table n, …`: rows per table, for summaries.
    pub fn rows_by_table(&self) -> String {
        let tables: Vec<String> = self
            .rows
            .iter()
            .map(|((schema, table), n)| format!("{schema}.{table} {n}"))
            .collect();
        tables.join(", ")
    }

    /// `reason n, …`: quarantined records per reason, for summaries.
    pub fn quarantined_by_reason(&self) -> String {
        let reasons: Vec<String> = self
            .quarantined
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        reasons.join(", ")
    }
}

/// A failure that stops the pipeline (a record's own problems, and a
/// missing policy, never do).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// No key could be made (the system random generator failed): nothing
    /// of the batch was written in clear.
    #[error("cannot make a data key: {0}")]
    Key(#[from] WrapError),
    /// The sink failed.
    #[error("writing output: {0}")]
    Sink(#[from] std::io::Error),
}

/// Runs records through both views into a sink.
pub struct Pipeline {
    policies: Arc<PolicyCache>,
    data_keys: Arc<DataKeyCache>,
    quarantine_keys: Arc<DataKeyCache>,
    masked_line: Vec<u8>,
    encrypted_line: Vec<u8>,
    scratch: Scratch,
    stats: PipelineStats,
}

impl Pipeline {
    /// Another pipeline sharing these components (policy, key caches), for
    /// a concurrent reader; its counts start at zero.
    pub fn sibling(&self) -> Self {
        Pipeline::new(Components {
            policies: Arc::clone(&self.policies),
            data_keys: Arc::clone(&self.data_keys),
            quarantine_keys: Arc::clone(&self.quarantine_keys),
        })
    }

    /// A pipeline over built components.
    pub fn new(parts: Components) -> Self {
        Pipeline {
            policies: parts.policies,
            data_keys: parts.data_keys,
            quarantine_keys: parts.quarantine_keys,
            masked_line: Vec::new(),
            encrypted_line: Vec::new(),
            scratch: Scratch::default(),
            stats: PipelineStats::default(),
        }
    }

    /// What has been done so far.
    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    /// Processes one batch: one data key for all of it, the quarantine key
    /// only if a record is rejected.
    ///
    /// # Errors
    /// [`PipelineError`] if a key cannot be had or the sink fails; records of
    /// the batch may then be partly written, never in clear.
    pub async fn process(
        &mut self,
        batch: &[SourceRecord],
        sink: &mut (dyn Sink + Send),
    ) -> Result<(), PipelineError> {
        let mut rejected = Vec::new();
        let views = match self.policies.current().await {
            Ok(views) => views,
            Err(e) => {
                tracing::error!(error = %e, records = batch.len(), "no usable policy: records sealed");
                for record in batch {
                    self.stats.records += 1;
                    self.stats.bytes += u64::try_from(record.bytes.len()).unwrap_or(u64::MAX);
                    rejected.push((record, Reason::PolicyUnavailable));
                }
                return self.seal(rejected, sink);
            }
        };
        let count = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        let key = self.data_keys.key_for(count)?;
        let mut found = Tally::default();
        for record in batch {
            self.stats.records += 1;
            self.stats.bytes += u64::try_from(record.bytes.len()).unwrap_or(u64::MAX);
            self.masked_line.clear();
            let outcome = views.masked.transform(
                &record.bytes,
                None,
                &mut self.masked_line,
                &mut self.scratch,
            );
            // Each row is scanned by both views: count the masked pass only.
            found.merge(&self.scratch.take_guard_tally());
            match outcome {
                Outcome::Row(route) => {
                    self.encrypted_line.clear();
                    let encrypted = views.encrypted.transform(
                        &record.bytes,
                        Some(&key),
                        &mut self.encrypted_line,
                        &mut self.scratch,
                    );
                    self.scratch.take_guard_tally();
                    if let Outcome::Rejected(reason) = encrypted {
                        rejected.push((record, reason));
                        continue;
                    }
                    let schema = partition::segment(&route.schema);
                    let table = partition::segment(&route.table);
                    let date = route.date.unwrap_or(UNKNOWN);
                    for (view, line) in [
                        (OutputView::Masked, &self.masked_line),
                        (OutputView::Encrypted, &self.encrypted_line),
                    ] {
                        sink.write(
                            Partition {
                                view,
                                schema: &schema,
                                table: &table,
                                date,
                            },
                            line,
                        )?;
                    }
                    *self
                        .stats
                        .rows
                        .entry((route.schema.into_owned(), route.table.into_owned()))
                        .or_default() += 1;
                }
                Outcome::Control(route) => {
                    self.masked_line.clear();
                    envelope::write_control_line(&record.bytes, &mut self.masked_line);
                    self.masked_line.push(b'\n');
                    let partition = Partition {
                        view: OutputView::Control,
                        schema: &partition::segment(&route.schema),
                        table: &partition::segment(&route.table),
                        date: route.date.unwrap_or(UNKNOWN),
                    };
                    sink.write(partition, &self.masked_line)?;
                    self.stats.control += 1;
                }
                Outcome::Rejected(reason) => rejected.push((record, reason)),
            }
        }
        if !found.is_empty() {
            let mut lines = Vec::new();
            found.write_json_lines(&mut lines);
            sink.suggested(&lines)?;
            self.stats.guard.merge(&found);
        }
        self.seal(rejected, sink)
    }

    /// Seals records into the quarantine, each with its reason.
    fn seal(
        &mut self,
        rejected: Vec<(&SourceRecord, Reason)>,
        sink: &mut (dyn Sink + Send),
    ) -> Result<(), PipelineError> {
        if !rejected.is_empty() {
            let count = u64::try_from(rejected.len()).unwrap_or(u64::MAX);
            let key = self.quarantine_keys.key_for(count)?;
            let mut sealed = Vec::new();
            for (input, reason) in rejected {
                tracing::warn!(position = %input.id, reason = %reason, "quarantined");
                self.masked_line.clear();
                cipher::write_quarantine(
                    &key,
                    reason.as_str(),
                    &input.id,
                    Sealing::Record(&input.bytes),
                    &mut sealed,
                    &mut self.masked_line,
                );
                let partition = Partition {
                    view: OutputView::Quarantine,
                    schema: UNKNOWN,
                    table: UNKNOWN,
                    date: UNKNOWN,
                };
                sink.write(partition, &self.masked_line)?;
                sink.quarantined(&input.id, reason.as_str())?;
                *self.stats.quarantined.entry(reason).or_default() += 1;
            }
        }
        Ok(())
    }
}
