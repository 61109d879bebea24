//! `cdc-mask run`: a source through both views into a sink, continuously,
//! with batches delivered by size and time, and an accounting summary.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use cdc_mask_core::policy::View;
use cdc_mask_core::ViewMode;
use cdc_mask_transformer::config::Settings;
use cdc_mask_transformer::policy_source::PolicyLocation;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::replay;
use crate::aws::LazyAws;
use crate::cli::{OutputArgs, RunArgs};
use crate::keys::key_source;
use crate::pipeline::{Pipeline, PipelineStats};
use crate::progress::{Progress, Reporter};
use crate::sink::{Batch, Output, OutputSpec};
use crate::source::generate::GeneratorConfig;
use crate::source::kinesis::{self, ShardStart};
use crate::source::{file, paced, Chunk, SourceSpec};

/// Chunks in flight between a reader thread and the pipeline (bounds memory).
const CHANNEL_CHUNKS: usize = 4;

pub(super) async fn run(args: RunArgs) -> anyhow::Result<()> {
    let source = SourceSpec::parse(&args.source)?;
    if args.follow && !matches!(source, SourceSpec::File(_)) {
        bail!("--follow applies to a file:PATH source only");
    }
    let output_spec = OutputSpec::parse(&args.output.sink, args.output.side_sink.as_deref())?;
    let settings = settings(&args.output)?;
    let endpoint = args.output.keys.endpoint_url.as_deref();
    if let SourceSpec::Kinesis(stream) = &source {
        let plan = replay::Plan {
            stream: kinesis::Stream(stream.clone()),
            from: replay::From::Start(ShardStart::Latest),
            end: replay::End::Never,
            records_per_call: args.kinesis.records_per_call,
            flush_bytes: args.output.flush_bytes,
            flush_interval: args.output.flush_interval,
            checkpoint: args.kinesis.checkpoint.clone(),
            sink: args.output.sink.clone(),
        };
        return replay::execute("run", plan, &settings, &output_spec, endpoint).await;
    }
    if args.kinesis.checkpoint.is_some() {
        bail!("--checkpoint applies to a kinesis: source only");
    }
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let label = match &source {
        SourceSpec::File(path) => {
            let input = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            // Opened before any work, started after the checks below.
            Some((
                Box::new(input) as Box<dyn std::io::Read + Send>,
                label_of(path),
            ))
        }
        SourceSpec::Stdin => Some((
            Box::new(std::io::stdin()) as Box<dyn std::io::Read + Send>,
            "stdin".to_owned(),
        )),
        _ => None,
    };
    let aws = LazyAws::new(endpoint.map(str::to_owned));
    let lake = Output::open(&output_spec, &aws).await?;
    let pipeline = Pipeline::new(settings.components().await?);
    let name_label = match (label, &source) {
        (Some((input, label)), _) => {
            drop(file::spawn(input, label.clone(), args.follow, tx));
            label
        }
        (None, SourceSpec::Generate(rate)) => {
            let config = GeneratorConfig {
                seed: args.seed,
                ..GeneratorConfig::default()
            };
            drop(paced::spawn(config, *rate, tx));
            "generate".to_owned()
        }
        (None, _) => unreachable!("kinesis returned above; files and stdin have a label"),
    };
    let stop = super::stop_signal();
    let progress = Progress::new(None);
    let reporter = Reporter::start(progress.clone());
    let started = Instant::now();
    let mut local = Local {
        pipeline,
        lake: Arc::new(lake),
        delivering: None,
        label: name_label,
        flush_bytes: args.output.flush_bytes,
        flush_interval: args.output.flush_interval,
        progress,
        objects: 0,
    };
    let result = local.run(rx, stop).await;
    reporter.finish();
    let interrupted = result?;
    print!(
        "{}",
        summary(
            "run",
            local.pipeline.stats(),
            &Totals {
                elapsed: started.elapsed(),
                objects: local.objects,
                sink: &args.output.sink,
                interrupted,
                extra: local
                    .lake
                    .report()
                    .into_iter()
                    .chain(
                        local
                            .lake
                            .uses_aws()
                            .then(cdc_mask_transformer::aws::retry_report)
                    )
                    .collect(),
            },
        )?
    );
    Ok(())
}

/// The settings of the transformer from the output arguments.
pub(super) fn settings(args: &OutputArgs) -> anyhow::Result<Settings> {
    let policy = PolicyLocation::parse(&args.policy)
        .map_err(anyhow::Error::msg)
        .context("--policy")?;
    if let PolicyLocation::File(path) = &policy {
        super::ensure_file(path, "policy")?;
    }
    // Both views are always written; the fixed view only names the default.
    let mut settings = Settings::new(
        ViewMode::Fixed(View::Masked),
        policy,
        key_source(&args.keys)?,
    );
    settings.shape = args
        .shape
        .parse()
        .map_err(anyhow::Error::msg)
        .context("--shape")?;
    settings.token_key_version = args.keys.token_key_version;
    settings.endpoint_url.clone_from(&args.keys.endpoint_url);
    Ok(settings)
}

/// A file name made path- and key-safe, for object names.
fn label_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".to_owned());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A file, stdin or the generator through the pipeline into a lake. One
/// batch is delivered while the next is processed, so writing (copies into
/// the page cache, uploads) overlaps the transformer instead of pausing it.
struct Local {
    pipeline: Pipeline,
    lake: Arc<Output>,
    /// The batch being delivered: the objects it wrote, or its failure.
    delivering: Option<JoinHandle<anyhow::Result<usize>>>,
    label: String,
    flush_bytes: u64,
    flush_interval: Duration,
    progress: std::sync::Arc<Progress>,
    objects: u64,
}

