//! Which shards are read when: every shard of the stream concurrently, a
//! child only once its parents are read to their end (after a reshard),
//! each from its checkpoint or from `--from`; and what the replay did.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use aws_sdk_kinesis::Client;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::checkpoint::{CheckpointFile, ShardCheckpoint};
use super::consumer::ShardConsumer;
use super::reader::ShardReader;
use super::shards::{self, Shard, ShardStart, Stream};
use crate::aws::LazyAws;
use crate::batcher::{Batcher, Flush};
use crate::pipeline::Pipeline;
use crate::progress::Progress;
use crate::signal;
use crate::sink::Output;
use crate::summary::Outcome;

/// Where shards start.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    /// The same start for every shard (children of a reshard seen during a
    /// live run start at their trim horizon).
    Start(ShardStart),
    /// Each shard from its first record at or after this sequence number.
    Sequence(u128, String),
}

/// Where shards stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Never (a live run): until a signal.
    Never,
    /// Once the shard is read to its tip.
    CaughtUp,
    /// At the first record that arrived at or after this time (Unix ms).
    At(i64),
}

/// What to read of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The stream.
    pub stream: Stream,
    /// Where shards start (unless the checkpoint says).
    pub from: From,
    /// Where shards stop.
    pub end: End,
    /// `--records-per-call`.
    pub records_per_call: i32,
    /// `--checkpoint`.
    pub checkpoint: Option<PathBuf>,
}

impl Replay {
    /// Checks that the checkpoint is readable and for this stream, and that
    /// the stream is there and readable, before any work.
    ///
    /// # Errors
    /// One line naming what is wrong.
    pub async fn prepare(self, aws: &LazyAws) -> anyhow::Result<Coordinator> {
        let checkpoint = CheckpointFile::open(self.checkpoint.clone(), &self.stream.0)?;
        let client = shards::client(aws.get().await);
        shards::check_stream(&client, &self.stream).await?;
        Ok(Coordinator {
            client,
            replay: self,
            checkpoint: Arc::new(checkpoint),
        })
    }
}

/// A prepared replay.
pub struct Coordinator {
    client: Client,
    replay: Replay,
    checkpoint: Arc<CheckpointFile>,
}

/// What the shard consumers did, added up.
#[derive(Default)]
struct Tally {
    outcome: Outcome,
    shards: u64,
    throttled: u64,
    expired: u64,
    deferred: u64,
}

impl Coordinator {
    /// `--to`, in Unix ms (for the progress line's ETA).
    pub fn end_ms(&self) -> Option<i64> {
        match self.replay.end {
            End::At(to) => Some(to),
            End::Never | End::CaughtUp => None,
        }
    }

    /// Starts a consumer for every shard whose parents are done, and more
    /// as shards finish, until none is left to read (or a stop, or a
    /// failure: the others then stop after delivering what they read).
    ///
    /// # Errors
    /// Listing the shards failed, or a consumer panicked; a consumer's
    /// failure is in the outcome.
    pub async fn run(
        self,
        pipeline: Pipeline,
        output: Arc<Output>,
        progress: Arc<Progress>,
        flush: Flush,
        mut signal: watch::Receiver<bool>,
    ) -> anyhow::Result<Outcome> {
        let (stop_tx, stop) = watch::channel(false);
        let mut tally = Tally::default();
        let mut finished = self.checkpoint.finished();
        // Started in this run (running, or stopped at the end of the range).
        let mut started: HashSet<String> = HashSet::new();
        let mut consumers = JoinSet::new();
        loop {
            if !*stop.borrow() {
                let shards = shards::list_shards(&self.client, &self.replay.stream).await?;
                let known: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
                for shard in &shards {
                    if finished.contains(&shard.id) || started.contains(&shard.id) {
                        continue;
                    }
                    // Parents no longer listed (trimmed) count as done.
                    let waiting = shard
                        .parents()
                        .any(|p| known.contains(p) && !finished.contains(p));
                    if waiting {
                        continue;
                    }
                    started.insert(shard.id.clone());
                    let position = self.checkpoint.position(&shard.id);
                    let Some(start) = start_of(shard, &self.replay.from, &position, &known) else {
                        // Entirely before the start: nothing to read.
                        finished.insert(shard.id.clone());
                        continue;
                    };
                    let batcher = Batcher::new(
                        pipeline.sibling(),
                        Arc::clone(&output),
                        Arc::clone(&progress),
                        shard.id.clone(),
                        flush,
                    )
                    .with_ledger(self.checkpoint.ledger(&shard.id));
                    let consumer = ShardConsumer {
                        id: shard.id.clone(),
                        reader: ShardReader::new(
                            self.client.clone(),
                            self.replay.stream.clone(),
                            shard.clone(),
                            start,
                            self.replay.records_per_call,
                        ),
                        batcher,
                        end: self.replay.end,
                        interval: flush.interval,
                        cut_at: position.in_flight,
                        progress: Arc::clone(&progress),
                    };
                    consumers.spawn(consumer.run(stop.clone()));
                }
            }
            let joined = tokio::select! {
                joined = consumers.join_next() => joined,
                () = signal::stopped(&mut signal), if !*stop.borrow() => {
                    tally.outcome.interrupted = true;
                    let _ = stop_tx.send(true);
                    continue;
                }
            };
            let Some(joined) = joined else {
                // Nothing running. Skipped shards may have unblocked children.
                let more = !*stop.borrow()
                    && shards::list_shards(&self.client, &self.replay.stream)
                        .await?
                        .iter()
                        .any(|s| !finished.contains(&s.id) && !started.contains(&s.id));
                if more {
                    continue;
                }
                break;
            };
            match joined.context("a shard reader panicked")? {
                Ok(report) => {
                    tally.outcome.stats.merge(&report.stats);
                    tally.outcome.objects += report.objects;
                    tally.throttled += report.throttled;
                    tally.expired += report.expired;
                    tally.deferred += report.deferred;
                    tally.shards += 1;
                    progress.shard_done(&report.id);
                    if report.finished {
                        finished.insert(report.id);
                    }
                }
                Err(e) => {
                    if tally.outcome.error.is_none() {
                        tally.outcome.error = Some(e);
                    }
                    let _ = stop_tx.send(true);
                }
            }
        }
        let mut outcome = tally.outcome;
        outcome.extra = vec![
            ("shards read", tally.shards.to_string()),
            ("throttled calls (retried)", tally.throttled.to_string()),
            ("expired iterators (renewed)", tally.expired.to_string()),
            cdc_mask_transformer::aws::retry_report(),
        ];
        if tally.deferred > 0 {
            outcome.extra.push((
                "records left for the next resume (read again from the checkpoint)",
                tally.deferred.to_string(),
            ));
        }
        outcome.extra.extend(output.report());
        if let Some(path) = self.checkpoint.path() {
            outcome
                .extra
                .push(("checkpoint", path.display().to_string()));
        }
        Ok(outcome)
    }
}

