//! `cdc-mask findings compile` as a user runs it: every input shape, the
//! overrides, bad input, determinism, the schemas, and seed parity through
//! `transform-event` and `decrypt`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use cdc_mask_core::findings::{policy_json, Compiler, Defaults, Layout};
use serde_json::{json, Value};
use support::{run_cdc_mask, validate_json_schema, workspace_root};

fn ok(args: &[&str]) -> Output {
    let out = run_cdc_mask(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn example(name: &str) -> PathBuf {
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

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `findings compile` of `sources` (plus `extra` arguments) to `out`;
/// returns the policy bytes and stderr.
fn compile(extra: &[&str], sources: &[&Path], out: &Path) -> (Vec<u8>, String) {
    let mut args = vec!["findings", "compile", "-o", s(out)];
    args.extend_from_slice(extra);
    args.extend(sources.iter().map(|p| s(p)));
    let output = ok(&args);
    (
        std::fs::read(out).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn column<'p>(policy: &'p Value, table: &str, column: &str) -> &'p Value {
    let table = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no table {table}"));
    &table["columns"][column]
}

#[test]
fn the_example_policy_is_compiled_from_the_sample_findings() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("policy.json");
    let (policy, stderr) = compile(
        &["--overrides", s(&example("policy-overrides.json"))],
        &[&example("macie-findings.jsonl")],
        &out,
    );
    assert_eq!(
        String::from_utf8(policy).unwrap(),
        std::fs::read_to_string(example("policy.json")).unwrap(),
        "schemas/examples/policy.json drifted from the sample findings; regenerate it with \
         `cdc-mask findings compile --overrides schemas/examples/policy-overrides.json \
         -o schemas/examples/policy.json schemas/examples/macie-findings.jsonl`"
    );
    assert!(stderr.contains("4 sensitive-data finding(s)"), "{stderr}");
    assert!(
        stderr.contains("found: dataset.customer.mail (custom:email) → masked token"),
        "{stderr}"
    );
}

#[test]
fn every_input_shape_compiles_to_the_same_policy() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample_events();
    let details: Vec<&Value> = events.iter().map(|e| &e["detail"]).collect();
    let compact = |v: &Value| serde_json::to_string(v).unwrap();

    // One folder, four shapes: a JSON-lines object with several events,
    // events concatenated without newlines (as Firehose writes them), a
    // finding alone (pretty, several lines), and `get-findings` output.
    let shapes = dir.path().join("shapes/2026/11/28");
    std::fs::create_dir_all(&shapes).unwrap();
    std::fs::write(
        shapes.join("firehose-1"),
        format!("{}\n{}\n", compact(&events[0]), compact(&events[1])),
    )
    .unwrap();
    std::fs::write(
        shapes.join("firehose-2"),
        compact(&events[2]) + &compact(&events[0]),
    )
    .unwrap();
    std::fs::write(
        shapes.join("finding.json"),
        serde_json::to_string_pretty(details[3]).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("shapes/get-findings.json"),
        compact(&json!({ "findings": [details[1], details[3]] })),
    )
    .unwrap();

    let reference = compile(
        &[],
        &[&example("macie-findings.jsonl")],
        &dir.path().join("a.json"),
    )
    .0;
    let (policy, stderr) = compile(
        &[],
        &[&dir.path().join("shapes")],
        &dir.path().join("b.json"),
    );
    assert_eq!(
        String::from_utf8(policy).unwrap(),
        String::from_utf8(reference.clone()).unwrap()
    );
    assert!(
        stderr.contains("7 sensitive-data finding(s) from 4 source(s)"),
        "{stderr}"
    );

    // jsonPath, cells, managed and custom identifiers, default actions.
    let policy: Value = serde_json::from_slice(&reference).unwrap();
    let mail = column(&policy, "customer", "mail");
    assert_eq!(mail["types"], json!(["custom:email"]));
    assert_eq!(mail["masked"], json!({"action": "token"}));
    let name = column(&policy, "customer", "name");
    assert_eq!(
        name["findings"].as_array().unwrap().len(),
        2,
        "union of two findings"
    );
    let account = column(&policy, "bank", "account_number");
    assert_eq!(account["types"], json!(["custom:account_number"]));
    assert_eq!(account["masked"], json!({"action": "redact"}));
    assert_eq!(
        column(&policy, "bank", "bban")["types"],
        json!(["BANK_ACCOUNT_NUMBER"])
    );
    assert_eq!(
        column(&policy, "card", "card_number")["masked"],
        json!({"action": "partial", "keep_last": 4})
    );
    for table in policy["tables"].as_array().unwrap() {
        for column in table["columns"].as_object().unwrap().values() {
            assert_eq!(column["encrypted"], json!({"action": "encrypt"}));
        }
    }
    let redact_all = compile(
        &["--redact-all"],
        &[&example("macie-findings.jsonl")],
        &dir.path().join("c.json"),
    )
    .0;
    let redact_all: Value = serde_json::from_slice(&redact_all).unwrap();
    for table in redact_all["tables"].as_array().unwrap() {
        for column in table["columns"].as_object().unwrap().values() {
            assert_eq!(column["masked"], json!({"action": "redact"}));
        }
    }
}

#[test]
fn output_is_deterministic_whatever_the_order_of_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, event) in sample_events().iter().enumerate() {
        let path = dir.path().join(format!("event-{i}.json"));
        std::fs::write(&path, serde_json::to_string(event).unwrap()).unwrap();
        files.push(path);
    }
    let forward: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let backward: Vec<&Path> = files.iter().rev().map(PathBuf::as_path).collect();
    let first = compile(&[], &forward, &dir.path().join("1.out")).0;
    let second = compile(&[], &forward, &dir.path().join("2.out")).0;
    let reversed = compile(&[], &backward, &dir.path().join("3.out")).0;
    assert_eq!(first, second);
    assert_eq!(first, reversed);
    // `-o -` is stdout, with the same bytes.
    let mut args = vec!["findings", "compile", "-o", "-"];
    args.extend(backward.iter().map(|p| s(p)));
    assert_eq!(ok(&args).stdout, first);
}

