//! Fuzz target `dms_record`: arbitrary bytes as one DMS record, through
//! `Transformer::transform` of both views and both shapes (masked and
//! encrypted × flat and envelope; the encrypted view with a fixed data
//! key).
//!
//! Asserts:
//! - it never panics;
//! - on `Outcome::Row`, exactly one line was appended to `out` after what
//!   it held: it ends in `\n`, has no other `\n` or `\r`, and serde_json
//!   parses it as an object — unless it holds what serde_json refuses on
//!   purpose (a lone surrogate escape or a number overflowing `f64`, copied
//!   byte for byte from the input; see the README);
//! - on any other outcome `out` is left exactly as it was.
//!
//! The scratch buffers are reused across calls, as in a batch.
#![cfg_attr(fuzzing, no_main)]

use std::cell::RefCell;

use cdc_mask_core::{Outcome, Scratch};
use serde_json::Value;

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));

/// Without libFuzzer: replays the files named on the command line.
#[cfg(not(fuzzing))]
#[allow(dead_code)]
fn main() {
    cdc_mask_fuzz::replay_main(check);
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What `out` holds before each call; must be left untouched.
const PREFIX: &[u8] = b"{\"previous\":\"row\"}\n";

/// The target's body.
pub fn check(data: &[u8]) {
    let setup = cdc_mask_fuzz::setup();
    SCRATCH.with_borrow_mut(|scratch| {
        for transformer in &setup.transformers {
            let mut out = PREFIX.to_vec();
            let outcome = transformer.transform(data, Some(&setup.data_key), &mut out, scratch);
            assert_eq!(
                &out[..PREFIX.len().min(out.len())],
                PREFIX,
                "out was overwritten"
            );
            match outcome {
                Outcome::Row(_) => check_line(&out[PREFIX.len()..]),
                Outcome::Control(_) | Outcome::Rejected(_) => {
                    assert_eq!(out, PREFIX, "{outcome:?} wrote output")
                }
            }
        }
    });
}

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
