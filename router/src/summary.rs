//! The accounting summary `run` and `replay` print on stdout: every record
//! read is in exactly one place (both views, the control log or the
//! quarantine), or the command fails.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::bail;

use crate::pipeline::PipelineStats;

/// What a run or a replay did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The pipeline's counts.
    pub stats: PipelineStats,
    /// Objects written (and Firehose calls made).
    pub objects: u64,
    /// Stopped by SIGINT/SIGTERM (after delivering what was read).
    pub interrupted: bool,
    /// Further `name: value` lines (checkpoint, throttling).
    pub extra: Vec<(&'static str, String)>,
    /// The failure that ended it early, once what could be delivered was:
    /// reported after the summary.
    pub error: Option<anyhow::Error>,
}

/// Records and megabytes per second; shown as `in 1.50 s (2000 records/s,
/// 0.7 MB/s)`.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// The time the rates are over, in seconds (never zero).
    seconds: f64,
    /// Records per second.
    records: f64,
    /// Input megabytes (10^6 bytes) per second.
    megabytes: f64,
}

impl std::fmt::Display for Rates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "in {:.2} s ({:.0} records/s, {:.1} MB/s)",
            self.seconds, self.records, self.megabytes
        )
    }
}

impl Rates {
    /// The rates of `stats` over `elapsed`.
    pub fn of(stats: &PipelineStats, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        // Precision loss is irrelevant for rates.
        #[allow(clippy::cast_precision_loss)]
        let (records, megabytes) = (
            stats.records as f64 / seconds,
            stats.bytes as f64 / seconds / 1e6,
        );
        Rates {
            seconds,
            records,
            megabytes,
        }
    }
}

/// The summary of `command` (`run`, `replay`) writing to `sink` (as given).
///
/// # Errors
/// If the counts do not add up (a record unaccounted for).
pub fn summary(
    command: &str,
    outcome: &Outcome,
    elapsed: Duration,
    sink: &str,
) -> anyhow::Result<String> {
    let stats = &outcome.stats;
    let mut s = String::new();
    writeln!(
        s,
        "cdc-mask {command}: {} records {}{}",
        stats.records,
        Rates::of(stats, elapsed),
        if outcome.interrupted {
            ", stopped by signal (every record counted here was delivered)"
        } else {
            ""
        }
    )?;
    writeln!(
        s,
        "  both views:  {:>10}  ({})",
        stats.total_rows(),
        stats.rows_by_table()
    )?;
    writeln!(s, "  control log: {:>10}", stats.control)?;
    if stats.quarantined.is_empty() {
        writeln!(s, "  quarantine:  {:>10}", 0)?;
    } else {
        writeln!(
            s,
            "  quarantine:  {:>10}  ({}; reasons in quarantine/reasons/)",
            stats.total_quarantined(),
            stats.quarantined_by_reason()
        )?;
    }
    if stats.guard.unlisted_column_added() > 0 {
        writeln!(
            s,
            "  unlisted_column_added: {:>4}  (DDL announced columns the policy does not list; see the log)",
            stats.guard.unlisted_column_added()
        )?;
    }
    if stats.guard.total() > 0 {
        writeln!(
            s,
            "  guard:       {:>10}  values caught in {} unlisted columns (findings/suggested/)",
            stats.guard.total(),
            stats.guard.findings().len()
        )?;
    }
    writeln!(s, "  objects:     {:>10}  → {sink}", outcome.objects)?;
    for (name, value) in &outcome.extra {
        writeln!(s, "  {name}: {value}")?;
    }
    let accounted = stats.accounted();
    if accounted != stats.records {
        bail!(
            "accounting mismatch: {} records read, {accounted} accounted for",
            stats.records
        );
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_refuses_unaccounted_records() {
        let mut outcome = Outcome {
            stats: PipelineStats {
                records: 2,
                control: 1,
                ..PipelineStats::default()
            },
            objects: 1,
            ..Outcome::default()
        };
        let second = Duration::from_secs(1);
        assert!(summary("run", &outcome, second, "dir:x").is_err());
        outcome.stats.rows.insert(("s".into(), "t".into()), 1);
        let text = summary("run", &outcome, second, "dir:x").unwrap();
        assert!(text.contains("both views:           1  (s.t 1)"), "{text}");
    }
}
