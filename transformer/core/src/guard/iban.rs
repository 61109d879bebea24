//! IBANs: country code, two check digits, the BBAN; ISO 7064 mod 97-10.
//!
//! A candidate starts at a word that begins with two letters and two digits.
//! The country must be in the IBAN registry, the length must be that
//! country's, the check digits 02–98 and the mod-97 remainder 1. In an
//! IBAN-hinted column a country outside the registry (the partial IBANs of
//! many African countries, `CI`, `SN`, `MA`…) is accepted at any length of
//! 15–34 that checks. Compact
//! (`DE89370400440532013000`) and print form (`DE89 3704 0044 0532 0130 00`,
//! one space or dash after every four characters) are accepted, in either
//! letter case; the IBAN must end at a word boundary.

/// Whether `text` contains an IBAN.
pub(super) fn contains(text: &[u8], hinted: bool) -> bool {
    let Some(last) = text.len().checked_sub(MIN_LEN) else {
        return false;
    };
    // A plain loop with the cheap test inline: most positions fail on their
    // first byte, and only candidates pay for the validation call.
    let mut i = 0;
    while i <= last {
        if starts_candidate(text, i) && is_iban_at(text, i, hinted) {
            return true;
        }
        i += 1;
    }
    false
}

/// The shortest IBAN (Norway).
const MIN_LEN: usize = 15;
/// The longest BBAN ISO 13616 allows (34 characters in all).
const MAX_BBAN: usize = 30;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `XX00` at a word start.
#[inline(always)]
fn starts_candidate(text: &[u8], i: usize) -> bool {
    text[i].is_ascii_alphabetic()
        && text[i + 2].is_ascii_digit()
        && text[i + 1].is_ascii_alphabetic()
        && text[i + 3].is_ascii_digit()
        && (i == 0 || !is_word(text[i - 1]))
}

/// Whether an IBAN starts at `i` (a candidate).
#[inline(never)]
fn is_iban_at(text: &[u8], i: usize, hinted: bool) -> bool {
    let country = [
        text[i].to_ascii_uppercase(),
        text[i + 1].to_ascii_uppercase(),
    ];
    let expected = length(country);
    if expected.is_none() && !hinted {
        return false;
    }
    let check = [text[i + 2], text[i + 3]];
    if !(b"02"..=b"98").contains(&&check) {
        return false;
    }
    // Read the BBAN greedily, upper-cased, in either layout, remembering
    // where each character ends.
    let mut bban = [0u8; MAX_BBAN];
    let mut ends = [0usize; MAX_BBAN];
    let mut pos = i + 4;
    let sep = match text.get(pos) {
        Some(&b @ (b' ' | b'-')) => Some(b),
        _ => None,
    };
    let mut n = 0;
    while n < MAX_BBAN {
        if let Some(sep) = sep.filter(|_| n % 4 == 0) {
            if text.get(pos) != Some(&sep) {
                break;
            }
            pos += 1;
        }
        match text.get(pos) {
            Some(&b) if b.is_ascii_alphanumeric() => bban[n] = b.to_ascii_uppercase(),
            _ => break,
        }
        pos += 1;
        ends[n] = pos;
        n += 1;
    }
    // An IBAN of `len` BBAN characters ends at a word boundary and checks.
    let valid = |len: usize| {
        !text.get(ends[len - 1]).is_some_and(|&b| is_word(b))
            && mod97(&bban[..len], country, check) == 1
    };
    match expected {
        Some(len) => len - 4 <= n && valid(len - 4),
        // A country outside the registry, in an IBAN-hinted column: any
        // length the standard allows.
        None => (MIN_LEN - 4..=n).rev().any(valid),
    }
}

/// ISO 7064 mod 97-10 of BBAN, country and check digits (letters A=10…Z=35).
fn mod97(bban: &[u8], country: [u8; 2], check: [u8; 2]) -> u32 {
    bban.iter()
        .chain(&country)
        .chain(&check)
        .fold(0u32, |r, &c| {
            if c.is_ascii_digit() {
                (r * 10 + u32::from(c - b'0')) % 97
            } else {
                (r * 100 + u32::from(c - b'A') + 10) % 97
            }
        })
}

/// IBAN length of a registry country (SWIFT IBAN registry, 89 countries).
fn length(country: [u8; 2]) -> Option<usize> {
    let key = u16::from_be_bytes(country);
    COUNTRIES
        .binary_search_by_key(&key, |(code, _)| u16::from_be_bytes(*code))
        .ok()
        .map(|i| usize::from(COUNTRIES[i].1))
}

/// Country code and IBAN length, sorted by code.
const COUNTRIES: [([u8; 2], u8); 89] = [
    (*b"AD", 24),
    (*b"AE", 23),
    (*b"AL", 28),
    (*b"AT", 20),
    (*b"AZ", 28),
    (*b"BA", 20),
    (*b"BE", 16),
    (*b"BG", 22),
    (*b"BH", 22),
    (*b"BI", 27),
    (*b"BR", 29),
    (*b"BY", 28),
    (*b"CH", 21),
    (*b"CR", 22),
    (*b"CY", 28),
    (*b"CZ", 24),
    (*b"DE", 22),
    (*b"DJ", 27),
    (*b"DK", 18),
    (*b"DO", 28),
    (*b"EE", 20),
    (*b"EG", 29),
    (*b"ES", 24),
    (*b"FI", 18),
    (*b"FK", 18),
    (*b"FO", 18),
    (*b"FR", 27),
    (*b"GB", 22),
    (*b"GE", 22),
    (*b"GI", 23),
    (*b"GL", 18),
    (*b"GR", 27),
    (*b"GT", 28),
    (*b"HN", 28),
    (*b"HR", 21),
    (*b"HU", 28),
    (*b"IE", 22),
    (*b"IL", 23),
    (*b"IQ", 23),
    (*b"IS", 26),
    (*b"IT", 27),
    (*b"JO", 30),
    (*b"KW", 30),
    (*b"KZ", 20),
    (*b"LB", 28),
    (*b"LC", 32),
    (*b"LI", 21),
    (*b"LT", 20),
    (*b"LU", 20),
    (*b"LV", 21),
    (*b"LY", 25),
    (*b"MC", 27),
    (*b"MD", 24),
    (*b"ME", 22),
    (*b"MK", 19),
    (*b"MN", 20),
    (*b"MR", 27),
    (*b"MT", 31),
    (*b"MU", 30),
    (*b"NI", 28),
    (*b"NL", 18),
    (*b"NO", 15),
    (*b"OM", 23),
    (*b"PK", 24),
    (*b"PL", 28),
    (*b"PS", 29),
    (*b"PT", 25),
    (*b"QA", 29),
    (*b"RO", 24),
    (*b"RS", 22),
    (*b"RU", 33),
    (*b"SA", 24),
    (*b"SC", 31),
    (*b"SD", 18),
    (*b"SE", 24),
    (*b"SI", 19),
    (*b"SK", 24),
    (*b"SM", 27),
    (*b"SO", 23),
    (*b"ST", 25),
    (*b"SV", 28),
    (*b"TL", 23),
    (*b"TN", 24),
    (*b"TR", 26),
    (*b"UA", 29),
    (*b"VA", 22),
    (*b"VG", 24),
    (*b"XK", 20),
    (*b"YE", 30),
];
