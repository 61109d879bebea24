//! Findings in S3 on the moto server: `cdc-mask findings compile s3://…`
//! (gzip and concatenated EventBridge objects, overrides and output in S3,
//! every page of a large prefix, a malformed object), the real
//! `cdc-mask-policy-lambda` over the Lambda runtime API, and the chain to
//! the real `cdc-mask-lambda` reading the policy it writes.

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};
use support::{cargo_bin, validate_json_schema, workspace_root, MotoServer, RuntimeApi};

const BUCKET: &str = "cdc-mask-findings";
const PREFIX: &str = "findings/";
const POLICY_KEY: &str = "policy/current.json";
const OVERRIDES_KEY: &str = "config/overrides.json";
const WAIT: Duration = Duration::from_secs(60);

fn example(name: &str) -> std::path::PathBuf {
    workspace_root().join("schemas/examples").join(name)
}

/// The sample EventBridge events, one JSON value each.
fn sample_events() -> Vec<Value> {
    std::fs::read_to_string(example("macie-findings.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The sample findings as the EventBridge → Firehose rule could deliver
/// them: (relative key, bytes).
fn firehose_objects() -> Vec<(String, Vec<u8>)> {
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

async fn put(s3: &aws_sdk_s3::Client, key: &str, bytes: Vec<u8>) {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, key: &str) -> Vec<u8> {
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
async fn moto_with_findings() -> (MotoServer, aws_sdk_s3::Client) {
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

/// `cdc-mask` with `args`, talking to `moto` (through `AWS_ENDPOINT_URL`).
fn cdc_mask(moto: &MotoServer, args: &[&str]) -> Output {
    Command::new(cargo_bin("cdc-mask"))
        .args(args)
        .env_remove("CDCMASK_KEYRING")
        .env_remove("CDCMASK_KMS_KEY_ID")
        .envs(moto.aws_env())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// PUT requests moto served for `key` of [`BUCKET`].
fn puts(moto: &MotoServer, key: &str) -> usize {
    let path = format!("/{BUCKET}/{key}");
    moto.recorded_requests()
        .iter()
        .filter(|r| r["method"] == "PUT" && r["url"].as_str().unwrap_or("").contains(&path))
        .count()
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
async fn every_page_of_a_large_prefix_is_read() {
    let (moto, s3) = moto_with_findings().await;
    // 1,001 more objects (ListObjectsV2 returns at most 1,000 per page),
    // each a policy finding that is counted and skipped.
    let mut uploads = tokio::task::JoinSet::new();
    for n in 0..1001 {
        let s3 = s3.clone();
        uploads.spawn(async move {
            let finding = json!({"schemaVersion": "1.0", "id": format!("p{n}"), "type": "Policy:IAMUser/S3BucketPublic"});
            put(&s3, &format!("{PREFIX}policy/{n:04}.json"), finding.to_string().into_bytes()).await;
        });
        if uploads.len() >= 16 {
            uploads.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = uploads.join_next().await {
        done.unwrap();
    }
    let out = cdc_mask(
        &moto,
        &["findings", "compile", &format!("s3://{BUCKET}/{PREFIX}")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    assert!(
        summary.contains(
            "5 sensitive-data finding(s) from 1004 source(s), 1001 other finding(s) skipped"
        ),
        "{summary}"
    );
    let lists = moto
        .recorded_requests()
        .iter()
        .filter(|r| r["method"] == "GET" && r["url"].as_str().unwrap_or("").contains("list-type=2"))
        .count();
    assert_eq!(lists, 2, "two pages");
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

// ---------------------------------------------------------------------------
// The policy Lambda
// ---------------------------------------------------------------------------

/// A Lambda binary running against its own runtime API, logging to a file.
struct Lambda {
    child: Child,
    api: RuntimeApi,
    log: tempfile::NamedTempFile,
}

impl Lambda {
    fn start(binary: &str, env: &[(&str, String)]) -> Lambda {
        let api = RuntimeApi::start();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(cargo_bin(binary))
            .env_clear()
            .envs(api.lambda_env())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        Lambda { child, api, log }
    }

    fn invoke(&self, event: &Value) -> support::Invocation {
        let id = self.api.invoke(event.to_string().into_bytes());
        self.api.wait(&id, WAIT)
    }

    fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log.path()).unwrap()).into_owned()
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn policy_lambda_env(moto: &MotoServer) -> Vec<(&'static str, String)> {
    let mut env = moto.aws_env();
    env.extend([
        ("CDCMASK_FINDINGS", format!("s3://{BUCKET}/{PREFIX}")),
        ("CDCMASK_POLICY", format!("s3://{BUCKET}/{POLICY_KEY}")),
        (
            "CDCMASK_POLICY_OVERRIDES",
            format!("s3://{BUCKET}/{OVERRIDES_KEY}"),
        ),
    ]);
    env
}

fn s3_notification(key: &str) -> Value {
    json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-28T10:05:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}")},
               "object": {"key": key, "size": 1024}}}]})
}

fn scheduled_event() -> Value {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "111122223333", "time": "2026-11-28T10:10:00Z",
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:111122223333:rule/cdc-policy"], "detail": {}})
}

fn response(invocation: support::Invocation) -> Value {
    serde_json::from_slice(&invocation.expect_response()).unwrap()
}

/// A new finding: `phone` of dataset.customer, a column the samples lack.
fn phone_finding() -> Value {
    let mut event = sample_events()[0].clone();
    event["id"] = json!("7b0e2c55-1f0a-4e43-9c3e-3f1c9a2b5d10");
    let detail = &mut event["detail"];
    detail["id"] = json!("0f5e9a7c3b2d41e6a8c7b6d5e4f3a2b1");
    detail["classificationDetails"]["result"]["sensitiveData"] = json!([{
        "category": "PERSONAL_INFORMATION", "totalCount": 2,
        "detections": [{"type": "PHONE_NUMBER", "count": 2, "occurrences": {"records": [
            {"jsonPath": "$.phone", "recordIndex": 0}, {"jsonPath": "$.phone", "recordIndex": 1}]}}]}]);
    detail["classificationDetails"]["result"]["customDataIdentifiers"] =
        json!({"totalCount": 0, "detections": []});
    event
}

/// A Firehose event of one dataset.customer insert.
fn customer_event() -> Value {
    let record = json!({
        "data": {"id": 11, "name": "Ann Lee", "phone": "+1 206 555 0100"},
        "metadata": {"timestamp": "2026-11-28T10:20:00.000000Z", "record-type": "data", "operation": "insert",
                     "partition-key-type": "schema-table", "schema-name": "dataset", "table-name": "customer"}
    });
    json!({
        "invocationId": "5b9f0d5e-2f6c-4d8e-9d4a-1c2b3a4d5e6f",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/cdc-masked",
        "region": "us-east-1",
        "records": [{"recordId": "1", "approximateArrivalTimestamp": 1_764_325_200_000_u64,
                     "data": BASE64.encode(record.to_string())}]
    })
}

/// The masked row the Firehose Lambda wrote for [`customer_event`].
fn masked_row(lambda: &Lambda) -> Value {
    let answer = &response(lambda.invoke(&customer_event()))["records"][0];
    assert_eq!(answer["result"], "Ok", "{answer}");
    serde_json::from_slice(&BASE64.decode(answer["data"].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_lambda_writes_only_changes_and_fails_closed() {
    let (moto, s3) = moto_with_findings().await;
    let policy_lambda = Lambda::start("cdc-mask-policy-lambda", &policy_lambda_env(&moto));

    // First invocation: the policy is compiled and written.
    let first = response(policy_lambda.invoke(&s3_notification("findings/x")));
    assert_eq!(first["written"], true, "{first}");
    assert_eq!(
        (first["objects"].as_u64(), first["findings"].as_u64()),
        (Some(3), Some(5))
    );
    let policy = get(&s3, POLICY_KEY).await;
    assert_eq!(
        String::from_utf8(policy.clone()).unwrap(),
        std::fs::read_to_string(example("policy.json")).unwrap(),
        "the Lambda compiles as the CLI does"
    );
    assert_eq!(first["added"].as_u64(), first["columns"].as_u64());
    let schema = workspace_root().join("schemas/policy.schema.json");
    assert_eq!(
        validate_json_schema(&schema, &[String::from_utf8(policy.clone()).unwrap()]),
        [true]
    );
    assert_eq!(puts(&moto, POLICY_KEY), 1);

    // The transformer reads that policy: `phone` is not protected yet.
    let keyring = tempfile::tempdir().unwrap();
    let mut transformer_env = moto.aws_env();
    transformer_env.extend([
        ("CDCMASK_POLICY", format!("s3://{BUCKET}/{POLICY_KEY}")),
        ("CDCMASK_KEYRING", keyring.path().display().to_string()),
        ("CDCMASK_VIEW", "masked".to_owned()),
        ("CDCMASK_POLICY_TTL", "1".to_owned()),
    ]);
    let transformer = Lambda::start("cdc-mask-lambda", &transformer_env);
    let row = masked_row(&transformer);
    assert_eq!(row["name_masked"], "##################");
    assert_eq!(row["phone"], "+1 206 555 0100");

    // Unchanged findings: compiled again, not written.
    let second = response(policy_lambda.invoke(&scheduled_event()));
    assert_eq!(second["written"], false, "{second}");
    assert_eq!(
        puts(&moto, POLICY_KEY),
        1,
        "no PutObject for an unchanged policy"
    );

    // A new finding adds a column; the transformer takes it after its TTL.
    put(
        &s3,
        &format!("{PREFIX}2026/11/28/13/part-d"),
        phone_finding().to_string().into_bytes(),
    )
    .await;
    let third = response(policy_lambda.invoke(&s3_notification("findings/2026/11/28/13/part-d")));
    assert_eq!(
        (
            third["written"].as_bool(),
            third["added"].as_u64(),
            third["removed"].as_u64()
        ),
        (Some(true), Some(1), Some(0)),
        "{third}"
    );
    assert_eq!(puts(&moto, POLICY_KEY), 2);
    let policy: Value = serde_json::from_slice(&get(&s3, POLICY_KEY).await).unwrap();
    let customer = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "customer")
        .unwrap();
    assert_eq!(
        customer["columns"]["phone"]["types"],
        json!(["PHONE_NUMBER"])
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut row = masked_row(&transformer);
    while row.get("phone_masked").is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
        row = masked_row(&transformer);
    }
    assert_eq!(row["phone_masked"], "##################", "{row}");

    // A malformed finding: the invocation fails naming the object, and the
    // policy stays as it is.
    let before = get(&s3, POLICY_KEY).await;
    let mut broken = phone_finding();
    broken["detail"]["id"] = json!("b4d");
    broken["detail"]["resourcesAffected"]["s3Object"] = json!({"key": 4_111_111_111_111_111_u64});
    let bad_key = format!("{PREFIX}2026/11/28/14/part-e");
    put(&s3, &bad_key, broken.to_string().into_bytes()).await;
    let error = policy_lambda
        .invoke(&s3_notification(&bad_key))
        .expect_error();
    let error = String::from_utf8(error).unwrap();
    assert!(
        error.contains(&format!(
            "s3://{BUCKET}/{bad_key}:1 (finding b4d): malformed finding"
        )),
        "{error}"
    );
    assert!(error.contains("policy not written"), "{error}");
    assert!(!error.contains("4111111111111111"), "{error}");
    assert_eq!(get(&s3, POLICY_KEY).await, before);
    assert_eq!(puts(&moto, POLICY_KEY), 2);

    let logs = policy_lambda.logs();
    assert!(logs.contains("policy written"), "{logs}");
    assert!(logs.contains("policy unchanged"), "{logs}");
    assert!(logs.contains("added=1"), "{logs}");
    assert!(!logs.contains("4111111111111111"), "{logs}");
    assert!(
        !logs.contains("ObjectCreated"),
        "the event is never logged: {logs}"
    );
}

#[test]
fn the_policy_lambda_stops_at_init_on_a_bad_configuration() {
    for (env, needle) in [
        (
            vec![("CDCMASK_POLICY", "s3://b/p.json".to_owned())],
            "CDCMASK_FINDINGS is not set",
        ),
        (
            vec![
                ("CDCMASK_FINDINGS", "findings/".to_owned()),
                ("CDCMASK_POLICY", "s3://b/p.json".to_owned()),
            ],
            "is not s3://bucket/prefix",
        ),
    ] {
        let mut lambda = Lambda::start("cdc-mask-policy-lambda", &env);
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = lambda.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the function did not exit");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(!status.success(), "{needle}: the init must fail");
        let logs = lambda.logs();
        assert!(logs.contains(needle), "{needle} not in {logs}");
    }
}
