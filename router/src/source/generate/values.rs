//! Realistic values for the generated columns: names that mix locales
//! (accents, apostrophes, now and then a quoted nickname or an emoji),
//! usernames, e-mail addresses, birthdates, IBANs with valid check digits and
//! card numbers with valid Luhn digits. Every value comes from the one seeded
//! random generator, in a fixed order, so the stream stays a pure function of
//! its seed.

use std::fmt::Write as _;

use fake::faker::internet::raw::{SafeEmail, Username};
use fake::faker::name::raw::{FirstName, LastName};
use fake::locales::{DE_DE, EN, FR_FR, IT_IT, PT_BR};
use fake::Fake;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::dms_json::days_from_civil;
use super::{
    Cell, Table, BANK_ACCOUNT_NUMBER, BANK_BBAN, BANK_IBAN, CARD_EXPIRATION, CARD_NUMBER,
    CARD_PROVIDER, CARD_SECURITY_CODE, CUSTOMER_BIRTHDATE, CUSTOMER_GENDER, CUSTOMER_MAIL,
    CUSTOMER_NAME, CUSTOMER_USERNAME,
};

/// Birthdates span 1940-01-01 ..= 2008-11-27 (everyone is an adult at the start).
const BIRTHDATE_DAYS: std::ops::RangeInclusive<i64> =
    days_from_civil(1940, 1, 1)..=days_from_civil(2008, 11, 27);

/// Generates every column of a new row of `table`.
pub(super) fn new_row(rng: &mut StdRng, table: Table) -> Box<[Cell]> {
    let count = table.columns().len();
    let mut cells = Vec::with_capacity(count);
    for column in 0..count {
        let cell = fresh_cell(rng, table, column, &cells);
        cells.push(cell);
    }
    cells.into_boxed_slice()
}

/// Gives `column` (and the columns derived from it) a new value, recording each previous
/// value in `changed` unless an earlier change in the same update already did.
pub(super) fn regenerate(
    rng: &mut StdRng,
    table: Table,
    cells: &mut [Cell],
    column: usize,
    changed: &mut Vec<(usize, Cell)>,
) {
    // The BBAN is part of the IBAN: changing either means a new account.
    let column = match (table, column) {
        (Table::Bank, BANK_BBAN) => BANK_IBAN,
        _ => column,
    };
    let dependent = match (table, column) {
        (Table::Bank, BANK_IBAN) => Some(BANK_BBAN),
        (Table::Card, CARD_PROVIDER) => Some(CARD_NUMBER),
        _ => None,
    };
    for column in std::iter::once(column).chain(dependent) {
        let cell = fresh_cell(rng, table, column, cells);
        let old = std::mem::replace(&mut cells[column], cell);
        if !changed.iter().any(|(index, _)| *index == column) {
            changed.push((column, old));
        }
    }
}

/// A new value for `column` of `table`; `row` holds at least the columns before it.
fn fresh_cell(rng: &mut StdRng, table: Table, column: usize, row: &[Cell]) -> Cell {
    match (table, column) {
        (Table::Customer, CUSTOMER_USERNAME) => Cell::Text(username(rng)),
        (Table::Customer, CUSTOMER_NAME) => Cell::Text(person_name(rng)),
        (Table::Customer, CUSTOMER_GENDER) => Cell::Static(match rng.random_range(0..100u32) {
            0..=47 => "M",
            48..=95 => "F",
            _ => "X",
        }),
        (Table::Customer, CUSTOMER_MAIL) => {
            Cell::Text(SafeEmail(EN).fake_with_rng::<String, _>(rng).into())
        }
        (Table::Customer, CUSTOMER_BIRTHDATE) => Cell::Date(rng.random_range(BIRTHDATE_DAYS)),
        (Table::Bank, BANK_ACCOUNT_NUMBER) => {
            Cell::Text(format!("XYZ-{}", rng.random_range(0..100u32)).into())
        }
        (Table::Bank, BANK_IBAN) => Cell::Text(iban(rng)),
        (Table::Bank, BANK_BBAN) => match &row[BANK_IBAN] {
            Cell::Text(iban) => Cell::Text(iban[4..].into()),
            other => unreachable!("iban is always text, got {other:?}"),
        },
        (Table::Card, CARD_PROVIDER) => Cell::Static(pick(rng, &CARD_PROVIDERS)),
        (Table::Card, CARD_NUMBER) => match row[CARD_PROVIDER] {
            Cell::Static(provider) => Cell::Text(card_number(rng, provider)),
            ref other => unreachable!("card provider is always static, got {other:?}"),
        },
        (Table::Card, CARD_EXPIRATION) => Cell::Text(
            format!(
                "{:02}/{:02}",
                rng.random_range(1..=12u32),
                rng.random_range(27..=33u32)
            )
            .into(),
        ),
        (Table::Card, CARD_SECURITY_CODE) => {
            // Most sources keep the code as text; some rows carry it as a JSON number to
            // exercise masking of non-string PII.
            if rng.random_bool(0.1) {
                Cell::Int(rng.random_range(100..1000))
            } else {
                Cell::Text(format!("{:03}", rng.random_range(0..1000u32)).into())
            }
        }
        _ => unreachable!("{} has no column {column}", table.name()),
    }
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    *items
        .choose(rng)
        .expect("pick is only called with non-empty lists")
}

