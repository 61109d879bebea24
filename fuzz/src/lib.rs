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

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cdc_mask_core::firehose::{BatchError, Event, Plan};
use cdc_mask_core::keys::{
    CacheLimits, DataKey, DataKeyCache, Purpose, RecipientPrivateKey, TokenKey,
};
use cdc_mask_core::{BatchResult, Policy, Shape, Transformer, View};
use zeroize::Zeroizing;

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
        event.answer(plan, &self.quarantine_keys)
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

/// DMS records: the fixture files, generated ones (control, full-load,
/// insert, update, delete of the three sample tables) and hand-written edge
/// cases.
pub fn dms_records() -> Vec<Vec<u8>> {
    let mut records: Vec<Vec<u8>> = files(&fixtures_dir())
        .into_iter()
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("example-dms-"))
        })
        .map(|path| std::fs::read(&path).expect("reading a fixture"))
        .collect();
    assert_eq!(records.len(), 5, "the five example-dms-*.json fixtures");
    records.extend(generated(7, 3));
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

/// A small DMS record generator for seeds: for each sample table its
/// `create-table` control record, two full-load rows, then `rounds` rounds
/// of an insert, an update (with its before-image) and a delete, values
/// drawn by `seed` from hand-picked pools (quotes, escapes, non-ASCII).
pub fn generated(seed: u64, rounds: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    let mut records = Vec::new();
    let mut id = 0u64;
    let mut txn = 1u64;
    for table in SAMPLE_TABLES {
        let mut ts = 0u32;
        let mut timestamp = || {
            ts += 1;
            format!(
                "2026-11-28T09:{:02}:{:02}.{:06}Z",
                ts / 60 % 60,
                ts % 60,
                ts * 7
            )
        };
        records.push(
            format!(
                r#"{{"control":{{"table-def":{{"columns":{{"id":{{"type":"INT32","nullable":false}}}},"primary-key":["id"]}}}},"metadata":{{"timestamp":"{}","record-type":"control","operation":"create-table","partition-key-type":"task-id","schema-name":"dataset","table-name":"{}"}}}}"#,
                timestamp(),
                table.name
            )
            .into_bytes(),
        );
        let metadata = |timestamp: String, operation: &str, txn: Option<u64>| {
            let txn = txn.map_or(String::new(), |t| format!(r#","transaction-id":{t}"#));
            format!(
                r#""metadata":{{"timestamp":"{timestamp}","record-type":"data","operation":"{operation}","partition-key-type":"schema-table","schema-name":"dataset","table-name":"{}"{txn}}}"#,
                table.name
            )
        };
        for _ in 0..2 {
            id += 1;
            let row = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{row},{}}}"#,
                    metadata(timestamp(), "load", None)
                )
                .into_bytes(),
            );
        }
        for _ in 0..rounds {
            id += 1;
            txn += 1;
            let row = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{row},{}}}"#,
                    metadata(timestamp(), "insert", Some(txn))
                )
                .into_bytes(),
            );
            txn += 1;
            let changed = table.row(id, &mut rng);
            records.push(
                format!(
                    r#"{{"data":{changed},"before-image":{row},{}}}"#,
                    metadata(timestamp(), "update", Some(txn))
                )
                .into_bytes(),
            );
            txn += 1;
            records.push(
                format!(
                    r#"{{"data":{changed},{}}}"#,
                    metadata(timestamp(), "delete", Some(txn))
                )
                .into_bytes(),
            );
        }
    }
    records
}

/// A sample table: its name and, per column, the values to draw from.
struct SampleTable {
    name: &'static str,
    columns: &'static [(&'static str, &'static [&'static str])],
}

impl SampleTable {
    /// `{"id":<id>,"<column>":<value>,…}`, one value drawn per column.
    fn row(&self, id: u64, rng: &mut Rng) -> String {
        let mut row = format!(r#"{{"id":{id}"#);
        for (column, values) in self.columns {
            let value = values[rng.below(values.len())];
            row.push_str(&format!(r#","{column}":{value}"#));
        }
        row.push('}');
        row
    }
}

/// The tables of `schemas/examples/policy.json` with their protected and
/// unprotected columns; values are JSON text.
const SAMPLE_TABLES: [SampleTable; 3] = [
    SampleTable {
        name: "customer",
        columns: &[
            (
                "username",
                &[r#""jdoe""#, r#""zo\u00eb_m""#, r#""a\"b""#, "null"],
            ),
            (
                "name",
                &[
                    r#""John O'Doe""#,
                    r#""Zoë \"Zo\" Martín""#,
                    r#""李小龍""#,
                    r#""""#,
                ],
            ),
            ("gender", &[r#""F""#, r#""M""#, "null"]),
            (
                "mail",
                &[
                    r#""jdoe@example.com""#,
                    r#""zoe.ruiz@example.org""#,
                    r#""x\/y@z""#,
                ],
            ),
            (
                "birthdate",
                &[
                    r#""1984-05-02""#,
                    r#""1991-12-31""#,
                    r#""2000-02-29""#,
                    "null",
                ],
            ),
        ],
    },
    SampleTable {
        name: "bank",
        columns: &[
            (
                "account_number",
                &[r#""XYZ-42""#, r#""XYZ-7""#, r#""ABC-1""#],
            ),
            (
                "iban",
                &[r#""DE89370400440532013000""#, r#""GB82WEST12345698765432""#],
            ),
            (
                "bban",
                &[r#""370400440532013000""#, r#""WEST12345698765432""#, "null"],
            ),
        ],
    },
    SampleTable {
        name: "card",
        columns: &[
            (
                "cred_card_provider",
                &[r#""VISA 16 digit""#, r#""Mastercard""#],
            ),
            (
                "card_number",
                &[
                    r#""4111111111111111""#,
                    r#""5500005555555559""#,
                    "4111111111111111",
                ],
            ),
            ("card_expiration", &[r#""12/30""#, r#""01/27""#]),
            ("card_security_code", &[r#""123""#, "987", r#""0042""#]),
        ],
    },
];

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
