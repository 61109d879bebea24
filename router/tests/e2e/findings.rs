//! `cdc-mask findings compile` as a user runs it on files: every input
//! shape, the overrides, bad input, determinism, layouts. (What its input
//! and output look like to others is `findings_contract`.)

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::support::findings::{example, sample_events};

fn run_cdc_mask(args: &[&str]) -> Output {
    crate::output_of(args, &[])
}

/// Runs `cdc-mask` and asserts success.
pub fn ok(args: &[&str]) -> Output {
    let out = run_cdc_mask(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `findings compile` of `sources` (plus `extra` arguments) to `out`;
/// returns the policy bytes and stderr.
pub fn compile(extra: &[&str], sources: &[&Path], out: &Path) -> (Vec<u8>, String) {
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

/// Issue 16: keys from the DMS table definitions that `demo` (as `run`
/// and `replay`) keeps under `control/` of the lake, the overrides' key
/// winning; low-entropy columns protected deterministically named, one
/// line each.
#[test]
fn keys_come_from_the_lakes_control_log_and_low_entropy_columns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    crate::ok(&["demo", "--out", s(&lake), "--records", "300"], &[]);
    assert!(
        !crate::dir_lines(&lake, "control").is_empty(),
        "the demo wrote no control log"
    );
    let mut overrides: Value =
        serde_json::from_slice(&std::fs::read(example("policy-overrides.json")).unwrap()).unwrap();
    let customer = &mut overrides["tables"][0];
    assert_eq!(customer["table"], "customer");
    customer["key"] = json!(["username"]);
    let columns = &mut customer["columns"];
    columns["username"]["encrypted"] = json!("encrypt-deterministic");
    columns["gender"] = json!({"masked": "token"});
    let overrides_path = dir.path().join("overrides.json");
    std::fs::write(&overrides_path, overrides.to_string()).unwrap();

    let (policy, stderr) = compile(
        &["--overrides", s(&overrides_path)],
        &[&example("macie-findings.jsonl"), &lake.join("control")],
        &dir.path().join("policy.json"),
    );
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    let keys: Vec<(String, Value)> = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_owned(), t["key"].clone()))
        .collect();
    assert_eq!(
        keys,
        [
            ("bank".to_owned(), json!(["id"])),
            ("card".to_owned(), json!(["id"])),
            ("customer".to_owned(), json!(["username"])),
        ],
        "{stderr}"
    );
    assert!(stderr.contains("3 DMS control record(s)"), "{stderr}");
    assert!(
        stderr.contains("key: dataset.bank (id) from DMS table definition"),
        "{stderr}"
    );
    assert!(
        stderr.contains("key: dataset.customer (username) from overrides"),
        "{stderr}"
    );
    let low_entropy: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("low-entropy"))
        .collect();
    assert_eq!(
        low_entropy,
        [
            "warning: dataset.customer.gender: low-entropy column protected deterministically \
          (token or encrypt-deterministic): frequency analysis can reverse its values"
        ],
        "{stderr}"
    );

    // Without the control log, only the overrides' key.
    let (policy, _) = compile(
        &["--overrides", s(&overrides_path)],
        &[&example("macie-findings.jsonl")],
        &dir.path().join("policy-2.json"),
    );
    let policy: Value = serde_json::from_slice(&policy).unwrap();
    let with_key = policy["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t.get("key").is_some())
        .count();
    assert_eq!(with_key, 1);
}
