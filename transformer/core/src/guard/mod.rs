//! The detection guard: validated PII detectors run on every value of a column
//! the policy does not list.
//!
//! Pure and self-contained: no I/O, no allocation per value, std and `memchr`
//! only. A [`Guard`] is built once per policy from the enabled [`Detector`]s;
//! the caller computes a [`Context`] once per column name and then asks
//! [`Guard::detect`] about each value.
//!
//! # How a value is looked at
//! 1. **Prefilter.** A value with no `@` and fewer digits than the shortest
//!    form any enabled detector accepts (8; 7 in a phone-hinted column or for
//!    a number in an SSN-hinted one) cannot match: it is answered at once.
//!    Genders, provider names, small ids and most free text stop here.
//! 2. **Candidates.** E-mail candidates sit around each `@` (found with
//!    `memchr`); IBAN candidates start at a word that begins with two letters
//!    and two digits; every other detector looks at *digit chains*: digit
//!    groups joined by one separator (`415-555-2671`, `4111 1111 1111 1111`,
//!    `(415) 555-2671`), found in one pass by `scan`.
//! 3. **Validation.** Only candidates are validated: Luhn and issuer ranges,
//!    mod-97 and the country's IBAN length, dot-atoms and a letter TLD, country
//!    codes and NANP area/exchange rules, SSN area/group/serial rules, the ABA
//!    3-7-1 checksum.
//!
//! # Hints
//! A column name that hints at a type (Presidio's context words, Google DLP's
//! hotwords) lets weaker forms of that type fire: an undashed SSN, a bare or
//! national phone number, an ABA routing number, a Luhn-valid number outside
//! the known issuer ranges. Without a hint only strong forms fire, because a
//! bare nine- or ten-digit number is far more often an id than PII. A name
//! that is *about* the thing (`phone_verified_at`, `card_type`, `mail_count`)
//! has no hint.
//!
//! # Layout
//! - `scan`: the digit-chain scanner shared by the numeric detectors.
//! - `card`, `iban`, `email`, `phone`, `ssn`, `aba`: one validated
//!   pattern each.
//! - `tally`: what fired, per `(schema, table, column, detector)`, and the
//!   suggested-findings lines it becomes.
//! - `eval` (tests only): the seeded evaluation set, planted PII and decoys.

mod aba;
mod card;
mod email;
mod iban;
mod phone;
mod scan;
mod ssn;
mod tally;

pub use tally::{SuggestedFinding, Tally};

/// The evaluation set, for this module's tests and the transform's.
#[cfg(test)]
pub(crate) mod eval;
#[cfg(test)]
mod in_transform;
#[cfg(test)]
mod tests;

use scan::Chain;

/// One detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detector {
    /// A payment card number (PAN): Luhn plus issuer ranges.
    CreditCard,
    /// An IBAN: per-country length and ISO 7064 mod 97-10.
    Iban,
    /// An e-mail address.
    Email,
    /// A phone number: E.164 or a national format (NANP at least).
    Phone,
    /// A US social security number.
    UsSsn,
    /// An ABA routing transit number (hinted columns only).
    AbaRouting,
}

impl Detector {
    /// Every detector.
    pub const ALL: [Detector; 6] = [
        Detector::CreditCard,
        Detector::Iban,
        Detector::Email,
        Detector::Phone,
        Detector::UsSsn,
        Detector::AbaRouting,
    ];

    /// The detector's name in policies, metrics and suggested findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::CreditCard => "credit_card",
            Detector::Iban => "iban",
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::UsSsn => "us_ssn",
            Detector::AbaRouting => "aba_routing",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl std::fmt::Display for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Detector {
    type Err = String;

    /// Parses a name given by [`Detector::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Detector::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown detector {s:?} (expected one of credit_card, iban, email, phone, \
                     us_ssn, aba_routing)"
                )
            })
    }
}

/// A set of detectors, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Set(u8);

impl Set {
    fn has(self, detector: Detector) -> bool {
        self.0 & detector.bit() != 0
    }
}

