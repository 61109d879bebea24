//! Shared set-up of the cdc-mask fuzz targets: the processors and
//! transformers (built once), seed inputs from the DMS record generator, a
//! small deterministic mutator for the stable-Rust smoke runner, and the
//! helpers the targets use to tell intentional differences from bugs.
//!
//! The targets themselves are in `fuzz_targets/`; each exposes
//! `pub fn check(data: &[u8])`, called by libFuzzer under `cargo fuzz run`
//! and by `tests/smoke.rs` on stable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cdc_mask_router::source::generate::{Generator, GeneratorConfig};
use cdc_mask_transformer::config::{KeySource, Settings};
use cdc_mask_core::keys::DataKey;
use cdc_mask_transformer::policy_source::PolicyLocation;
use cdc_mask_core::{Shape, Transformer, View, ViewMode};
use cdc_mask_transformer::Processor;

/// The sample policy of the three generated tables.
pub fn policy_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/examples/policy.json")
}

/// Everything the targets need, built once per process.
pub struct Setup {
    runtime: tokio::runtime::Runtime,
    /// Processor writing the masked view.
    pub masked: Processor,
    /// Processor writing the encrypted view.
    pub encrypted: Processor,
    /// Transformers: (masked, encrypted) × (flat, envelope).
    pub transformers: Vec<Transformer>,
    /// A data key of the encrypted view, from the local keyring.
    pub data_key: Arc<DataKey>,
}

static SETUP: OnceLock<Setup> = OnceLock::new();

/// The shared set-up. The local keyring lives in `fuzz/target/fuzz-keyring`
/// (git-ignored, reused across runs; concurrent first uses agree on one key).
pub fn setup() -> &'static Setup {
    SETUP.get_or_init(|| {
        let keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-keyring");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("tokio runtime");
        let settings = |view: ViewMode, shape: Shape| {
            let mut settings = Settings::new(
                view,
                PolicyLocation::File(policy_path()),
                KeySource::Local(keyring.clone()),
            );
            settings.shape = shape;
            settings
        };
        let build = |view: View| {
            runtime
                .block_on(settings(ViewMode::Fixed(view), Shape::Flat).build())
                .expect("building a processor")
        };
        let masked = build(View::Masked);
        let encrypted = build(View::Encrypted);
        let mut transformers = Vec::new();
        let mut data_key = None;
        for shape in [Shape::Flat, Shape::Envelope] {
            let views = runtime.block_on(async {
                let parts = settings(ViewMode::Fixed(View::Masked), shape)
                    .components()
                    .await
                    .expect("building transformers");
                if data_key.is_none() {
                    data_key = Some(parts.data_keys.key_for(1).await.expect("a local data key"));
                }
                parts.policies.current().expect("a fresh policy")
            });
            transformers.push(views.masked.clone());
            transformers.push(views.encrypted.clone());
        }
        Setup {
            runtime,
            masked,
            encrypted,
            transformers,
            data_key: data_key.expect("set above"),
        }
    })
}

