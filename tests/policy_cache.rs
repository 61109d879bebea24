//! The policy cache against S3 on the moto server: a changed policy is
//! picked up after the TTL, an unchanged one costs only conditional GETs (one
//! per TTL), and a policy that cannot be confirmed within its max age fails
//! every record closed.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::{View, ViewMode};
use cdc_mask_transformer::config::{KeySource, Settings};
use cdc_mask_transformer::policy_cache::PolicyLimits;
use cdc_mask_transformer::policy_source::PolicyLocation;
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

/// The masked `mail` value, or the result when it is not `Ok`.
async fn mail(processor: &Processor) -> String {
    let result = processor.process(&event()).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let answer = &response["records"][0];
    if answer["result"] != "Ok" {
        return answer["result"].as_str().unwrap().to_owned();
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
async fn s3_policy_is_cached_refreshed_and_fails_closed() {
    let moto = MotoServer::start();
    for (name, value) in moto.aws_env() {
        std::env::set_var(name, value);
    }
    let s3 = moto.s3().await;
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    put(&s3, policy("redact")).await;
    let keyring = tempfile::tempdir().unwrap();
    let ttl = Duration::from_millis(700);
    let mut settings = Settings::new(
        ViewMode::Fixed(View::Masked),
        PolicyLocation::parse(&format!("s3://{BUCKET}/{KEY}")).unwrap(),
        KeySource::Local(keyring.path().to_path_buf()),
    );
    settings.endpoint_url = Some(moto.endpoint.clone());
    settings.policy_limits = PolicyLimits {
        ttl,
        max_age: Duration::from_secs(3),
    };
    let started = Instant::now();
    let processor = settings.build().await.unwrap();
    println!("cold-start policy load and build: {:?}", started.elapsed());
    assert_eq!(mail(&processor).await, "##################");
    assert_eq!(policy_gets(&moto), (1, 0), "one download at cold start");

    // 1,000 warm invocations with an unchanged policy, spread over a few
    // TTLs: conditional GETs only (answered 304), at most one per TTL.
    let started = Instant::now();
    for _ in 0..1000 {
        assert_eq!(mail(&processor).await, "##################");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await; // let a refresh in flight land
    let (full, conditional) = policy_gets(&moto);
    println!(
        "1,000 warm invocations in {elapsed:?}: {full} full GETs, {conditional} conditional GETs"
    );
    assert_eq!(full, 1, "an unchanged policy is never downloaded again");
    let per_ttl = (elapsed.as_secs_f64() / ttl.as_secs_f64()).ceil() as usize + 1;
    assert!(
        (1..=per_ttl).contains(&conditional),
        "{conditional} conditional GETs in {elapsed:?} (TTL {ttl:?})"
    );

    // A changed policy is taken after the TTL, on a batch boundary.
    put(&s3, policy("token")).await;
    tokio::time::sleep(ttl).await;
    mail(&processor).await; // starts the background refresh
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut taken = mail(&processor).await;
    while !taken.starts_with("tok1_") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        taken = mail(&processor).await;
    }
    assert!(taken.starts_with("tok1_"), "new policy taken: {taken}");
    assert_eq!(policy_gets(&moto).0, 1, "every later GET was conditional");

    // S3 goes away: the last good policy serves until its max age, then
    // every record fails closed.
    drop(moto);
    assert!(mail(&processor).await.starts_with("tok1_"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(mail(&processor).await, "ProcessingFailed");
    let result = processor.process(&event()).await.unwrap();
    assert_eq!(result.stats.failed_policy_stale, 1);
}
