//! `cdc-mask run --source file:… --sink dir:…` end to end against the
//! transformer alone, on the same generated sample-table records.
//!
//! - `transformer`: both views through `Pipeline::process` (chunks of 1024
//!   records, as the file source hands them over) into a sink that discards
//!   the lines; records already in memory, setup not timed.
//! - `run_file_to_dir`: the `run` command in-process, exactly as the CLI
//!   runs it (reader thread, pipeline, batches, files written and renamed
//!   into a fresh local lake), setup (policy, keyring) included.
//!
//! Both use `Throughput::Bytes` of the input. After the criterion groups,
//! one line measured in the same run (interleaved, medians of 3):
//! `records=… run_records_per_s=… run_MB_per_s=… transformer_records_per_s=…
//! ratio=…` (target: ratio ≥ 0.5).
//!
//! `CDCMASK_RUN_RECORDS=N` sets the record count (default 200,000).
//! `CDCMASK_WRITE_RECORDS=/path/records.jsonl` writes the records and exits,
//! e.g. to measure peak RSS of the release binary on 1 M records:
//! `/usr/bin/time -v target/release/cdc-mask run --source file:/path/records.jsonl
//! --sink dir:/tmp/lake --policy schemas/examples/policy.json --keyring /tmp/keyring`.

use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cdc_mask_router::cli::Cli;
use cdc_mask_router::pipeline::{Pipeline, SourceRecord};
use cdc_mask_router::sink::{Partition, Sink};
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use clap::Parser as _;
use criterion::{Criterion, Throughput};

/// Records generated (override: `CDCMASK_RUN_RECORDS`).
const RECORDS: usize = 200_000;
/// Records per pipeline call, as the file source chunks them.
const CHUNK: usize = 1024;
/// Interleaved timings per side for the summary line.
const SUMMARY_ITERATIONS: usize = 3;

fn main() {
    let count = std::env::var("CDCMASK_RUN_RECORDS")
        .ok()
        .map(|v| v.parse().expect("CDCMASK_RUN_RECORDS is a count"))
        .unwrap_or(RECORDS);
    let records: Vec<SourceRecord> = Generator::new(GeneratorConfig::default())
        .take(count)
        .enumerate()
        .map(|(i, bytes)| SourceRecord {
            id: format!("bench:{i}"),
            bytes,
        })
        .collect();
    if let Some(path) = std::env::var_os("CDCMASK_WRITE_RECORDS") {
        write_records(&records, Path::new(&path));
        eprintln!("wrote {count} records to {}", Path::new(&path).display());
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let input = dir.path().join("records.jsonl");
    write_records(&records, &input);
    let bytes = std::fs::metadata(&input).expect("input written").len();
    let keyring = dir.path().join("keyring");
    let lake = dir.path().join("lake");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));
    let mut group = c.benchmark_group("run");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("transformer", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| transformer(&runtime, &records, &keyring))
                .sum()
        })
    });
    group.bench_function("run_file_to_dir", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| run(&runtime, &input, &keyring, &lake))
                .sum()
        })
    });
    group.finish();
    c.final_summary();

    if std::env::args().any(|a| a == "--bench") {
        let mut run_times = Vec::new();
        let mut transformer_times = Vec::new();
        for _ in 0..SUMMARY_ITERATIONS {
            transformer_times.push(transformer(&runtime, &records, &keyring));
            run_times.push(run(&runtime, &input, &keyring, &lake));
        }
        let (run_s, transformer_s) = (median(run_times), median(transformer_times));
        // Precision loss is irrelevant for rates.
        #[allow(clippy::cast_precision_loss)]
        let (n, mb) = (count as f64, bytes as f64 / 1e6);
        eprintln!(
            "records={count} bytes={bytes} run_records_per_s={:.0} run_MB_per_s={:.1} \
             transformer_records_per_s={:.0} transformer_MB_per_s={:.1} ratio={:.2}",
            n / run_s,
            mb / run_s,
            n / transformer_s,
            mb / transformer_s,
            transformer_s / run_s
        );
    }
}

fn write_records(records: &[SourceRecord], path: &Path) {
    let mut out =
        std::io::BufWriter::new(std::fs::File::create(path).expect("create records file"));
    for record in records {
        out.write_all(&record.bytes).expect("write records");
        out.write_all(b"\n").expect("write records");
    }
    out.flush().expect("write records");
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

fn policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/examples/policy.json")
}

/// A sink that only counts.
#[derive(Default)]
struct Discard(usize);

impl Sink for Discard {
    fn write(&mut self, _: Partition<'_>, line: &[u8]) -> std::io::Result<()> {
        self.0 += black_box(line).len();
        Ok(())
    }
}

fn transformer(
    runtime: &tokio::runtime::Runtime,
    records: &[SourceRecord],
    keyring: &Path,
) -> Duration {
    runtime.block_on(async {
        let mut settings = SettingsBuilder::from_flags();
        settings
            .set(Setting::View, "masked")
            .set(Setting::Policy, policy().display().to_string())
            .set(Setting::Keyring, keyring.display().to_string());
        let settings = settings.build().expect("valid settings");
        let mut pipeline = Pipeline::new(settings.load().await.expect("keys and policy"));
        let mut sink = Discard::default();
        let started = Instant::now();
        for chunk in records.chunks(CHUNK) {
            pipeline.process(chunk, &mut sink).await.expect("process");
        }
        let elapsed = started.elapsed();
        black_box(sink.0);
        elapsed
    })
}

fn run(runtime: &tokio::runtime::Runtime, input: &Path, keyring: &Path, lake: &Path) -> Duration {
    let _ = std::fs::remove_dir_all(lake);
    let source = format!("file:{}", input.display());
    let sink = format!("dir:{}", lake.display());
    let policy = policy();
    let cli = Cli::try_parse_from([
        "cdc-mask",
        "run",
        "--source",
        &source,
        "--sink",
        &sink,
        "--policy",
        policy.to_str().expect("UTF-8 path"),
        "--keyring",
        keyring.to_str().expect("UTF-8 path"),
    ])
    .expect("run arguments");
    let started = Instant::now();
    runtime
        .block_on(cdc_mask_router::cmd::run(cli.command))
        .expect("cdc-mask run");
    started.elapsed()
}
