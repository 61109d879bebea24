//! The quarantine, read back: `cdc-mask quarantine list` counts what was
//! sealed, by reason and by object; `cdc-mask quarantine reprocess` unseals
//! the records sealed for a cause outside themselves (no policy, no key, no
//! view, no room in a response) and runs them through both views into the
//! normal prefixes. Records sealed for their own bytes stay sealed; they
//! are exported in clear only to a local file, only when asked.
//!
//! Reprocessed objects are named after the quarantine object they came
//! from (`requeue-<hash of its name>-<first>-<last>`), so a second pass
//! overwrites what the first wrote instead of duplicating it. The sealed
//! objects stay where they are.
//!
//! - `store`: the sealed objects of a directory or S3 lake.

mod store;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cdc_mask_core::decrypt::QuarantineRecord;
use cdc_mask_core::Reason;
use cdc_mask_transformer::keys::UnwrapCache;
use sha2::{Digest as _, Sha256};

pub use store::Store;

use crate::batcher::{Batcher, Flush};
use crate::pipeline::{Pipeline, PipelineStats, SourceRecord};
use crate::progress::Progress;
use crate::sink::Output;

/// What one reason accounts for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Sealed lines.
    pub lines: u64,
    /// Records in them (an overflow bundle seals several).
    pub records: u64,
}

/// One quarantine object, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectListing {
    /// Its name under the lake root.
    pub name: String,
    /// Counts by reason code.
    pub reasons: BTreeMap<String, Count>,
    /// Record ids (source positions) of the first and last sealed line.
    pub first_id: String,
    /// See `first_id`.
    pub last_id: String,
    /// Line numbers that are not quarantine records.
    pub unreadable: Vec<u64>,
}

/// The quarantine of a lake, counted (from the fields in clear; nothing is
/// unsealed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Every object, in name order.
    pub objects: Vec<ObjectListing>,
}

impl Listing {
    /// Counts by reason over all objects.
    pub fn by_reason(&self) -> BTreeMap<String, Count> {
        let mut total: BTreeMap<String, Count> = BTreeMap::new();
        for object in &self.objects {
            for (reason, count) in &object.reasons {
                let entry = total.entry(reason.clone()).or_default();
                entry.lines += count.lines;
                entry.records += count.records;
            }
        }
        total
    }

    /// Lines that are not quarantine records, all objects.
    pub fn unreadable(&self) -> usize {
        self.objects.iter().map(|o| o.unreadable.len()).sum()
    }
}

/// Whether records sealed for `code` can go through again once its cause is
/// gone (an unknown code is taken as the record's own).
pub fn is_transient(code: &str) -> bool {
    Reason::parse(code).is_some_and(Reason::is_transient)
}

/// Counts the quarantine of `store`.
///
/// # Errors
/// An object that cannot be listed or read.
pub async fn list(store: &Store) -> anyhow::Result<Listing> {
    let mut listing = Listing::default();
    for name in store.list().await? {
        let object = store.read(&name).await?;
        let mut entry = ObjectListing {
            name,
            ..ObjectListing::default()
        };
        for (number, line) in lines(&object.bytes) {
            match QuarantineRecord::parse(line) {
                Ok(record) => {
                    let count = entry.reasons.entry(record.reason().to_owned()).or_default();
                    count.lines += 1;
                    count.records += record.records();
                    if entry.first_id.is_empty() {
                        record.record_id().clone_into(&mut entry.first_id);
                    }
                    record.record_id().clone_into(&mut entry.last_id);
                }
                Err(_) => entry.unreadable.push(number),
            }
        }
        listing.objects.push(entry);
    }
    Ok(listing)
}

/// Where every record of a reprocessing pass ended.
#[derive(Debug, Default)]
pub struct Reprocessed {
    /// Quarantine objects read.
    pub objects_read: u64,
    /// Sealed lines read.
    pub lines: u64,
    /// Records taken back (sealed for a transient cause); the pipeline's
    /// counts say where each went: both views, the control log, or the
    /// quarantine again (for its own bytes, under a `requeue-` name).
    pub stats: PipelineStats,
    /// Records sealed for their own bytes, left sealed, by reason.
    pub left: BTreeMap<String, u64>,
    /// Of those, exported in clear to the local file.
    pub exported: u64,
    /// Objects written.
    pub objects_written: u64,
    /// Line numbers (`object:line`) that are not quarantine records.
    pub unreadable: Vec<String>,
}