/// What a column name hints at, computed once per column by [`Guard::context`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Context {
    hints: Set,
}

impl Context {
    /// No hint: only strong forms fire.
    pub const NONE: Context = Context { hints: Set(0) };

    /// Whether the column name hints at `detector`.
    pub fn hints(&self, detector: Detector) -> bool {
        self.hints.has(detector)
    }
}

/// How a hint word must appear in a column name.
#[derive(Clone, Copy)]
enum Match {
    /// Anywhere (`customerphone`, `e_mail_address`).
    Substring,
    /// As a whole word between non-alphanumerics, digits allowed after it
    /// (`cc_number`, `ssn4`); short words only match this way so that `pan`
    /// does not fire on `company` nor `ssn` on `classname`.
    Word,
}

/// Context words, in the manner of Presidio's context words and DLP hotwords.
const HINTS: [(&str, Match, Detector); 23] = [
    ("card", Match::Substring, Detector::CreditCard),
    ("credit", Match::Substring, Detector::CreditCard),
    ("ccnum", Match::Substring, Detector::CreditCard),
    ("cc", Match::Word, Detector::CreditCard),
    ("pan", Match::Word, Detector::CreditCard),
    ("iban", Match::Substring, Detector::Iban),
    ("mail", Match::Substring, Detector::Email),
    ("phone", Match::Substring, Detector::Phone),
    ("mobile", Match::Substring, Detector::Phone),
    ("msisdn", Match::Substring, Detector::Phone),
    ("tel", Match::Word, Detector::Phone),
    ("cell", Match::Word, Detector::Phone),
    ("fax", Match::Word, Detector::Phone),
    ("mob", Match::Word, Detector::Phone),
    ("ssn", Match::Word, Detector::UsSsn),
    ("social", Match::Substring, Detector::UsSsn),
    ("socsec", Match::Substring, Detector::UsSsn),
    ("taxpayer", Match::Substring, Detector::UsSsn),
    ("routing", Match::Substring, Detector::AbaRouting),
    ("aba", Match::Word, Detector::AbaRouting),
    ("rtn", Match::Word, Detector::AbaRouting),
    ("transit", Match::Substring, Detector::AbaRouting),
    ("abartn", Match::Substring, Detector::AbaRouting),
];

/// Words that say a hinted column holds something *about* the thing rather
/// than the thing (`phone_verified_at`, `card_type`, `mail_count`): they
/// cancel every hint of the name, leaving only the strong forms.
const NEGATORS: [&str; 22] = [
    "at",
    "on",
    "date",
    "time",
    "ts",
    "timestamp",
    "count",
    "cnt",
    "type",
    "status",
    "verified",
    "flag",
    "is",
    "has",
    "enabled",
    "hash",
    "len",
    "length",
    "format",
    "kind",
    "provider",
    "brand",
];

/// The enabled detectors, ready to scan (built once per policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    enabled: Set,
}

impl Default for Guard {
    /// Every detector enabled.
    fn default() -> Self {
        Guard::new(&Detector::ALL)
    }
}

impl Guard {
    /// A guard running `detectors` (duplicates are ignored; none disables it).
    pub fn new(detectors: &[Detector]) -> Self {
        let bits = detectors.iter().fold(0, |bits, d| bits | d.bit());
        Guard { enabled: Set(bits) }
    }

    /// The column-name context of `lowercase_column` (an ASCII-lower-cased
    /// column name): which detectors the name hints at. Cheap, allocation
    /// free and a pure function of the name; callers may cache it per
    /// `(table, column)`.
    pub fn context(&self, lowercase_column: &str) -> Context {
        let mut bits = 0;
        for word in lowercase_column
            .as_bytes()
            .split(|b| !b.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            if NEGATORS.iter().any(|n| n.as_bytes() == word) {
                return Context::NONE;
            }
            for (hint, how, detector) in HINTS {
                let hint = hint.as_bytes();
                let hit = match how {
                    // Hints never span a separator (`e_mail` is `e` and `mail`).
                    Match::Substring => word
                        .windows(hint.len())
                        .any(|w| w[0] == hint[0] && w == hint),
                    Match::Word => word
                        .strip_prefix(hint)
                        .is_some_and(|rest| rest.iter().all(u8::is_ascii_digit)),
                };
                if hit {
                    bits |= detector.bit();
                }
            }
        }
        Context {
            hints: Set(bits & self.enabled.0),
        }
    }