#[test]
fn overrides_win_and_findings_never_downgrade_them() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("overrides.json");
    std::fs::write(
        &overrides,
        r#"{"version": 1, "redact_with": "***", "tables": [
          {"schema": "dataset", "table": "card", "columns": {
            "card_number": {"masked": "redact"},
            "card_expiration": {"masked": "keep", "encrypted": "keep"}}},
          {"schema": "dataset", "table": "customer", "columns": {
            "gender": {"types": ["GENDER"], "masked": "token"},
            "mail": {"rename": false}}}]}"#,
    )
    .unwrap();
    let (policy, stderr) = compile(
        &["--overrides", s(&overrides)],
        &[&example("macie-findings.jsonl")],
        &dir.path().join("p.json"),
    );
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    assert_eq!(policy["redact_with"], "***");
    // A stronger override stays, though the finding's type says partial.
    let number = column(&policy, "card", "card_number");
    assert_eq!(number["masked"], json!({"action": "redact"}));
    assert_eq!(number["types"], json!(["CREDIT_CARD_NUMBER"]));
    // Keep is forced, in both views.
    let expiration = column(&policy, "card", "card_expiration");
    assert_eq!(expiration["masked"], json!({"action": "keep"}));
    assert_eq!(expiration["encrypted"], json!({"action": "keep"}));
    // A column Macie missed is added, without provenance.
    let gender = column(&policy, "customer", "gender");
    assert_eq!(gender["masked"], json!({"action": "token"}));
    assert!(gender.get("findings").is_none());
    // Fields an override leaves out keep the compiled values.
    let mail = column(&policy, "customer", "mail");
    assert_eq!(mail["masked"], json!({"action": "token"}));
    assert_eq!(mail["rename"], false);
    assert!(
        stderr.contains("added: dataset.customer.gender (GENDER)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dataset.card.card_number (CREDIT_CARD_NUMBER) → masked redact"),
        "{stderr}"
    );

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"encrypt"}}}]}"#).unwrap();
    let out = run_cdc_mask(&[
        "findings",
        "compile",
        "--overrides",
        s(&bad),
        s(&example("macie-findings.jsonl")),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("overrides"));
}

