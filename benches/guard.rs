//! Cost of the detection guard on the pure core's transform (masked view,
//! flat shape, single-threaded) over generated sample-table records.
//!
//! Groups (`Throughput::Bytes` of the DMS records):
//! - `guard_listed`: the sample policy, which lists every PII column of the
//!   sample tables, with guard `off` and `protect` (every unlisted column's
//!   values are still scanned).
//! - `guard_unlisted`: an empty policy, so the whole of every table is
//!   unlisted and every value is scanned, `off` and `protect`.
//!
//! After the criterion groups (only under `cargo bench`), one line per
//! policy, measured in the same run with interleaved timings (off, protect,
//! off, … after a warm-up), medians of 20: `guard policy=listed
//! off_MB/s=… protect_MB/s=… cost=…%` (MB = 10^6 bytes). Target: the cost
//! with the listing policy at most 20 %.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cdc_mask_core::keys::TokenKey;
use cdc_mask_core::policy::GuardMode;
use cdc_mask_core::{Policy, Scratch, Shape, Transformer, View};
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};
use criterion::{Criterion, Throughput};

/// Records transformed per iteration.
const RECORDS: usize = 20_000;
/// Timed iterations per side for the summary lines.
const SUMMARY_ITERATIONS: usize = 20;

fn main() {
    let records: Vec<Vec<u8>> = Generator::new(GeneratorConfig {
        seed: 42,
        load_rows_per_table: 100,
    })
    .take(RECORDS)
    .collect();
    let bytes: usize = records.iter().map(Vec::len).sum();
    let listed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/examples/policy.json"))
            .expect("the sample policy");
    let unlisted = br#"{"version":1,"tables":[]}"#.to_vec();
    let benchmarking = std::env::args().any(|a| a == "--bench");

    let mut c = Criterion::default().configure_from_args();
    let mut lines = Vec::new();
    for (name, policy) in [("listed", &listed), ("unlisted", &unlisted)] {
        let off = transformer(policy, GuardMode::Off);
        let protect = transformer(policy, GuardMode::Protect);
        let mut group = c.benchmark_group(format!("guard_{name}"));
        group.throughput(Throughput::Bytes(bytes as u64));
        group.sample_size(10);
        group.bench_function("off", |b| b.iter(|| run(&off, black_box(&records))));
        group.bench_function("protect", |b| b.iter(|| run(&protect, black_box(&records))));
        group.finish();
        if benchmarking {
            lines.push(summary(name, &off, &protect, &records, bytes));
        }
    }
    c.final_summary();
    for line in lines {
        println!("{line}");
    }
}

fn transformer(policy: &[u8], mode: GuardMode) -> Transformer {
    let mut policy = Policy::from_slice(policy).expect("a valid policy");
    policy.set_guard_mode(mode);
    let token_key = TokenKey::new(&[7; 32], 1).expect("a 32-byte key");
    Transformer::new(Arc::new(policy), View::Masked, Shape::Flat, Some(token_key))
        .expect("a token key is given")
}

/// Transforms every record; returns the output length and what the guard
/// caught.
fn run(transformer: &Transformer, records: &[Vec<u8>]) -> (usize, u64) {
    let mut out = Vec::with_capacity(records.len() * 512);
    let mut scratch = Scratch::default();
    for record in records {
        transformer.transform(record, None, &mut out, &mut scratch);
    }
    (out.len(), scratch.guard_tally().total())
}

fn summary(
    name: &str,
    off: &Transformer,
    protect: &Transformer,
    records: &[Vec<u8>],
    bytes: usize,
) -> String {
    let (_, caught) = run(protect, records);
    for _ in 0..3 {
        black_box(run(off, records));
        black_box(run(protect, records));
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..SUMMARY_ITERATIONS {
        for (i, t) in [off, protect].into_iter().enumerate() {
            let start = Instant::now();
            black_box(run(t, records));
            times[i].push(start.elapsed());
        }
    }
    let [off_s, protect_s] = times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    });
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    format!(
        "guard policy={name} records={} off_MB/s={:.1} protect_MB/s={:.1} cost={:.1}% caught={caught}",
        records.len(),
        rate(off_s),
        rate(protect_s),
        100.0 * (1.0 - off_s.as_secs_f64() / protect_s.as_secs_f64()),
    )
}
