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

use super::Detector;

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

    fn digit(&mut self, low: u8, high: u8) -> char {
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

// ---------------------------------------------------------------- planting

/// Columns that hint at nothing.
const NEUTRAL: [&str; 8] = [
    "notes",
    "comment",
    "payload",
    "description",
    "value",
    "misc",
    "extra",
    "attr_1",
];

/// Free-text templates; `{}` is replaced by the planted value.
const SENTENCES: [&str; 8] = [
    "Please use {} for this order.",
    "customer said: {}",
    "{}",
    "Updated per ticket #4411 ({}), see thread.",
    "Contact details changed to {}. Verified by agent 17 on 2026-11-28.",
    "Details: {}; confirmed.",
    "{} <- from the old CRM export",
    "Le client a donné {} au téléphone, merci de vérifier",
];

fn sentence(rng: &mut Rng, value: &str) -> String {
    rng.pick(&SENTENCES).replacen("{}", value, 1)
}

/// Where a planted value goes: plain in a hinted or neutral column, in a
/// sentence, or as a JSON number.
fn place(
    rng: &mut Rng,
    value: String,
    hinted: &[&'static str],
    planted: Detector,
    kind: &'static str,
) -> Sample {
    let (column, text) = match rng.below(3) {
        0 => (rng.pick(hinted), value),
        1 => (rng.pick(&NEUTRAL), value),
        _ => (rng.pick(&NEUTRAL), sentence(rng, &value)),
    };
    Sample {
        column,
        text,
        is_number: false,
        planted: Some(planted),
        kind,
    }
}

fn number(column: &'static str, text: String, planted: Detector, kind: &'static str) -> Sample {
    Sample {
        column,
        text,
        is_number: true,
        planted: Some(planted),
        kind,
    }
}

/// Appends the Luhn check digit to `payload`.
pub fn with_luhn(payload: &str) -> String {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// Splits `digits` into groups of the given sizes joined by `sep`.
fn grouped(digits: &str, sizes: &[usize], sep: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (i, &size) in sizes.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&digits[at..(at + size).min(digits.len())]);
        at += size;
    }
    out
}

const CARD_COLUMNS: [&str; 5] = ["card_number", "cc_number", "pan", "credit_card", "cardno"];

fn card(rng: &mut Rng) -> Sample {
    // (prefix, length) of real issuer ranges.
    let (prefix, len): (String, usize) = match rng.below(15) {
        0 | 1 => ("4".into(), 16),
        2 => ("4".into(), rng.pick(&[13, 19])),
        3 => (rng.range(51, 55).to_string(), 16),
        4 => (rng.range(2221, 2720).to_string(), 16),
        5 => (rng.pick(&["34", "37"]).into(), 15),
        6 => ("6011".into(), 16),
        7 => (rng.pick(&["65", "644", "649"]).into(), 16),
        8 => (rng.range(3528, 3589).to_string(), 16),
        9 => ("36".into(), 14),
        10 => (rng.range(300, 305).to_string(), 14),
        11 => ("62".into(), rng.pick(&[16, 19])),
        12 => (rng.pick(&["5018", "6304", "6759", "5893"]).into(), 16),
        13 => (rng.range(2200, 2204).to_string(), 16),
        _ => (rng.range(3528, 3589).to_string(), 16),
    };
    let payload = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let number = with_luhn(&payload);
    if rng.chance(15) {
        let column = if rng.chance(50) {
            rng.pick(&CARD_COLUMNS)
        } else {
            rng.pick(&NEUTRAL)
        };
        return number_sample(column, number, Detector::CreditCard, "card/json-number");
    }
    let sizes: &[usize] = match len {
        13 => &[4, 4, 5],
        14 => &[4, 6, 4],
        15 => &[4, 6, 5],
        16 => &[4, 4, 4, 4],
        _ => &[4, 4, 4, 4, 3],
    };
    let text = match rng.below(3) {
        0 => number,
        1 => grouped(&number, sizes, " "),
        _ => grouped(&number, sizes, "-"),
    };
    place(rng, text, &CARD_COLUMNS, Detector::CreditCard, "card")
}

fn number_sample(column: &'static str, text: String, d: Detector, kind: &'static str) -> Sample {
    number(column, text, d, kind)
}

/// (country, IBAN length, leading letters of the BBAN).
const IBAN_COUNTRIES: [(&str, usize, usize); 27] = [
    ("DE", 22, 0),
    ("GB", 22, 4),
    ("FR", 27, 0),
    ("ES", 24, 0),
    ("IT", 27, 1),
    ("NL", 18, 4),
    ("BE", 16, 0),
    ("CH", 21, 0),
    ("AT", 20, 0),
    ("PL", 28, 0),
    ("PT", 25, 0),
    ("SE", 24, 0),
    ("NO", 15, 0),
    ("DK", 18, 0),
    ("FI", 18, 0),
    ("IE", 22, 4),
    ("LU", 20, 0),
    ("GR", 27, 0),
    ("MT", 31, 4),
    ("SA", 24, 0),
    ("AE", 23, 0),
    ("TR", 26, 0),
    ("BR", 29, 0),
    ("RS", 22, 0),
    ("ME", 22, 0),
    ("LC", 32, 4),
    ("RU", 33, 0),
];

/// A valid IBAN in compact form.
pub fn make_iban(rng: &mut Rng, country: &str, len: usize, letters: usize) -> String {
    let mut bban: String = (0..letters)
        .map(|_| char::from(b'A' + rng.below(26) as u8))
        .collect();
    bban.push_str(&rng.digits(len - 4 - letters));
    let rearranged = format!("{bban}{country}00");
    let remainder = rearranged.bytes().fold(0u32, |r, c| {
        if c.is_ascii_digit() {
            (r * 10 + u32::from(c - b'0')) % 97
        } else {
            (r * 100 + u32::from(c - b'A') + 10) % 97
        }
    });
    format!("{country}{:02}{bban}", 98 - remainder)
}

/// Countries with partial (non-registry) IBANs: (country, length, letters).
const PARTIAL_IBAN_COUNTRIES: [(&str, usize, usize); 5] = [
    ("CI", 28, 2),
    ("SN", 28, 2),
    ("MA", 28, 0),
    ("DZ", 26, 0),
    ("CM", 27, 0),
];

const IBAN_COLUMNS: [&str; 3] = ["iban", "beneficiary_iban", "iban_number"];

fn iban(rng: &mut Rng) -> Sample {
    if rng.chance(10) {
        // Outside the registry: found in an IBAN-hinted column only.
        let (country, len, letters) = rng.pick(&PARTIAL_IBAN_COUNTRIES);
        let text = make_iban(rng, country, len, letters);
        return hinted(
            rng.pick(&IBAN_COLUMNS),
            text,
            Detector::Iban,
            "iban/hinted-partial",
        );
    }
    let (country, len, letters) = rng.pick(&IBAN_COUNTRIES);
    let compact = make_iban(rng, country, len, letters);
    let text = match rng.below(4) {
        0 | 1 => compact,
        2 => {
            let sizes = vec![4; len.div_ceil(4)];
            grouped(&compact, &sizes, " ")
        }
        _ => compact.to_ascii_lowercase(),
    };
    place(rng, text, &IBAN_COLUMNS, Detector::Iban, "iban")
}

const FIRST: [&str; 8] = [
    "john",
    "marie",
    "j",
    "anaïs",
    "o.brien",
    "li",
    "sven-erik",
    "x",
];
const LAST: [&str; 6] = ["doe", "dupont", "mueller", "o_hara", "smith99", "ng"];
const DOMAINS: [&str; 9] = [
    "example.com",
    "mail.example.co.uk",
    "corp-mail.de",
    "uni.edu",
    "startup.io",
    "example.museum",
    "xn--mnchen-3ya.de",
    "sub.domain.example.org",
    "gmail.com",
];

fn email(rng: &mut Rng) -> Sample {
    let local = match rng.below(5) {
        0 => format!("{}.{}", rng.pick(&FIRST), rng.pick(&LAST)),
        1 => format!("{}_{}{}", rng.pick(&FIRST), rng.pick(&LAST), rng.below(100)),
        2 => format!(
            "{}+{}",
            rng.pick(&FIRST),
            rng.pick(&["news", "tag", "2026"])
        ),
        3 => rng.pick(&LAST).to_string(),
        _ => format!("{}{}", rng.pick(&FIRST), rng.digits(4)),
    };
    let mut address = format!("{local}@{}", rng.pick(&DOMAINS));
    if rng.chance(10) {
        address = address.to_ascii_uppercase();
    }
    let address = match rng.below(6) {
        0 => format!("<{address}>"),
        1 => format!("mailto:{address}"),
        _ => address,
    };
    place(
        rng,
        address,
        &["email", "mail", "contact_email", "e_mail"],
        Detector::Email,
        "email",
    )
}

/// A NANP area code or exchange: `[2-9]` then two digits, not `N11`, no
/// middle 9 for area codes.
fn nanp_part(rng: &mut Rng, area: bool) -> String {
    loop {
        let part = format!(
            "{}{}{}",
            rng.digit(2, 9),
            rng.digit(0, if area { 8 } else { 9 }),
            rng.digit(0, 9)
        );
        if !part.ends_with("11") {
            return part;
        }
    }
}

const PHONE_COLUMNS: [&str; 6] = ["phone", "mobile", "contact_phone", "tel", "fax", "cell_no"];

fn phone(rng: &mut Rng) -> Sample {
    let (area, exchange, line) = (nanp_part(rng, true), nanp_part(rng, false), rng.digits(4));
    let strong = match rng.below(20) {
        0 => format!("({area}) {exchange}-{line}"),
        1 => format!("{area}-{exchange}-{line}"),
        2 => format!("{area}.{exchange}.{line}"),
        3 => format!("{area} {exchange} {line}"),
        4 => format!("+1 {area} {exchange} {line}"),
        5 => format!("+1-{area}-{exchange}-{line}"),
        6 => format!("1-{area}-{exchange}-{line}"),
        7 => format!("+1{area}{exchange}{line}"),
        8 => format!("+1 ({area}) {exchange}-{line}"),
        9 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
        10 => format!("+49 30 {}", rng.digits(8)),
        11 => format!(
            "+33 6 {} {} {} {}",
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
        12 => format!("+81 3-{}-{}", rng.digits(4), rng.digits(4)),
        13 => format!("+61 2 {} {}", rng.digits(4), rng.digits(4)),
        14 => format!("+91 9{} {}", rng.digits(4), rng.digits(5)),
        15 => format!("+55 11 9{}-{}", rng.digits(4), rng.digits(4)),
        16 => format!("+353 1 {} {}", rng.digits(3), rng.digits(4)),
        17 => format!("+971 50 {} {}", rng.digits(3), rng.digits(4)),
        _ => String::new(),
    };
    if !strong.is_empty() {
        return place(rng, strong, &PHONE_COLUMNS, Detector::Phone, "phone");
    }
    // Weak forms: only in a phone-hinted column.
    let column = rng.pick(&PHONE_COLUMNS);
    let bare = format!("{area}{exchange}{line}");
    match rng.below(6) {
        0 => number_sample(column, bare, Detector::Phone, "phone/hinted-number"),
        1 => hinted(column, bare, Detector::Phone, "phone/hinted-bare"),
        2 => hinted(
            column,
            format!("020 {} {}", rng.digits(4), rng.digits(4)),
            Detector::Phone,
            "phone/hinted-uk",
        ),
        3 => hinted(
            column,
            format!("030 {}", rng.digits(8)),
            Detector::Phone,
            "phone/hinted-de",
        ),
        4 => hinted(
            column,
            format!(
                "06 {} {} {} {}",
                rng.digits(2),
                rng.digits(2),
                rng.digits(2),
                rng.digits(2)
            ),
            Detector::Phone,
            "phone/hinted-fr",
        ),
        _ => hinted(
            column,
            format!("Call {exchange}-{line} after 5"),
            Detector::Phone,
            "phone/hinted-local",
        ),
    }
}

fn hinted(column: &'static str, text: String, d: Detector, kind: &'static str) -> Sample {
    Sample {
        column,
        text,
        is_number: false,
        planted: Some(d),
        kind,
    }
}

/// A valid SSN's three parts.
fn ssn_parts(rng: &mut Rng, no_leading_zero: bool) -> (String, String, String) {
    let area = loop {
        let area = rng.range(if no_leading_zero { 100 } else { 1 }, 899);
        if area != 666 {
            break area;
        }
    };
    (
        format!("{area:03}"),
        format!("{:02}", rng.range(1, 99)),
        format!("{:04}", rng.range(1, 9999)),
    )
}

const SSN_COLUMNS: [&str; 4] = ["ssn", "social_security_number", "employee_ssn", "ssn1"];

fn ssn(rng: &mut Rng) -> Sample {
    let no_leading_zero = rng.chance(30);
    let (a, g, s) = ssn_parts(rng, no_leading_zero);
    match rng.below(10) {
        0..=5 => place(
            rng,
            format!("{a}-{g}-{s}"),
            &SSN_COLUMNS,
            Detector::UsSsn,
            "ssn",
        ),
        6 | 7 => hinted(
            rng.pick(&SSN_COLUMNS),
            format!("{a}{g}{s}"),
            Detector::UsSsn,
            "ssn/hinted-bare",
        ),
        8 => hinted(
            rng.pick(&SSN_COLUMNS),
            format!("{a} {g} {s}"),
            Detector::UsSsn,
            "ssn/hinted-spaced",
        ),
        _ => {
            // An integer column: leading zeros of the area are lost.
            let literal = format!("{a}{g}{s}").trim_start_matches('0').to_owned();
            number_sample(
                rng.pick(&SSN_COLUMNS),
                literal,
                Detector::UsSsn,
                "ssn/hinted-number",
            )
        }
    }
}

/// A valid routing number.
pub fn make_routing(rng: &mut Rng) -> String {
    let prefixes = [1, 2, 3, 5, 9, 11, 12, 21, 22, 26, 31, 32, 61, 67, 72, 80];
    let head = format!("{:02}{}", rng.pick(&prefixes), rng.digits(6));
    let sum: u32 = head
        .bytes()
        .zip([3, 7, 1, 3, 7, 1, 3, 7])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    // The last weight is 1, so the check digit makes the sum a multiple of ten.
    format!("{head}{}", (10 - sum % 10) % 10)
}

fn aba(rng: &mut Rng) -> Sample {
    let column = rng.pick(&[
        "routing_number",
        "aba",
        "bank_routing",
        "rtn",
        "aba_routing_no",
    ]);
    let routing = make_routing(rng);
    if rng.chance(20) {
        // An integer column: a leading zero is lost.
        let literal = routing.trim_start_matches('0').to_owned();
        number_sample(
            column,
            literal,
            Detector::AbaRouting,
            "aba/hinted-json-number",
        )
    } else {
        hinted(column, routing, Detector::AbaRouting, "aba/hinted")
    }
}

// ------------------------------------------------------------------ decoys

fn decoy_sample(column: &'static str, text: String, is_number: bool, kind: &'static str) -> Sample {
    Sample {
        column,
        text,
        is_number,
        planted: None,
        kind,
    }
}

/// A 16-digit number whose Luhn check fails.
fn luhn_failing(rng: &mut Rng) -> String {
    let valid = with_luhn(&format!("{}{}", rng.digit(1, 9), rng.digits(14)));
    let (head, check) = valid.split_at(15);
    let wrong = (check.as_bytes()[0] - b'0' + 1 + rng.below(9) as u8) % 10;
    format!("{head}{wrong}")
}

fn isbn13(rng: &mut Rng) -> String {
    let head = format!("{}{}", rng.pick(&["978", "979"]), rng.digits(9));
    let sum: u32 = head
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{head}{}", (10 - sum % 10) % 10)
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16) as usize]))
        .collect()
}

