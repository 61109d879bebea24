//! Decoys: values that fool naive detectors (order numbers failing Luhn,
//! ISBN-13s, UUIDs, amounts, timestamps, …) and near misses of each
//! detector, none of which may fire.

use super::pii::{make_iban, with_luhn, LAST};
use super::{Rng, Sample};

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

pub(super) fn decoy(rng: &mut Rng, i: usize) -> Sample {
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
