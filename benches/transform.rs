//! Throughput of the Firehose processor on a ~6 MiB transformation event of
//! generated sample-table records, against a "do nothing useful" floor.
//!
//! Groups (single-threaded, `Throughput::Bytes` of the event JSON):
//! - `floor`: the strict floor of issue 15 (see [`Floor`]): simd-json tapes
//!   for the event and every record, SIMD base64 both ways, a hand-written
//!   response, every buffer reused.
//! - `masked`, `encrypted`: `Processor::process` on a current-thread tokio
//!   runtime, sample policy, local keyring in a temporary directory (the
//!   core path).
//! - `handler-masked`, `handler-encrypted`: the Lambda's handler path, from
//!   the event bytes as the runtime hands them over to the response bytes
//!   as `lambda_runtime` 1.x sends them: the event read by the binary's
//!   layer (`lambda::ReadFirstLayer`), the body it leaves deserialized as
//!   the runtime does (`serde_path_to_error` over `serde_json::from_slice`),
//!   the handler's [`answer`], and the response serialized as the runtime
//!   does (`serde_json::to_vec`).
//!
//! After the criterion groups (only under `cargo bench`), one line per view
//! is printed, measured in the same run with interleaved timings
//! (floor, masked, handler, floor, encrypted, handler, loose floor, … after
//! a warm-up), medians of 40: `view=masked MB/s=… floor_MB/s=… ratio=…
//! paired_ratio=… loose_floor_MB/s=… loose_ratio=…` (MB = 10^6 bytes;
//! criterion's own figures are in MiB/s; the loose floor is wave 1's, which
//! issue 11 measures against, see `support/loose_floor.rs`), then one line
//! per view comparing the handler path with the core path: `handler
//! view=masked MB/s=… core_MB/s=… ratio=… paired_ratio=…`. `ratio` divides
//! the two medians; `paired_ratio` is the median of each round's ratio (the
//! view against the floor timed just before it, the handler path against
//! the core path just before it), which a change of load on a shared host
//! between rounds does not move.
//!
//! `CDCMASK_EVENT_BYTES=N` builds an event of at most N bytes instead of
//! 6 MiB (at 6 MiB the processor's response reaches the Lambda limit and
//! the last answers overflow into a sealed bundle; the bench prints how
//! many records it holds as `quarantined`).
//!
//! `CDCMASK_RUN_ONLY=<path>` runs one path five times
//! (`CDCMASK_RUN_TIMES=N`: N times) and nothing else, for instruction counts
//! or `perf` (see [`run_only`]).
//!
//! `CDCMASK_WRITE_EVENT=/path/event.json cargo bench --bench transform`
//! writes the event and exits without benchmarking, e.g. to measure the CLI:
//! `/usr/bin/time -v target/release/cdc-mask transform-event --view masked
//! --policy schemas/examples/policy.json --keyring DIR --stats /path/event.json`.

#[path = "support/event.rs"]
mod event;
#[path = "support/loose_floor.rs"]
mod loose_floor;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cdc_mask_core::firehose::Event;
use cdc_mask_core::View;
use cdc_mask_transformer::lambda::{answer, EventSlot};
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use cdc_mask_transformer::Processor;
use criterion::{Criterion, Throughput};
use simd_json::prelude::*;
use simd_json::Tape;