fn timestamp(rng: &mut Rng) -> String {
    format!(
        "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        rng.range(1990, 2030),
        rng.range(1, 12),
        rng.range(1, 28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(1_000_000)
    )
}

/// Number of decoy classes in [`decoy`].
const DECOY_CLASSES: usize = 34;

fn decoy(rng: &mut Rng, i: usize) -> Sample {
    let d = decoy_sample;
    match i % DECOY_CLASSES {
        0 => d(
            "order_number",
            luhn_failing(rng),
            false,
            "order number failing Luhn",
        ),
        1 => d(
            "order_number",
            luhn_failing(rng),
            true,
            "order number failing Luhn (number)",
        ),
        2 => {
            let isbn = isbn13(rng);
            let text = if rng.chance(50) {
                isbn
            } else {
                format!(
                    "{}-{}-{}-{}-{}",
                    &isbn[..3],
                    &isbn[3..4],
                    &isbn[4..6],
                    &isbn[6..12],
                    &isbn[12..]
                )
            };
            d("isbn", text, false, "ISBN-13")
        }
        3 => {
            let u = hex(rng, 32);
            d(
                "request_id",
                format!(
                    "{}-{}-4{}-a{}-{}",
                    &u[..8],
                    &u[8..12],
                    &u[13..16],
                    &u[17..20],
                    &u[20..]
                ),
                false,
                "UUID",
            )
        }
        4 => d(
            "amount",
            format!("{}.{:02}", rng.range(1, 99_999_999_999), rng.below(100)),
            rng.chance(50),
            "amount",
        ),
        5 => {
            let zip = format!("{:05}", rng.range(501, 99_950));
            let text = if rng.chance(50) {
                zip
            } else {
                format!("{zip}-{}", rng.digits(4))
            };
            d("zip", text, false, "zip code")
        }
        6 => d("created_at", timestamp(rng), false, "ISO timestamp"),
        7 => {
            let groups = if rng.chance(50) { 3 } else { 4 };
            let body: Vec<String> = (0..groups).map(|_| rng.digits(4)).collect();
            d("sku", format!("SKU-{}", body.join("-")), false, "SKU")
        }
        8 => d(
            "version",
            format!(
                "{}.{}.{}.{}",
                rng.range(1, 20),
                rng.below(10),
                rng.digits(4),
                rng.digits(4)
            ),
            false,
            "version string",
        ),
        9 => d(
            "customer_id",
            format!("{}", rng.range(100_000_000, 999_999_999)),
            rng.chance(50),
            "9-digit id",
        ),
        10 => d(
            "ip_address",
            format!(
                "{}.{}.{}.{}",
                rng.range(1, 254),
                rng.below(256),
                rng.below(256),
                rng.range(1, 254)
            ),
            false,
            "IPv4",
        ),
        11 => d("checksum", hex(rng, 64), false, "hex hash"),
        // The sample generator's non-PII columns.
        12 => d(
            "id",
            rng.range(1, 10_000_000).to_string(),
            true,
            "sample id",
        ),
        13 => d(
            "gender",
            rng.pick(&["M", "F", "X"]).into(),
            false,
            "sample gender",
        ),
        14 => d(
            "cred_card_provider",
            rng.pick(&[
                "VISA 16 digit",
                "Mastercard",
                "American Express",
                "Discover",
            ])
            .into(),
            false,
            "sample card provider",
        ),
        15 => d(
            "card_expiration",
            format!("{:02}/{:02}", rng.range(1, 12), rng.range(27, 33)),
            false,
            "sample card expiration",
        ),
        16 => d(
            "account_number",
            format!("XYZ-{}", rng.below(100)),
            false,
            "sample account number",
        ),
        17 => d(
            "transaction_id",
            (8_589_934_592 + rng.below(10_000_000)).to_string(),
            true,
            "sample transaction id",
        ),
        18 => d(
            "birthdate",
            format!(
                "{}-{:02}-{:02}",
                rng.range(1940, 2008),
                rng.range(1, 12),
                rng.range(1, 28)
            ),
            false,
            "sample date",
        ),
        19 => d(
            "username",
            format!("{}{}", rng.pick(&LAST), rng.below(1000)),
            false,
            "username",
        ),
        // Near misses of each detector.
        20 => {
            let bad_area = rng.pick(&["0", "1"]);
            d(
                "reference",
                format!(
                    "{bad_area}{}-{}-{}",
                    rng.digits(2),
                    rng.digits(3),
                    rng.digits(4)
                ),
                false,
                "NANP-shaped, invalid area code",
            )
        }
        21 => {
            let area = rng.pick(&["000", "666", "900", "987"]);
            d(
                "reference",
                format!("{area}-{:02}-{:04}", rng.range(1, 99), rng.range(1, 9999)),
                false,
                "SSN-shaped, invalid area",
            )
        }
        22 => {
            let valid = make_iban(rng, "DE", 22, 0);
            let (head, tail) = valid.split_at(21);
            let last = (tail.as_bytes()[0] - b'0' + 1) % 10;
            d(
                "reference",
                format!("{head}{last}"),
                false,
                "IBAN with a wrong check digit",
            )
        }
        23 => d(
            "handle",
            rng.pick(&[
                "@jdoe",
                "user@localhost",
                "foo@1.2.3",
                "a@b.c",
                "name@domain",
                "@@",
                "x@.com",
            ])
            .into(),
            false,
            "e-mail-like",
        ),
        24 => d(
            "invoice_number",
            rng.digits(10),
            rng.chance(50),
            "10-digit number",
        ),
        25 => d(
            "comment",
            format!(
                "Order {} shipped on {} via UPS, {} items, total {}.{:02} EUR",
                luhn_failing(rng),
                &timestamp(rng)[..10],
                rng.range(1, 40),
                rng.range(10, 99_999),
                rng.below(100)
            ),
            false,
            "free text with order number",
        ),
        26 => d(
            "comment",
            format!(
                "Upgraded to {}.{}.{} at {}, ticket {}",
                rng.range(1, 20),
                rng.below(10),
                rng.digits(4),
                timestamp(rng),
                rng.digits(9)
            ),
            false,
            "free text with version and timestamp",
        ),
        27 => d(
            "phone_verified_at",
            timestamp(rng),
            false,
            "timestamp in a phone_…_at column",
        ),
        28 => d(
            "phone_verified_at",
            (1_600_000_000 + rng.below(200_000_000)).to_string(),
            true,
            "epoch seconds in a phone_…_at column",
        ),
        29 => d(
            "card_type",
            rng.pick(&["VISA", "MC", "AMEX"]).into(),
            false,
            "card type",
        ),
        30 => d(
            "event_time_ms",
            (1_600_000_000_000 + rng.below(200_000_000_000)).to_string(),
            true,
            "epoch milliseconds",
        ),
        31 => d(
            "tracking_number",
            format!("1Z{}{}", hex(rng, 6).to_ascii_uppercase(), rng.digits(10)),
            false,
            "parcel tracking number",
        ),
        32 => d(
            "coordinates",
            format!(
                "{}.{}, -{}.{}",
                rng.range(10, 80),
                rng.digits(6),
                rng.range(10, 170),
                rng.digits(6)
            ),
            false,
            "coordinates",
        ),
        _ => d(
            "iso_date_range",
            format!("{}/{}", &timestamp(rng)[..10], &timestamp(rng)[..10]),
            false,
            "date range",
        ),
    }
}

// ------------------------------------------- the sample generator's tables

const SAMPLE_FIRST: [&str; 12] = [
    "James", "Zoë", "José", "Siobhán", "Jürgen", "Marie", "Łukasz", "Anaïs", "Bob", "María",
    "Noël", "Åsa",
];
const SAMPLE_LAST: [&str; 12] = [
    "Smith",
    "O'Brien",
    "García",
    "Müller",
    "Dupont",
    "Rossi",
    "D'Souza",
    "Ibáñez",
    "Silva",
    "Nguyen",
    "Dell'Acqua",
    "Schmidt",
];
const PROVIDERS: [&str; 4] = [
    "VISA 16 digit",
    "Mastercard",
    "American Express",
    "Discover",
];

fn sample(
    column: &'static str,
    text: String,
    is_number: bool,
    planted: Option<Detector>,
) -> Sample {
    Sample {
        column,
        text,
        is_number,
        planted,
        kind: column,
    }
}

/// The values the guard scans on the sample tables when the policy lists
/// every PII column (`schemas/examples/policy.json`): `id` of every table,
/// `customer.gender` and `card.cred_card_provider`, in the proportions of the
/// generator's rows (five values per three rows).
pub fn sample_unlisted_columns(seed: u64, count: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|i| match i % 5 {
            0 | 2 | 3 => sample("id", rng.range(1, 1_000_000).to_string(), true, None),
            1 => sample("gender", rng.pick(&["M", "F", "X"]).into(), false, None),
            _ => sample(
                "cred_card_provider",
                rng.pick(&PROVIDERS).into(),
                false,
                None,
            ),
        })
        .collect()
}