#[test]
fn a_malformed_finding_fails_the_run_unless_told_to_keep_going() {
    let dir = tempfile::tempdir().unwrap();
    let events = sample_events();
    let findings = dir.path().join("findings");
    std::fs::create_dir_all(&findings).unwrap();
    let mut broken = events[3].clone();
    broken["detail"]["classificationDetails"]["result"]["sensitiveData"] =
        json!("4111 1111 1111 1111");
    std::fs::write(
        findings.join("part-1.jsonl"),
        format!("{}\n{}\n{{\"truncated\": \n", events[0], broken),
    )
    .unwrap();
    std::fs::write(findings.join("part-2.jsonl"), format!("{}\n", events[2])).unwrap();
    let out_path = dir.path().join("policy.json");
    std::fs::write(&out_path, "previous policy").unwrap();

    let out = run_cdc_mask(&["findings", "compile", "-o", s(&out_path), s(&findings)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let part = findings.join("part-1.jsonl");
    let line2 = format!(
        "error: {}:2 (finding {})",
        part.display(),
        broken["detail"]["id"].as_str().unwrap()
    );
    assert!(stderr.contains(&line2), "{stderr}");
    assert!(
        stderr.contains("invalid type: string, expected a sequence"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("error: {}:3: not JSON", part.display())),
        "{stderr}"
    );
    assert!(stderr.contains("nothing written"), "{stderr}");
    assert!(!stderr.contains("4111"), "no value in errors: {stderr}");
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "previous policy"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left"
    );

    let (policy, stderr) = compile(&["--keep-going"], &[&findings], &out_path);
    assert!(stderr.contains("2 unreadable (skipped)"), "{stderr}");
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    let tables: Vec<&str> = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(
        tables,
        ["bank", "customer"],
        "the card finding was the broken one"
    );
}

#[test]
fn layouts_and_unsupported_sources() {
    let dir = tempfile::tempdir().unwrap();
    let mut event = sample_events()[0].clone();
    event["detail"]["resourcesAffected"]["s3Object"]["key"] = json!("exports/crm.people.parquet");
    let file = dir.path().join("e.json");
    std::fs::write(&file, event.to_string()).unwrap();

    // The DMS layout cannot place this key: an error naming the object.
    let out = run_cdc_mask(&["findings", "compile", s(&file)]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("object s3://dcp-macie-111122223333/exports/crm.people.parquet"),
        "{stderr}"
    );
    assert!(stderr.contains("--layout"), "{stderr}");

    let (policy, _) = compile(
        &["--layout", "exports/{schema}.{table}.parquet"],
        &[&file],
        &dir.path().join("1.json"),
    );
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    assert_eq!(
        (
            policy["tables"][0]["schema"].as_str(),
            policy["tables"][0]["table"].as_str()
        ),
        (Some("crm"), Some("people"))
    );
    let (policy, _) = compile(
        &["--table", "crm.contacts"],
        &[&file],
        &dir.path().join("2.json"),
    );
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    assert_eq!(policy["tables"][0]["table"], "contacts");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("no-findings.jsonl"), "").unwrap();
    for (args, needle) in [
        (
            vec!["findings", "compile", "s3:///findings/"],
            "is not s3://bucket/prefix",
        ),
        (
            vec!["findings", "compile", "-o", "s3://bucket/", s(&file)],
            "is not s3://bucket/key",
        ),
        (
            vec!["findings", "compile", "--layout", "{schema}/*", s(&file)],
            "{table}",
        ),
        (
            vec!["findings", "compile", "--table", "nodot", s(&file)],
            "SCHEMA.TABLE",
        ),
        (
            vec!["findings", "compile", "/nonexistent/findings"],
            "does not exist",
        ),
        (
            vec!["findings", "compile", s(&empty)],
            "no sensitive-data findings",
        ),
    ] {
        let out = run_cdc_mask(&args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let help = String::from_utf8(ok(&["findings", "compile", "--help"]).stdout).unwrap();
    assert!(help.contains("Usage: cdc-mask findings compile"), "{help}");
}

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
