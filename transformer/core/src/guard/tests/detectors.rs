//! Each detector on its own: the forms it accepts, its near misses, and
//! what a hinting column name changes.

use super::*;

#[test]
fn detector_names_round_trip() {
    for d in Detector::ALL {
        assert_eq!(d.as_str().parse::<Detector>(), Ok(d));
        assert_eq!(d.to_string(), d.as_str());
    }
    assert!("ssn".parse::<Detector>().is_err());
    assert!("".parse::<Detector>().is_err());
}

#[test]
fn card_numbers_of_every_issuer_and_layout() {
    assert_fires(
        Detector::CreditCard,
        "notes",
        &[
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4222222222222",       // Visa, 13 digits
            "4000000000000000006", // Visa, 19 digits
            "5555555555554444",    // Mastercard
            "2223003122003222",    // Mastercard 2-series
            "378282246310005",     // Amex
            "3782 822463 10005",   // Amex print layout
            "6011111111111117",    // Discover
            "6500000000000002",    // Discover 65
            "3530111333300000",    // JCB
            "36227206271667",      // Diners, 14 digits
            "30569309025904",      // Diners 305
            "6200000000000005",    // UnionPay
            "6759649826438453",    // Maestro UK
            "2200000000000004",    // Mir
            "card 4111 1111 1111 1111 exp 09/29",
            "(4111-1111-1111-1111)",
            "paid with 5555555555554444, thanks",
            "ref 12 4111 1111 1111 1111",
            // Space-joined groups are words of prose: a card among them counts.
            "4111 1111 1111 1111 1111",
        ],
    );
    assert_eq!(
        on_number("notes", "4111111111111111"),
        Some(Detector::CreditCard)
    );
    assert_eq!(
        on_number("amount", "-4111111111111111"),
        Some(Detector::CreditCard)
    );
}

#[test]
fn card_near_misses() {
    assert_silent(
        "notes",
        &[
            "4111111111111112",         // Luhn fails
            "411111111111",             // 12 digits
            "41111111111111111111",     // 20 digits
            "9111111111111110",         // Luhn ok, no issuer (unhinted)
            "5555555555554444555",      // Mastercard is 16 only
            "4111-1111-1111-1111-1111", // 20 digits in dashed groups
            "4111 1111-1111 1111",      // mixed separators
            "4111.1111.1111.1111",      // dots are not card separators
            "SKU-4111-1111-1111-1111",  // fragment of a longer token
            "4111111111111111.25",      // an amount
            "x4111111111111111",        // inside a word
            "4111111111111111abc",
            "41 11 11 11 11 11 11 11", // groups of two
        ],
    );
    // In a card-hinted column, Luhn alone suffices.
    assert_eq!(
        on("card_number", "9111111111111110"),
        Some(Detector::CreditCard)
    );
    assert_eq!(on("card_number", "9111111111111111"), None);
}

#[test]
fn ibans_in_both_layouts() {
    assert_fires(
        Detector::Iban,
        "notes",
        &[
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "de89370400440532013000",
            "GB29NWBK60161331926819",
            "GB29 NWBK 6016 1331 9268 19",
            "NO9386011117947",                 // shortest
            "MT84MALT011000012345MTLCAST001S", // letters in the BBAN
            "LC55HEMM000100010012001200023015",
            "FR1420041010050500013M02606",
            "BE68-5390-0754-7034",
            "Please wire to DE89 3704 0044 0532 0130 00 by Friday.",
            "iban:GB29NWBK60161331926819;",
        ],
    );
}

#[test]
fn ibans_outside_the_registry_need_a_hint() {
    // Côte d'Ivoire, Senegal, Morocco: partial IBAN countries.
    let partial = [
        "CI93CI0080111301134291200589",
        "SN08 SN01 0015 2000 0485 0000 3035",
        "MA64011519000001205000534921",
    ];
    assert_fires(Detector::Iban, "iban", &partial);
    assert_fires(
        Detector::Iban,
        "beneficiary_iban",
        &["pay to CI93CI0080111301134291200589 now"],
    );
    assert_silent("notes", &partial);
    assert_silent("iban", &["CI94CI0080111301134291200589", "CI93CI00801113"]);
}

#[test]
fn iban_near_misses() {
    assert_silent(
        "notes",
        &[
            "DE88370400440532013000",     // check digits wrong
            "DE8937040044053201300",      // one short
            "DE893704004405320130001",    // one long
            "XX89370400440532013000",     // not a registry country
            "ADE89370400440532013000",    // inside a word
            "DE89370400440532013000X",    // runs on
            "DE89 3704 0044 0532 013000", // broken grouping
            "DE00370400440532013000",     // check digits 00
        ],
    );
}