/// Every column of the sample tables, as when a whole table is unlisted.
/// `planted` is set where a detector must fire (mail, iban, card_number);
/// the other PII columns (names, birthdates, BBANs, security codes) have no
/// detector and are left `None`, so this set measures speed and recall, not
/// false positives.
pub fn sample_table_values(seed: u64, count: usize) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let first = rng.pick(&SAMPLE_FIRST);
        let last = rng.pick(&SAMPLE_LAST);
        let id = rng.range(1, 1_000_000).to_string();
        // customer(id, username, name, gender, mail, birthdate)
        out.push(sample("id", id.clone(), true, None));
        let user = format!(
            "{}_{}{}",
            first.to_lowercase(),
            rng.pick(&LAST),
            rng.below(100)
        );
        out.push(sample("username", user, false, None));
        out.push(sample("name", format!("{first} {last}"), false, None));
        out.push(sample(
            "gender",
            rng.pick(&["M", "F", "X"]).into(),
            false,
            None,
        ));
        let mail = format!(
            "{}.{}@example.{}",
            rng.pick(&FIRST),
            rng.pick(&LAST),
            rng.pick(&["com", "org", "net"])
        );
        out.push(sample("mail", mail, false, Some(Detector::Email)));
        let birthdate = format!(
            "{}-{:02}-{:02}",
            rng.range(1940, 2008),
            rng.range(1, 12),
            rng.range(1, 28)
        );
        out.push(sample("birthdate", birthdate, false, None));
        // bank(id, account_number, iban, bban)
        out.push(sample("id", id.clone(), true, None));
        out.push(sample(
            "account_number",
            format!("XYZ-{}", rng.below(100)),
            false,
            None,
        ));
        let country = rng.pick(&["DE", "DE", "DE", "RS", "ME"]);
        let iban = make_iban(&mut rng, country, 22, 0);
        out.push(sample("bban", iban[4..].to_owned(), false, None));
        out.push(sample("iban", iban, false, Some(Detector::Iban)));
        // card(id, cred_card_provider, card_number, card_expiration, card_security_code)
        out.push(sample("id", id, true, None));
        let provider = rng.pick(&PROVIDERS);
        out.push(sample("cred_card_provider", provider.into(), false, None));
        let (prefix, len) = match provider {
            "American Express" => (rng.pick(&[34, 37]), 15),
            "Mastercard" => (rng.pick(&[51, 55, 2221, 2720]), 16),
            "Discover" => (rng.pick(&[6011, 65]), 16),
            _ => (4, 16),
        };
        let prefix = prefix.to_string();
        let payload = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
        out.push(sample(
            "card_number",
            with_luhn(&payload),
            false,
            Some(Detector::CreditCard),
        ));
        let expiration = format!("{:02}/{:02}", rng.range(1, 12), rng.range(27, 33));
        out.push(sample("card_expiration", expiration, false, None));
        let code = rng.range(100, 999).to_string();
        let is_number = rng.chance(10);
        out.push(sample("card_security_code", code, is_number, None));
    }
    out.truncate(count);
    out
}

