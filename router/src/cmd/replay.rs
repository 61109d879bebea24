//! `cdc-mask replay` (and `run --source kinesis:…`): every shard of a stream
//! through both views into a lake, concurrently, parents before children,
//! checkpointed after each delivered batch.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_sdk_kinesis::primitives::{DateTime, DateTimeFormat};
use cdc_mask_transformer::config::Settings;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::run::{summary, Totals};
use crate::aws::LazyAws;
use crate::checkpoint::{Checkpoint, ShardCheckpoint};
use crate::cli::ReplayArgs;
use crate::pipeline::{Pipeline, PipelineStats, SourceRecord};
use crate::progress::{Progress, Reporter};
use crate::sink::{Batch, Output, OutputSpec};
use crate::source::kinesis::{self, Shard, ShardReader, ShardStart, Stream};

/// Least time between two `GetRecords` calls on one shard (the service
/// allows five per second per shard).
const CALL_SPACING: Duration = Duration::from_millis(200);
/// Wait after an empty answer when there is no end to reach.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// Where shards start.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum From {
    /// The same start for every shard (children of a reshard seen during a
    /// live run start at their trim horizon).
    Start(ShardStart),
    /// Each shard from its first record at or after this sequence number.
    Sequence(u128, String),
}

/// Where shards stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Never (a live run): until a signal.
    Never,
    /// Once the shard is read to its tip.
    CaughtUp,
    /// At the first record that arrived at or after this time (Unix ms).
    At(i64),
}

/// What to replay and how.
pub(super) struct Plan {
    pub stream: Stream,
    pub from: From,
    pub end: End,
    pub records_per_call: i32,
    pub flush_bytes: u64,
    pub flush_interval: Duration,
    pub checkpoint: Option<PathBuf>,
    /// `--sink` as given, for the summary.
    pub sink: String,
}

pub(super) async fn run(args: ReplayArgs) -> anyhow::Result<()> {
    let from = parse_from(&args.from)?;
    let end = match (&args.to, args.until_caught_up) {
        (Some(to), _) => End::At(parse_time(to, "--to")?.to_millis()?),
        (None, true) => End::CaughtUp,
        (None, false) => End::Never,
    };
    let output_spec = OutputSpec::parse(&args.output.sink, args.output.side_sink.as_deref())?;
    let settings = super::run::settings(&args.output)?;
    let plan = Plan {
        stream: Stream(args.stream.clone()),
        from,
        end,
        records_per_call: args.kinesis.records_per_call,
        flush_bytes: args.output.flush_bytes,
        flush_interval: args.output.flush_interval,
        checkpoint: args.kinesis.checkpoint.clone(),
        sink: args.output.sink.clone(),
    };
    execute(
        "replay",
        plan,
        &settings,
        &output_spec,
        args.output.keys.endpoint_url.as_deref(),
    )
    .await
}

/// `--from`: `trim-horizon`, `latest`, a time, or a sequence number.
fn parse_from(text: &str) -> anyhow::Result<From> {
    match text {
        "trim-horizon" => Ok(From::Start(ShardStart::TrimHorizon)),
        "latest" => Ok(From::Start(ShardStart::Latest)),
        t if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
            let n = t.parse().context("--from: sequence number too long")?;
            Ok(From::Sequence(n, t.to_owned()))
        }
        t => Ok(From::Start(ShardStart::AtTimestamp(parse_time(
            t, "--from",
        )?))),
    }
}

fn parse_time(text: &str, option: &str) -> anyhow::Result<DateTime> {
    DateTime::from_str(text, DateTimeFormat::DateTime).map_err(|_| {
        anyhow::anyhow!(
            "{option} {text}: not a time (2026-11-28T10:00:00Z), trim-horizon or a sequence number"
        )
    })
}

