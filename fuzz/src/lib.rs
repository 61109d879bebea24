//! Shared set-up of the cdc-mask fuzz targets: the transformers and keys
//! (built once, from the pure core only: no keyring, no runtime), seed
//! inputs (the DMS fixture files and a small generator of the three sample
//! tables), a small deterministic mutator for the stable-Rust smoke runner,
//! and the helpers the targets use to tell intentional differences from
//! bugs.
//!
//! The targets themselves are in `fuzz_targets/`; each exposes
//! `pub fn check(data: &[u8])`, called by libFuzzer under `cargo fuzz run`
//! and by `tests/smoke.rs` on stable.
//!
//! # Layout
//! - this module: the set-up, file replay, and the intentional-difference
//!   helpers.
//! - `seeds`: the seed inputs.
//! - `mutate`: the smoke runner's mutator.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use cdc_mask_core::firehose::{BatchError, Event, Plan, Routing};
use cdc_mask_core::keys::{
    CacheLimits, DataKey, DataKeyCache, Purpose, RecipientPrivateKey, TokenKey,
};
use cdc_mask_core::{BatchResult, Policy, Shape, Transformer, View};
use zeroize::Zeroizing;

mod mutate;
mod seeds;

pub use mutate::{mutate, mutated, Rng};
pub use seeds::{dms_records, event_of, events, generated, json_documents};

/// The sample policy of the three sample tables.
pub fn policy_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json")
}

/// The DMS record fixtures (`transformer/tests/fixtures/example-dms-*.json`).
fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../transformer/tests/fixtures")
}

/// Everything the targets need, built once per process.
pub struct Setup {
    /// Transformers: (masked, encrypted) × (flat, envelope).
    pub transformers: Vec<Transformer>,
    /// The data key of the encrypted view (fixed bytes).
    pub data_key: DataKey,
    /// Where keys for sealing rejected records come from: wrapped to a
    /// fixed recipient, as the Lambda's are to the quarantine public key.
    pub quarantine_keys: DataKeyCache,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

/// The shared set-up: the sample policy, fixed keys.
pub fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let bytes = std::fs::read(policy_path()).expect("reading the sample policy");
        let policy = Arc::new(Policy::from_slice(&bytes).expect("the sample policy loads"));
        let token_key = TokenKey::new(&[3; 32], 1).expect("a 32-byte token key");
        let mut transformers = Vec::new();
        for shape in [Shape::Flat, Shape::Envelope] {
            for view in [View::Masked, View::Encrypted] {
                transformers.push(
                    Transformer::new(Arc::clone(&policy), view, shape, Some(token_key.clone()))
                        .expect("building a transformer"),
                );
            }
        }
        Setup {
            transformers,
            data_key: DataKey::new(&Zeroizing::new([1; 32]), "fuzz:data".to_owned()),
            quarantine_keys: DataKeyCache::new(
                RecipientPrivateKey::from_scalar_bytes(&[2; 32])
                    .expect("a valid P-256 scalar")
                    .recipient()
                    .clone(),
                Purpose::Quarantine,
                CacheLimits::default(),
            ),
        }
    })
}

impl Setup {
    /// The flat-shape transformer of `view` (the Lambda's default shape).
    pub fn flat(&self, view: View) -> &Transformer {
        match view {
            View::Masked => &self.transformers[0],
            View::Encrypted => &self.transformers[1],
        }
    }

    /// Answers a Firehose transformation event for `view` as the Lambda
    /// does, with the pure core: parse, transform every record (the
    /// encrypted view with the data key), seal the rejected ones, respond.
    ///
    /// # Errors
    /// [`BatchError`] when the bytes are not an event.
    pub fn respond(&self, view: View, event: &[u8]) -> Result<BatchResult, BatchError> {
        let event = Event::parse(event)?;
        let plan = Plan::Transform {
            transformer: self.flat(view),
            data_key: (view == View::Encrypted).then_some(&self.data_key),
        };
        event.answer(plan, Routing::S3, &self.quarantine_keys)
    }
}

