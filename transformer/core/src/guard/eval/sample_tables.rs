//! The sample generator's tables as the guard sees them: unlisted columns,
//! whole rows, and free text.

use super::pii::{make_iban, sentence, with_luhn, FIRST, LAST};
use super::{planted, Rng, Sample};
use crate::guard::Detector;

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
