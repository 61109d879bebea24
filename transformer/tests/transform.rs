//! The transformer and the Firehose contract on real-shaped DMS records.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::{Shape, View};
use cdc_mask_transformer::keys::{LocalKeyring, UnwrapCache, Unwrapper};
use cdc_mask_transformer::Processor;
use serde_json::{json, Value};
use std::sync::Arc;

mod local;
use local::local_settings;

const POLICY: &str = r#"{
  "version": 1,
  "tables": [
    {"schema": "dataset", "table": "customer", "columns": {
      "username": {"masked": "token"},
      "NAME": {},
      "mail": {"masked": "token"},
      "birthdate": {"masked": {"action": "generalize", "to": "year"}},
      "card": {"masked": {"action": "partial", "keep_last": 4}, "rename": false},
      "_op": {"rename": false}
    }},
    {"schema": "dataset", "table": "odd", "columns": {
      "mail": {},
      "_op": {"rename": false},
      "secret_encrypted": {"rename": false}
    }},
    {"schema": "dataset", "table": "orders", "columns": {
      "buyer_mail": {"masked": "token"},
      "flag": {"masked": "null"}
    }}
  ]
}"#;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.json"), POLICY).unwrap();
        Env { dir }
    }

    async fn processor(&self, view: View, shape: Shape) -> Processor {
        local_settings(
            view.as_str(),
            shape,
            &self.dir.path().join("policy.json"),
            &self.dir.path().join("keyring"),
            &[],
        )
        .processor()
        .await
        .unwrap()
    }

    fn unwrap_cache(&self) -> UnwrapCache {
        let ring: Arc<dyn Unwrapper> =
            Arc::new(LocalKeyring::open(&self.dir.path().join("keyring")).unwrap());
        UnwrapCache::new(ring)
    }
}

fn event(records: &[&[u8]]) -> Vec<u8> {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"recordId": format!("r{i}"), "approximateArrivalTimestamp": 1_764_288_000_000u64, "data": BASE64.encode(r)}))
        .collect();
    serde_json::to_vec(&json!({"invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:us-east-1:1:deliverystream/cdc-masked", "records": records})).unwrap()
}

/// Runs one record through a view and returns its output line.
async fn one(env: &Env, view: View, shape: Shape, record: &[u8]) -> String {
    let answers = answers(&env.processor(view, shape).await, &event(&[record])).await;
    assert_eq!(answers[0]["result"], "Ok", "{answers:?}");
    let line =
        String::from_utf8(BASE64.decode(answers[0]["data"].as_str().unwrap()).unwrap()).unwrap();
    assert!(
        line.ends_with('\n') && !line[..line.len() - 1].contains('\n'),
        "one line: {line}"
    );
    line
}

async fn answers(processor: &Processor, event: &[u8]) -> Vec<Value> {
    let result = processor.process(event).await.unwrap();
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    response["records"].as_array().unwrap().clone()
}