/// Target size of the event JSON (override: `CDCMASK_EVENT_BYTES`).
const EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Seed of the record generator.
const SEED: u64 = 42;
/// Timed iterations per view for the summary lines.
const SUMMARY_ITERATIONS: usize = 40;

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
    if let Ok(path) = std::env::var("CDCMASK_RUN_ONLY") {
        run_only(&path, &runtime, [&masked, &encrypted], &mut floor, json);
        return;
    }
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
        let mut group = c.benchmark_group(format!("handler-{name}"));
        group.throughput(bytes.clone());
        group.sample_size(10);
        group.bench_function("event", |b| {
            b.iter(|| handler(&runtime, processor, black_box(json)).len())
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

/// The handler path, as the Lambda binary runs it: its layer reads the
/// event first (`EventSlot::keep`, in place of the body the runtime then
/// gets), what `lambda_runtime` 1.x does with that body
/// (`deserializer::deserialize`), the handler's [`answer`], and what the
/// runtime does with the answer (`serde_json::to_vec` of a buffered
/// response).
fn handler(runtime: &tokio::runtime::Runtime, processor: &Processor, event: &[u8]) -> Vec<u8> {
    let slot = EventSlot::default();
    let body = if slot.keep("bench", event) {
        EventSlot::KEPT
    } else {
        event
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let payload: Option<Event> =
        serde_path_to_error::deserialize(&mut deserializer).expect("a Firehose event");
    let event = slot.event("bench", payload).expect("a Firehose event");
    let (response, metrics, _) = runtime
        .block_on(answer(processor, &event))
        .expect("the event is answered");
    black_box(metrics);
    serde_json::to_vec(&response).expect("a response")
}

/// `CDCMASK_RUN_ONLY=<path>`: runs only `path` (`floor`, `masked`,
/// `encrypted`, `handler-masked` or `handler-encrypted`), five times,
/// untimed, and nothing else after the event is built: for instruction
/// counts under `valgrind --tool=callgrind`, which this shared machine's
/// noise does not move (e.g. `callgrind_annotate --inclusive=yes` of
/// `run_only`, one run per path). `CDCMASK_RUN_TIMES=N` runs it N times
/// instead, e.g. for `perf record`.
#[inline(never)]
fn run_only(
    path: &str,
    runtime: &tokio::runtime::Runtime,
    [masked, encrypted]: [&Processor; 2],
    floor: &mut Floor,
    event: &[u8],
) {
    let times = std::env::var("CDCMASK_RUN_TIMES")
        .ok()
        .map_or(5, |v| v.parse().expect("CDCMASK_RUN_TIMES is a count"));
    for _ in 0..times {
        let len = match path {
            "floor" => floor.run(black_box(event)),
            "masked" => process(runtime, masked, black_box(event)).response.len(),
            "encrypted" => process(runtime, encrypted, black_box(event)).response.len(),
            "handler-masked" => handler(runtime, masked, black_box(event)).len(),
            "handler-encrypted" => handler(runtime, encrypted, black_box(event)).len(),
            other => panic!("CDCMASK_RUN_ONLY: unknown path {other:?}"),
        };
        black_box(len);
    }
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
    row_sizes(&answers);
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
    let body = handler(runtime, processor, event);
    if result.view == Some(View::Masked) && s.quarantined_total() == 0 {
        // Masked answers with nothing sealed are a function of the event:
        // the handler sends the core's bytes as they are.
        assert_eq!(
            body, result.response,
            "the handler path changed the response"
        );
    } else {
        assert_eq!(body.len(), result.response.len());
    }
}

/// Prints the mean bytes of the view's rows (decoded output lines, newline
/// included) and, when they carry a wrapped data key, of `_key`, with what
/// a row would weigh with a legacy KMS `GenerateDataKey` descriptor
/// (`kms:` and the base64 of a 184-byte ciphertext blob: 252 bytes).
fn row_sizes(answers: &serde_json::Value) {
    const LEGACY_KEY_LEN: usize = 4 + 184usize.div_ceil(3) * 4;
    let (mut rows, mut bytes, mut key_bytes) = (0usize, 0usize, 0usize);
    let mut view = "";
    for answer in answers["records"].as_array().into_iter().flatten() {
        let keys = &answer["metadata"]["partitionKeys"];
        let Some(v @ ("masked" | "encrypted")) = keys["view"].as_str() else {
            continue;
        };
        view = v;
        let data = answer["data"].as_str().expect("data is a string");
        let line = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("data is base64");
        let row: serde_json::Value = serde_json::from_slice(&line).expect("a row is JSON");
        rows += 1;
        bytes += line.len();
        // `_key` and its quotes, name and comma.
        key_bytes += row["_key"].as_str().map_or(0, |k| k.len() + 10);
    }
    if rows == 0 {
        return;
    }
    let (mean, key) = (bytes as f64 / rows as f64, key_bytes as f64 / rows as f64);
    if key_bytes == 0 {
        eprintln!("{view}: rows={rows} bytes_per_row={mean:.1}");
    } else {
        let legacy = mean - key + (LEGACY_KEY_LEN + 10) as f64;
        eprintln!(
            "{view}: rows={rows} bytes_per_row={mean:.1} key_field_bytes={key:.1} bytes_per_row_with_legacy_kms_key={legacy:.1}"
        );
    }
}

/// The strict floor (issue 15): the least work a correct Firehose
/// transformer must do, with no masking, every buffer reused.
///
/// 1. the event is parsed with simd-json's tape (`fill_tape`, no DOM);
/// 2. each record's `data` is decoded with `base64-simd`, then parsed
///    fully with simd-json's tape (which validates it);
/// 3. `metadata.record-type`, `schema-name` and `table-name` are read;
/// 4. the ORIGINAL record bytes are base64-encoded (SIMD) into the
///    response, with `recordId`, `result` and `metadata.partitionKeys`
///    written by hand;
/// 5. the event copy, decode and parse buffers, simd-json's buffers, both
///    tapes and the response are reused: nothing is allocated per record.
struct Floor {
    /// simd-json parses in place: the event is copied here first.
    event: Vec<u8>,
    decoded: Vec<u8>,
    parse: Vec<u8>,
    buffers: simd_json::Buffers,
    event_tape: Option<Tape<'static>>,
    record_tape: Option<Tape<'static>>,
    response: Vec<u8>,
}

impl Default for Floor {
    fn default() -> Self {
        Floor {
            event: Vec::new(),
            decoded: Vec::new(),
            parse: Vec::new(),
            buffers: simd_json::Buffers::new(64 * 1024),
            event_tape: None,
            record_tape: None,
            response: Vec::new(),
        }
    }
}

impl Floor {
    /// Decodes, parses and re-encodes every record of `event`; returns the
    /// response length.
    fn run(&mut self, event: &[u8]) -> usize {
        self.event.clear();
        self.event.extend_from_slice(event);
        let mut event_tape = self
            .event_tape
            .take()
            .unwrap_or_else(|| Tape(Vec::new()))
            .reset();
        simd_json::fill_tape(&mut self.event, &mut self.buffers, &mut event_tape)
            .expect("the event is JSON");
        let mut record_tape = self.record_tape.take().unwrap_or_else(|| Tape(Vec::new()));
        let out = &mut self.response;
        out.clear();
        out.extend_from_slice(b"{\"records\":[");
        // `get("…")` then `as_array()`: simd-json 0.15.1's `get_array` and
        // `get_object` cut the container's last node off.
        let records = event_tape
            .as_value()
            .get("records")
            .and_then(|v| v.as_array())
            .expect("records is an array");
        for (i, record) in records.iter().enumerate() {
            let id = record.get_str("recordId").expect("recordId is a string");
            let data = record.get_str("data").expect("data is a string");
            self.decoded.clear();
            base64_simd::STANDARD
                .decode_append(data, &mut self.decoded)
                .expect("data is base64");
            self.parse.clear();
            self.parse.extend_from_slice(&self.decoded);
            let mut tape = record_tape.reset();
            simd_json::fill_tape(&mut self.parse, &mut self.buffers, &mut tape)
                .expect("the DMS record is JSON");
            let metadata = tape
                .as_value()
                .get("metadata")
                .and_then(|v| v.as_object())
                .expect("metadata is an object");
            let text = |name: &str| {
                metadata
                    .get(name)
                    .and_then(|v| v.into_string())
                    .unwrap_or("")
            };
            let result: &[u8] = if text("record-type") == "data" {
                b"Ok"
            } else {
                b"Dropped"
            };
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"recordId\":");
            write_json_string(out, id);
            out.extend_from_slice(b",\"result\":\"");
            out.extend_from_slice(result);
            out.extend_from_slice(b"\",\"data\":\"");
            base64_simd::STANDARD.encode_append(&self.decoded, out);
            out.extend_from_slice(b"\",\"metadata\":{\"partitionKeys\":{\"schema\":");
            write_json_string(out, text("schema-name"));
            out.extend_from_slice(b",\"table\":");
            write_json_string(out, text("table-name"));
            out.extend_from_slice(b"}}}");
            record_tape = tape.reset();
        }
        out.extend_from_slice(b"]}");
        self.event_tape = Some(event_tape.reset());
        self.record_tape = Some(record_tape);
        out.len()
    }
}

/// Appends `value` as a JSON string: copied as is when nothing needs an
/// escape (the common case), else escaped byte by byte.
fn write_json_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.extend_from_slice(value.as_bytes());
    } else {
        for b in value.bytes() {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0..0x20 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                _ => out.push(b),
            }
        }
    }
    out.push(b'"');
}

