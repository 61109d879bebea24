//! What findings and policies look like to others: the sample findings,
//! the finding fixture and compiled policies against their JSON Schemas (and
//! the compiler refusing what the schema refuses), and seed parity: a column
//! the findings name is redacted and encrypted like the seed's Glue job did,
//! through `findings compile`, `transform-event` and `decrypt`.

use base64::Engine as _;
use cdc_mask_core::findings::{policy_json, Compiler, Defaults, Layout};
use serde_json::{json, Value};

use crate::findings::{compile, ok, s};
use crate::support::findings::{example, sample_events};
use crate::support::{validate_json_schema, workspace_root};

#[test]
fn sample_findings_and_compiled_policies_match_their_schemas() {
    let events = sample_events();
    let mut documents: Vec<String> = events.iter().map(Value::to_string).collect();
    documents.extend(events.iter().map(|e| e["detail"].to_string()));
    let valid = documents.len();
    // Documents the compiler refuses, and so must the schema.
    let finding = &events[0]["detail"];
    let mut bad = Vec::new();
    let mut edit = |path: &[&str], value: Value| {
        let mut doc = finding.clone();
        let mut at = &mut doc;
        for key in &path[..path.len() - 1] {
            at = &mut at[*key];
        }
        at[path[path.len() - 1]] = value;
        bad.push(doc.to_string());
    };
    edit(&["id"], json!(7));
    edit(
        &["resourcesAffected", "s3Object"],
        json!({"bucketArn": "x"}),
    );
    edit(&["classificationDetails", "result"], json!(null));
    edit(
        &["classificationDetails", "result", "sensitiveData"],
        json!("x"),
    );
    edit(
        &[
            "classificationDetails",
            "result",
            "customDataIdentifiers",
            "detections",
        ],
        json!([{"count": 1}]),
    );
    bad.push(
        json!({"detail-type": "Object Created", "source": "aws.s3", "detail": finding}).to_string(),
    );
    bad.push(json!({"hello": "world"}).to_string());
    documents.extend(bad);
    let verdicts = validate_json_schema(
        &workspace_root().join("schemas/macie-finding.schema.json"),
        &documents,
    );
    for (i, (document, schema_says)) in documents.iter().zip(verdicts).enumerate() {
        let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
        compiler.add_source("doc", document.as_bytes());
        let compiler_says = compiler.finish(None).errors.is_empty();
        assert_eq!(schema_says, i < valid, "schema on {document}");
        assert_eq!(compiler_says, i < valid, "compiler on {document}");
    }

    // Compiled policies, with and without overrides, match the policy schema.
    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    let sample = std::fs::read(example("macie-findings.jsonl")).unwrap();
    compiler.add_source("sample", &sample);
    let plain = String::from_utf8(policy_json(&compiler.finish(None).policy)).unwrap();
    let with_overrides = std::fs::read_to_string(example("policy.json")).unwrap();
    let verdicts = validate_json_schema(
        &workspace_root().join("schemas/policy.schema.json"),
        &[plain, with_overrides],
    );
    assert_eq!(verdicts, [true, true]);
}

/// A Firehose event holding one DMS record.
fn firehose_event(record: &Value) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(record.to_string());
    json!({
        "invocationId": "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/cdc-masked",
        "region": "us-east-1",
        "records": [{"recordId": "1", "approximateArrivalTimestamp": 1_764_321_303_000_u64, "data": data}]
    })
    .to_string()
}

#[test]
fn seed_parity_a_found_column_is_redacted_and_encrypted_like_the_glue_job() {
    let dir = tempfile::tempdir().unwrap();
    // Only the bank finding: account_number via the seed's custom
    // identifier (XYZ-\d{1,2}), iban and bban via BANK_ACCOUNT_NUMBER.
    let bank = sample_events()
        .into_iter()
        .find(|e| {
            e["detail"]["resourcesAffected"]["s3Object"]["key"] == "dataset/bank/LOAD00000001.csv"
        })
        .unwrap();
    let findings = dir.path().join("bank.json");
    std::fs::write(&findings, bank.to_string()).unwrap();
    let policy = dir.path().join("policy.json");
    compile(&[], &[&findings], &policy);

    let record = json!({
        "data": {"id": 7, "account_number": "XYZ-42", "iban": "DE89370400440532013000", "bban": "370400440532013000"},
        "metadata": {"timestamp": "2026-11-28T09:15:02.173952Z", "record-type": "data", "operation": "insert",
                     "partition-key-type": "schema-table", "schema-name": "dataset", "table-name": "bank"}
    });
    let event = dir.path().join("event.json");
    std::fs::write(&event, firehose_event(&record)).unwrap();
    let keyring = dir.path().join("keyring");
    let row = |view: &str| -> String {
        let out = ok(&[
            "transform-event",
            "--view",
            view,
            "--policy",
            s(&policy),
            "--keyring",
            s(&keyring),
            s(&event),
        ]);
        let response: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(response["records"][0]["result"], "Ok");
        let data = response["records"][0]["data"].as_str().unwrap();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap(),
        )
        .unwrap()
    };

    let masked: Value = serde_json::from_str(&row("masked")).unwrap();
    assert_eq!(masked["account_number_masked"], "##################");
    assert_eq!(masked["bban_masked"], "##################");
    assert!(masked.get("account_number").is_none());

    let encrypted = row("encrypted");
    assert!(!encrypted.contains("XYZ-42"));
    let rows = dir.path().join("encrypted.jsonl");
    std::fs::write(&rows, &encrypted).unwrap();
    let plain = ok(&["decrypt", "--keyring", s(&keyring), s(&rows)]);
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(plain["account_number"], "XYZ-42");
    assert_eq!(plain["iban"], "DE89370400440532013000");
}

#[test]
fn the_example_finding_fixture_is_valid_and_compiles_to_a_partial_card_number() {
    let path = workspace_root().join("transformer/tests/fixtures/example-macie-finding.json");
    let finding = std::fs::read_to_string(&path).unwrap();
    let event = json!({
        "version": "0", "id": "e", "detail-type": "Macie Finding", "source": "aws.macie",
        "detail": serde_json::from_str::<Value>(&finding).unwrap()
    })
    .to_string();
    assert_eq!(
        validate_json_schema(
            &workspace_root().join("schemas/macie-finding.schema.json"),
            &[finding.as_str(), event.as_str()]
        ),
        [true, true]
    );
    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    compiler.add_source(s(&path), finding.as_bytes());
    let compiled = compiler.finish(None);
    assert!(compiled.errors.is_empty() && compiled.warnings.is_empty());
    let policy: Value = serde_json::from_slice(&policy_json(&compiled.policy)).unwrap();
    assert_eq!(
        policy["tables"],
        json!([{"schema": "dataset", "table": "card", "columns": {"card_number": {
            "types": ["CREDIT_CARD_NUMBER"],
            "masked": {"action": "partial", "keep_last": 4},
            "encrypted": {"action": "encrypt"},
            "rename": true,
            "findings": ["6f4a2c1e9b8d7f3a5c0e2b4d6f8a1c3e"]
        }}}])
    );
}
