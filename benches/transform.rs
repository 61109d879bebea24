//! Throughput of the Firehose processor on a ~6 MiB transformation event of
//! generated sample-table records, against a "do nothing useful" floor.
//!
//! Groups (single-threaded, `Throughput::Bytes` of the event JSON):
//! - `floor`: parse the event envelope with serde_json; for every record
//!   base64-decode `data`, parse the decoded DMS JSON with simd-json,
//!   base64-encode the decoded bytes again and append an `Ok` answer to a
//!   response of the Firehose shape.
//! - `masked`, `encrypted`: `Processor::process` on a current-thread tokio
//!   runtime, sample policy, local keyring in a temporary directory.
//!
//! After the criterion groups (only under `cargo bench`), one line per view
//! is printed, measured in the same run with interleaved timings
//! (floor, masked, floor, encrypted, … after a warm-up), medians of 20:
//! `view=masked MB/s=… floor_MB/s=… ratio=…` (MB = 10^6 bytes; criterion's
//! own figures are in MiB/s).
//!
//! `CDCMASK_EVENT_BYTES=N` builds an event of at most N bytes instead of
//! 6 MiB (at 6 MiB the processor's response reaches the Lambda limit and
//! some records are answered `ProcessingFailed`; the bench prints how many).
//!
//! `CDCMASK_WRITE_EVENT=/path/event.json cargo bench --bench transform`
//! writes the event and exits without benchmarking, e.g. to measure the CLI:
//! `/usr/bin/time -v target/release/cdc-mask transform-event --view masked
//! --policy schemas/examples/policy.json --keyring DIR --stats /path/event.json`.

#[path = "support/event.rs"]
mod event;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cdc_mask_core::View;
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use cdc_mask_transformer::Processor;
use criterion::{Criterion, Throughput};
use serde_json::value::RawValue;

/// Target size of the event JSON (override: `CDCMASK_EVENT_BYTES`).
const EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Seed of the record generator.
const SEED: u64 = 42;
/// Timed iterations per view for the summary lines.
const SUMMARY_ITERATIONS: usize = 20;

