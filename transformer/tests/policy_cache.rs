//! The policy cache against S3 on the moto server: a changed policy is
//! picked up after the TTL, an unchanged one costs only conditional GETs (at
//! most one per TTL), and a policy that cannot be confirmed within its max
//! age seals every record (reason `policy_unavailable`) until S3 answers
//! again. Real time here, kept short: the paused-clock cases (an idle
//! instance, a policy missing at cold start) are the cache's unit tests.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_transformer::aws::Aws;
use cdc_mask_transformer::settings::{Setting, SettingsBuilder};
use cdc_mask_transformer::Processor;
use serde_json::{json, Value};
use support::MotoServer;

const BUCKET: &str = "cdc-mask-policies";
const KEY: &str = "policy/current.json";

fn policy(mail_action: &str) -> String {
    json!({"version": 1, "tables": [{"schema": "dataset", "table": "customer", "columns": {"mail": {"masked": mail_action}}}]})
        .to_string()
}

fn event() -> Vec<u8> {
    let record = br#"{"data":{"id":1,"mail":"ann@example.com"},"metadata":{"timestamp":"2026-11-28T00:00:00.000000Z","record-type":"data","operation":"insert","schema-name":"dataset","table-name":"customer"}}"#;
    serde_json::to_vec(&json!({"records": [{"recordId": "1", "data": BASE64.encode(record)}]}))
        .unwrap()
}

/// The masked `mail` value, or the view of the answer when it is not a row.
async fn mail(processor: &Processor) -> String {
    let result = processor.process(&event()).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let answer = &response["records"][0];
    assert_eq!(answer["result"], "Ok", "never anything but Ok here");
    let view = &answer["metadata"]["partitionKeys"]["view"];
    if view != "masked" {
        return view.as_str().unwrap().to_owned();
    }
    let row: Value =
        serde_json::from_slice(&BASE64.decode(answer["data"].as_str().unwrap()).unwrap()).unwrap();
    row["mail_masked"].as_str().unwrap().to_owned()
}

/// (unconditional GETs, conditional GETs with `If-None-Match`) of the
/// policy object so far.
fn policy_gets(moto: &MotoServer) -> (usize, usize) {
    let gets: Vec<Value> = moto
        .recorded_requests()
        .into_iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["url"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("/{BUCKET}/{KEY}"))
        })
        .collect();
    let conditional = gets
        .iter()
        .filter(|r| {
            r["headers"]
                .as_object()
                .unwrap()
                .keys()
                .any(|h| h.eq_ignore_ascii_case("if-none-match"))
        })
        .count();
    (gets.len() - conditional, conditional)
}

async fn put(s3: &aws_sdk_s3::Client, body: String) {
    s3.put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_policy_is_cached_refreshed_and_sealed_when_stale() {
    let moto = MotoServer::start();
    let s3 = moto.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    put(&s3, policy("redact")).await;
    let keyring = tempfile::tempdir().unwrap();
    let ttl = Duration::from_millis(100);
    let mut builder = SettingsBuilder::from_flags();
    builder
        .set(Setting::View, "masked")
        .set(Setting::Policy, format!("s3://{BUCKET}/{KEY}"))
        .set(Setting::Keyring, keyring.path().display().to_string())
        .set(Setting::PolicyMaxAge, "1");
    let mut settings = builder.build().unwrap();
    settings.policy_limits.ttl = ttl;
    settings.aws = Some(Aws::from_config(&moto.sdk_config().await));
    let processor = settings.processor().await.unwrap();
    assert_eq!(mail(&processor).await, "##################");
    assert_eq!(policy_gets(&moto), (1, 0), "one download at cold start");

    // 300 warm invocations with an unchanged policy over a few TTLs:
    // conditional GETs only (answered 304), at most one per TTL.
    let started = Instant::now();
    for _ in 0..300 {
        assert_eq!(mail(&processor).await, "##################");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(50)).await; // a refresh in flight lands
    let (full, conditional) = policy_gets(&moto);
    assert_eq!(full, 1, "an unchanged policy is never downloaded again");
    let per_ttl = (elapsed.as_secs_f64() / ttl.as_secs_f64()).ceil() as usize + 1;
    assert!(
        (1..=per_ttl).contains(&conditional),
        "{conditional} conditional GETs in {elapsed:?} (TTL {ttl:?})"
    );

    // A changed policy is taken after the TTL, on a batch boundary.
    put(&s3, policy("token")).await;
    tokio::time::sleep(ttl).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut taken = mail(&processor).await;
    while !taken.starts_with("tok1_") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        taken = mail(&processor).await;
    }
    assert!(taken.starts_with("tok1_"), "new policy taken: {taken}");
    assert_eq!(policy_gets(&moto).0, 1, "every later GET was conditional");

    // S3 goes away: the last good policy serves until its max age, then
    // every record is sealed into the quarantine, never failed back.
    drop(moto);
    assert!(mail(&processor).await.starts_with("tok1_"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(mail(&processor).await, "quarantine");
    let result = processor.process(&event()).await.unwrap();
    assert_eq!(
        result.stats.quarantined,
        vec![(cdc_mask_core::Reason::PolicyUnavailable, 1)]
    );
}
