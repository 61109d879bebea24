//! `findings compile` on 10,000 Macie findings: 100 Firehose objects of 100
//! concatenated EventBridge events each (the sample finding of
//! `schemas/examples/macie-findings.jsonl` with its id and scanned object
//! varied over 80 tables), compiled into one policy, as plain text and as
//! the gzip-compressed objects Firehose delivers.
//!
//! `cargo bench --bench findings`; the group reports time per 10,000
//! findings (`Throughput::Elements`).

use std::hint::black_box;
use std::io::Write as _;

use cdc_mask_core::findings::{checked_policy_json, Compiler, Defaults, Layout};
use criterion::{Criterion, Throughput};
use serde_json::Value;

const OBJECTS: usize = 100;
const EVENTS_PER_OBJECT: usize = 100;
const TABLES: usize = 80;

/// The objects: (name, bytes) with [`EVENTS_PER_OBJECT`] events each.
fn objects() -> Vec<(String, Vec<u8>)> {
    let sample = include_str!("../schemas/examples/macie-findings.jsonl");
    let template: Value = serde_json::from_str(sample.lines().next().expect("a sample")).unwrap();
    (0..OBJECTS)
        .map(|o| {
            let mut bytes = Vec::new();
            for e in 0..EVENTS_PER_OBJECT {
                let n = o * EVENTS_PER_OBJECT + e;
                let mut event = template.clone();
                let detail = &mut event["detail"];
                detail["id"] = Value::String(format!("{n:032x}"));
                detail["resourcesAffected"]["s3Object"]["key"] = Value::String(format!(
                    "dataset/table{}/2026/11/28/{n:08}.parquet",
                    n % TABLES
                ));
                serde_json::to_writer(&mut bytes, &event).unwrap();
            }
            (format!("findings/part-{o:03}"), bytes)
        })
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Compiles all objects and renders the checked policy; returns its size.
fn compile(objects: &[(String, Vec<u8>)]) -> usize {
    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    for (name, bytes) in objects {
        compiler.add_source(name, bytes);
    }
    let compiled = compiler.finish(None);
    assert!(compiled.errors.is_empty());
    assert_eq!(compiled.findings, OBJECTS * EVENTS_PER_OBJECT);
    checked_policy_json(&compiled.policy).unwrap().len()
}

fn main() {
    let plain = objects();
    let gzipped: Vec<(String, Vec<u8>)> = plain
        .iter()
        .map(|(name, bytes)| (format!("{name}.gz"), gzip(bytes)))
        .collect();
    let size = |objects: &[(String, Vec<u8>)]| objects.iter().map(|(_, b)| b.len()).sum::<usize>();
    println!(
        "findings={} objects={OBJECTS} tables={TABLES} plain_bytes={} gzip_bytes={}",
        OBJECTS * EVENTS_PER_OBJECT,
        size(&plain),
        size(&gzipped)
    );
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    let mut group = criterion.benchmark_group("findings_compile");
    group.throughput(Throughput::Elements((OBJECTS * EVENTS_PER_OBJECT) as u64));
    group.bench_function("plain", |b| b.iter(|| compile(black_box(&plain))));
    group.bench_function("gzip", |b| b.iter(|| compile(black_box(&gzipped))));
    group.finish();
    criterion.final_summary();
}