fn main() {
    let max_len = std::env::var("CDCMASK_EVENT_BYTES")
        .ok()
        .map(|v| v.parse().expect("CDCMASK_EVENT_BYTES is a byte count"))
        .unwrap_or(EVENT_BYTES);
    let event = event::build(max_len, SEED);
    if let Some(path) = std::env::var_os("CDCMASK_WRITE_EVENT") {
        let path = PathBuf::from(path);
        event::write_to(&event, &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!(
            "wrote {} ({} bytes, {} records, {} bytes of DMS records)",
            path.display(),
            event.json.len(),
            event.records,
            event.dms_bytes
        );
        return;
    }
    let args: Vec<String> = std::env::args().collect();
    // The summary runs under `cargo bench` only: not in test mode, not for
    // `--list`, not under `--profile-time` (so a profiler sees one group).
    let benchmarking = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--list" || a.starts_with("--profile-time"));

    let keyring = tempfile::tempdir().expect("temporary keyring directory");
    // The policy cache bounds its first load with a timer.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime");
    let masked = processor(&runtime, View::Masked, keyring.path());
    let encrypted = processor(&runtime, View::Encrypted, keyring.path());
    let mut floor = Floor::default();
    let json = &event.json[..];
    eprintln!(
        "event: {} bytes, {} records, {} bytes of DMS records (control records skipped)",
        json.len(),
        event.records,
        event.dms_bytes
    );
    check(&runtime, &masked, &mut floor, json, event.records);
    check(&runtime, &encrypted, &mut floor, json, event.records);

    let mut c = Criterion::default().configure_from_args();
    let bytes = Throughput::Bytes(json.len() as u64);
    {
        let mut group = c.benchmark_group("floor");
        group.throughput(bytes.clone());
        group.sample_size(10);
        group.bench_function("event", |b| b.iter(|| floor.run(black_box(json))));
        group.finish();
    }
    for (name, processor) in [("masked", &masked), ("encrypted", &encrypted)] {
        let mut group = c.benchmark_group(name);
        group.throughput(bytes.clone());
        group.sample_size(10);
        group.bench_function("event", |b| {
            b.iter(|| process(&runtime, processor, black_box(json)).response.len())
        });
        group.finish();
    }
    c.final_summary();

    if benchmarking {
        summary(&runtime, &masked, &encrypted, &mut floor, json);
    }
}

fn processor(runtime: &tokio::runtime::Runtime, view: View, keyring: &Path) -> Processor {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/examples/policy.json");
    let mut settings = SettingsBuilder::from_flags();
    settings
        .set(Setting::View, view.as_str())
        .set(Setting::Policy, policy.display().to_string())
        .set(Setting::Keyring, keyring.display().to_string());
    let settings = settings.build().expect("valid settings");
    runtime
        .block_on(settings.processor())
        .unwrap_or_else(|e| panic!("building the {} processor: {e}", view.as_str()))
}

fn process(
    runtime: &tokio::runtime::Runtime,
    processor: &Processor,
    event: &[u8],
) -> cdc_mask_core::BatchResult {
    runtime
        .block_on(processor.process(event))
        .expect("the event is well-formed and the keyring local")
}

/// Runs each side once and reports what it produced, so the figures can be
/// read against the work actually done (e.g. answers turned
/// `ProcessingFailed` because the response would pass the Lambda limit).
fn check(
    runtime: &tokio::runtime::Runtime,
    processor: &Processor,
    floor: &mut Floor,
    event: &[u8],
    records: usize,
) {
    let result = process(runtime, processor, event);
    let answers: serde_json::Value =
        serde_json::from_slice(&result.response).expect("the response is JSON");
    assert_eq!(answers["records"].as_array().map(Vec::len), Some(records));
    let s = &result.stats;
    eprintln!(
        "{}: records={} rows={} dropped_control={} quarantined={} lost={} bytes_in={} bytes_out={}",
        result.view.map_or("unknown", View::as_str),
        s.records,
        s.rows,
        s.dropped_control,
        s.quarantined_total(),
        s.lost,
        s.bytes_in,
        s.bytes_out
    );
    let floor_len = floor.run(event);
    eprintln!("floor: response bytes={floor_len}");
}

/// The floor's reusable buffers.
#[derive(Default)]
struct Floor {
    decoded: Vec<u8>,
    parse: Vec<u8>,
    buffers: Option<simd_json::Buffers>,
    response: Vec<u8>,
}

impl Floor {
    /// Decodes, parses and re-encodes every record of `event`; returns the
    /// response length.
    ///
    /// The root package has serde_json but not serde's derive, so the
    /// envelope is read into maps: the top level as
    /// `BTreeMap<&str, &RawValue>` (which scans `records` once to delimit
    /// it), then `records` as `Vec<BTreeMap<&str, &RawValue>>`. That second
    /// pass and one small map per record are extra work the processor's
    /// derived, single-pass envelope does not do, so the floor is, if
    /// anything, slightly slow.
    fn run(&mut self, event: &[u8]) -> usize {
        let top: BTreeMap<&str, &RawValue> =
            serde_json::from_slice(event).expect("the event is a JSON object");
        let records: Vec<BTreeMap<&str, &RawValue>> =
            serde_json::from_str(top["records"].get()).expect("records is an array of objects");
        let buffers = self
            .buffers
            .get_or_insert_with(|| simd_json::Buffers::new(4096));
        let out = &mut self.response;
        out.clear();
        out.extend_from_slice(b"{\"records\":[");
        for (i, record) in records.iter().enumerate() {
            let id: Cow<'_, str> =
                serde_json::from_str(record["recordId"].get()).expect("recordId is a string");
            let data: Cow<'_, str> =
                serde_json::from_str(record["data"].get()).expect("data is a string");
            self.decoded.clear();
            STANDARD
                .decode_vec(data.as_bytes(), &mut self.decoded)
                .expect("data is base64");
            self.parse.clear();
            self.parse.extend_from_slice(&self.decoded);
            {
                let value = simd_json::to_borrowed_value_with_buffers(&mut self.parse, buffers)
                    .expect("the DMS record is JSON");
                black_box(&value);
            }
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"recordId\":");
            serde_json::to_writer(&mut *out, &*id).expect("writing to a Vec");
            out.extend_from_slice(b",\"result\":\"Ok\",\"data\":\"");
            let start = out.len();
            out.resize(start + self.decoded.len().div_ceil(3) * 4, 0);
            let written = STANDARD
                .encode_slice(&self.decoded, &mut out[start..])
                .expect("sized for the padded encoding");
            out.truncate(start + written);
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"]}");
        out.len()
    }
}

/// Interleaved timings of the floor and both views, then one line per view.
fn summary(
    runtime: &tokio::runtime::Runtime,
    masked: &Processor,
    encrypted: &Processor,
    floor: &mut Floor,
    event: &[u8],
) {
    let time = |f: &mut dyn FnMut() -> usize| {
        let started = Instant::now();
        black_box(f());
        started.elapsed()
    };
    let mut floor_times = Vec::new();
    let mut masked_times = Vec::new();
    let mut encrypted_times = Vec::new();
    for round in 0..SUMMARY_ITERATIONS + 3 {
        let f1 = time(&mut || floor.run(event));
        let m = time(&mut || process(runtime, masked, event).response.len());
        let f2 = time(&mut || floor.run(event));
        let e = time(&mut || process(runtime, encrypted, event).response.len());
        // The first three rounds are the warm-up.
        if round >= 3 {
            floor_times.extend([f1, f2]);
            masked_times.push(m);
            encrypted_times.push(e);
        }
    }
    let mb_per_s = |times: &mut Vec<Duration>| {
        times.sort();
        let median = times[times.len() / 2].as_secs_f64();
        event.len() as f64 / 1e6 / median
    };
    let floor_rate = mb_per_s(&mut floor_times);
    for (name, times) in [
        ("masked", &mut masked_times),
        ("encrypted", &mut encrypted_times),
    ] {
        let rate = mb_per_s(times);
        println!(
            "view={name} MB/s={rate:.1} floor_MB/s={floor_rate:.1} ratio={:.2}",
            rate / floor_rate
        );
    }
}
