//! Fuzz target `firehose_event`: arbitrary bytes as a Firehose
//! transformation event, answered for both views as the Lambda answers it,
//! with the pure core (`firehose::Event`: parse, transform, seal the
//! rejected records, respond; `Setup::respond`).
//!
//! Asserts:
//! - it never panics, and fails only with `BatchError::BadEvent`;
//! - on `Ok`, the response is at most `MAX_RESPONSE_BYTES` and parses as
//!   JSON `{"records":[…]}`; when serde_json reads the input as an event
//!   (an object whose `records` is an array of objects with a string
//!   `recordId`), there is exactly one answer per input record, in order,
//!   with the same `recordId`;
//! - every `result` is `Ok` or `Dropped`, never `ProcessingFailed` (Firehose
//!   would write the raw record to its error prefix); `Ok` answers carry the
//!   four partition keys (`view` is the processor's view or `quarantine`),
//!   `Dropped` answers have empty `data` and, when they carry partition keys,
//!   `view` `control`; an `Ok` row of the view decodes (base64) to exactly
//!   one line that parses as a JSON object (or holds what serde_json refuses
//!   on purpose, see the README);
//! - the stats agree with the response: one answer per record, and
//!   `rows + dropped_control + quarantined + lost == records`.
#![cfg_attr(fuzzing, no_main)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cdc_mask_core::firehose::{BatchError, MAX_RESPONSE_BYTES, PARTITION_KEYS};
use cdc_mask_core::View;
use serde_json::Value;

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));

/// Without libFuzzer: replays the files named on the command line.
#[cfg(not(fuzzing))]
#[allow(dead_code)]
fn main() {
    cdc_mask_fuzz::replay_main(check);
}

/// The target's body.
pub fn check(data: &[u8]) {
    let setup = cdc_mask_fuzz::setup();
    let ids = input_ids(data);
    for view in [View::Masked, View::Encrypted] {
        let result = match setup.respond(view, data) {
            Ok(result) => result,
            Err(BatchError::BadEvent(_)) => continue,
            Err(other) => panic!("{} view: unexpected error {other}", view.as_str()),
        };
        assert_eq!(result.view, Some(view));
        assert!(result.response.len() <= MAX_RESPONSE_BYTES);
        let response: Value =
            serde_json::from_slice(&result.response).expect("the response is JSON");
        let answers = response
            .get("records")
            .and_then(Value::as_array)
            .expect("the response has a records array");
        if let Some(ids) = &ids {
            let got: Vec<Option<&str>> = answers
                .iter()
                .map(|a| a.get("recordId").and_then(Value::as_str))
                .collect();
            let want: Vec<Option<&str>> = ids.iter().map(|id| Some(id.as_str())).collect();
            assert_eq!(got, want, "one answer per recordId, in order");
        }
        let stats = &result.stats;
        assert_eq!(stats.records, answers.len() as u64);
        for answer in answers {
            let result_of = answer.get("result").and_then(Value::as_str);
            let data = answer
                .get("data")
                .and_then(Value::as_str)
                .expect("every answer has a data string");
            let keys = answer
                .get("metadata")
                .and_then(|m| m.get("partitionKeys"))
                .and_then(Value::as_object);
            if let Some(keys) = keys {
                let names: Vec<&str> = keys.keys().map(String::as_str).collect();
                let mut want = PARTITION_KEYS.to_vec();
                want.sort_unstable();
                assert_eq!(names, want, "partition keys");
                assert!(keys.values().all(Value::is_string));
            }
            let key_view = keys.and_then(|k| k["view"].as_str());
            match result_of {
                Some("Ok") => {
                    let key_view = key_view.expect("Ok answers have partition keys");
                    let decoded = STANDARD.decode(data).expect("Ok data is base64");
                    if key_view == view.as_str() {
                        check_line(&decoded);
                    } else {
                        assert_eq!(key_view, "quarantine");
                    }
                }
                Some("Dropped") => {
                    // Bare (no keys) only past the response limit.
                    assert!(key_view.is_none() || key_view == Some("control"));
                    assert_eq!(data, "");
                }
                other => panic!("unexpected result {other:?}"),
            }
        }
        assert_eq!(
            stats.rows + stats.dropped_control + stats.quarantined_total() + stats.lost,
            stats.records,
            "{stats:?}"
        );
    }
}

/// The record ids of the input, if serde_json reads it as an event.
fn input_ids(data: &[u8]) -> Option<Vec<String>> {
    let event: Value = serde_json::from_slice(data).ok()?;
    event
        .get("records")?
        .as_array()?
        .iter()
        .map(|r| r.get("recordId")?.as_str().map(str::to_owned))
        .collect()
}

/// An output row: one line, ending in `\n`, a JSON object.
fn check_line(line: &[u8]) {
    assert_eq!(line.last(), Some(&b'\n'), "a row ends in a newline");
    assert_eq!(
        line.iter().filter(|&&b| b == b'\n' || b == b'\r').count(),
        1,
        "a row is one line"
    );
    match serde_json::from_slice::<Value>(line) {
        Ok(value) if value.is_object() => {}
        // Intentional: values are copied byte for byte, and serde_json
        // refuses or misreads some valid JSON (see the README).
        _ if cdc_mask_fuzz::serde_refuses_on_purpose(line) => {}
        Ok(other) => panic!("a row is not an object: {other}"),
        Err(e) => panic!("row is not JSON: {e}: {}", String::from_utf8_lossy(line)),
    }
}