/// Checks everything, then replays and prints the summary.
pub(super) async fn execute(
    command: &str,
    plan: Plan,
    settings: &Settings,
    output_spec: &OutputSpec,
    endpoint: Option<&str>,
) -> anyhow::Result<()> {
    let checkpoint = match &plan.checkpoint {
        Some(path) => match Checkpoint::load(path)? {
            Some(cp) if cp.stream != plan.stream.0 => bail!(
                "checkpoint {} is for stream {}, not {}",
                path.display(),
                cp.stream,
                plan.stream.0
            ),
            Some(cp) => cp,
            None => Checkpoint::new(&plan.stream.0),
        },
        None => Checkpoint::new(&plan.stream.0),
    };
    let aws = LazyAws::new(endpoint.map(str::to_owned));
    let client = kinesis::client(aws.get().await);
    kinesis::check_stream(&client, &plan.stream).await?;
    let lake = Output::open(output_spec, &aws).await?;
    let pipeline = Pipeline::new(settings.components().await?);
    let progress = Progress::new(match plan.end {
        End::At(to) => Some(to),
        _ => None,
    });
    let reporter = Reporter::start(progress.clone());
    let started = Instant::now();
    let stop = super::stop_signal();
    let ctx = Arc::new(Context {
        client,
        lake,
        checkpoint: Mutex::new(checkpoint),
        plan,
        progress,
    });
    let result = coordinate(&ctx, &pipeline, stop).await;
    reporter.finish();
    let outcome = result?;
    let mut extra = vec![
        ("shards read", outcome.shards.to_string()),
        ("throttled calls (retried)", outcome.throttled.to_string()),
        ("expired iterators (renewed)", outcome.expired.to_string()),
        cdc_mask_transformer::aws::retry_report(),
    ];
    if outcome.deferred > 0 {
        extra.push((
            "records left for the next resume (read again from the checkpoint)",
            outcome.deferred.to_string(),
        ));
    }
    extra.extend(ctx.lake.report());
    if let Some(path) = &ctx.plan.checkpoint {
        extra.push(("checkpoint", path.display().to_string()));
    }
    print!(
        "{}",
        summary(
            command,
            &outcome.stats,
            &Totals {
                elapsed: started.elapsed(),
                objects: outcome.objects,
                sink: &ctx.plan.sink,
                interrupted: outcome.interrupted,
                extra,
            },
        )?
    );
    match outcome.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Shared by the shard readers.
struct Context {
    client: aws_sdk_kinesis::Client,
    lake: Output,
    checkpoint: Mutex<Checkpoint>,
    plan: Plan,
    progress: Arc<Progress>,
}

impl Context {
    /// Records a shard's position and writes the checkpoint file.
    fn commit(&self, shard: &str, sequence: Option<&str>, finished: bool) -> anyhow::Result<()> {
        let mut cp = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = cp.shards.entry(shard.to_owned()).or_default();
        if let Some(seq) = sequence {
            entry.sequence = Some(seq.to_owned());
            entry.in_flight = None;
        }
        entry.finished |= finished;
        match &self.plan.checkpoint {
            Some(path) => cp.save(path),
            None => Ok(()),
        }
    }

    /// Records, before a batch ending at `last` is delivered, that it is in
    /// flight (see [`ShardCheckpoint::in_flight`]).
    fn intend(&self, shard: &str, last: &str) -> anyhow::Result<()> {
        let Some(path) = &self.plan.checkpoint else {
            return Ok(());
        };
        let mut cp = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cp.shards.entry(shard.to_owned()).or_default().in_flight = Some(last.to_owned());
        cp.save(path)
    }

    fn position(&self, shard: &str) -> ShardCheckpoint {
        let cp = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cp.shards.get(shard).cloned().unwrap_or_default()
    }
}

/// What the replay did.
struct Outcome {
    stats: PipelineStats,
    objects: u64,
    shards: u64,
    throttled: u64,
    expired: u64,
    /// Records read but left for the next resume (see [`ShardReport`]).
    deferred: u64,
    interrupted: bool,
    /// The first failure; the other shards were stopped after delivering
    /// what they had read.
    error: Option<anyhow::Error>,
}

/// What one shard reader did.
struct ShardReport {
    id: String,
    stats: PipelineStats,
    objects: u64,
    throttled: u64,
    expired: u64,
    /// Records read but neither processed nor delivered: stopped before the
    /// cut of a killed run's batch, so the checkpoint stays where it was
    /// and the next resume reads them again and delivers that batch under
    /// its recorded name.
    deferred: u64,
    finished: bool,
}

/// Starts a reader for every shard whose parents are done, and more as
/// shards finish, until none is left to read (or a stop or a failure).
async fn coordinate(
    ctx: &Arc<Context>,
    pipeline: &Pipeline,
    mut signal: watch::Receiver<bool>,
) -> anyhow::Result<Outcome> {
    let (stop_tx, stop) = watch::channel(false);
    let mut outcome = Outcome {
        stats: PipelineStats::default(),
        objects: 0,
        shards: 0,
        throttled: 0,
        expired: 0,
        deferred: 0,
        interrupted: false,
        error: None,
    };
    let mut finished: HashSet<String> = ctx
        .checkpoint
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .shards
        .iter()
        .filter(|(_, s)| s.finished)
        .map(|(id, _)| id.clone())
        .collect();
    // Started in this run (running, or stopped at the end of the range).
    let mut started: HashSet<String> = HashSet::new();
    let mut readers = JoinSet::new();
    loop {
        if !*stop.borrow() {
            let shards = kinesis::list_shards(&ctx.client, &ctx.plan.stream).await?;
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
                let Some(start) = start_of(shard, &ctx.plan.from, &ctx.position(&shard.id), &known)
                else {
                    // Entirely before the start: nothing to read.
                    finished.insert(shard.id.clone());
                    continue;
                };
                readers.spawn(read_shard(
                    Arc::clone(ctx),
                    pipeline.sibling(),
                    shard.clone(),
                    start,
                    stop.clone(),
                ));
            }
        }
        let joined = tokio::select! {
            joined = readers.join_next() => joined,
            () = super::stopped(&mut signal), if !*stop.borrow() => {
                outcome.interrupted = true;
                let _ = stop_tx.send(true);
                continue;
            }
        };
        let Some(joined) = joined else {
            // Nothing running. Skipped shards may have unblocked children.
            let more = !*stop.borrow()
                && kinesis::list_shards(&ctx.client, &ctx.plan.stream)
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
                outcome.stats.merge(&report.stats);
                outcome.objects += report.objects;
                outcome.throttled += report.throttled;
                outcome.expired += report.expired;
                outcome.deferred += report.deferred;
                outcome.shards += 1;
                ctx.progress.shard_done(&report.id);
                if report.finished {
                    finished.insert(report.id);
                }
            }
            Err(e) => {
                if outcome.error.is_none() {
                    outcome.error = Some(e);
                }
                let _ = stop_tx.send(true);
            }
        }
    }
    Ok(outcome)
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

