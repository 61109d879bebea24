//! One shard read to its end, the end of the range, or a stop, through a
//! [`Batcher`] checkpointed after each batch. Reading history, batches are
//! cut only at `--flush-bytes` of input, at a record, so the same range
//! always gives the same batches (and object names); `--flush-interval`
//! applies once the shard has caught up with its tip. A batch that a killed
//! run was delivering is cut again exactly where it ended.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::coordinator::End;
use super::reader::ShardReader;
use crate::batcher::Batcher;
use crate::pipeline::{PipelineStats, SourceRecord};
use crate::progress::Progress;

/// Least time between two `GetRecords` calls on one shard (the service
/// allows five per second per shard).
const CALL_SPACING: Duration = Duration::from_millis(200);
/// Wait after an empty answer when there is no end to reach.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What one shard consumer did.
pub struct ShardReport {
    /// The shard.
    pub id: String,
    /// Its pipeline's counts.
    pub stats: PipelineStats,
    /// Objects written.
    pub objects: u64,
    /// Throttled `GetRecords` calls (retried).
    pub throttled: u64,
    /// Expired iterators (renewed).
    pub expired: u64,
    /// Records read but neither processed nor delivered: stopped before the
    /// cut of a killed run's batch, so the checkpoint stays where it was
    /// and the next resume reads them again and delivers that batch under
    /// its recorded name.
    pub deferred: u64,
    /// Closed and read to its end: its children may be read.
    pub finished: bool,
}

/// Reads one shard into its batcher.
pub struct ShardConsumer {
    /// The shard.
    pub id: String,
    /// Its `GetRecords` calls.
    pub reader: ShardReader,
    /// Its batches, with the shard's checkpoint as ledger.
    pub batcher: Batcher,
    /// Where to stop.
    pub end: End,
    /// `--flush-interval` (it also bounds the wait after an empty answer).
    pub interval: Duration,
    /// The last record of the batch a killed run was delivering (the
    /// checkpoint's `in_flight`): the first batch is cut exactly there.
    pub cut_at: Option<String>,
    /// Lag and arrival times, for the progress line.
    pub progress: Arc<Progress>,
}

impl ShardConsumer {
    /// Reads the shard until its end, the end of the range or a stop, and
    /// delivers what was read (unless it lies before the recorded cut).
    ///
    /// # Errors
    /// The first failure (reading, processing, delivering, checkpointing),
    /// once the batch being delivered landed or failed.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> anyhow::Result<ShardReport> {
        let result = self.read(&mut stop).await;
        if result.is_err() {
            let _ = self.batcher.settle().await;
        }
        let (finished, deferred) = result?;
        Ok(ShardReport {
            id: self.id,
            stats: self.batcher.stats().clone(),
            objects: self.batcher.objects(),
            throttled: self.reader.throttled(),
            expired: self.reader.expired(),
            deferred,
            finished,
        })
    }

    /// Returns whether the shard was read to its end, and the records
    /// deferred to the next resume.
    async fn read(&mut self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<(bool, u64)> {
        let finished = loop {
            if *stop.borrow() {
                break false;
            }
            let fetched = self.reader.next().await?;
            let last_arrival = fetched.records.last().map_or(0, |r| r.arrival_ms);
            self.progress
                .shard(&self.id, fetched.millis_behind, last_arrival);
            let empty = fetched.records.is_empty();
            let mut reached_end = false;
            for record in fetched.records {
                if let End::At(to) = self.end {
                    if record.arrival_ms >= to {
                        reached_end = true;
                        break;
                    }
                }
                if self
                    .cut_at
                    .as_deref()
                    .is_some_and(|cut| sequence_after(&record.sequence, cut))
                {
                    // The intended end is gone (trimmed): cut by size again.
                    self.cut_at = None;
                }
                let at_cut = self.cut_at.as_deref() == Some(record.sequence.as_str());
                let source = SourceRecord {
                    id: format!("{}/{}", self.id, record.sequence),
                    bytes: record.data,
                };
                self.batcher
                    .add([source], &record.sequence, &record.sequence);
                if at_cut || (self.cut_at.is_none() && self.batcher.is_full()) {
                    self.cut_at = None;
                    self.batcher.cut().await?;
                }
            }
            // Until the recorded cut, records wait unprocessed: a stop before
            // it leaves them for the next resume without counting them.
            if self.cut_at.is_none() {
                self.batcher.process().await?;
            }
            if fetched.finished && !reached_end {
                self.batcher.close(true).await?;
                break true;
            }
            let caught_up = empty && fetched.millis_behind == 0;
            let end_reached = reached_end
                || match self.end {
                    End::CaughtUp => caught_up,
                    End::At(to) => caught_up && now_ms() >= to,
                    End::Never => false,
                };
            if end_reached {
                break false;
            }
            // Reading history, batches are cut by size only, so the same
            // range always gives the same objects; the interval applies at
            // the tip.
            if self.cut_at.is_none() && fetched.millis_behind == 0 && self.batcher.is_due() {
                self.batcher.cut().await?;
            }
            let wait = if empty {
                IDLE_WAIT.min(self.interval)
            } else {
                CALL_SPACING
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        };
        if finished {
            return Ok((true, 0));
        }
        if self.cut_at.is_some() && *stop.borrow() {
            // Delivering now would write a shorter batch under a new name
            // next to the one the killed run may have left: stop where it
            // stopped.
            return Ok((false, self.batcher.abandon().await?));
        }
        self.batcher.close(false).await?;
        Ok((false, 0))
    }
}

/// Whether Kinesis sequence number `a` comes after `b` (both decimal
/// strings without leading zeros, so a longer one is larger).
fn sequence_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_sequence_numbers_as_numbers() {
        assert!(sequence_after("100", "99"));
        assert!(sequence_after(
            "49590338271490256608559692538361571095921575989136588802",
            "49590338271490256608559692538361571095921575989136588801"
        ));
        assert!(!sequence_after("99", "100"));
        assert!(!sequence_after("7", "7"));
    }
}
