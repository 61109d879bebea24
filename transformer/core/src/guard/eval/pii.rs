//! Planted PII: values of every detector type in a hinting, a neutral or
//! a free-text column, strong and (under a hint) weak forms, as strings and
//! as JSON numbers.

use super::{Rng, Sample};
use crate::guard::Detector;

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

pub(super) fn sentence(rng: &mut Rng, value: &str) -> String {
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
pub(super) fn with_luhn(payload: &str) -> String {
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

pub(super) fn card(rng: &mut Rng) -> Sample {
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
pub(super) fn make_iban(rng: &mut Rng, country: &str, len: usize, letters: usize) -> String {
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

pub(super) fn iban(rng: &mut Rng) -> Sample {
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

pub(super) const FIRST: [&str; 8] = [
    "john",
    "marie",
    "j",
    "anaïs",
    "o.brien",
    "li",
    "sven-erik",
    "x",
];
pub(super) const LAST: [&str; 6] = ["doe", "dupont", "mueller", "o_hara", "smith99", "ng"];
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

pub(super) fn email(rng: &mut Rng) -> Sample {
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

pub(super) fn phone(rng: &mut Rng) -> Sample {
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

pub(super) fn ssn(rng: &mut Rng) -> Sample {
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
pub(super) fn make_routing(rng: &mut Rng) -> String {
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

pub(super) fn aba(rng: &mut Rng) -> Sample {
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