/// Interleaved timings of the floor and both views, then one line per view.
fn summary(
    runtime: &tokio::runtime::Runtime,
    masked: &Processor,
    encrypted: &Processor,
    floor: &mut Floor,
    event: &[u8],
) {
    // Seconds.
    let time = |f: &mut dyn FnMut() -> usize| {
        let started = Instant::now();
        black_box(f());
        started.elapsed().as_secs_f64()
    };
    let mut floor_times = Vec::new();
    let mut loose = loose_floor::LooseFloor::default();
    let mut loose_times = Vec::new();
    let mut views = [Rounds::default(), Rounds::default()];
    for round in 0..SUMMARY_ITERATIONS + 3 {
        for (view, processor) in views.iter_mut().zip([masked, encrypted]) {
            let floor_time = time(&mut || floor.run(event));
            let core_time = time(&mut || process(runtime, processor, event).response.len());
            let handler_time = time(&mut || handler(runtime, processor, event).len());
            // The first three rounds are the warm-up.
            if round >= 3 {
                floor_times.push(floor_time);
                view.push(floor_time, core_time, handler_time);
            }
        }
        let l = time(&mut || loose.run(event));
        if round >= 3 {
            loose_times.push(l);
        }
    }
    let mb_per_s = |times: &mut Vec<f64>| event.len() as f64 / 1e6 / median(times);
    let floor_rate = mb_per_s(&mut floor_times);
    let loose_rate = mb_per_s(&mut loose_times);
    for (name, view) in ["masked", "encrypted"].into_iter().zip(&mut views) {
        let rate = mb_per_s(&mut view.core);
        println!(
            "view={name} MB/s={rate:.1} floor_MB/s={floor_rate:.1} ratio={:.2} paired_ratio={:.2} loose_floor_MB/s={loose_rate:.1} loose_ratio={:.2}",
            rate / floor_rate,
            median(&mut view.core_per_floor),
            rate / loose_rate
        );
        let handler_rate = mb_per_s(&mut view.handler);
        println!(
            "handler view={name} MB/s={handler_rate:.1} core_MB/s={rate:.1} ratio={:.2} paired_ratio={:.2}",
            handler_rate / rate,
            median(&mut view.handler_per_core)
        );
    }
}

/// One view's timings in the summary, round by round.
#[derive(Default)]
struct Rounds {
    /// The core path's times, in seconds.
    core: Vec<f64>,
    /// The handler path's times, in seconds.
    handler: Vec<f64>,
    /// Each round's speed of the core path over the floor's, timed just
    /// before it: immune to the host's load changing between rounds.
    core_per_floor: Vec<f64>,
    /// Each round's speed of the handler path over the core path's.
    handler_per_core: Vec<f64>,
}

impl Rounds {
    /// Records one round: the floor, then the core path, then the handler
    /// path, timed one after another.
    fn push(&mut self, floor: f64, core: f64, handler: f64) {
        self.core_per_floor.push(floor / core);
        self.handler_per_core.push(core / handler);
        self.core.push(core);
        self.handler.push(handler);
    }
}

/// The median of `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
