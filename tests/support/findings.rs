//! The sample Amazon Macie findings in S3 on the moto server, as the
//! EventBridge → Firehose rule delivers them (gzip, concatenated events, a
//! finding alone), with the sample overrides: what `findings compile
//! s3://…` (router) and the policy Lambda (transformer) read.

use std::io::Write as _;
use std::path::PathBuf;

use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use super::{workspace_root, MotoServer};

/// The findings bucket.
pub const BUCKET: &str = "cdc-mask-findings";
/// Where the findings are, in the bucket.
pub const PREFIX: &str = "findings/";
/// The policy object, in the bucket.
pub const POLICY_KEY: &str = "policy/current.json";
/// The overrides object, in the bucket.
pub const OVERRIDES_KEY: &str = "config/overrides.json";

/// `schemas/examples/<name>`.
pub fn example(name: &str) -> PathBuf {
    workspace_root().join("schemas/examples").join(name)
}

/// The sample EventBridge events, one JSON value each.
pub fn sample_events() -> Vec<Value> {
    std::fs::read_to_string(example("macie-findings.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `bytes`, gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The sample findings as the EventBridge → Firehose rule could deliver
/// them: (relative key, bytes).
pub fn firehose_objects() -> Vec<(String, Vec<u8>)> {
    let events = sample_events();
    let compact = |v: &Value| serde_json::to_string(v).unwrap();
    vec![
        // Gzipped JSON lines, as Firehose writes with GZIP compression.
        (
            "2026/11/28/10/cdc-findings-1-2026-11-28-10-00-00-a.gz".into(),
            gzip(format!("{}\n{}\n", compact(&events[0]), compact(&events[1])).as_bytes()),
        ),
        // Events concatenated without separators, as Firehose writes them
        // uncompressed.
        (
            "2026/11/28/11/cdc-findings-1-2026-11-28-11-00-00-b".into(),
            (compact(&events[2]) + &compact(&events[3])).into_bytes(),
        ),
        // A finding alone, pretty-printed.
        (
            "manual/finding.json".into(),
            serde_json::to_vec_pretty(&events[1]["detail"]).unwrap(),
        ),
    ]
}

/// Writes object `key` of [`BUCKET`].
pub async fn put(s3: &aws_sdk_s3::Client, key: &str, bytes: Vec<u8>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .unwrap();
}

/// Reads object `key` of [`BUCKET`].
pub async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
    let object = s3
        .get_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    object.body.collect().await.unwrap().into_bytes().to_vec()
}

/// A moto with the bucket, the sample findings under [`PREFIX`] (plus a
/// folder marker) and the sample overrides.
pub async fn moto_with_findings() -> (MotoServer, aws_sdk_s3::Client) {
    let moto = MotoServer::start();
    let s3 = moto.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    for (key, bytes) in firehose_objects() {
        put(&s3, &format!("{PREFIX}{key}"), bytes).await;
    }
    put(&s3, &format!("{PREFIX}2026/"), Vec::new()).await;
    put(
        &s3,
        OVERRIDES_KEY,
        std::fs::read(example("policy-overrides.json")).unwrap(),
    )
    .await;
    (moto, s3)
}

/// PUT requests moto served for `key` of [`BUCKET`].
pub fn puts(moto: &MotoServer, key: &str) -> usize {
    let path = format!("/{BUCKET}/{key}");
    moto.recorded_requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["url"].as_str().unwrap_or("").contains(&path))
        .count()
}