impl Local {
    /// Runs until the source ends (false) or a stop signal (true); delivers
    /// what was read either way.
    async fn run(
        &mut self,
        mut chunks: mpsc::Receiver<Chunk>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<bool> {
        let mut batch = Batch::new();
        let mut range: Option<(u64, u64)> = None;
        let mut input = 0u64;
        let mut deadline: Option<tokio::time::Instant> = None;
        let interrupted = loop {
            let due = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = super::stopped(&mut stop) => break true,
                () = due => {
                    self.deliver(&mut batch, &mut range).await?;
                    input = 0;
                    deadline = None;
                }
                chunk = chunks.recv() => {
                    let Some(chunk) = chunk else { break false };
                    let bytes: u64 = chunk.records.iter().map(|r| r.bytes.len() as u64).sum();
                    self.progress.add(chunk.records.len() as u64, bytes);
                    if !chunk.records.is_empty() {
                        self.pipeline.process(&chunk.records, &mut batch).await?;
                    }
                    range = Some(range.map_or((chunk.start, chunk.end), |(s, _)| (s, chunk.end)));
                    input += bytes;
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.flush_interval);
                    if input >= self.flush_bytes {
                        self.deliver(&mut batch, &mut range).await?;
                        input = 0;
                        deadline = None;
                    }
                }
            }
        };
        self.deliver(&mut batch, &mut range).await?;
        self.settle().await?;
        Ok(interrupted)
    }

    /// Waits for the batch being delivered, if any.
    async fn settle(&mut self) -> anyhow::Result<()> {
        if let Some(delivery) = self.delivering.take() {
            self.objects += delivery.await.context("a delivery panicked")?? as u64;
        }
        Ok(())
    }

    async fn deliver(
        &mut self,
        batch: &mut Batch,
        range: &mut Option<(u64, u64)>,
    ) -> anyhow::Result<()> {
        if let Some((start, end)) = range.take() {
            let name = format!("{}-{start:020}-{end:020}", self.label);
            // Batches land in order: the previous one first.
            self.settle().await?;
            let mut lines = std::mem::take(batch);
            let lake = Arc::clone(&self.lake);
            self.delivering = Some(tokio::spawn(async move {
                lake.deliver(&mut lines, &name).await
            }));
        }
        Ok(())
    }
}

/// What a run did besides the pipeline's counts.
pub(super) struct Totals<'a> {
    pub elapsed: Duration,
    pub objects: u64,
    pub sink: &'a str,
    pub interrupted: bool,
    /// Further `name: value` lines (checkpoint, throttling).
    pub extra: Vec<(&'static str, String)>,
}

/// The accounting summary. Every record must be in exactly one place.
///
/// # Errors
/// If the counts do not add up (a record unaccounted for).
pub(super) fn summary(
    command: &str,
    stats: &PipelineStats,
    totals: &Totals<'_>,
) -> anyhow::Result<String> {
    let seconds = totals.elapsed.as_secs_f64().max(1e-9);
    // Precision loss is irrelevant for rates.
    #[allow(clippy::cast_precision_loss)]
    let (rate, mb) = (
        stats.records as f64 / seconds,
        stats.bytes as f64 / seconds / 1e6,
    );
    let mut s = String::new();
    writeln!(
        s,
        "cdc-mask {command}: {} records in {seconds:.2} s ({rate:.0} records/s, {mb:.1} MB/s){}",
        stats.records,
        if totals.interrupted {
            ", stopped by signal (every record counted here was delivered)"
        } else {
            ""
        }
    )?;
    let tables: Vec<String> = stats
        .rows
        .iter()
        .map(|((schema, table), n)| format!("{schema}.{table} {n}"))
        .collect();
    writeln!(
        s,
        "  both views:  {:>10}  ({})",
        stats.total_rows(),
        tables.join(", ")
    )?;
    writeln!(s, "  control log: {:>10}", stats.control)?;
    let reasons: Vec<String> = stats
        .quarantined
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if reasons.is_empty() {
        writeln!(s, "  quarantine:  {:>10}", 0)?;
    } else {
        writeln!(
            s,
            "  quarantine:  {:>10}  ({}; reasons in quarantine/reasons/)",
            stats.total_quarantined(),
            reasons.join(", ")
        )?;
    }
    writeln!(
        s,
        "  objects:     {:>10}  → {}",
        totals.objects, totals.sink
    )?;
    for (name, value) in &totals.extra {
        writeln!(s, "  {name}: {value}")?;
    }
    let accounted = stats.total_rows() + stats.control + stats.total_quarantined();
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
    fn labels_are_key_safe() {
        assert_eq!(
            label_of(Path::new("/x/cdc changes.jsonl")),
            "cdc_changes.jsonl"
        );
    }

    #[test]
    fn summary_refuses_unaccounted_records() {
        let mut stats = PipelineStats {
            records: 2,
            control: 1,
            ..PipelineStats::default()
        };
        let totals = Totals {
            elapsed: Duration::from_secs(1),
            objects: 1,
            sink: "dir:x",
            interrupted: false,
            extra: Vec::new(),
        };
        assert!(summary("run", &stats, &totals).is_err());
        stats.rows.insert(("s".into(), "t".into()), 1);
        let text = summary("run", &stats, &totals).unwrap();
        assert!(text.contains("both views:           1  (s.t 1)"), "{text}");
    }
}