/// The batch being filled for one shard.
#[derive(Default)]
struct Pending {
    batch: Batch,
    records: Vec<SourceRecord>,
    first: Option<String>,
    last: Option<String>,
    input: u64,
    since: Option<Instant>,
}

/// Reads one shard to its end, the end of the range or a stop, delivering a
/// batch each time `--flush-bytes` of input is in it (cut at a record, so
/// the same range always gives the same batches) and checkpointing after
/// each.
async fn read_shard(
    ctx: Arc<Context>,
    mut pipeline: Pipeline,
    shard: Shard,
    start: ShardStart,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<ShardReport> {
    let id = shard.id.clone();
    let mut reader = ShardReader::new(
        ctx.client.clone(),
        ctx.plan.stream.clone(),
        shard,
        start,
        ctx.plan.records_per_call,
    );
    let mut pending = Pending::default();
    let mut objects = 0u64;
    // A batch a killed run was delivering: cut exactly where it ended.
    let mut cut_at = ctx.position(&id).in_flight;
    let finished = loop {
        if *stop.borrow() {
            break false;
        }
        let fetched = reader.next().await?;
        let last_arrival = fetched.records.last().map_or(0, |r| r.arrival_ms);
        ctx.progress.shard(&id, fetched.millis_behind, last_arrival);
        let empty = fetched.records.is_empty();
        let mut reached_end = false;
        for record in fetched.records {
            if let End::At(to) = ctx.plan.end {
                if record.arrival_ms >= to {
                    reached_end = true;
                    break;
                }
            }
            ctx.progress.add(1, record.data.len() as u64);
            pending.input += record.data.len() as u64;
            pending.first.get_or_insert_with(|| record.sequence.clone());
            pending.since.get_or_insert_with(Instant::now);
            pending.records.push(SourceRecord {
                id: format!("{id}/{}", record.sequence),
                bytes: record.data,
            });
            if cut_at
                .as_deref()
                .is_some_and(|cut| sequence_after(&record.sequence, cut))
            {
                // The intended end is gone (trimmed): cut by size again.
                cut_at = None;
            }
            let at_cut = cut_at.as_deref() == Some(record.sequence.as_str());
            pending.last = Some(record.sequence);
            if at_cut || (cut_at.is_none() && pending.input >= ctx.plan.flush_bytes) {
                cut_at = None;
                objects += deliver(&ctx, &id, &mut pipeline, &mut pending, false).await?;
            }
        }
        // Until the recorded cut, records wait unprocessed: a stop before it
        // leaves them for the next resume without counting them.
        if cut_at.is_none() {
            process(&mut pipeline, &mut pending).await?;
        }
        if fetched.finished && !reached_end {
            objects += deliver(&ctx, &id, &mut pipeline, &mut pending, true).await?;
            break true;
        }
        let caught_up = empty && fetched.millis_behind == 0;
        let end_reached = reached_end
            || match ctx.plan.end {
                End::CaughtUp => caught_up,
                End::At(to) => caught_up && now_ms() >= to,
                End::Never => false,
            };
        if end_reached {
            break false;
        }
        // Reading history, batches are cut by size only, so the same range
        // always gives the same objects; the interval applies at the tail.
        if cut_at.is_none()
            && fetched.millis_behind == 0
            && pending
                .since
                .is_some_and(|since| since.elapsed() >= ctx.plan.flush_interval)
        {
            objects += deliver(&ctx, &id, &mut pipeline, &mut pending, false).await?;
        }
        let wait = if empty {
            IDLE_WAIT.min(ctx.plan.flush_interval)
        } else {
            CALL_SPACING
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    };
    let mut deferred = 0;
    if cut_at.is_some() && *stop.borrow() {
        // Delivering now would write a shorter batch under a new name next
        // to the one the killed run may have left: stop where it stopped.
        deferred = pending.records.len() as u64;
    } else if !finished {
        objects += deliver(&ctx, &id, &mut pipeline, &mut pending, false).await?;
    }
    Ok(ShardReport {
        id,
        stats: pipeline.stats().clone(),
        objects,
        throttled: reader.throttled(),
        expired: reader.expired(),
        deferred,
        finished,
    })
}

/// Runs the records read so far through the pipeline into the batch.
async fn process(pipeline: &mut Pipeline, pending: &mut Pending) -> anyhow::Result<()> {
    if !pending.records.is_empty() {
        pipeline
            .process(&pending.records, &mut pending.batch)
            .await?;
        pending.records.clear();
    }
    Ok(())
}

/// Delivers the batch as `<shard>-<first>-<last>` and checkpoints after it.
async fn deliver(
    ctx: &Context,
    shard: &str,
    pipeline: &mut Pipeline,
    pending: &mut Pending,
    finished: bool,
) -> anyhow::Result<u64> {
    process(pipeline, pending).await?;
    let mut objects = 0;
    if let (Some(first), Some(last)) = (pending.first.take(), pending.last.take()) {
        let name = format!("{shard}-{first}-{last}");
        ctx.intend(shard, &last)?;
        objects = ctx.lake.deliver(&mut pending.batch, &name).await? as u64;
        ctx.commit(shard, Some(&last), finished)?;
    } else if finished {
        ctx.commit(shard, None, true)?;
    }
    pending.input = 0;
    pending.since = None;
    Ok(objects)
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
    fn orders_sequence_numbers_as_numbers() {
        assert!(sequence_after("100", "99"));
        assert!(sequence_after(
            "49590338271490256608559692538361571095921575989136588802",
            "49590338271490256608559692538361571095921575989136588801"
        ));
        assert!(!sequence_after("99", "100"));
        assert!(!sequence_after("7", "7"));
    }

    #[test]
    fn parses_from() {
        assert_eq!(
            parse_from("trim-horizon").unwrap(),
            From::Start(ShardStart::TrimHorizon)
        );
        assert_eq!(
            parse_from("123").unwrap(),
            From::Sequence(123, "123".into())
        );
        assert!(matches!(
            parse_from("2026-11-28T10:00:00Z").unwrap(),
            From::Start(ShardStart::AtTimestamp(_))
        ));
        let e = parse_from("yesterday").unwrap_err().to_string();
        assert!(e.starts_with("--from yesterday: not a time"), "{e}");
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
