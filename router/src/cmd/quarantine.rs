//! `cdc-mask quarantine list|reprocess`: the quarantine counted, and what a
//! transient cause sealed brought back through both views.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _};
use cdc_mask_transformer::keys::{KmsKeys, LocalKeyring, UnwrapCache, Unwrapper};

use super::shared;
use crate::aws::LazyAws;
use crate::cli::{KeyArgs, QuarantineCommand, QuarantineListArgs, QuarantineReprocessArgs};
use crate::pipeline::Pipeline;
use crate::progress::{Progress, Reporter};
use crate::quarantine::{self, Listing, Reprocess, Reprocessed, Store};
use crate::sink::{LakeSpec, Output, OutputSpec};
use crate::summary::Rates;

pub(super) async fn run(command: QuarantineCommand) -> anyhow::Result<()> {
    match command {
        QuarantineCommand::List(args) => list(args).await,
        QuarantineCommand::Reprocess(args) => reprocess(*args).await,
    }
}

async fn list(args: QuarantineListArgs) -> anyhow::Result<()> {
    let spec = lake_spec(&args.lake)?;
    let aws = LazyAws::new(args.endpoint_url.clone());
    let listing = quarantine::list(&Store::open(&spec, &aws).await).await?;
    print!("{}", listing_text(&args.lake, &listing, args.objects)?);
    Ok(())
}

/// `list`'s report: counts by reason, optionally by object.
fn listing_text(lake: &str, listing: &Listing, objects: bool) -> anyhow::Result<String> {
    let by_reason = listing.by_reason();
    let records: u64 = by_reason.values().map(|c| c.records).sum();
    let lines: u64 = by_reason.values().map(|c| c.lines).sum();
    let mut s = String::new();
    writeln!(
        s,
        "quarantine of {lake}: {records} records in {lines} sealed lines, {} objects",
        listing.objects.len()
    )?;
    if !by_reason.is_empty() {
        writeln!(
            s,
            "  {:<22} {:>10} {:>10}  reprocess",
            "reason", "records", "lines"
        )?;
    }
    for (reason, count) in &by_reason {
        let verdict = if quarantine::is_transient(reason) {
            "yes"
        } else {
            "no: its own bytes"
        };
        writeln!(
            s,
            "  {reason:<22} {:>10} {:>10}  {verdict}",
            count.records, count.lines
        )?;
    }
    if objects {
        for object in &listing.objects {
            let counts: Vec<String> = object
                .reasons
                .iter()
                .map(|(reason, c)| format!("{reason} {}", c.records))
                .collect();
            writeln!(
                s,
                "  {}: {} (records {} … {})",
                object.name,
                counts.join(", "),
                object.first_id,
                object.last_id
            )?;
        }
    }
    let unreadable = listing.unreadable();
    if unreadable > 0 {
        let at: Vec<String> = listing
            .objects
            .iter()
            .flat_map(|o| o.unreadable.iter().map(move |n| format!("{}:{n}", o.name)))
            .take(5)
            .collect();
        writeln!(
            s,
            "  {unreadable} lines are not quarantine records (first: {})",
            at.join(", ")
        )?;
    }
    Ok(s)
}

async fn reprocess(args: QuarantineReprocessArgs) -> anyhow::Result<()> {
    let spec = lake_spec(&args.lake)?;
    let sink = args.sink.clone().unwrap_or_else(|| args.lake.clone());
    let output_spec = OutputSpec::parse(&sink, None)?;
    let settings = shared::settings("masked", &args.policy, &args.shape, &args.keys)?;
    let export = match &args.export_unsealed {
        Some(path) => Some(export_file(path)?),
        None => None,
    };
    let aws = LazyAws::new(args.keys.endpoint_url.clone());
    let unwrapper = unwrapper(&args.keys, &aws).await?;
    let store = Store::open(&spec, &aws).await;
    let output = Arc::new(Output::open(&output_spec, &aws).await?);
    let pipeline = Pipeline::new(crate::settings::load(&settings).await?);
    let progress = Progress::new(None);
    let reporter = Reporter::start(Arc::clone(&progress));
    let started = Instant::now();
    let result = Reprocess {
        keys: UnwrapCache::new(unwrapper),
        pipeline,
        output,
        export,
        progress,
    }
    .run(&store)
    .await;
    reporter.finish();
    let done = result?;
    print!(
        "{}",
        reprocess_text(&done, started, &sink, args.export_unsealed.as_deref())?
    );
    Ok(())
}

