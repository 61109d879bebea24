//! The guard inside the transform: planted PII in unlisted columns and
//! tables never leaks in either view (before-images included), decoys come
//! back byte-identical, `report` changes no byte, the output is
//! deterministic, and `decrypt` reverses what the guard encrypted.

use std::sync::Arc;

use proptest::prelude::*;
use zeroize::Zeroizing;

use super::eval::{self, Rng, Sample};
use super::Detector;
use crate::decrypt::EncryptedRow;
use crate::keys::DataKey;
use crate::policy::{GuardMode, Policy, View};
use crate::transform::{Outcome, Scratch, Shape, Transformer};

/// Lists one column of `dataset.customer`; everything else is unlisted.
const POLICY: &str = r#"{"version":1,"tables":[{"schema":"dataset","table":"customer",
  "columns":{"email":{"masked":"redact"}}}]}"#;

fn policy(mode: GuardMode) -> Arc<Policy> {
    let mut policy = Policy::from_slice(POLICY.as_bytes()).unwrap();
    policy.set_guard_mode(mode);
    Arc::new(policy)
}

fn key() -> DataKey {
    DataKey::new(&Zeroizing::new([7; 32]), "test:key".into())
}

/// The JSON text of a sample's value (a number literal JSON would refuse,
/// such as one with leading zeros, as a string).
fn value(s: &Sample) -> String {
    if s.is_number && serde_json::from_str::<serde_json::Value>(&s.text).is_ok() {
        s.text.clone()
    } else {
        serde_json::to_string(&s.text).unwrap()
    }
}

/// A DMS update record of `schema.table` whose data and before-image carry
/// `columns` (name, JSON value) besides an `id`, and in `dataset.customer`
/// an e-mail in the listed column `email`.
fn record(schema: &str, table: &str, columns: &[(String, String)]) -> Vec<u8> {
    let listed = if schema == "dataset" {
        r#","email":"a@b.example""#
    } else {
        ""
    };
    let body: String = columns
        .iter()
        .map(|(name, value)| format!(",{}:{value}", serde_json::to_string(name).unwrap()))
        .collect();
    format!(
        r#"{{"data":{{"id":1{listed}{body}}},"before-image":{{"id":1{body}}},"metadata":{{"timestamp":"2026-12-01T10:00:00.000000Z","record-type":"data","operation":"update","partition-key-type":"schema-table","schema-name":"{schema}","table-name":"{table}","transaction-id":1}}}}"#
    )
    .into_bytes()
}

/// One output line of `view` (and what the guard counted).
fn run(mode: GuardMode, view: View, shape: Shape, input: &[u8]) -> (Vec<u8>, u64) {
    let transformer = Transformer::new(policy(mode), view, shape, None).unwrap();
    let mut out = Vec::new();
    let mut scratch = Scratch::default();
    let key = key();
    let outcome = transformer.transform(input, Some(&key), &mut out, &mut scratch);
    assert!(matches!(outcome, Outcome::Row(_)), "{outcome:?}");
    (out, scratch.guard_tally().total())
}

fn leaks(out: &[u8], s: &Sample) -> bool {
    let text = String::from_utf8_lossy(out);
    text.contains(&s.text) || text.contains(&value(s))
}