/// Where a shard starts: after its checkpoint, else by `--from`; `None` if
/// it lies entirely before a `--from` sequence number.
fn start_of(
    shard: &Shard,
    from: &From,
    checkpoint: &ShardCheckpoint,
    known: &HashSet<&str>,
) -> Option<ShardStart> {
    if let Some(seq) = &checkpoint.sequence {
        return Some(ShardStart::AfterSequence(seq.clone()));
    }
    match from {
        // A child of a shard read in this stream continues where its
        // parents ended: from its own beginning.
        From::Start(ShardStart::Latest) if shard.parents().any(|p| known.contains(p)) => {
            Some(ShardStart::TrimHorizon)
        }
        From::Start(start) => Some(start.clone()),
        From::Sequence(n, text) => {
            let number = |s: &str| s.parse::<u128>().ok();
            let ends_before = shard
                .ending_sequence
                .as_deref()
                .and_then(number)
                .is_some_and(|end| end < *n);
            if ends_before {
                return None;
            }
            match number(&shard.starting_sequence) {
                Some(first) if first >= *n => Some(ShardStart::TrimHorizon),
                _ => Some(ShardStart::AtSequence(text.clone())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(start: &str, end: Option<&str>, parent: Option<&str>) -> Shard {
        Shard {
            id: "shardId-000000000002".into(),
            parent: parent.map(str::to_owned),
            adjacent_parent: None,
            closed: end.is_some(),
            starting_sequence: start.into(),
            ending_sequence: end.map(str::to_owned),
        }
    }

    #[test]
    fn starts_after_the_checkpoint_then_by_from() {
        let known: HashSet<&str> = ["shardId-000000000000"].into_iter().collect();
        let cp = ShardCheckpoint {
            sequence: Some("7".into()),
            finished: false,
            in_flight: None,
        };
        let s = shard("1", None, None);
        let latest = From::Start(ShardStart::Latest);
        assert_eq!(
            start_of(&s, &latest, &cp, &known),
            Some(ShardStart::AfterSequence("7".into()))
        );
        let none = ShardCheckpoint::default();
        assert_eq!(
            start_of(&s, &latest, &none, &known),
            Some(ShardStart::Latest)
        );
        let child = shard("1", None, Some("shardId-000000000000"));
        assert_eq!(
            start_of(&child, &latest, &none, &known),
            Some(ShardStart::TrimHorizon)
        );
        let seq = From::Sequence(50, "50".into());
        assert_eq!(
            start_of(&shard("1", Some("40"), None), &seq, &none, &known),
            None
        );
        assert_eq!(
            start_of(&shard("60", None, None), &seq, &none, &known),
            Some(ShardStart::TrimHorizon)
        );
        assert_eq!(
            start_of(&shard("10", None, None), &seq, &none, &known),
            Some(ShardStart::AtSequence("50".into()))
        );
    }
}
