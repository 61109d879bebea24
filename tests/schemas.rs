//! The JSON Schemas agree with the code: example documents validate, and
//! the schema rejects what the policy loader rejects.

mod support;

use std::process::Command;

use cdc_mask_transformer::Policy;
use support::workspace_root;

/// Validates `documents` against `schema` with Python's `jsonschema` from the
/// test venv; returns one verdict per document.
fn validate(schema: &str, documents: &[&str]) -> Vec<bool> {
    let venv = std::env::var("CDCMASK_VENV")
        .unwrap_or_else(|_| workspace_root().join(".venv").display().to_string());
    let python = format!("{venv}/bin/python");
    assert!(
        std::path::Path::new(&python).exists(),
        "{python} missing: run the README test command (./scripts/test)"
    );
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
for doc in json.load(sys.stdin):
    print("valid" if validator.is_valid(json.loads(doc)) else "invalid")
"#;
    let mut child = Command::new(python)
        .args(["-c", script, schema])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), documents).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "valid")
        .collect()
}

#[test]
fn policy_schema_and_loader_agree() {
    let schema = workspace_root().join("schemas/policy.schema.json");
    let example =
        std::fs::read_to_string(workspace_root().join("schemas/examples/policy.json")).unwrap();
    let cases = [
        (example.as_str(), true),
        (r#"{"version":1,"tables":[]}"#, true),
        (
            r#"{"version":1,"redact_with":"***","tables":[{"schema":"s","table":"t","columns":{"c":{"masked":{"action":"redact","with":"x"},"encrypted":"null","rename":false}}}]}"#,
            true,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":{"action":"generalize","to":"month"},"encrypted":{"action":"encrypt"}}}}]}"#,
            true,
        ),
        (r#"{"version":2,"tables":[]}"#, false),
        (r#"{"version":1}"#, false),
        (r#"{"version":1,"tables":[],"extra":true}"#, false),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":"encrypt"}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":"shred"}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":{"action":"partial","keep_last":0}}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":{"action":"partial"}}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"encrypted":"encrypt-deterministic"}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"colour":"red"}}}]}"#,
            false,
        ),
    ];
    let documents: Vec<&str> = cases.iter().map(|(d, _)| *d).collect();
    let verdicts = validate(schema.to_str().unwrap(), &documents);
    for ((document, expected), schema_says) in cases.iter().zip(verdicts) {
        let loader_says = Policy::from_slice(document.as_bytes()).is_ok();
        assert_eq!(schema_says, *expected, "schema on {document}");
        assert_eq!(loader_says, *expected, "loader on {document}");
    }
}