#[test]
fn email_addresses() {
    assert_fires(
        Detector::Email,
        "notes",
        &[
            "john.doe@example.com",
            "J.Doe+news@Mail.Example.CO.UK",
            "o'brien@example.ie",
            "anaïs@example.fr",
            "x@startup.io",
            "user@xn--mnchen-3ya.de",
            "Contact <jane_doe99@corp-mail.de> today.",
            "mailto:jane@example.org",
            "write to john@example.com.",
            "...john@example.com",
        ],
    );
    assert_silent(
        "email",
        &[
            "@jdoe",
            "user@localhost",
            "foo@1.2.3",
            "a@b.c",
            "x@.com",
            "x@-example.com",
            "john..doe@example.com",
            "john.@example.com",
            "@@",
            "john at example dot com",
        ],
    );
}

#[test]
fn phone_numbers_strong_forms() {
    assert_fires(
        Detector::Phone,
        "notes",
        &[
            "(415) 555-2671",
            "(415)555-2671",
            "415-555-2671",
            "415.555.2671",
            "415 555 2671",
            "+1 415 555 2671",
            "+14155552671",
            "+1 (415) 555-2671",
            "1-415-555-2671",
            "1 (415) 555-2671",
            "+44 20 7946 0958",
            "+49 30 12345678",
            "+33 6 12 34 56 78",
            "+81 3-1234-5678",
            "+353 1 234 5678",
            "Call me at 415-555-2671 after 5pm.",
        ],
    );
}

#[test]
fn phone_near_misses_and_hints() {
    // Bare or national numbers need a phone-hinted column.
    assert_silent("notes", &["4155552671", "020 7946 0958", "06 12 34 56 78"]);
    assert_fires(
        Detector::Phone,
        "phone",
        &[
            "4155552671",
            "020 7946 0958",
            "06 12 34 56 78",
            "555-2671",
            "030/1234567",
        ],
    );
    assert_fires(Detector::Phone, "customerphone", &["4155552671"]);
    assert_fires(Detector::Phone, "tel", &["4155552671"]);
    assert_eq!(on_number("mobile", "4155552671"), Some(Detector::Phone));
    assert_eq!(on_number("invoice_number", "4155552671"), None);
    assert_silent(
        "notes",
        &[
            "123-456-7890",    // area code starts with 1
            "415-155-2671",    // exchange starts with 1
            "911-555-2671",    // N11 area code
            "495-555-2671",    // middle 9: reserved
            "+1 123 555 2671", // NANP rules apply after +1
            "+1234567.89",     // an amount with a sign
            "+12.5%",
            "+999 1234 5678",          // unassigned country code
            "+44 12",                  // too short
            "+44 1234 5678 9012 3456", // too long
            "415-555-2671-12",         // fragment of a longer token
            "SKU-415-555-2671",
        ],
    );
    // Dates and timestamps are not phone numbers, even in a hinted column.
    assert_silent("phone", &["2026-11-28", "28.11.2026", "11/28/2026"]);
    assert_silent(
        "phone_verified_at",
        &["2026-11-28T10:00:00Z", "2026-11-28 10:00:00", "1764324000"],
    );
}

#[test]
fn ssn_rules() {
    assert_fires(
        Detector::UsSsn,
        "notes",
        &["123-45-6789", "SSN 078-05-1120 on file", "(899-99-9999)"],
    );
    assert_silent(
        "notes",
        &[
            "000-45-6789",
            "666-45-6789",
            "900-45-6789",
            "123-00-6789",
            "123-45-0000",
            "123456789", // undashed needs a hint
            "123 45 6789",
            "1123-45-6789",
            "123-45-67890",
            "123-45-6789-1",
            "x123-45-6789",
        ],
    );
    assert_fires(
        Detector::UsSsn,
        "ssn",
        &["123456789", "123 45 6789", "123.45.6789"],
    );
    assert_fires(Detector::UsSsn, "social_security_number", &["078051120"]);
    assert_eq!(
        on_number("employee_ssn", "123456789"),
        Some(Detector::UsSsn)
    );
    assert_silent("ssn", &["000000000", "666456789", "12345678"]);
    // An integer column drops leading zeros: 078-05-1120 arrives as 78051120.
    assert_eq!(on_number("ssn", "78051120"), Some(Detector::UsSsn));
    assert_eq!(on_number("ssn", "1234567"), Some(Detector::UsSsn)); // 001-23-4567
    assert_eq!(on_number("ssn", "123456"), None);
    assert_eq!(on_number("notes", "78051120"), None);
}

