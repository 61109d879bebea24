//! The real `cdc-mask-policy-lambda` over the Lambda Runtime API, compiling
//! the sample findings in S3 on the moto server: it writes the policy only
//! when it changes and fails closed on a malformed finding; the real
//! `cdc-mask-lambda` takes the policy it writes, and a new finding after
//! the policy TTL.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::findings::{
    example, get, moto_with_findings, put, puts, sample_events, BUCKET, OVERRIDES_KEY, POLICY_KEY,
    PREFIX,
};
use crate::support::{validate_json_schema, workspace_root, Invocation, MotoServer};
use crate::{Lambda, POLICY_LAMBDA, TRANSFORMER_LAMBDA};

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

fn response(invocation: Invocation) -> Value {
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
    let answer = &response(lambda.invoke(customer_event().to_string()))["records"][0];
    assert_eq!(answer["result"], "Ok", "{answer}");
    serde_json::from_slice(&BASE64.decode(answer["data"].as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_lambda_writes_only_changes_and_fails_closed() {
    let (moto, s3) = moto_with_findings().await;
    let policy_lambda = Lambda::start(POLICY_LAMBDA, &policy_lambda_env(&moto));

    // First invocation: the policy is compiled and written.
    let first = response(policy_lambda.invoke(s3_notification("findings/x").to_string()));
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

    // The transformer reads that policy: `phone` is not listed yet, so the
    // guard protects it in place (fail safe) and says so in `_guarded`.
    let keyring = tempfile::tempdir().unwrap();
    let mut transformer_env = moto.aws_env();
    transformer_env.extend([
        ("CDCMASK_POLICY", format!("s3://{BUCKET}/{POLICY_KEY}")),
        ("CDCMASK_KEYRING", keyring.path().display().to_string()),
        ("CDCMASK_VIEW", "masked".to_owned()),
        ("CDCMASK_POLICY_TTL", "1".to_owned()),
    ]);
    let transformer = Lambda::start(TRANSFORMER_LAMBDA, &transformer_env);
    let row = masked_row(&transformer);
    assert_eq!(row["name_masked"], "##################");
    assert_eq!(row["phone"], "##################", "{row}");
    assert_eq!(row["_guarded"], json!(["phone"]), "{row}");

    // Unchanged findings: compiled again, not written.
    let second = response(policy_lambda.invoke(scheduled_event().to_string()));
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
    let third = response(
        policy_lambda.invoke(s3_notification("findings/2026/11/28/13/part-d").to_string()),
    );
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
        .invoke(s3_notification(&bad_key).to_string())
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
        let mut lambda = Lambda::start(POLICY_LAMBDA, &env);
        let status = lambda.wait_exit();
        assert!(!status.success(), "{needle}: the init must fail");
        let logs = lambda.logs();
        assert!(logs.contains(needle), "{needle} not in {logs}");
    }
}