/// Planted cards, IBANs and e-mails that fire in any column.
fn strong(seed: u64) -> Vec<Sample> {
    eval::planted(seed, 20)
        .into_iter()
        .filter(|s| {
            matches!(
                s.planted,
                Some(Detector::CreditCard | Detector::Iban | Detector::Email)
            ) && !s.needs_hint()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn planted_pii_never_leaks(seed in any::<u64>(), listed in any::<bool>(), envelope in any::<bool>()) {
        let mut rng = Rng::new(seed);
        let samples = strong(seed);
        let picked: Vec<&Sample> = (0..3).map(|_| &samples[rng.below(samples.len() as u64) as usize]).collect();
        let columns: Vec<(String, String)> = picked
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{}_{i}", s.column), value(s)))
            .collect();
        let (schema, table) = if listed { ("dataset", "customer") } else { ("hr", "employee") };
        let input = record(schema, table, &columns);
        let shape = if envelope { Shape::Envelope } else { Shape::Flat };
        for view in [View::Masked, View::Encrypted] {
            let (out, counted) = run(GuardMode::Protect, view, shape, &input);
            for s in &picked {
                prop_assert!(!leaks(&out, s), "{} leaked in {view:?}: {}", s.kind, String::from_utf8_lossy(&out));
            }
            // Data and before-image, three columns each.
            prop_assert_eq!(counted, 6);
            let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
            let guarded = row["_guarded"].as_array().unwrap();
            prop_assert_eq!(guarded.len(), 3);
            if view == View::Encrypted {
                let mut clear = Vec::new();
                EncryptedRow::parse(&out).unwrap().decrypt(Some(&key()), &mut clear).unwrap();
                for s in &picked {
                    prop_assert!(leaks(&clear, s), "decrypt gives {} back", s.kind);
                }
            }
        }
    }
}

#[test]
fn protected_values_keep_their_column_and_view_default() {
    let input = record(
        "hr",
        "employee",
        &[("notes".into(), r#""card 4111 1111 1111 1111""#.into())],
    );
    let (masked, _) = run(GuardMode::Protect, View::Masked, Shape::Flat, &input);
    let row: serde_json::Value = serde_json::from_slice(&masked).unwrap();
    assert_eq!(row["notes"], "##################");
    assert_eq!(row["_before"]["notes"], "##################");
    assert_eq!(row["_guarded"], serde_json::json!(["notes"]));
    assert_eq!(row["id"], 1);
    let (encrypted, _) = run(GuardMode::Protect, View::Encrypted, Shape::Flat, &input);
    let row: serde_json::Value = serde_json::from_slice(&encrypted).unwrap();
    assert!(row["notes"].as_str().unwrap().starts_with("enc"), "{row}");
    assert_eq!(row["_key"], "test:key");
}

#[test]
fn decoys_come_back_byte_identical() {
    let decoys = eval::decoys(21, 2_000);
    for chunk in decoys.chunks(8) {
        let columns: Vec<(String, String)> = chunk
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("{}_{i}", s.column), value(s)))
            .collect();
        let input = record("hr", "employee", &columns);
        for shape in [Shape::Flat, Shape::Envelope] {
            let (on, counted) = run(GuardMode::Protect, View::Masked, shape, &input);
            let (off, _) = run(GuardMode::Off, View::Masked, shape, &input);
            assert_eq!(counted, 0, "{chunk:?}");
            assert_eq!(on, off, "{chunk:?}");
        }
    }
}

#[test]
fn report_mode_changes_no_byte_but_counts() {
    let samples = strong(5);
    let columns: Vec<(String, String)> = samples
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("{}_{i}", s.column), value(s)))
        .collect();
    let input = record("dataset", "customer", &columns);
    for shape in [Shape::Flat, Shape::Envelope] {
        let (report, counted) = run(GuardMode::Report, View::Masked, shape, &input);
        let (off, none) = run(GuardMode::Off, View::Masked, shape, &input);
        assert_eq!(report, off);
        assert_eq!(none, 0);
        assert_eq!(counted, 2 * samples.len() as u64);
    }
}

#[test]
fn guard_output_is_deterministic() {
    let samples = strong(9);
    let columns: Vec<(String, String)> = samples
        .iter()
        .map(|s| (s.column.to_owned(), value(s)))
        .collect();
    let input = record("hr", "employee", &columns);
    let first = run(GuardMode::Protect, View::Masked, Shape::Flat, &input);
    for _ in 0..3 {
        assert_eq!(
            run(GuardMode::Protect, View::Masked, Shape::Flat, &input),
            first
        );
    }
}

