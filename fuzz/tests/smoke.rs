//! Stable-Rust smoke runner of the fuzz targets: runs each target's `check`
//! on the files in `fuzz/corpus/<target>/` (if any; e.g. left by `cargo fuzz
//! run`), on the seed inputs, and on deterministic mutations of them.
//!
//! `cargo test -p cdc-mask-fuzz` (add `--release` for speed).
//! `CDCMASK_FUZZ_SMOKE_ITERATIONS` sets the number of mutated inputs per
//! target (default 3000), `CDCMASK_FUZZ_SMOKE_SEED` the mutator's seed.

#[path = "../fuzz_targets/dms_record.rs"]
mod dms_record;
#[path = "../fuzz_targets/firehose_event.rs"]
mod firehose_event;
#[path = "../fuzz_targets/json_scanner.rs"]
mod json_scanner;

use std::path::Path;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

fn run(target: &str, check: fn(&[u8]), seeds: Vec<Vec<u8>>) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut replayed = 0;
    if corpus.is_dir() {
        for path in cdc_mask_fuzz::files(&corpus) {
            let data = std::fs::read(&path).expect("reading a corpus file");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
            replayed += 1;
        }
    }
    for seed in &seeds {
        check(seed);
    }
    let count = env_number("CDCMASK_FUZZ_SMOKE_ITERATIONS", 3000) as usize;
    let mutator_seed = env_number("CDCMASK_FUZZ_SMOKE_SEED", 0x5eed);
    for input in cdc_mask_fuzz::mutated(target, &seeds, count, mutator_seed) {
        let outcome = std::panic::catch_unwind(|| check(&input));
        if outcome.is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("artifacts")
                .join(target);
            std::fs::create_dir_all(&dir).expect("creating fuzz/artifacts");
            let path = dir.join(format!("smoke-crash-{:016x}", fnv(&input)));
            std::fs::write(&path, &input).expect("saving the crashing input");
            panic!("{target}: mutated input fails; saved as {}", path.display());
        }
    }
    eprintln!(
        "{target}: {replayed} corpus files, {} seeds, {count} mutated inputs",
        seeds.len()
    );
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn firehose_event_smoke() {
    run(
        "firehose_event",
        firehose_event::check,
        cdc_mask_fuzz::events(),
    );
}

#[test]
fn dms_record_smoke() {
    run(
        "dms_record",
        dms_record::check,
        cdc_mask_fuzz::dms_records(),
    );
}

#[test]
fn json_scanner_smoke() {
    run(
        "json_scanner",
        json_scanner::check,
        cdc_mask_fuzz::json_documents(),
    );
}

/// The documented exceptions of `json_scanner` are real: each input below
/// is accepted by the scanner and refused by serde_json, or the reverse.
#[test]
fn intentional_differences_hold() {
    use cdc_mask_core::json::{parse_object, JsonError, MAX_DEPTH};
    let deep = format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert_eq!(
        parse_object(deep.as_bytes()).unwrap_err(),
        JsonError::TooDeep
    );
    assert!(serde_json::from_str::<serde_json::Value>(&deep).is_ok());
    // Too deep in a member serde_json drops (it keeps the last of duplicate
    // names): the document's depth counts, not that of serde_json's value.
    let deep_duplicate = format!(
        "{{\"a\":{}1{},\"a\":{{}}}}",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert_eq!(
        parse_object(deep_duplicate.as_bytes()).unwrap_err(),
        JsonError::TooDeep
    );
    let value: serde_json::Value = serde_json::from_str(&deep_duplicate).unwrap();
    assert_eq!(cdc_mask_fuzz::depth(&value), 2);
    assert!(cdc_mask_fuzz::nesting_depth(deep_duplicate.as_bytes()) > MAX_DEPTH);
    json_scanner::check(deep_duplicate.as_bytes());
    for doc in [
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00"}"#,
        r#"{"a":"\ud800\u0041"}"#,
        r#"{"a":1e999}"#,
        r#"{"a":-1E+309}"#,
    ] {
        assert!(parse_object(doc.as_bytes()).is_ok(), "{doc}");
        let err = serde_json::from_str::<serde_json::Value>(doc).unwrap_err();
        assert!(
            cdc_mask_fuzz::serde_refuses_on_purpose(doc.as_bytes()),
            "{doc}: {err}"
        );
    }
    // serde_json's RawValue marker key (raw_value feature).
    let marker = br#"{"$serde_json::private::RawValue":3333333333}"#;
    assert!(parse_object(marker).is_ok());
    assert!(serde_json::from_slice::<serde_json::Value>(marker).is_err());
    let marker = br#"{"\u0024serde_json::private::RawValue":"[1]"}"#;
    assert!(parse_object(marker).is_ok());
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(marker).unwrap(),
        serde_json::json!([1])
    );
    assert!(cdc_mask_fuzz::has_serde_raw_value_token(marker));
    // Duplicate names: both accept.
    let dup = br#"{"a":1,"a":2}"#;
    assert_eq!(parse_object(dup).unwrap().len(), 2);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(dup).unwrap()["a"],
        2
    );
}