impl Reprocessed {
    /// Records the sealed lines held.
    pub fn records(&self) -> u64 {
        self.stats.records + self.left.values().sum::<u64>()
    }
}

/// A reprocessing pass.
pub struct Reprocess {
    /// Unseals quarantine lines (the admin keys).
    pub keys: UnwrapCache,
    /// Runs records through both views (the current policy and write keys).
    pub pipeline: Pipeline,
    /// Where the views go.
    pub output: Arc<Output>,
    /// Records sealed for their own bytes go here in clear when given.
    pub export: Option<Box<dyn std::io::Write + Send>>,
    /// Counts records for the progress line.
    pub progress: Arc<Progress>,
}

impl Reprocess {
    /// Reads every quarantine object of `store`, unseals what a transient
    /// cause sealed and delivers it through both views, one batch per
    /// quarantine object.
    ///
    /// # Errors
    /// A read, unseal, pipeline or delivery failure: what was delivered
    /// before it stays (a second pass overwrites it).
    pub async fn run(mut self, store: &Store) -> anyhow::Result<Reprocessed> {
        let mut done = Reprocessed::default();
        for name in store.list().await? {
            let object = store.read(&name).await?;
            done.objects_read += 1;
            let mut records = Vec::new();
            for (number, line) in lines(&object.bytes) {
                done.lines += 1;
                let Ok(sealed) = QuarantineRecord::parse(line) else {
                    done.unreadable.push(format!("{name}:{number}"));
                    continue;
                };
                let reason = sealed.reason().to_owned();
                let transient = is_transient(&reason);
                if !transient && self.export.is_none() {
                    *done.left.entry(reason).or_default() += sealed.records();
                    continue;
                }
                let unsealed = self
                    .keys
                    .unseal(line)
                    .await
                    .with_context(|| format!("{name}: line {number}"))?;
                for record in unsealed {
                    if transient {
                        records.push(SourceRecord {
                            id: record.record_id,
                            bytes: record.original.to_vec(),
                        });
                    } else if let Some(export) = self.export.as_mut() {
                        export
                            .write_all(&record.original)
                            .and_then(|()| export.write_all(b"\n"))
                            .context("writing the export file")?;
                        done.exported += 1;
                        *done.left.entry(reason.clone()).or_default() += 1;
                    }
                }
            }
            if !records.is_empty() {
                self.deliver(&name, records, &mut done).await?;
            }
        }
        if let Some(export) = self.export.as_mut() {
            export.flush().context("writing the export file")?;
        }
        Ok(done)
    }

    /// Runs the records of one quarantine object through both views as one
    /// batch named after the object.
    async fn deliver(
        &mut self,
        name: &str,
        records: Vec<SourceRecord>,
        done: &mut Reprocessed,
    ) -> anyhow::Result<()> {
        let last = records.len() - 1;
        let mut batcher = Batcher::new(
            self.pipeline.sibling(),
            Arc::clone(&self.output),
            Arc::clone(&self.progress),
            requeue_label(name),
            Flush {
                bytes: u64::MAX,
                interval: Duration::from_secs(86_400),
            },
        );
        batcher.add(records, &format!("{:08}", 0), &format!("{last:08}"));
        if let Err(e) = batcher.close(true).await {
            let _ = batcher.settle().await;
            return Err(e);
        }
        done.stats.merge(batcher.stats());
        done.objects_written += batcher.objects();
        Ok(())
    }
}

/// The label of the objects reprocessed from quarantine object `name`: the
/// same on every pass, distinct for every object.
fn requeue_label(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("requeue-{hex}")
}

/// The non-blank lines of an object, numbered from 1, without their `\n`.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    bytes
        .split(|&b| b == b'\n')
        .zip(1u64..)
        .map(|(line, n)| (n, line))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
}

#[cfg(test)]
mod tests;