    /// The first detector that fires on one value, or `None`.
    ///
    /// `text` is a JSON string's decoded content or a JSON number's literal
    /// text; `is_number` says which. Free text is searched for embedded PII.
    /// E-mail is looked for first, then IBANs, then the digit chains from left
    /// to right, each chain checked for a card, an SSN, an ABA number and a
    /// phone number in that order. Never panics and never allocates.
    pub fn detect(&self, context: &Context, text: &str, is_number: bool) -> Option<Detector> {
        self.detect_bytes(context, text.as_bytes(), is_number)
    }

    /// Whether any detector could fire on `text` in some column: false for a
    /// value with fewer digits than the shortest hinted form and no `@`
    /// (most values), so that a caller can skip looking up the column's
    /// [`Context`].
    pub fn may_match(&self, text: &[u8], is_number: bool) -> bool {
        self.enabled.0 != 0
            && (scan::count_digits(text) >= MIN_DIGITS_HINTED
                || (!is_number && memchr::memchr(b'@', text).is_some()))
    }

    /// [`Guard::detect`] on the bytes of a JSON string's content (valid
    /// UTF-8) or of a JSON number's literal.
    pub fn detect_bytes(
        &self,
        context: &Context,
        bytes: &[u8],
        is_number: bool,
    ) -> Option<Detector> {
        let enabled = self.enabled;
        if enabled.0 == 0 {
            return None;
        }
        let hints = Set(context.hints.0 & enabled.0);
        let digits = scan::count_digits(bytes);
        // Hinted phone numbers and SSNs that a JSON number stripped of leading
        // zeros can be as short as seven digits.
        let short = hints.has(Detector::Phone) || (is_number && hints.has(Detector::UsSsn));
        let min_digits = if short { MIN_DIGITS_HINTED } else { MIN_DIGITS };
        let look_for_email = enabled.has(Detector::Email) && !is_number;
        let at = look_for_email && memchr::memchr(b'@', bytes).is_some();
        if digits < min_digits && !at {
            return None;
        }
        if at && email::contains(bytes) {
            return Some(Detector::Email);
        }
        if digits < min_digits {
            return None;
        }
        if enabled.has(Detector::Iban)
            && !is_number
            && iban::contains(bytes, hints.has(Detector::Iban))
        {
            return Some(Detector::Iban);
        }
        let mut found = None;
        scan::chains(bytes, |chain| {
            found = check_chain(chain, enabled, hints, is_number);
            found.is_none()
        });
        found
    }
}

/// Fewer digits than this and no `@`: nothing can match (the shortest strong
/// form is an 8-digit E.164 number).
const MIN_DIGITS: usize = 8;
/// The same in a column whose hint allows seven-digit forms.
const MIN_DIGITS_HINTED: usize = 7;

/// The numeric detectors on one digit chain, in precedence order.
fn check_chain(chain: &Chain<'_>, enabled: Set, hints: Set, is_number: bool) -> Option<Detector> {
    if enabled.has(Detector::CreditCard) && card::in_chain(chain, hints.has(Detector::CreditCard)) {
        return Some(Detector::CreditCard);
    }
    if enabled.has(Detector::UsSsn) && ssn::in_chain(chain, hints.has(Detector::UsSsn), is_number) {
        return Some(Detector::UsSsn);
    }
    if hints.has(Detector::AbaRouting) && aba::in_chain(chain, is_number) {
        return Some(Detector::AbaRouting);
    }
    if enabled.has(Detector::Phone) && phone::in_chain(chain, hints.has(Detector::Phone)) {
        return Some(Detector::Phone);
    }
    None
}