#[test]
fn aba_only_with_a_hint() {
    // 021000021 (JPMorgan Chase) and 011000015 (Federal Reserve Boston).
    assert_fires(
        Detector::AbaRouting,
        "routing_number",
        &["021000021", "011000015"],
    );
    assert_fires(Detector::AbaRouting, "aba", &["021000021"]);
    assert_fires(Detector::AbaRouting, "bank_rtn", &["021000021"]);
    assert_eq!(
        on_number("routing_number", "121000358"),
        Some(Detector::AbaRouting)
    );
    assert_eq!(
        on_number("routing_number", "21000021"),
        Some(Detector::AbaRouting)
    );
    assert_eq!(on_number("customer_id", "21000021"), None);
    assert_silent("customer_id", &["021000021", "121000358"]);
    assert_silent(
        "routing_number",
        &[
            "021000022",
            "000000000",
            "991000021",
            "02100002",
            "0210000211",
        ],
    );
}

#[test]
fn context_words() {
    let g = guard();
    let hints = |name: &str| {
        let c = g.context(name);
        Detector::ALL
            .into_iter()
            .filter(|&d| c.hints(d))
            .collect::<Vec<_>>()
    };
    assert_eq!(hints("ssn"), [Detector::UsSsn]);
    assert_eq!(hints("employee_ssn"), [Detector::UsSsn]);
    assert_eq!(hints("ssn4"), [Detector::UsSsn]);
    assert_eq!(hints("classname"), []);
    assert_eq!(hints("company"), []);
    assert_eq!(hints("pan"), [Detector::CreditCard]);
    assert_eq!(hints("cc_number"), [Detector::CreditCard]);
    assert_eq!(hints("ccnumber"), [Detector::CreditCard]);
    assert_eq!(hints("card_number"), [Detector::CreditCard]);
    assert_eq!(hints("e_mail"), [Detector::Email]);
    assert_eq!(hints("customerphone"), [Detector::Phone]);
    assert_eq!(hints("tel"), [Detector::Phone]);
    assert_eq!(hints("telemetry"), []);
    assert_eq!(hints("routing_number"), [Detector::AbaRouting]);
    assert_eq!(hints("iban"), [Detector::Iban]);
    assert_eq!(hints("phone_verified_at"), []);
    assert_eq!(hints("card_type"), []);
    assert_eq!(hints("cred_card_provider"), []);
    assert_eq!(hints(""), []);
    assert_eq!(g.context("notes"), Context::NONE);
    // A hint for a detector that is not enabled is dropped.
    let only_email = Guard::new(&[Detector::Email]);
    assert!(!only_email.context("ssn").hints(Detector::UsSsn));
}

#[test]
fn disabled_detectors_do_not_fire() {
    let g = Guard::new(&[Detector::Email]);
    let c = g.context("notes");
    assert_eq!(g.detect(&c, "4111111111111111", false), None);
    assert_eq!(g.detect(&c, "a@example.com", false), Some(Detector::Email));
    let off = Guard::new(&[]);
    assert_eq!(off.detect(&c, "a@example.com", false), None);
}

#[test]
fn json_numbers_skip_text_only_detectors() {
    // A number literal never holds an @ or letters; it is still scanned for digits.
    assert_eq!(on_number("notes", "1e16"), None);
    assert_eq!(on_number("notes", "4111111111111111.0"), None);
    assert_eq!(on_number("notes", "4.111111111111111e15"), None);
}

#[test]
fn nested_json_is_scanned_as_text() {
    // An object or array column (jsonb) is best passed as its raw text.
    assert_eq!(
        on("attributes", r#"{"card":"4111 1111 1111 1111","n":2}"#),
        Some(Detector::CreditCard)
    );
    assert_eq!(
        on("attributes", r#"[{"contact":"jane@example.org"}]"#),
        Some(Detector::Email)
    );
    assert_eq!(
        on("attributes", r#"{"ssn":"123-45-6789"}"#),
        Some(Detector::UsSsn)
    );
    assert_eq!(
        on("attributes", r#"{"id":123456789,"at":"2026-11-28"}"#),
        None
    );
}
