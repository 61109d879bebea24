//! Progress while running: a live line on a terminal (`indicatif`), a plain
//! line every [`PLAIN_EVERY`] otherwise (logs, CI). Counts only, never data.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How often a plain progress line is printed when stderr is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);
/// How often the terminal line is redrawn.
const TTY_EVERY: Duration = Duration::from_millis(500);

/// Counters shared by the readers.
#[derive(Debug)]
pub struct Progress {
    records: AtomicU64,
    bytes: AtomicU64,
    shards: Mutex<Shards>,
    started: Instant,
    to_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct Shards {
    /// Per open shard: (MillisBehindLatest, arrival time of its last record).
    lag: BTreeMap<String, (i64, i64)>,
    /// The earliest arrival time seen, for the ETA.
    first_ms: Option<i64>,
}

impl Progress {
    /// New counters; `to_ms` (a replay's `--to`, Unix ms) enables the ETA.
    pub fn new(to_ms: Option<i64>) -> Arc<Self> {
        Arc::new(Progress {
            records: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            shards: Mutex::default(),
            started: Instant::now(),
            to_ms,
        })
    }

    /// Counts records read.
    pub fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Notes a shard's lag and the arrival time of its last record (0: none).
    pub fn shard(&self, id: &str, millis_behind: i64, arrival_ms: i64) {
        let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        let last = shards.lag.get(id).map_or(0, |(_, at)| *at);
        let at = if arrival_ms > 0 { arrival_ms } else { last };
        if arrival_ms > 0 {
            shards.first_ms = Some(shards.first_ms.map_or(arrival_ms, |f| f.min(arrival_ms)));
        }
        shards.lag.insert(id.to_owned(), (millis_behind, at));
    }

    /// Forgets a shard that is done.
    pub fn shard_done(&self, id: &str) {
        let mut shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        shards.lag.remove(id);
    }

    /// One line: records, rates, lag, ETA.
    pub fn line(&self) -> String {
        let records = self.records.load(Ordering::Relaxed);
        let bytes = self.bytes.load(Ordering::Relaxed);
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        // Precision loss is irrelevant for rates.
        #[allow(clippy::cast_precision_loss)]
        let mut line = format!(
            "{records} records, {:.0} records/s, {:.1} MB/s",
            records as f64 / seconds,
            bytes as f64 / seconds / 1e6
        );
        let shards = self.shards.lock().unwrap_or_else(PoisonError::into_inner);
        if !shards.lag.is_empty() {
            let max_lag = shards.lag.values().map(|(lag, _)| *lag).max().unwrap_or(0);
            line.push_str(&format!(
                ", {} shards, lag {:.1} s",
                shards.lag.len(),
                Duration::from_millis(u64::try_from(max_lag).unwrap_or(0)).as_secs_f64()
            ));
        }
        let position = shards
            .lag
            .values()
            .map(|(_, at)| *at)
            .filter(|at| *at > 0)
            .min();
        if let (Some(to), Some(first), Some(at)) = (self.to_ms, shards.first_ms, position) {
            let done = at - first;
            if done > 0 && to > at {
                // Precision loss is irrelevant for an estimate.
                #[allow(clippy::cast_precision_loss)]
                let eta = seconds * (to - at) as f64 / done as f64;
                line.push_str(&format!(", ETA {eta:.0} s"));
            }
        }
        line
    }
}

/// Shows progress until [`Reporter::finish`].
pub struct Reporter {
    task: tokio::task::JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// Starts showing `progress` on stderr.
    pub fn start(progress: Arc<Progress>) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let shown = bar.clone();
            let task = tokio::spawn(async move {
                loop {
                    shown.set_message(progress.line());
                    shown.tick();
                    tokio::time::sleep(TTY_EVERY).await;
                }
            });
            Reporter {
                task,
                bar: Some(bar),
            }
        } else {
            let task = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(PLAIN_EVERY).await;
                    eprintln!("cdc-mask: {}", progress.line());
                }
            });
            Reporter { task, bar: None }
        }
    }

    /// Stops showing progress (and clears the terminal line).
    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_lag_and_eta() {
        let progress = Progress::new(Some(10_000));
        progress.add(10, 2_000);
        progress.shard("a", 3_000, 1_000);
        progress.shard("b", 500, 2_000);
        progress.shard("a", 2_000, 3_000);
        let line = progress.line();
        assert!(line.starts_with("10 records, "), "{line}");
        assert!(line.contains("2 shards, lag 2.0 s"), "{line}");
        assert!(line.contains("ETA"), "{line}");
        progress.shard_done("a");
        progress.shard_done("b");
        assert!(!progress.line().contains("shards"));
    }
}