impl Setup {
    /// Runs a future to completion on the set-up's current-thread runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
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
// Seeds.

/// Generated DMS records (control, full-load, insert, update, delete of the
/// three sample tables) and hand-written edge cases.
pub fn dms_records() -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = Generator::new(GeneratorConfig {
        seed: 7,
        load_rows_per_table: 2,
    })
    .take(60)
    .collect();
    let meta = r#""metadata":{"timestamp":"2026-11-28T00:00:00.000000Z","record-type":"data","operation":"insert","partition-key-type":"schema-table","schema-name":"dataset","table-name":"customer","transaction-id":1}"#;
    for extra in [
        // Upper-case, escaped and reserved column names; nested values.
        format!(r#"{{"data":{{"ID":1,"USERNAME":"a\"b","n\u0061me":"x","mail":null,"_op":"x","birthdate":"1990-02-03","extra":{{"k":[1,2.5e-3,true]}}}},{meta}}}"#),
        // A lone surrogate and a non-BMP character in protected values.
        format!(r#"{{"data":{{"id":2,"username":"\ud800","name":"\ud83d\ude00","mail":"é@x","birthdate":"\u0031990-01-01"}},{meta}}}"#),
        // before-image null and numbers in protected columns.
        format!(r#"{{"data":{{"id":3,"username":12345678901234567890,"name":1e999,"mail":-0.0,"birthdate":19900101}},"before-image":null,{meta}}}"#),
        // Pretty-printed, with whitespace everywhere.
        format!("{{\n  \"data\" : {{ \"id\" : 4 ,\n \"name\" : [ 1 ,\r\n 2 ] }} ,\n {meta} \n}}\n"),
        // Duplicate fields.
        format!(r#"{{"data":{{"id":5}},"data":{{"id":6}},{meta}}}"#),
        r#"{"data":{"id":7,"name":"x"},"metadata":{"record-type":"data","schema-name":"dataset","table-name":"customer","schema-name":"other"}}"#.to_owned(),
        // Control and unknown record types; not DMS at all.
        r#"{"control":{"table-def":{}},"metadata":{"timestamp":"2026-11-28T00:00:00Z","record-type":"control","operation":"drop-table","schema-name":"dataset","table-name":"card"}}"#.to_owned(),
        r#"{"metadata":{"record-type":"heartbeat"}}"#.to_owned(),
        r#"{"hello":"world"}"#.to_owned(),
        // Bank and card rows with every protected column.
        r#"{"data":{"id":8,"account_number":"XYZ-1","iban":"DE89370400440532013000","bban":"370400440532013000"},"metadata":{"timestamp":"bad","record-type":"data","operation":"update","schema-name":"dataset","table-name":"bank"},"before-image":{"id":8,"iban":"x"}}"#.to_owned(),
        r#"{"data":{"id":9,"cred_card_provider":"VISA 16 digit","card_number":"4111111111111111","card_expiration":"12/30","card_security_code":123},"metadata":{"timestamp":"2026-11-28T00:00:00Z","record-type":"data","operation":"load","schema-name":"DATASET","table-name":"Card"}}"#.to_owned(),
    ] {
        records.push(extra.into_bytes());
    }
    records
}

/// A Firehose transformation event of `records` (raw DMS bytes, base64-encoded
/// into `data`), with ids `id-0`, `id-1`, ….
pub fn event_of(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = br#"{"invocationId":"fuzz","deliveryStreamArn":"arn:aws:firehose:us-east-1:123456789012:deliverystream/cdc-masked","region":"us-east-1","records":["#.to_vec();
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(
                r#"{{"recordId":"id-{i}","approximateArrivalTimestamp":1764288000000,"data":"{}"}}"#,
                STANDARD.encode(record)
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"]}");
    out
}

/// Events of one, two and three generated records, and hand-written ones.
pub fn events() -> Vec<Vec<u8>> {
    let records = dms_records();
    let mut events: Vec<Vec<u8>> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        events.push(event_of(std::slice::from_ref(record)));
        if i % 3 == 0 && i + 3 <= records.len() {
            events.push(event_of(&records[i..i + 3]));
        }
    }
    for extra in [
        r#"{"records":[]}"#,
        r#"{"records":[{"recordId":"a"}]}"#,
        r#"{"records":[{"recordId":"a","data":null},{"recordId":"b","data":42},{"recordId":"c","data":"!!!"}]}"#,
        // Unpadded base64 of `{}`, an escaped id, odd timestamps.
        r#"{"records":[{"recordId":"q\"\u00e9\\","approximateArrivalTimestamp":1e300,"data":"e30"},{"recordId":"r","approximateArrivalTimestamp":-1,"data":"e30="}]}"#,
        r#"{"deliveryStreamArn":"x","records":[{"recordId":"","approximateArrivalTimestamp":"soon","data":""}],"extra":[1,{"a":null}]}"#,
        r#"{"records":[{"recordId":"a","data":"e30="},{"recordId":"a","data":"e30="}]}"#,
    ] {
        events.push(extra.as_bytes().to_vec());
    }
    events
}

/// Generated DMS records and JSON edge cases around the scanner's limits.
pub fn json_documents() -> Vec<Vec<u8>> {
    let mut docs = dms_records();
    let deep = |open: &str, close: &str, n: usize| {
        format!("{{\"a\":{}1{}}}", open.repeat(n), close.repeat(n)).into_bytes()
    };
    for n in [62, 63, 64, 65, 126, 127, 128, 129] {
        docs.push(deep("[", "]", n));
        docs.push(deep("{\"b\":", "}", n));
    }
    for extra in [
        "{}",
        " {\"a\":1} ",
        "{\"\":\"\"}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\\ud800\"}",
        "{\"a\":\"\\ud83d\\ude00\"}",
        "{\"a\":1e999}",
        "{\"a\":-1e-999}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":\"\u{7f}\"}",
        "{\"a\":[]}",
        "[]",
        "\"a\"",
        "{\"a\":1}\u{feff}",
    ] {
        docs.push(extra.as_bytes().to_vec());
    }
    docs
}

// ---------------------------------------------------------------------------
// A small deterministic mutator, for the stable-Rust smoke runner.

/// xorshift64* pseudo-random numbers.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed (zero is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const SPECIAL_BYTES: &[u8] = b"\"\\{}[],:\n\r\t \x00\x1f\x7f\xff\xc3\xa9\xed";

const TOKENS: &[&str] = &[
    "\\u0000",
    "\\ud800",
    "\\udc00",
    "\\ud83d\\ude00",
    "\\\"",
    "\\\\",
    "\\u",
    "1e999",
    "-0",
    "0.5e-400",
    "01",
    "null",
    "true",
    "\"\"",
    "{}",
    "[]",
    "\"data\"",
    "\"metadata\"",
    "\"before-image\"",
    "\"record-type\":\"control\"",
    "\"record-type\":\"data\"",
    "\"schema-name\":\"dataset\"",
    "\"table-name\":\"bank\"",
    "\"_op\":1",
    "\"_key\":\"x\"",
    "\"USERNAME\":\"u\"",
    "\"Mail\":\"m@x\"",
    "\"birthdate\":\"2000-13-45\"",
    "\"iban\":\"DE\"",
    "\"card_number\":7",
    "\"recordId\":\"x\"",
    "\"data\":\"e30=\"",
    "😀",
];

/// Applies one to four random edits to `input`: byte and bit flips,
/// truncation, insertion of structural bytes and JSON tokens, deep nesting,
/// deletion and duplication of chunks.
pub fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(10) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next_u64() as u8;
            }
            1 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            2 => out.truncate(at),
            3 => out.insert(at, SPECIAL_BYTES[rng.below(SPECIAL_BYTES.len())]),
            4 => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            5 => {
                // Nest the value after a colon `depth` levels deep.
                let depth = [1, 2, 62, 63, 64, 65, 127, 128, 129, 300][rng.below(10)];
                if let Some(colon) = out[at..].iter().position(|&b| b == b':') {
                    let start = at + colon + 1;
                    let end = out[start..]
                        .iter()
                        .position(|&b| b == b',' || b == b'}')
                        .map_or(out.len(), |p| start + p);
                    let (open, close): (&[u8], &[u8]) = if rng.below(2) == 0 {
                        (b"[", b"]")
                    } else {
                        (b"{\"n\":", b"}")
                    };
                    out.splice(end..end, close.repeat(depth));
                    out.splice(start..start, open.repeat(depth));
                }
            }
            6 => {
                let len = rng.below(16) + 1;
                out.drain(at..(at + len).min(out.len()));
            }
            7 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(64) + 1).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            8 => {
                if let Some(b) = out.get_mut(at) {
                    if b.is_ascii_alphabetic() {
                        *b ^= 0x20;
                    }
                }
            }
            _ => {
                let digits = ["9".repeat(40), "1e308".to_owned(), "-1E+309".to_owned()];
                let token = &digits[rng.below(digits.len())];
                out.splice(at..at, token.bytes());
            }
        }
    }
    out
}

/// Mutated inputs of a target: `count` of them, each a mutation of one of
/// `seeds`; for the event target, half are events built from mutated DMS
/// records (so the mutation reaches the transformer, not only the envelope).
pub fn mutated(target: &str, seeds: &[Vec<u8>], count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let records = dms_records();
    (0..count)
        .map(|i| {
            if target == "firehose_event" && i % 2 == 1 {
                let n = rng.below(3) + 1;
                let picked: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let record = &records[rng.below(records.len())];
                        if rng.below(4) == 0 {
                            record.clone()
                        } else {
                            mutate(record, &mut rng)
                        }
                    })
                    .collect();
                event_of(&picked)
            } else {
                mutate(&seeds[rng.below(seeds.len())], &mut rng)
            }
        })
        .collect()
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