/// A fake username; one in two hundred is a Windows domain account (`CORP\jdoe`).
fn username(rng: &mut StdRng) -> Box<str> {
    let name: String = Username(EN).fake_with_rng(rng);
    if rng.random_ratio(1, 200) {
        let domain = pick(rng, &["ACME", "CORP", "EMEA"]);
        format!("{domain}\\{name}").into()
    } else {
        name.into()
    }
}

/// Spanish names (fake has no Spanish locale).
const ES_FIRST_NAMES: [&str; 16] = [
    "José", "María", "Lucía", "Sofía", "Andrés", "Raúl", "Iñigo", "Begoña", "Jesús", "Inés",
    "Álvaro", "Martín", "Pilar", "Joaquín", "Ramón", "Nuria",
];
const ES_LAST_NAMES: [&str; 16] = [
    "García",
    "Martínez",
    "Rodríguez",
    "Fernández",
    "López",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Muñoz",
    "Jiménez",
    "Núñez",
    "Ibáñez",
    "Ortega",
    "Castillo",
    "Peña",
    "Álvarez",
];
/// Surnames with an apostrophe (none of fake's locales has any).
const APOSTROPHE_LAST_NAMES: [&str; 12] = [
    "O'Brien",
    "O'Connor",
    "O'Neill",
    "O'Sullivan",
    "O'Reilly",
    "O'Hara",
    "D'Angelo",
    "D'Amico",
    "D'Souza",
    "N'Diaye",
    "Dell'Acqua",
    "D'Arcy",
];
/// First names with diacritics from other European languages.
const ACCENTED_FIRST_NAMES: [&str; 12] = [
    "Zoë",
    "Chloë",
    "Noël",
    "Søren",
    "Björn",
    "Łukasz",
    "Siobhán",
    "Renée",
    "Anaïs",
    "Małgorzata",
    "Jürgen",
    "Åsa",
];
const NICKNAMES: [&str; 6] = ["Bob", "Liz", "Jim", "Kate", "Chuck", "Mo"];
const EMOJIS: [&str; 5] = ["🌸", "🎉", "😀", "🚀", "☕"];

