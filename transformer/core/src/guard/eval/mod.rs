//! The evaluation set: planted PII of every detector type and decoys that
//! fool naive detectors, each with the column it would sit in.
//!
//! Deterministic: a small xorshift generator seeded by the caller, no crates.
//! Planted values cover plain columns with and without a hinting name, free
//! text sentences and JSON number literals; decoys cover the classes of
//! issue 12 (order numbers failing Luhn, ISBN-13s, UUIDs, amounts, zip
//! codes, timestamps, SKUs, version strings, 9-digit ids, IPv4 addresses, hex
//! hashes), near misses of every detector, and the non-PII columns of the
//! sample generator (`router/src/source/generate.rs`).
//!
//! # Layout
//! - `pii`: planted values of each detector type, in hinting, neutral and
//!   free-text columns.
//! - `lookalikes`: the decoy classes, near misses of every detector.
//! - `sample_tables`: the values of the sample generator's tables.

use super::Detector;

mod lookalikes;
mod pii;
mod sample_tables;

use lookalikes::decoy;
use pii::{aba, card, email, iban, phone, ssn};
pub use sample_tables::{free_text, sample_table_values, sample_unlisted_columns};

/// One value with the column it sits in and what was planted in it.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Lower-cased column name.
    pub column: &'static str,
    /// A JSON string's content, or a JSON number's literal.
    pub text: String,
    /// Whether `text` is a JSON number literal.
    pub is_number: bool,
    /// The PII planted in the value; `None` for a decoy.
    pub planted: Option<Detector>,
    /// What kind of sample this is (for failure messages).
    pub kind: &'static str,
}

impl Sample {
    /// Whether the planted value fires only under its hinting column name
    /// (a weak form: undashed SSN, bare phone number, routing number…), so
    /// that it must not be moved to another column.
    pub fn needs_hint(&self) -> bool {
        self.kind.contains("hinted")
    }
}

/// xorshift64* (Vigna): tiny, deterministic, good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// `n` random decimal digits.
    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }

    pub(super) fn digit(&mut self, low: u8, high: u8) -> char {
        char::from(b'0' + self.range(u64::from(low), u64::from(high)) as u8)
    }
}

/// `count` planted values of each detector type (six times `count` in all).
pub fn planted(seed: u64, count: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count * 6);
    for _ in 0..count {
        out.push(card(&mut rng));
        out.push(iban(&mut rng));
        out.push(email(&mut rng));
        out.push(phone(&mut rng));
        out.push(ssn(&mut rng));
        out.push(aba(&mut rng));
    }
    out
}

/// `count` decoys, drawn evenly from every decoy class.
pub fn decoys(seed: u64, count: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    (0..count).map(|i| decoy(&mut rng, i)).collect()
}