/// `reprocess`'s summary, with the same accounting as `run`: every sealed
/// record ends in exactly one place.
fn reprocess_text(
    done: &Reprocessed,
    started: Instant,
    sink: &str,
    export: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let stats = &done.stats;
    let mut s = String::new();
    writeln!(
        s,
        "cdc-mask quarantine reprocess: {} sealed records in {} objects {}",
        done.records(),
        done.objects_read,
        Rates::of(stats, started.elapsed())
    )?;
    writeln!(s, "  taken back:        {:>10}", stats.records)?;
    writeln!(
        s,
        "    both views:      {:>10}  ({})",
        stats.total_rows(),
        stats.rows_by_table()
    )?;
    writeln!(s, "    control log:     {:>10}", stats.control)?;
    writeln!(
        s,
        "    sealed again:    {:>10}  ({})",
        stats.total_quarantined(),
        stats.quarantined_by_reason()
    )?;
    let left: Vec<String> = done.left.iter().map(|(r, n)| format!("{r} {n}")).collect();
    writeln!(
        s,
        "  left sealed:       {:>10}  ({})",
        done.left.values().sum::<u64>(),
        left.join(", ")
    )?;
    if let Some(path) = export {
        writeln!(
            s,
            "    of which exported unsealed to {}: {}",
            path.display(),
            done.exported
        )?;
    }
    writeln!(
        s,
        "  objects written:   {:>10}  → {sink}",
        done.objects_written
    )?;
    if !done.unreadable.is_empty() {
        writeln!(
            s,
            "  {} lines are not quarantine records (first: {})",
            done.unreadable.len(),
            done.unreadable[0]
        )?;
    }
    let accounted = stats.accounted();
    if accounted != stats.records {
        bail!(
            "accounting mismatch: {} records taken back, {accounted} accounted for",
            stats.records
        );
    }
    Ok(s)
}

/// The lake argument: `dir:PATH` or `s3://bucket/prefix`, the prefix that
/// holds `quarantine/` (a trailing `/quarantine` is taken off).
fn lake_spec(text: &str) -> anyhow::Result<LakeSpec> {
    let trimmed = text.trim_end_matches('/');
    let root = trimmed.strip_suffix("/quarantine").unwrap_or(trimmed);
    LakeSpec::parse(root)
        .map_err(|_| anyhow::anyhow!("{text}: not a lake; use dir:PATH or s3://bucket/prefix"))
}

/// What unseals quarantine lines: the keyring, or KMS with the quarantine
/// key named (never whatever key a sealed line names).
async fn unwrapper(keys: &KeyArgs, aws: &LazyAws) -> anyhow::Result<Arc<dyn Unwrapper>> {
    match (&keys.keyring, &keys.quarantine_kms_key_id) {
        (Some(dir), _) => Ok(Arc::new(LocalKeyring::open_existing(dir)?)),
        (None, Some(_)) => Ok(Arc::new(KmsKeys::new(
            aws.get().await.kms(),
            keys.kms_key_id.clone(),
            keys.quarantine_kms_key_id.clone(),
        ))),
        (None, None) => {
            bail!("unsealing needs the admin keys: --keyring DIR, or --quarantine-kms-key-id ID")
        }
    }
}

/// The export file: local, new, readable by its owner only.
fn export_file(path: &std::path::Path) -> anyhow::Result<Box<dyn std::io::Write + Send>> {
    let text = path.to_string_lossy();
    if text.starts_with("s3:") || text.contains("://") {
        bail!("--export-unsealed {text}: unsealed records go to a local file only");
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .with_context(|| format!("--export-unsealed {}: cannot create it", path.display()))?;
    Ok(Box::new(std::io::BufWriter::new(file)))
}
