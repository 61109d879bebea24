//! A small deterministic mutator, for the stable-Rust smoke runner.

use crate::seeds::{dms_records, event_of};

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
