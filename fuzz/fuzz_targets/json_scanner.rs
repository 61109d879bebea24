//! Fuzz target `json_scanner`: differential test of the transformer's JSON
//! scanner against serde_json.
//!
//! `cdc_mask_core::json::parse_object(bytes).is_ok()` must equal
//! "serde_json parses `bytes` as a `serde_json::Value` that is an object",
//! except for these intentional differences:
//!
//! 1. Depth. The scanner rejects nesting deeper than `json::MAX_DEPTH` (64:
//!    the top-level object is level 1) with `JsonError::TooDeep`; serde_json
//!    accepts up to 128 levels. Allowed: scanner `TooDeep` while serde_json
//!    accepts a document that nests deeper than `MAX_DEPTH` (checked on the
//!    bytes: the deep part may be a duplicate member serde_json drops).
//! 2. Lone surrogate escapes (`"\ud800"`, `"\udc00"`, a high surrogate not
//!    followed by a low one). RFC 8259 §8.2 allows them syntactically and the
//!    scanner only checks for four hex digits (member names decode them to
//!    U+FFFD, values are kept as written); serde_json refuses them when
//!    decoding to a `String`: "unexpected end of hex escape" (`\ud800` not
//!    followed by `\u`), "lone leading surrogate in hex escape" (`\udc00`,
//!    or `\ud800\u0041`). (serde_json's `RawValue` and `IgnoredAny` accept
//!    them, as the scanner does.)
//!    Allowed: scanner accepts, serde_json refuses, and the input has such
//!    an escape.
//! 3. Numbers overflowing `f64` (`1e999`, `-1E+309`, 400 digits). Valid
//!    JSON, kept byte for byte by the scanner; serde_json (without
//!    `arbitrary_precision`) refuses them ("number out of range"). Allowed:
//!    scanner accepts, serde_json refuses, and the input has such a number.
//! 4. serde_json's private marker key `"$serde_json::private::RawValue"`.
//!    The transformer turns on serde_json's `raw_value` feature, and with it
//!    `serde_json::Value` reads an object whose first key is that marker as
//!    a `RawValue` in disguise: the value must be a string, which is parsed
//!    as JSON and replaces the object (`{"$serde_json::private::RawValue":
//!    3}` is an error, `{"$serde_json::private::RawValue":"[1]"}` reads as
//!    `[1]`). Valid JSON for the scanner. Allowed (any outcome on serde_json's
//!    side) when the input has a string that decodes to the marker. Found
//!    by this target (crash input `{"$serde_json::private::RawValue":
//!    3333333333}`).
//!
//! Not differences (both sides agree, no exception needed): duplicate member
//! names (serde_json's `Value` keeps the last, the scanner returns them all);
//! invalid UTF-8 (both reject); a UTF-8 byte-order mark (both reject).
//!
//! When both accept, the members must also agree: the scanner's member
//! names are serde_json's keys, and each member's raw bytes parse (serde_json)
//! to the value serde_json holds for that name (the last one for duplicates),
//! with the same `Kind`.
#![cfg_attr(fuzzing, no_main)]

use std::collections::BTreeMap;

use cdc_mask_core::json::{self, JsonError, Kind};
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
    let ours = json::parse_object(data);
    let theirs = serde_json::from_slice::<Value>(data);
    match (&ours, &theirs) {
        (Ok(members), Ok(Value::Object(map))) => {
            if cdc_mask_fuzz::has_lone_surrogate_escape(data)
                || cdc_mask_fuzz::has_serde_raw_value_token(data)
            {
                // Exceptions 2 and 4: names would differ (U+FFFD here), and
                // serde_json reads marker objects as other values.
                return;
            }
            let mut last: BTreeMap<String, &json::Member<'_>> = BTreeMap::new();
            for member in members {
                last.insert(member.name().into_owned(), member);
            }
            let names: Vec<&str> = last.keys().map(String::as_str).collect();
            let keys: Vec<&str> = map.keys().map(String::as_str).collect();
            assert_eq!(names, keys, "member names");
            for (name, member) in last {
                let raw: Value = serde_json::from_str(member.raw)
                    .unwrap_or_else(|e| panic!("raw bytes of {name:?} do not parse: {e}"));
                assert_eq!(raw, map[&name], "raw bytes of {name:?}");
                let kind = match &raw {
                    Value::Null => Kind::Null,
                    Value::Bool(_) => Kind::Bool,
                    Value::Number(_) => Kind::Number,
                    Value::String(_) => Kind::String,
                    Value::Array(_) => Kind::Array,
                    Value::Object(_) => Kind::Object,
                };
                assert_eq!(member.kind, kind, "kind of {name:?}");
            }
        }
        (Err(_), Ok(Value::Object(_))) | (Err(_), Err(_)) | (Err(_), Ok(_)) => {
            if let (Err(JsonError::TooDeep), Ok(_)) = (&ours, &theirs) {
                // Exception 1. The document's own nesting, not that of
                // serde_json's value: a member that serde_json drops (of
                // duplicate names it keeps the last) may be the deep one.
                assert!(
                    cdc_mask_fuzz::nesting_depth(data) > json::MAX_DEPTH,
                    "TooDeep at depth {}",
                    cdc_mask_fuzz::nesting_depth(data)
                );
                return;
            }
            if let Ok(value) = &theirs {
                assert!(
                    !value.is_object(),
                    "scanner rejected ({:?}) what serde_json reads as an object",
                    ours
                );
            }
        }
        (Ok(_), Ok(other)) => {
            // Exception 4: `{"$serde_json::private::RawValue":"[1]"}`.
            assert!(
                cdc_mask_fuzz::has_serde_raw_value_token(data),
                "scanner accepted a non-object: {other}"
            );
        }
        (Ok(_), Err(e)) => {
            // Exceptions 2 and 3: serde_json's error must be the one for the
            // construct, and the input must have it. Exception 4: any error.
            let message = e.to_string();
            let surrogate =
                message.contains("hex escape") && cdc_mask_fuzz::has_lone_surrogate_escape(data);
            let overflow = message.contains("number out of range")
                && cdc_mask_fuzz::has_overflowing_number(data);
            let marker = cdc_mask_fuzz::has_serde_raw_value_token(data);
            assert!(
                surrogate || overflow || marker,
                "scanner accepted what serde_json refuses: {e}"
            );
        }
    }
}
