//! The JSON Schemas agree with the code: example documents validate, and
//! the schema rejects what the policy loader rejects.

mod support;

use cdc_mask_core::Policy;
use support::{validate_json_schema, workspace_root};

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
            true,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","key":["id"],"columns":{"c":{"masked":"token","encrypted":{"action":"encrypt-deterministic"},"domain":"customer_email"}}}]}"#,
            true,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":"token","domain":"Customer-Email"}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"masked":"encrypt-deterministic"}}}]}"#,
            false,
        ),
        (
            r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{"c":{"colour":"red"}}}]}"#,
            false,
        ),
    ];
    let documents: Vec<&str> = cases.iter().map(|(d, _)| *d).collect();
    let verdicts = validate_json_schema(&schema, &documents);
    for ((document, expected), schema_says) in cases.iter().zip(verdicts) {
        let loader_says = Policy::from_slice(document.as_bytes()).is_ok();
        assert_eq!(schema_says, *expected, "schema on {document}");
        assert_eq!(loader_says, *expected, "loader on {document}");
    }
}
