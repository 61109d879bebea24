//! Compiling a policy and matching it case-insensitively; what is rejected.

use super::*;

const SAMPLE: &str = r#"{
  "version": 1,
  "tables": [{
    "schema": "Dataset", "table": "Customer",
    "columns": {
      "Mail": {"types": ["EMAIL_ADDRESS"], "masked": "token"},
      "card": {"masked": {"action": "partial", "keep_last": 4}, "rename": false},
      "birthdate": {"masked": {"action": "generalize", "to": "year"}, "encrypted": "keep"}
    }
  }]
}"#;

#[test]
fn compiles_and_matches_case_insensitively() {
    let policy = Policy::from_slice(SAMPLE.as_bytes()).unwrap();
    assert!(policy.uses_token(View::Masked));
    assert!(!policy.uses_token(View::Encrypted));
    let table = policy
        .table_with("DATASET", "customer", &mut String::new())
        .unwrap();
    let mail = table.column("mail").unwrap();
    assert_eq!(mail.masked, Action::Token);
    assert_eq!(mail.encrypted, Action::Encrypt);
    assert!(mail.rename);
    assert_eq!(
        table.column("card").unwrap().masked,
        Action::Partial { keep_last: 4 }
    );
    assert!(table.collides(View::Masked, "mail_masked"));
    assert!(!table.collides(View::Masked, "card_masked"));
    assert!(!table.collides(View::Encrypted, "birthdate_encrypted"));
    assert!(policy
        .table_with("dataset", "bank", &mut String::new())
        .is_none());
    assert_eq!(policy.redact_with(), DEFAULT_REDACTION);
}

#[test]
fn rejects_bad_policies() {
    for (bad, why) in [
        (r#"{"version":2,"tables":[]}"#, "version"),
        (r#"{"version":1,"tables":[],"extra":1}"#, "unknown field"),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"encrypt"}}}]}"#,
            "not allowed in the masked view",
        ),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":"shred"}}}]}"#,
            "unknown variant",
        ),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{},"C":{}}}]}"#,
            "listed twice",
        ),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{}},{"schema":"A","table":"B","columns":{}}]}"#,
            "listed twice",
        ),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b\u0000c","columns":{}}]}"#,
            "U+0000",
        ),
        (
            r#"{"version":1,"tables":[{"schema":"a","table":"b","columns":{"c":{"masked":{"action":"partial","keep_last":0}}}}]}"#,
            "keep_last",
        ),
    ] {
        let err = Policy::from_slice(bad.as_bytes()).unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
}