#[test]
fn missing_section_is_protect_and_listed_columns_are_not_guarded() {
    let policy = Policy::from_slice(POLICY.as_bytes()).unwrap();
    assert_eq!(policy.guard_mode(), GuardMode::Protect);
    // `email` is listed (redact): the policy's action, not the guard's.
    let input = record("dataset", "customer", &[]);
    let (out, counted) = run(GuardMode::Protect, View::Masked, Shape::Flat, &input);
    assert_eq!(counted, 0);
    let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(row["email_masked"], "##################");
    assert!(row.get("_guarded").is_none(), "{row}");
    // The same e-mail in an unlisted table is the guard's.
    let input = record(
        "hr",
        "employee",
        &[("email".into(), r#""a@b.example""#.into())],
    );
    let (out, counted) = run(GuardMode::Protect, View::Masked, Shape::Flat, &input);
    assert_eq!(counted, 2);
    let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(row["_guarded"], serde_json::json!(["email"]));
}

#[test]
fn guard_section_parses_and_rejects_unknown_detectors() {
    let with = |section: &str| {
        Policy::from_slice(format!(r#"{{"version":1,"tables":[],"guard":{section}}}"#).as_bytes())
    };
    assert_eq!(
        with(r#"{"mode":"report","detectors":["email"]}"#)
            .unwrap()
            .guard_mode(),
        GuardMode::Report
    );
    assert!(with(r#"{"mode":"off"}"#).unwrap().guard().is_none());
    let err = with(r#"{"detectors":["ssn"]}"#).unwrap_err().to_string();
    assert!(err.contains("unknown detector"), "{err}");
    assert!(with(r#"{"mode":"loud"}"#).is_err());
}

#[test]
fn suggested_findings_compile_into_a_policy_that_protects_those_columns() {
    use crate::findings::{checked_policy_json, Compiler, Defaults, Layout};
    let input = record(
        "hr",
        "employee",
        &[
            ("ssn".into(), r#""123-45-6789""#.into()),
            ("contact".into(), r#""write to jo@corp.example""#.into()),
            ("grade".into(), r#""B2""#.into()),
        ],
    );
    // Report mode: what the guard saw, as the router and Lambda write it.
    let transformer =
        Transformer::new(policy(GuardMode::Report), View::Masked, Shape::Flat, None).unwrap();
    let mut scratch = Scratch::default();
    transformer.transform(&input, None, &mut Vec::new(), &mut scratch);
    let mut lines = Vec::new();
    scratch.take_guard_tally().write_json_lines(&mut lines);
    let text = String::from_utf8(lines.clone()).unwrap();
    assert!(
        !text.contains("123-45-6789") && !text.contains("jo@corp"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 2, "{text}");

    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    compiler.add_source("findings/suggested/b1.jsonl", &lines);
    let compiled = compiler.finish(None);
    assert!(compiled.errors.is_empty(), "{:?}", compiled.errors);
    let json = checked_policy_json(&compiled.policy).unwrap();
    let policy = Arc::new(Policy::from_slice(&json).unwrap());
    assert_eq!(policy.guard_mode(), GuardMode::Protect);
    let token_key = crate::keys::TokenKey::new(&[3; 32], 1).unwrap();
    let transformer = Transformer::new(policy, View::Masked, Shape::Flat, Some(token_key)).unwrap();
    let mut out = Vec::new();
    transformer.transform(&input, None, &mut out, &mut Scratch::default());
    let row: serde_json::Value = serde_json::from_slice(&out).unwrap();
    // Listed now, with the actions of the matching Macie types (redact for
    // an SSN, token for an e-mail), no longer the guard's.
    assert_eq!(row["ssn_masked"], "##################", "{row}");
    assert!(
        row["contact_masked"].as_str().unwrap().starts_with("tok1_"),
        "{row}"
    );
    assert!(row.get("_guarded").is_none(), "{row}");
    assert_eq!(row["grade"], "B2");
}

#[test]
fn malformed_suggested_findings_are_errors() {
    use crate::findings::{Compiler, Defaults, Layout};
    let mut compiler = Compiler::new(Layout::Dms, Defaults::ByType);
    compiler.add_source(
        "s.jsonl",
        br#"{"schema":"a","table":"b","column":"c","detector":"ssn","count":1}"#,
    );
    let compiled = compiler.finish(None);
    assert_eq!(compiled.errors.len(), 1);
    assert!(compiled.errors[0].to_string().contains("unknown detector"));
}

#[test]
fn ddl_announcing_unlisted_columns_is_counted() {
    let transformer =
        Transformer::new(policy(GuardMode::Protect), View::Masked, Shape::Flat, None).unwrap();
    let mut scratch = Scratch::default();
    let add_column = br#"{"control":{"table-def":{"columns":{"id":{"type":"INT32"},"email":{"type":"STRING"},"loyalty_iban":{"type":"STRING"}}}},"metadata":{"timestamp":"2026-12-01T10:00:00Z","record-type":"control","operation":"add-column","partition-key-type":"task-id","schema-name":"dataset","table-name":"customer"}}"#;
    let outcome = transformer.transform(add_column, None, &mut Vec::new(), &mut scratch);
    assert!(matches!(outcome, Outcome::Control(_)), "{outcome:?}");
    // `email` is listed; `id` and `loyalty_iban` are not.
    assert_eq!(scratch.guard_tally().unlisted_column_added(), 2);
}
