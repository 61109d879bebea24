//! The leak guarantee, as a property: whatever the PII values (quotes,
//! backslashes, escapes, emoji, astral characters) and however the input
//! escapes them, no protected value appears in any output of either view —
//! neither raw nor JSON-escaped — in `data` or in `before-image`, whatever
//! the case of the column names and however they are escaped.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use cdc_mask_core::{Shape, View};
use cdc_mask_transformer::Processor;
use proptest::prelude::*;

mod local;
use local::Local;

const POLICY: &str = r#"{"version":1,"tables":[{"schema":"s","table":"t","columns":{
  "p_redact":{},
  "p_partial":{"masked":{"action":"partial","keep_last":3}},
  "p_token":{"masked":"token"},
  "p_null":{"masked":"null"},
  "p_year":{"masked":{"action":"generalize","to":"year"}},
  "p_plain":{"rename":false},
  "p_number":{"masked":"token"},
  "p_det":{"masked":"token","encrypted":"encrypt-deterministic","domain":"leak_test"}
}}]}"#;

const COLUMNS: [&str; 7] = [
    "p_redact",
    "p_partial",
    "p_token",
    "p_null",
    "p_year",
    "p_plain",
    "p_det",
];

struct Fixture {
    _local: Local,
    processors: Vec<(View, Shape, Processor)>,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let local = Local::new(POLICY);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut processors = Vec::new();
        for view in [View::Masked, View::Encrypted] {
            for shape in [Shape::Flat, Shape::Envelope] {
                let settings = local.settings(view.as_str(), shape, &[]);
                processors.push((view, shape, runtime.block_on(settings.processor()).unwrap()));
            }
        }
        Fixture {
            _local: local,
            processors,
            runtime,
        }
    })
}

/// A PII value: a marker (so that chance matches are impossible) and a
/// random tail drawn from characters that stress escaping.
fn pii() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just('"'),
        Just('\\'),
        Just('/'),
        Just('\n'),
        Just('\u{0}'),
        Just('\u{1f}'),
        Just('é'),
        Just('😀'),
        Just('𝄞'),
        Just('\u{2028}'),
        Just('\u{feff}'),
        any::<char>(),
        proptest::char::range('a', 'z'),
    ];
    proptest::collection::vec(tricky, 6..24)
        .prop_map(|tail| format!("PII{}", tail.into_iter().collect::<String>()))
}

/// How the producer escapes a string in JSON.
#[derive(Debug, Clone, Copy)]
enum Escaping {
    /// serde_json's minimal escaping.
    Minimal,
    /// Every character as `\uXXXX` (surrogate pairs for astral ones).
    AllUnicode,
    /// Minimal, plus `/` as `\/`.
    Solidus,
}

fn escape(value: &str, how: Escaping) -> String {
    match how {
        Escaping::Minimal => serde_json::to_string(value).unwrap(),
        Escaping::Solidus => serde_json::to_string(value).unwrap().replace('/', "\\/"),
        Escaping::AllUnicode => {
            let mut s = String::from("\"");
            for unit in value.encode_utf16() {
                s.push_str(&format!("\\u{unit:04x}"));
            }
            s.push('"');
            s
        }
    }
}

/// Forms in which a value could show up in output.
fn forms(value: &str) -> Vec<String> {
    let minimal = serde_json::to_string(value).unwrap();
    let inner = minimal[1..minimal.len() - 1].to_owned();
    let mut forms = vec![value.to_owned(), inner.clone(), inner.replace('/', "\\/")];
    forms.retain(|f| f.len() >= 6);
    forms
}

/// Column `c` as the producer names it: upper case when bit `i` of
/// `upper` is set, escaped like the values.
fn column_name(c: &str, i: usize, upper: u8, how: Escaping) -> String {
    if upper & (1 << i) == 0 {
        escape(c, how)
    } else {
        escape(&c.to_ascii_uppercase(), how)
    }
}

fn record(values: &[String], before: &[String], how: Escaping, number: u64, upper: u8) -> Vec<u8> {
    let object = |vals: &[String]| {
        let mut cols: Vec<String> = COLUMNS
            .iter()
            .zip(vals)
            .enumerate()
            .map(|(i, (c, v))| format!("{}:{}", column_name(c, i, upper, how), escape(v, how)))
            .collect();
        cols.push(format!(
            "{}:{number}",
            column_name("p_number", 7, upper, how)
        ));
        cols.push("\"safe\":\"visible\"".to_owned());
        format!("{{{}}}", cols.join(","))
    };
    format!(
        r#"{{"data":{},"before-image":{},"metadata":{{"timestamp":"2026-11-28T00:00:00.000000Z","record-type":"data","operation":"update","partition-key-type":"primary-key","partition-key-value":{},"schema-name":"s","table-name":"t"}}}}"#,
        object(values),
        object(before),
        escape(&values[0], how)
    )
    .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_pii_in_any_output(
        values in proptest::collection::vec(pii(), COLUMNS.len()),
        before in proptest::collection::vec(pii(), COLUMNS.len()),
        how in prop_oneof![Just(Escaping::Minimal), Just(Escaping::AllUnicode), Just(Escaping::Solidus)],
        number in 1_000_000_000u64..u64::MAX,
        upper in any::<u8>(),
    ) {
        let input = record(&values, &before, how, number, upper);
        let event = serde_json::to_vec(&serde_json::json!({
            "records": [{"recordId": "1", "approximateArrivalTimestamp": 0, "data": BASE64.encode(&input)}]
        })).unwrap();
        let f = fixture();
        for (view, shape, processor) in &f.processors {
            let result = f.runtime.block_on(processor.process(&event)).unwrap();
            let response: serde_json::Value = serde_json::from_slice(&result.response).unwrap();
            let answer = &response["records"][0];
            prop_assert_eq!(answer["result"].as_str(), Some("Ok"));
            prop_assert_eq!(answer["metadata"]["partitionKeys"]["view"].as_str(), Some(view.as_str()));
            let line = String::from_utf8(BASE64.decode(answer["data"].as_str().unwrap()).unwrap()).unwrap();
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
            prop_assert!(parsed.is_object());
            prop_assert!(line.contains("\"safe\":\"visible\""), "{:?} {:?}: unprotected column kept", view, shape);
            prop_assert!(!line.contains(&number.to_string()), "{:?} {:?}: number leaked", view, shape);
            let raw_response = String::from_utf8_lossy(&result.response);
            for value in values.iter().chain(&before) {
                for form in forms(value).iter().chain([escape(value, how)].iter()) {
                    prop_assert!(!line.contains(form.as_str()), "{:?} {:?} leaked {:?} in {}", view, shape, form, line);
                    prop_assert!(!raw_response.contains(form.as_str()));
                }
            }
        }
    }
}