/// Free-text values (a `comment` column): four in five hold no PII, one in
/// five holds a planted value of any detector type in a sentence.
pub fn free_text(seed: u64, count: usize) -> Vec<Sample> {
    const PLAIN: [&str; 8] = [
        "Customer called about the delivery of order 4411-2938, promised a call back tomorrow.",
        "Refund of 1234.56 EUR approved on 2026-11-28 by agent 17; see ticket #99812.",
        "Upgraded firmware to 10.4.1234.5678, device restarted at 13:45:12 without errors.",
        "Le client souhaite être rappelé après 18h, merci de noter la préférence.",
        "Package 3 of 5 left the warehouse in Frankfurt am Main (zip 60311) at 08:15.",
        "No answer. Left a voicemail, will retry in 2 days.",
        "Order shipped via UPS, tracking 1Z999AA10123456784, ETA Monday.",
        "Duplicate of case 2026-000123; closing as resolved.",
    ];
    let mut rng = Rng::new(seed);
    let mut planted_values = planted(seed ^ 0xF2EE, count / 5 + 1).into_iter();
    (0..count)
        .map(|i| {
            if i % 5 == 4 {
                let p = planted_values.next().expect("enough planted values");
                if !p.is_number && p.column != "comment" && p.planted.is_some() {
                    // Weak forms only fire in hinted columns, not in a comment.
                    if !p.needs_hint() {
                        return Sample {
                            column: "comment",
                            text: sentence(&mut rng, &p.text),
                            ..p
                        };
                    }
                }
            }
            sample("comment", rng.pick(&PLAIN).into(), false, None)
        })
        .collect()
}
