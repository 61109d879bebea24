//! What `run` and `replay` carry out: a source through both views into a
//! sink, in batches (see [`crate::batcher`]), until the source ends or a
//! signal, then the accounting summary. The commands only map their
//! arguments to a [`Plan`].

use std::sync::Arc;
use std::time::Instant;

use cdc_mask_transformer::settings::Settings;
use tokio::sync::watch;

use crate::aws::LazyAws;
use crate::batcher::{Batcher, Flush};
use crate::pipeline::Pipeline;
use crate::progress::{Progress, Reporter};
use crate::signal;
use crate::sink::{Output, OutputSpec};
use crate::source::feed::{Feed, FeedSpec};
use crate::source::kinesis::{Coordinator, Replay};
use crate::summary::{summary, Outcome};

/// A command's work.
pub struct Plan {
    /// `run` or `replay`, for the summary.
    pub command: &'static str,
    /// Where records come from.
    pub source: Source,
    /// Where output goes and how it is made.
    pub output: OutputPlan,
}

/// Where records come from.
pub enum Source {
    /// A file, stdin or the generator.
    Feed(FeedSpec),
    /// The shards of a Kinesis stream.
    Kinesis(Replay),
}

/// Where output goes and how it is made.
pub struct OutputPlan {
    /// `--sink` (and `--side-sink`).
    pub spec: OutputSpec,
    /// `--sink` as given, for the summary.
    pub sink: String,
    /// The transformer's settings (policy, keys, shape).
    pub settings: Settings,
    /// When batches are cut.
    pub flush: Flush,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
}

/// A source ready to be read.
enum Opened {
    Feed(Feed),
    Kinesis(Coordinator),
}

impl Plan {
    /// Checks and opens everything, reads the source to its end (or a
    /// signal) and prints the summary.
    ///
    /// # Errors
    /// One line: what could not be opened, or what stopped the work (after
    /// the summary, when what was read could still be delivered).
    pub async fn execute(self) -> anyhow::Result<()> {
        let Plan {
            command,
            source,
            output,
        } = self;
        let aws = LazyAws::new(output.endpoint_url.clone());
        // Everything that can be checked is, before anything is created.
        let source = match source {
            Source::Feed(spec) => Opened::Feed(spec.open()?),
            Source::Kinesis(replay) => Opened::Kinesis(replay.prepare(&aws).await?),
        };
        let sink = Arc::new(Output::open(&output.spec, &aws).await?);
        let pipeline = Pipeline::new(crate::settings::load(&output.settings).await?);
        let progress = Progress::new(match &source {
            Opened::Kinesis(coordinator) => coordinator.end_ms(),
            Opened::Feed(_) => None,
        });
        let reporter = Reporter::start(Arc::clone(&progress));
        let started = Instant::now();
        let stop = signal::stop_signal();
        let result = match source {
            Opened::Feed(feed) => {
                let batcher = Batcher::new(
                    pipeline,
                    Arc::clone(&sink),
                    progress,
                    feed.label().to_owned(),
                    output.flush,
                );
                drive(feed, batcher, stop).await.map(|mut outcome| {
                    outcome.extra = sink
                        .report()
                        .into_iter()
                        .chain(
                            sink.uses_aws()
                                .then(cdc_mask_transformer::aws::retry_report),
                        )
                        .collect();
                    outcome
                })
            }
            Opened::Kinesis(coordinator) => {
                coordinator
                    .run(pipeline, Arc::clone(&sink), progress, output.flush, stop)
                    .await
            }
        };
        reporter.finish();
        let outcome = result?;
        print!(
            "{}",
            summary(command, &outcome, started.elapsed(), &output.sink)?
        );
        match outcome.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Reads a feed to its end, a read error or a stop, through `batcher`, and
/// delivers what was read in every case.
///
/// # Errors
/// A pipeline or delivery failure (a read error is in the outcome).
async fn drive(
    feed: Feed,
    mut batcher: Batcher,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Outcome> {
    let mut chunks = feed.start();
    let mut outcome = Outcome::default();
    loop {
        let due = batcher.due_at();
        let step = tokio::select! {
            () = signal::stopped(&mut stop) => {
                outcome.interrupted = true;
                break;
            }
            () = sleep_until(due) => batcher.cut().await,
            chunk = chunks.next() => match chunk {
                Ok(Some(chunk)) => {
                    let (start, end) = (position(chunk.start), position(chunk.end));
                    batcher.add(chunk.records, &start, &end);
                    match batcher.process().await {
                        Ok(()) if batcher.is_full() => batcher.cut().await,
                        other => other,
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    outcome.error = Some(e);
                    break;
                }
            },
        };
        if let Err(e) = step {
            // What is being delivered lands (or fails) before the error.
            let _ = batcher.settle().await;
            return Err(e);
        }
    }
    if let Err(e) = batcher.close(false).await {
        let _ = batcher.settle().await;
        return Err(e);
    }
    outcome.stats = batcher.stats().clone();
    outcome.objects = batcher.objects();
    Ok(outcome)
}

/// A feed position in object names: 20 digits.
fn position(n: u64) -> String {
    format!("{n:020}")
}

/// Resolves at `at`; never without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::sink::Lake;
    use crate::test_support::{object_names, pipeline, records, FailingInput};

    #[tokio::test]
    async fn a_read_error_ends_the_input_after_what_was_read_is_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let lake = dir.path().join("lake");
        std::fs::create_dir_all(&lake).unwrap();
        let mut input = Vec::new();
        for record in records(5) {
            input.extend_from_slice(&record.bytes);
            input.push(b'\n');
        }
        // A record torn by the error.
        input.extend_from_slice(b"{\"data\":{\"id\":");
        let feed = Feed::from_reader(
            Box::new(FailingInput(Cursor::new(input))),
            "changes.jsonl".to_owned(),
            "changes.jsonl".to_owned(),
            false,
        );
        let flush = Flush {
            bytes: 1 << 20,
            interval: std::time::Duration::from_secs(3600),
        };
        let batcher = Batcher::new(
            pipeline(&dir.path().join("keyring")).await,
            Arc::new(Output::Lake(Lake::Dir(lake.clone()))),
            Progress::new(None),
            feed.label().to_owned(),
            flush,
        );
        let (_stop_tx, stop) = watch::channel(false);
        let outcome = drive(feed, batcher, stop).await.unwrap();
        let error = format!("{:#}", outcome.error.unwrap());
        assert_eq!(error, "reading changes.jsonl: the disk went away");
        assert!(!outcome.interrupted);
        assert_eq!(outcome.stats.records, 5, "the complete lines");
        assert_eq!(outcome.stats.control + outcome.stats.total_rows(), 5);
        let names = object_names(&lake);
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].starts_with("changes.jsonl-00000000000000000000-"));
    }
}