fn insert(table: &str, data: &str) -> Vec<u8> {
    format!(r#"{{"data":{data},"metadata":{{"timestamp":"2026-11-28T09:15:03.000001Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"dataset","table-name":"{table}","transaction-id":7}}}}"#).into_bytes()
}

#[tokio::test]
async fn non_pii_values_leave_byte_for_byte_in_order() {
    let env = Env::new();
    let line = one(
        &env,
        View::Masked,
        Shape::Flat,
        &fixture("example-dms-insert.json"),
    )
    .await;
    assert!(
        line.starts_with(r#"{"id":2,"username_masked":"tok1_"#),
        "{line}"
    );
    for exact in [
        r#""gender":"F""#,
        r#""balance":12345678901234567890"#,
        r#""ratio":0.1000000000000000055511151231257827"#,
        r#""note":"caf\u00e9 \/ tab\t""#,
        "\"name_masked\":\"##################\"",
        r#""birthdate_masked":"1991""#,
        r#""_op":"insert","_ts":"2026-11-28T09:15:03.000001Z","_txn":8589934594,"_schema":"dataset","_table":"customer"}"#,
    ] {
        assert!(line.contains(exact), "{exact} not in {line}");
    }
    let order = [
        "\"id\"",
        "username_masked",
        "name_masked",
        "gender",
        "mail_masked",
        "birthdate_masked",
        "balance",
        "ratio",
        "note",
        "_op",
    ];
    let positions: Vec<usize> = order.iter().map(|k| line.find(k).unwrap()).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order kept: {line}"
    );
    for pii in ["zoë_m", "Zoë", "Martín", "zoe@example.org", "12-31"] {
        assert!(!line.contains(pii), "{pii} leaked: {line}");
    }
}

#[tokio::test]
async fn pretty_printed_dms_json_becomes_one_line() {
    let env = Env::new();
    let line = one(
        &env,
        View::Masked,
        Shape::Flat,
        &fixture("example-dms-load.json"),
    )
    .await;
    assert!(!line.contains("jdoe") && !line.contains("O'Doe"));
    assert!(line.contains(r#""gender":"M""#));
    let enveloped = one(
        &env,
        View::Masked,
        Shape::Envelope,
        &fixture("example-dms-load.json"),
    )
    .await;
    let v: Value = serde_json::from_str(&enveloped).unwrap();
    assert_eq!(v["metadata"]["operation"], "load");
    assert!(
        v["metadata"].get("partition-key-value").is_none(),
        "the PK value may be PII"
    );
    assert_eq!(v["data"]["name_masked"], "##################");
}

#[tokio::test]
async fn before_image_is_protected_and_round_trips() {
    let env = Env::new();
    let update = fixture("example-dms-update.json");
    let masked = one(&env, View::Masked, Shape::Flat, &update).await;
    let v: Value = serde_json::from_str(&masked).unwrap();
    assert_eq!(v["_before"]["name_masked"], "##################");
    // Same mail, same token, in data and before-image alike when unchanged.
    assert_eq!(v["username_masked"], v["_before"]["username_masked"]);
    assert_ne!(v["mail_masked"], v["_before"]["mail_masked"]);

    for shape in [Shape::Flat, Shape::Envelope] {
        let encrypted = one(&env, View::Encrypted, shape, &update).await;
        for pii in ["Zoë", "zoe@example.org", "zoe.ruiz", "1991-12-31"] {
            assert!(!encrypted.contains(pii), "{pii} leaked: {encrypted}");
        }
        let mut out = Vec::new();
        env.unwrap_cache()
            .decrypt_row(encrypted.as_bytes(), &mut out)
            .await
            .unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        let original: Value = serde_json::from_slice(&update).unwrap();
        let (data, before) = match shape {
            Shape::Flat => (&back, &back["_before"]),
            Shape::Envelope => (&back["data"], &back["before-image"]),
        };
        for column in ["username", "name", "mail", "birthdate", "gender", "id"] {
            assert_eq!(data[column], original["data"][column], "{column}");
            assert_eq!(
                before[column], original["before-image"][column],
                "before {column}"
            );
        }
        assert!(back.get("_key").is_none());
    }
}

#[tokio::test]
async fn deletes_keep_nulls_and_tables_outside_the_policy_pass_unchanged() {
    let env = Env::new();
    let line = one(
        &env,
        View::Encrypted,
        Shape::Flat,
        &fixture("example-dms-delete.json"),
    )
    .await;
    assert!(
        line.contains(r#""name_encrypted":null"#) && !line.contains("_key"),
        "{line}"
    );
    let other = insert("unlisted", r#"{"id":1,"mail":"x@y.z","n":1.50}"#);
    let line = one(&env, View::Encrypted, Shape::Flat, &other).await;
    assert!(
        line.starts_with(r#"{"id":1,"mail":"x@y.z","n":1.50,"_op""#),
        "{line}"
    );
}

#[tokio::test]
async fn columns_match_case_insensitively_and_numbers_are_protected() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"ID":1,"Name":"Ann","MAIL":"ann@example.com","card":4111111111111234,"username":true}"#,
    );
    let line = one(&env, View::Masked, Shape::Flat, &rec).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["Name_masked"], "##################");
    assert!(v["MAIL_masked"].as_str().unwrap().starts_with("tok1_"));
    assert_eq!(
        v["card"], "************1234",
        "rename: false keeps the name"
    );
    assert!(v["username_masked"].as_str().unwrap().starts_with("tok1_"));
    assert!(!line.contains("Ann") && !line.contains("4111"));
    // Case of the schema and table does not matter either.
    let upper = String::from_utf8(rec)
        .unwrap()
        .replace("\"dataset\"", "\"DATASET\"")
        .replace("\"customer\"", "\"Customer\"");
    let line = one(&env, View::Masked, Shape::Flat, upper.as_bytes()).await;
    assert!(!line.contains("Ann"), "{line}");
}

#[tokio::test]
async fn escaped_column_names_cannot_dodge_the_policy() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"m\u0061il":"eve@example.com","n\u0041me":"Eve"}"#,
    );
    for view in [View::Masked, View::Encrypted] {
        let line = one(&env, view, Shape::Flat, &rec).await;
        assert!(
            !line.contains("eve@example.com") && !line.contains("Eve\""),
            "{line}"
        );
    }
}