/// A full name mixing locales; one in a hundred has a quoted nickname or an emoji.
fn person_name(rng: &mut StdRng) -> Box<str> {
    let (first, last, second_last): (&str, &str, Option<&str>) = match rng.random_range(0..100u32) {
        0..=39 => (
            FirstName(EN).fake_with_rng(rng),
            LastName(EN).fake_with_rng(rng),
            None,
        ),
        40..=51 => (
            FirstName(FR_FR).fake_with_rng(rng),
            LastName(FR_FR).fake_with_rng(rng),
            None,
        ),
        52..=61 => (
            FirstName(DE_DE).fake_with_rng(rng),
            LastName(DE_DE).fake_with_rng(rng),
            None,
        ),
        62..=67 => (
            FirstName(IT_IT).fake_with_rng(rng),
            LastName(IT_IT).fake_with_rng(rng),
            None,
        ),
        68..=73 => (
            FirstName(PT_BR).fake_with_rng(rng),
            LastName(PT_BR).fake_with_rng(rng),
            None,
        ),
        74..=83 => (
            pick(rng, &ES_FIRST_NAMES),
            pick(rng, &ES_LAST_NAMES),
            rng.random_bool(0.5).then(|| pick(rng, &ES_LAST_NAMES)),
        ),
        84..=91 => (
            FirstName(EN).fake_with_rng(rng),
            pick(rng, &APOSTROPHE_LAST_NAMES),
            None,
        ),
        _ => (
            pick(rng, &ACCENTED_FIRST_NAMES),
            LastName(DE_DE).fake_with_rng(rng),
            None,
        ),
    };
    let special = rng.random_ratio(1, 100).then(|| rng.random_bool(0.5));
    let mut name = String::with_capacity(first.len() + last.len() + 24);
    name.push_str(first);
    if special == Some(true) {
        name.push_str(" \"");
        name.push_str(pick(rng, &NICKNAMES));
        name.push('"');
    }
    name.push(' ');
    name.push_str(last);
    if let Some(second) = second_last {
        name.push(' ');
        name.push_str(second);
    }
    if special == Some(false) {
        name.push(' ');
        name.push_str(pick(rng, &EMOJIS));
    }
    name.into()
}

/// A 22-character IBAN (country, check digits, 18-digit numeric BBAN) with valid check
/// digits: mostly German, some Serbian and Montenegrin accounts.
fn iban(rng: &mut StdRng) -> Box<str> {
    let country: &[u8; 2] = match rng.random_range(0..10u32) {
        0..=7 => b"DE",
        8 => b"RS",
        _ => b"ME",
    };
    let mut iban = [b'0'; 22];
    iban[..2].copy_from_slice(country);
    for (position, digit) in iban[4..].iter_mut().enumerate() {
        // German bank codes (BLZ) start with 1..=8.
        let range = if position == 0 && country == b"DE" {
            1..=8
        } else {
            0..=9
        };
        *digit = b'0' + rng.random_range(range);
    }
    let check = iban_check_digits(country, &iban[4..]);
    iban[2] = b'0' + check / 10;
    iban[3] = b'0' + check % 10;
    std::str::from_utf8(&iban)
        .expect("an IBAN built from ASCII letters and digits is UTF-8")
        .into()
}

/// ISO 13616 check digits for a numeric `bban` in `country`.
pub(super) fn iban_check_digits(country: &[u8; 2], bban: &[u8]) -> u8 {
    let mut remainder = 0u32;
    for &digit in bban {
        remainder = (remainder * 10 + u32::from(digit - b'0')) % 97;
    }
    for &letter in country {
        remainder = (remainder * 100 + u32::from(letter - b'A') + 10) % 97;
    }
    remainder = remainder * 100 % 97;
    (98 - remainder) as u8
}

pub(super) const CARD_PROVIDERS: [&str; 4] = [
    "VISA 16 digit",
    "Mastercard",
    "American Express",
    "Discover",
];

/// A card number with the issuer prefix and length of `provider` and a valid Luhn digit.
fn card_number(rng: &mut StdRng, provider: &str) -> Box<str> {
    let (prefix, length) = match provider {
        "American Express" => (pick(rng, &[34, 37]), 15),
        "Mastercard" => {
            if rng.random_bool(0.8) {
                (rng.random_range(51..=55), 16)
            } else {
                (rng.random_range(2221..=2720), 16)
            }
        }
        "Discover" => (pick(rng, &[6011, 65]), 16),
        _ => (4, 16),
    };
    let mut number = String::with_capacity(length);
    write!(number, "{prefix}").expect("writing to a String cannot fail");
    while number.len() < length - 1 {
        number.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    number.push(char::from(b'0' + luhn_check_digit(number.as_bytes())));
    number.into()
}

/// The digit that makes `payload` followed by it pass the Luhn check.
pub(super) fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            let value = u32::from(digit - b'0');
            if position % 2 == 0 {
                let doubled = value * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                value
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}