/// `main` of a target built without libFuzzer (plain `cargo run`): runs
/// `check` on every file named on the command line (directories: every file
/// in them), e.g. to replay a crash found by `cargo fuzz run` on stable Rust.
pub fn replay_main(check: fn(&[u8])) {
    let mut count = 0usize;
    for arg in std::env::args_os().skip(1) {
        for path in files(Path::new(&arg)) {
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            eprintln!("{}", path.display());
            check(&data);
            count += 1;
        }
    }
    eprintln!("{count} inputs ok");
}

/// `path` itself, or the files in it (sorted) if it is a directory.
pub fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("listing {}: {e}", path.display()))
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    }
}

// ---------------------------------------------------------------------------
// Helpers for the intentional differences.

/// Whether a (well-formed) JSON document has a `\uXXXX` escape of a UTF-16
/// surrogate that is not part of a high-low pair.
pub fn has_lone_surrogate_escape(doc: &[u8]) -> bool {
    let hex = |at: usize| -> Option<u32> {
        let h = doc.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
    };
    let mut in_string = false;
    let mut i = 0;
    while i < doc.len() {
        let b = doc[i];
        if !in_string {
            in_string = b == b'"';
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = false;
                i += 1;
            }
            b'\\' if doc.get(i + 1) == Some(&b'u') => {
                let Some(unit) = hex(i + 2) else {
                    return false;
                };
                if (0xD800..0xDC00).contains(&unit) {
                    let paired = doc.get(i + 6) == Some(&b'\\')
                        && doc.get(i + 7) == Some(&b'u')
                        && hex(i + 8).is_some_and(|low| (0xDC00..0xE000).contains(&low));
                    if !paired {
                        return true;
                    }
                    i += 12;
                } else if (0xDC00..0xE000).contains(&unit) {
                    return true;
                } else {
                    i += 6;
                }
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    false
}

/// Whether a (well-formed) JSON document has a number that overflows an
/// `f64` (e.g. `1e999`), which serde_json rejects.
pub fn has_overflowing_number(doc: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while i < doc.len() {
        let b = doc[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < doc.len() && matches!(doc[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
            {
                i += 1;
            }
            let number = std::str::from_utf8(&doc[start..i]).unwrap_or("0");
            if number.parse::<f64>().is_ok_and(f64::is_infinite) {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// serde_json's private marker key (with its `raw_value` feature, which the
/// transformer turns on): an object whose first key is this is read by
/// `serde_json::Value` as a `RawValue` in disguise (the value must be a
/// string of JSON, which then replaces the object).
pub const SERDE_RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Whether a (well-formed) JSON document has a string, key or value, that
/// decodes to [`SERDE_RAW_VALUE_TOKEN`].
pub fn has_serde_raw_value_token(doc: &[u8]) -> bool {
    let mut i = 0;
    while i < doc.len() {
        if doc[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut j = start;
        while j < doc.len() && doc[j] != b'"' {
            j += if doc[j] == b'\\' { 2 } else { 1 };
        }
        let body = &doc[start..j.min(doc.len())];
        if cdc_mask_core::json::decode_string_body(body) == SERDE_RAW_VALUE_TOKEN {
            return true;
        }
        i = j + 1;
    }
    false
}

/// Whether serde_json's refusal (or misreading) of a document that the
/// transformer's scanner accepts is one of the intentional differences: a
/// lone surrogate escape, a number that overflows `f64`, or serde_json's
/// private `RawValue` marker key. (The scanner, and so the transformer's
/// output, keep all three byte for byte: they are valid JSON per RFC 8259.)
pub fn serde_refuses_on_purpose(doc: &[u8]) -> bool {
    has_lone_surrogate_escape(doc) || has_overflowing_number(doc) || has_serde_raw_value_token(doc)
}

/// Nesting depth of a (well-formed) JSON document as written: the most
/// arrays and objects open at once outside strings (a scalar is 0, `[]` and
/// `{}` are 1). Unlike [`depth`] of the value serde_json builds, it counts
/// members that serde_json drops (of duplicate names, it keeps the last).
pub fn nesting_depth(doc: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in doc {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Nesting depth of a value (a scalar is 0, `[]` and `{}` are 1).
pub fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
