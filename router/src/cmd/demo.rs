//! `cdc-mask demo`: generated CDC for the sample tables through both views
//! into a local lake, with a local keyring standing in for KMS.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cdc_mask_core::findings::{Compiled, Compiler, Defaults, Layout, Overrides};

use crate::cli::DemoArgs;
use crate::pipeline::{Pipeline, SourceRecord};
use crate::sink::{Batch, Lake, REASONS_PREFIX};
use crate::source::generate::{Generator, GeneratorConfig};
use crate::summary::Rates;

/// Macie findings for the seed's tables, as EventBridge delivers them.
const SAMPLE_FINDINGS: &str = include_str!("../../../schemas/examples/macie-findings.jsonl");
/// Where [`SAMPLE_FINDINGS`] comes from, for messages.
const SAMPLE_FINDINGS_PATH: &str = "schemas/examples/macie-findings.jsonl";
/// The demo's overrides of the per-type defaults.
const SAMPLE_OVERRIDES: &str = include_str!("../../../schemas/examples/policy-overrides.json");
/// Where [`SAMPLE_OVERRIDES`] comes from, for messages.
const SAMPLE_OVERRIDES_PATH: &str = "schemas/examples/policy-overrides.json";

/// Records per batch (one data-key lookup each).
const BATCH: usize = 4096;

/// Two malformed records the demo slips in, to show the quarantine at work.
const MALFORMED: [&[u8]; 2] = [
    br#"{"data":{"id":1,"mail":"truncated@example.com""#,
    br#"{"hello":"not a DMS record"}"#,
];

pub(super) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.records > 0, "--records must be at least 1");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let policy_path = args.out.join("policy.json");
    let compiled = compile_sample_findings()?;
    std::fs::write(&policy_path, super::findings::render(&compiled.policy)?)
        .with_context(|| format!("cannot write {}", policy_path.display()))?;
    let settings = crate::settings::local(&policy_path, &args.out.join("keyring"))?;
    let mut pipeline = Pipeline::new(crate::settings::load(&settings).await?);
    // One object per partition, `demo.jsonl`, written whole at the end: the
    // demo's sample sizes fit in memory.
    let mut output = Batch::new();
    let mut generator = Generator::new(GeneratorConfig {
        seed: args.seed,
        ..GeneratorConfig::default()
    });
    let total = args.records;
    let malformed_at = [total / 3, 2 * total / 3];
    let mut produced = 0u64;
    let mut busy = Duration::ZERO;
    let mut last_report = Instant::now();
    let mut records = Vec::with_capacity(BATCH);
    while produced < total {
        records.clear();
        while records.len() < BATCH && produced < total {
            let bytes = match malformed_at
                .iter()
                .position(|&at| at == produced && total >= 3)
            {
                Some(i) => MALFORMED[i].to_vec(),
                // The generator never ends.
                None => generator.next().unwrap_or_default(),
            };
            produced += 1;
            records.push(SourceRecord {
                id: format!("generate:{produced}"),
                bytes,
            });
        }
        let started = Instant::now();
        pipeline.process(&records, &mut output).await?;
        busy += started.elapsed();
        if last_report.elapsed() > Duration::from_secs(2) {
            eprintln!("  … {produced} of {total} records");
            last_report = Instant::now();
        }
    }
    let started = Instant::now();
    // The two malformed records are explained by the summary; the demo's
    // lake keeps no reason side file.
    let parts = output
        .take()
        .into_iter()
        .filter(|part| part.prefix != REASONS_PREFIX)
        .collect();
    Lake::Dir(args.out.clone())
        .deliver_parts(parts, "demo")
        .await
        .context("writing the lake")?;
    busy += started.elapsed();
    print!("{}", summary(&args.out, &pipeline, &compiled, busy)?);
    Ok(())
}

/// The demo's policy: the sample findings through `findings compile`, with
/// the sample overrides (equal to `schemas/examples/policy.json`).
fn compile_sample_findings() -> anyhow::Result<Compiled> {
    let overrides = Overrides::from_slice(SAMPLE_OVERRIDES.as_bytes())
        .with_context(|| SAMPLE_OVERRIDES_PATH.to_owned())?;
    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    compiler.add_source(SAMPLE_FINDINGS_PATH, SAMPLE_FINDINGS.as_bytes());
    let compiled = compiler.finish(Some(&overrides));
    if let Some(problem) = compiled.errors.first().or(compiled.warnings.first()) {
        anyhow::bail!("sample findings: {problem}");
    }
    Ok(compiled)
}

fn summary(
    out: &Path,
    pipeline: &Pipeline,
    compiled: &Compiled,
    busy: Duration,
) -> anyhow::Result<String> {
    let stats = pipeline.stats();
    let mut s = String::new();
    writeln!(
        s,
        "cdc-mask demo: {} records masked and encrypted into {} {}",
        stats.records,
        out.display(),
        Rates::of(stats, busy)
    )?;
    writeln!(s, "\nrows per table (each written to both views):")?;
    for ((schema, table), n) in &stats.rows {
        writeln!(s, "  {schema}.{table:<12} {n:>8}")?;
    }
    writeln!(
        s,
        "control records (DDL):      {:>8}  → {}/control/",
        stats.control,
        out.display()
    )?;
    let reasons: Vec<String> = stats
        .quarantined
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    writeln!(
        s,
        "quarantined (sealed):       {:>8}  → {}/quarantine/ ({})",
        stats.total_quarantined(),
        out.display(),
        reasons.join(", ")
    )?;
    writeln!(
        s,
        "\npolicy {}/policy.json, compiled from {} Macie findings ({SAMPLE_FINDINGS_PATH}) \
         and overrides ({SAMPLE_OVERRIDES_PATH}):",
        out.display(),
        compiled.findings
    )?;
    for line in super::findings::column_lines(&compiled.columns) {
        writeln!(s, "  {line}")?;
    }
    let customer = std::fs::read_dir(out.join("masked/dataset/customer"))
        .ok()
        .and_then(|mut dirs| dirs.next())
        .and_then(Result::ok)
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .unwrap_or_else(|| "dt=…".into());
    let o = out.display();
    writeln!(s, "\nlook:")?;
    writeln!(
        s,
        "  head -n 3 {o}/masked/dataset/customer/{customer}/demo.jsonl"
    )?;
    writeln!(
        s,
        "  head -n 3 {o}/encrypted/dataset/customer/{customer}/demo.jsonl"
    )?;
    writeln!(
        s,
        "  cdc-mask decrypt --keyring {o}/keyring {o}/encrypted/dataset/customer/{customer}/demo.jsonl | head -n 3"
    )?;
    Ok(s)
}
