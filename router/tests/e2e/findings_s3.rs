//! `cdc-mask findings compile` with S3 on the moto server: gzip and
//! concatenated EventBridge objects, overrides and output in S3 (written
//! only when changed), every page of a prefix (listed two keys a page), a
//! malformed object; primary keys from the control log of an S3 lake.

use std::path::Path;
use std::process::Output;

use cdc_mask_core::findings::{Compiler, Defaults, Layout};
use cdc_mask_transformer::findings_store::{S3Store, S3Url};
use serde_json::json;

use crate::support::findings::{
    example, firehose_objects, get, gzip, moto_with_findings, put, puts, sample_events, BUCKET,
    OVERRIDES_KEY, POLICY_KEY, PREFIX,
};
use crate::support::MotoServer;

/// `cdc-mask` with `args`, talking to `moto` (through `AWS_ENDPOINT_URL`).
fn cdc_mask(moto: &MotoServer, args: &[&str]) -> Output {
    crate::output_of(args, &moto.aws_env())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn compiling_an_s3_prefix_equals_compiling_the_same_files() {
    let (moto, s3) = moto_with_findings().await;
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("findings");
    for (key, bytes) in firehose_objects() {
        let path = local.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let local_policy = dir.path().join("policy.json");
    let overrides = example("policy-overrides.json");
    let out = cdc_mask(
        &moto,
        &[
            "findings",
            "compile",
            "--overrides",
            s(&overrides),
            "-o",
            s(&local_policy),
            s(&local),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let local_bytes = std::fs::read(&local_policy).unwrap();
    assert_eq!(
        String::from_utf8(local_bytes.clone()).unwrap(),
        std::fs::read_to_string(example("policy.json")).unwrap(),
        "a gzipped file compiles like its text"
    );

    let target = format!("s3://{BUCKET}/{POLICY_KEY}");
    let compile_s3 = || {
        cdc_mask(
            &moto,
            &[
                "findings",
                "compile",
                "--overrides",
                &format!("s3://{BUCKET}/{OVERRIDES_KEY}"),
                "-o",
                &target,
                &format!("s3://{BUCKET}/{PREFIX}"),
            ],
        )
    };
    let out = compile_s3();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("5 sensitive-data finding(s) from 3 source(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(get(&s3, POLICY_KEY).await, local_bytes);
    assert_eq!(puts(&moto, POLICY_KEY), 1);

    // Unchanged: not written again.
    let out = compile_s3();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(unchanged, not written)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(puts(&moto, POLICY_KEY), 1);

    // S3 sources to stdout, and mixed with a local folder: same bytes.
    let out = cdc_mask(
        &moto,
        &[
            "findings",
            "compile",
            "--overrides",
            s(&overrides),
            &format!("s3://{BUCKET}/{PREFIX}2026"),
            s(&local.join("manual")),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, local_bytes);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_a_prefix_is_read() {
    let (moto, s3) = moto_with_findings().await;
    // Three more objects, each a policy finding that is counted and skipped;
    // with the two-key pages asked for below, the prefix's six objects and
    // one folder marker take four pages.
    for n in 0..3 {
        let finding = json!({"schemaVersion": "1.0", "id": format!("p{n}"), "type": "Policy:IAMUser/S3BucketPublic"});
        put(
            &s3,
            &format!("{PREFIX}policy/{n:04}.json"),
            finding.to_string().into_bytes(),
        )
        .await;
    }
    let store = S3Store::new(s3).with_page_size(2);
    let prefix = S3Url::prefix(&format!("s3://{BUCKET}/{PREFIX}")).unwrap();
    let objects = store.list(&prefix).await.unwrap();
    let mut expected: Vec<String> = firehose_objects()
        .into_iter()
        .map(|(key, _)| format!("{PREFIX}{key}"))
        .chain((0..3).map(|n| format!("{PREFIX}policy/{n:04}.json")))
        .collect();
    expected.sort();
    let keys: Vec<&str> = objects.iter().map(|url| url.key.as_str()).collect();
    assert_eq!(
        keys, expected,
        "every object, in key order, no folder marker"
    );
    let pages = moto
        .recorded_requests()
        .iter()
        .filter(|r| {
            let url = r["url"].as_str().unwrap_or("");
            r["method"] == "GET" && url.contains("list-type=2") && url.contains("max-keys=2")
        })
        .count();
    assert_eq!(pages, 4, "seven keys, two a page");

    // What was listed is what gets compiled: the findings and the skipped.
    let mut compiler = Compiler::new(Layout::default(), Defaults::ByType);
    store.add_objects(&mut compiler, &objects).await.unwrap();
    let compiled = compiler.finish(None);
    assert_eq!((compiled.findings, compiled.skipped), (5, 3));
    assert!(compiled.errors.is_empty(), "{:?}", compiled.errors);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_object_is_named_and_nothing_is_written() {
    let (moto, s3) = moto_with_findings().await;
    put(&s3, POLICY_KEY, b"previous policy".to_vec()).await;
    let mut broken = sample_events()[3].clone();
    broken["detail"]["classificationDetails"]["result"]["sensitiveData"] =
        json!("4111 1111 1111 1111");
    let key = format!("{PREFIX}2026/11/28/12/part-c.gz");
    put(
        &s3,
        &key,
        gzip(format!("{}\n{broken}\n", sample_events()[0]).as_bytes()),
    )
    .await;
    let out = cdc_mask(
        &moto,
        &[
            "findings",
            "compile",
            "-o",
            &format!("s3://{BUCKET}/{POLICY_KEY}"),
            &format!("s3://{BUCKET}/{PREFIX}"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let named = format!(
        "s3://{BUCKET}/{key}:2 (finding {}): malformed finding",
        broken["detail"]["id"].as_str().unwrap()
    );
    assert!(err.contains(&named), "{err}");
    assert!(err.contains("nothing written"), "{err}");
    assert!(!err.contains("4111"), "no value in errors: {err}");
    assert_eq!(get(&s3, POLICY_KEY).await, b"previous policy");
    assert_eq!(puts(&moto, POLICY_KEY), 1, "only the test's own PUT");
}

/// Issue 16: the keys come from the control log of an S3 lake, as `run`
/// writes it there (gzip objects under `control/`).
#[tokio::test(flavor = "multi_thread")]
async fn keys_come_from_the_control_log_of_an_s3_lake() {
    let moto = crate::moto_with_lake().await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("changes.jsonl");
    let create_table = r#"{"control":{"table-def":{"columns":{"id":{"type":"INT32","nullable":false},"mail":{"type":"STRING","nullable":true}},"primary-key":["id"]}},"metadata":{"timestamp":"2026-11-29T01:00:00.000000Z","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#;
    std::fs::write(&input, format!("{create_table}\n{}\n", crate::change(1, 0))).unwrap();
    let lake = format!("s3://{}/lake", crate::BUCKET);
    let keyring = dir.path().join("keyring");
    let run = cdc_mask(
        &moto,
        &[
            "run",
            "--source",
            &format!("file:{}", input.display()),
            "--sink",
            &lake,
            "--policy",
            &crate::policy(),
            "--keyring",
            s(&keyring),
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let out = cdc_mask(
        &moto,
        &[
            "findings",
            "compile",
            "--overrides",
            s(&example("policy-overrides.json")),
            s(&example("macie-findings.jsonl")),
            &format!("{lake}/control/"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<_> = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap(), t.get("key").cloned()))
        .collect();
    assert_eq!(
        keys,
        [
            ("bank", None),
            ("card", None),
            ("customer", Some(json!(["id"])))
        ],
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("1 DMS control record(s)"),
        "{}",
        stderr(&out)
    );
}