#[tokio::test]
async fn tokens_join_across_tables() {
    let env = Env::new();
    let a = one(
        &env,
        View::Masked,
        Shape::Flat,
        &insert("customer", r#"{"mail":"joe@example.com"}"#),
    )
    .await;
    let b = one(
        &env,
        View::Masked,
        Shape::Flat,
        &insert("orders", r#"{"buyer_mail":"joe@example.com","flag":"x"}"#),
    )
    .await;
    let a: Value = serde_json::from_str(&a).unwrap();
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(a["mail_masked"], b["buyer_mail_masked"]);
    assert_eq!(b["flag_masked"], Value::Null);
}

#[tokio::test]
async fn reserved_and_generated_names_never_collide() {
    let env = Env::new();
    let rec = insert(
        "customer",
        r#"{"_op":"secret-op","mail":"a@b.c","mail_masked":"source value","_ts":1}"#,
    );
    let line = one(&env, View::Masked, Shape::Flat, &rec).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["_op"], "insert");
    assert_eq!(
        v["_op_src"], "##################",
        "a protected _op column is renamed, and protected"
    );
    assert_eq!(v["mail_masked_src"], "source value");
    assert_eq!(v["_ts_src"], 1);
    assert!(v["mail_masked"].as_str().unwrap().starts_with("tok1_"));
    let keys = line.matches("\"mail_masked\"").count();
    assert_eq!(keys, 1, "{line}");
}

#[tokio::test]
async fn firehose_fixture_answers_every_record_once() {
    let env = Env::new();
    let event = fixture("example-firehose-event.json");
    let input: Value = serde_json::from_slice(&event).unwrap();
    for view in [View::Masked, View::Encrypted] {
        let answers = answers(&env.processor(view, Shape::Flat).await, &event).await;
        let ids: Vec<&Value> = input["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["recordId"])
            .collect();
        let answered: Vec<&Value> = answers.iter().map(|a| &a["recordId"]).collect();
        assert_eq!(ids, answered);
        let results: Vec<&str> = answers
            .iter()
            .map(|a| a["result"].as_str().unwrap())
            .collect();
        assert_eq!(results, ["Ok", "Ok", "Ok", "Ok", "Dropped"]);
        for a in &answers[..4] {
            let keys = &a["metadata"]["partitionKeys"];
            assert_eq!(
                keys,
                &json!({"view": view.as_str(), "schema": "dataset", "table": "customer", "dt": "2026-11-28"})
            );
        }
        assert_eq!(answers[4]["metadata"]["partitionKeys"]["view"], "control");
    }
}

#[tokio::test]
async fn auto_view_follows_the_delivery_stream_and_fails_closed() {
    let env = Env::new();
    let processor = local_settings(
        "auto",
        Shape::Flat,
        &env.dir.path().join("policy.json"),
        &env.dir.path().join("keyring"),
        &[],
    )
    .processor()
    .await
    .unwrap();
    let event = String::from_utf8(event(&[&fixture("example-dms-insert.json")])).unwrap();
    let encrypted = event.replace("cdc-masked", "cdc-encrypted");
    assert_eq!(
        processor.process(event.as_bytes()).await.unwrap().view,
        Some(View::Masked)
    );
    assert_eq!(
        processor.process(encrypted.as_bytes()).await.unwrap().view,
        Some(View::Encrypted)
    );
    // A stream naming no view: nothing can be protected, everything sealed.
    let neither = event.replace("cdc-masked", "cdc-raw");
    let result = processor.process(neither.as_bytes()).await.unwrap();
    assert_eq!(result.view, None);
    assert_eq!(
        result.stats.quarantined,
        vec![(cdc_mask_core::Reason::UnknownView, 1)]
    );
    let answers = answers(&processor, neither.as_bytes()).await;
    assert_eq!(answers[0]["result"], "Ok");
    assert_eq!(
        answers[0]["metadata"]["partitionKeys"]["view"],
        "quarantine"
    );
}

#[tokio::test]
async fn malformed_records_are_quarantined_one_by_one_and_unseal_exactly() {
    let env = Env::new();
    let good = fixture("example-dms-insert.json");
    let deep = format!(
        r#"{{"data":{{"a":{}1{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    let large = insert(
        "customer",
        &format!(r#"{{"mail":"{}"}}"#, "x".repeat(1024 * 1024)),
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "invalid_json",
            br#"{"data":{"mail":"truncated@example.com""#.to_vec(),
        ),
        (
            "invalid_utf8",
            b"{\"data\":{\"mail\":\"\xff\xfe\"}}".to_vec(),
        ),
        ("too_deep", deep.into_bytes()),
        ("too_large", large),
        (
            "not_dms_record",
            br#"{"mail":"no-envelope@example.com"}"#.to_vec(),
        ),
        ("invalid_json", br#"[1,2,3]"#.to_vec()),
        (
            "unknown_record_type",
            br#"{"data":{},"metadata":{"record-type":"weird"}}"#.to_vec(),
        ),
        (
            "duplicate_field",
            br#"{"data":{},"data":{},"metadata":{"record-type":"data"}}"#.to_vec(),
        ),
    ];
    let mut records: Vec<&[u8]> = vec![&good];
    records.extend(cases.iter().map(|(_, r)| r.as_slice()));
    records.push(&good);
    let mut event: Value = serde_json::from_slice(&event(&records)).unwrap();
    // Not base64 at all, and data that is not even a string.
    event["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"recordId": "b64", "data": "!!not base64!!"}));
    event["records"]
        .as_array_mut()
        .unwrap()
        .push(json!({"recordId": "num", "data": 12}));
    let event = serde_json::to_vec(&event).unwrap();

    for view in [View::Masked, View::Encrypted] {
        let processor = env.processor(view, Shape::Flat).await;
        let result = processor.process(&event).await.unwrap();
        assert_eq!(result.stats.quarantined_total(), cases.len() as u64 + 2);
        assert_eq!(result.stats.rows, 2);
        let response: Value = serde_json::from_slice(&result.response).unwrap();
        let answers = response["records"].as_array().unwrap();
        assert_eq!(answers.len(), records.len() + 2);
        assert!(
            answers.iter().all(|a| a["result"] == "Ok"),
            "never ProcessingFailed"
        );
        let raw = String::from_utf8_lossy(&result.response);
        for pii in ["truncated@example.com", "no-envelope@example.com"] {
            assert!(!raw.contains(&BASE64.encode(pii)) && !raw.contains(pii));
        }
        let mut expected: Vec<(&str, Vec<u8>)> = cases.clone();
        expected.push(("invalid_base64", br#""!!not base64!!""#.to_vec()));
        expected.push(("invalid_base64", b"12".to_vec()));
        let quarantined = answers
            .iter()
            .filter(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine");
        let mut keys = env.unwrap_cache();
        for (answer, (reason, original)) in quarantined.zip(&expected) {
            let line = BASE64.decode(answer["data"].as_str().unwrap()).unwrap();
            let unsealed = keys.unseal(&line).await.unwrap().remove(0);
            assert_eq!(unsealed.reason, *reason);
            assert_eq!(unsealed.record_id, answer["recordId"].as_str().unwrap());
            assert_eq!(
                unsealed.original.as_slice(),
                original.as_slice(),
                "{reason}"
            );
        }
    }
}

#[tokio::test]
async fn the_response_stays_under_six_megabytes() {
    let env = Env::new();
    // ~4.5 MB of input whose protected values grow a lot when encrypted.
    let record = insert(
        "customer",
        &format!(
            r#"{{"name":"{}","mail":"m","username":"u"}}"#,
            "n".repeat(3000)
        ),
    );
    let records: Vec<&[u8]> = std::iter::repeat_n(record.as_slice(), 1500).collect();
    let event = event(&records);
    let processor = env.processor(View::Encrypted, Shape::Flat).await;
    let result = processor.process(&event).await.unwrap();
    assert!(result.response.len() <= cdc_mask_core::firehose::MAX_RESPONSE_BYTES);
    let response: Value = serde_json::from_slice(&result.response).unwrap();
    let answers = response["records"].as_array().unwrap();
    assert_eq!(answers.len(), 1500, "every record answered");
    assert!(
        answers.iter().all(|a| a["result"] != "ProcessingFailed"),
        "no raw record is handed back"
    );
    let ok = answers.iter().filter(|a| a["result"] == "Ok").count() as u64;
    let dropped = answers.iter().filter(|a| a["result"] == "Dropped").count() as u64;
    assert!(dropped > 0, "this batch cannot fit");
    // The overflowed records are sealed in one bundle, carried by the first
    // of them; the others are Dropped.
    let bundled = result
        .stats
        .quarantined
        .iter()
        .find(|(r, _)| *r == cdc_mask_core::Reason::ResponseOverflow)
        .map_or(0, |(_, n)| *n);
    assert_eq!(bundled, dropped + 1);
    assert_eq!(ok, result.stats.rows + 1);
    assert_eq!(
        result.stats.rows + bundled,
        1500,
        "every record counted once"
    );
    assert_eq!(result.stats.lost, 0);
    let carrier = answers
        .iter()
        .position(|a| a["metadata"]["partitionKeys"]["view"] == "quarantine")
        .unwrap();
    assert!(answers[carrier + 1..]
        .iter()
        .all(|a| a["result"] == "Dropped"));
    let line = BASE64
        .decode(answers[carrier]["data"].as_str().unwrap())
        .unwrap();
    let unsealed = env.unwrap_cache().unseal(&line).await.unwrap();
    assert_eq!(unsealed.len() as u64, bundled);
    for (entry, answer) in unsealed.iter().zip(&answers[carrier..]) {
        assert_eq!(entry.record_id, answer["recordId"].as_str().unwrap());
        assert_eq!(entry.original.as_slice(), record.as_slice());
        assert_eq!(entry.reason, "response_overflow");
    }
}

#[tokio::test]
async fn odd_column_names_still_decrypt() {
    let env = Env::new();
    let rec = insert(
        "odd",
        r#"{"metadata":{"schema-name":"x"},"data":{"a":1},"mail":"m@example.com","_op":"op-secret","secret_encrypted":"s3cret","clear":"enc1:not-a-ciphertext","later":"enc2: hi","nothing":null}"#,
    );
    let line = one(&env, View::Encrypted, Shape::Flat, &rec).await;
    for pii in ["m@example.com", "op-secret", "s3cret"] {
        assert!(!line.contains(pii), "{pii} leaked: {line}");
    }
    let mut out = Vec::new();
    env.unwrap_cache()
        .decrypt_row(line.as_bytes(), &mut out)
        .await
        .unwrap();
    let back: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(back["mail"], "m@example.com");
    assert_eq!(back["_op"], "insert");
    assert_eq!(
        back["_op_src"], "op-secret",
        "the protected _op column stays apart from _op: {back}"
    );
    assert_eq!(
        String::from_utf8(out.clone())
            .unwrap()
            .matches("\"_op\"")
            .count(),
        1
    );
    assert_eq!(back["secret_encrypted"], "s3cret");
    assert_eq!(
        back["clear"], "enc1:not-a-ciphertext",
        "clear text that looks encrypted passes"
    );
    assert_eq!(back["later"], "enc2: hi");
    assert_eq!(back["metadata"], json!({"schema-name": "x"}));

    // Tampering with a renamed column is an error, not a pass-through.
    let v: Value = serde_json::from_str(&line).unwrap();
    let sealed = v["mail_encrypted"].as_str().unwrap();
    let flipped = format!(
        "{}{}",
        &sealed[..sealed.len() - 3],
        if sealed.ends_with("A==") {
            "B=="
        } else {
            "A=="
        }
    );
    let tampered = line.replace(sealed, &flipped);
    let err = env
        .unwrap_cache()
        .decrypt_row(tampered.as_bytes(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mail"), "{err}");
    let moved = line.replace("\"_table\":\"odd\"", "\"_table\":\"customer\"");
    assert!(env
        .unwrap_cache()
        .decrypt_row(moved.as_bytes(), &mut Vec::new())
        .await
        .is_err());
    let future = line.replace(sealed, "enc3:AAAA");
    let err = env
        .unwrap_cache()
        .decrypt_row(future.as_bytes(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("unsupported ciphertext version"),
        "{err}"
    );
}
