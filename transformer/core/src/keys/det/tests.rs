//! Deterministic values: equal in a domain, different across domains,
//! typed round trips, and what is refused.

use super::*;

fn key() -> DeterministicKey {
    DeterministicKey::new(&[9u8; 64], 1).unwrap()
}

#[test]
fn equal_values_in_one_domain_are_equal() {
    let k = key();
    let a = k.encrypt_json("", br#""caf\u00e9""#).unwrap().unwrap();
    let b = k.encrypt_json("", "\"café\"".as_bytes()).unwrap().unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("det1_"));
    assert_ne!(
        a,
        k.encrypt_json("customer_email", "\"café\"".as_bytes())
            .unwrap()
            .unwrap()
    );
    assert_ne!(
        k.encrypt_json("", b"42").unwrap(),
        k.encrypt_json("", br#""42""#).unwrap(),
        "the type is part of the plaintext"
    );
    assert_eq!(k.encrypt_json("", b"null").unwrap(), None);
}

#[test]
fn round_trips_restore_the_type() {
    let k = key();
    for (raw, json) in [
        (
            &br#""caf\u00e9 \"x\"\n\ud83d\ude00""#[..],
            "\"café \\\"x\\\"\\n😀\"",
        ),
        (b"-12.5e3", "-12.5e3"),
        (b"0", "0"),
        (b"true", "true"),
        (b"false", "false"),
        (br#""""#, r#""""#),
        (b"\"\\u0001\"", "\"\\u0001\""),
    ] {
        for domain in ["", "d", "customer_email"] {
            let text = k.encrypt_json(domain, raw).unwrap().unwrap();
            assert!(is_well_formed(&text));
            let plain = k.decrypt(domain, &text).unwrap();
            assert_eq!(String::from_utf8(plain.to_json().to_vec()).unwrap(), json);
            let other = if domain.is_empty() { "x" } else { "" };
            assert_eq!(k.decrypt(other, &text), Err(DetError::Unauthentic));
        }
    }
}

#[test]
fn refuses_what_it_cannot_encrypt() {
    let k = key();
    for bad in [
        &br#""\ud800""#[..],
        br#""\udc00\ud800""#,
        br#""\x""#,
        b"\"a",
        b"\"\x01\"",
        b"01",
        b"1.",
        b"-",
        b"1e",
        b"+1",
        b"NaN",
        b"",
        b" 1",
    ] {
        assert_eq!(
            k.encrypt_json("", bad),
            Err(DetError::InvalidJson),
            "{bad:?}"
        );
    }
    assert_eq!(k.encrypt_json("", b"{}"), Err(DetError::UnsupportedType));
    assert_eq!(k.encrypt_json("", b"[1]"), Err(DetError::UnsupportedType));
    for domain in ["A", "a-b", "a b", "é", &"a".repeat(65), "a\0"] {
        assert_eq!(check_domain(domain), Err(DetError::InvalidDomain));
        assert_eq!(k.encrypt_json(domain, b"1"), Err(DetError::InvalidDomain));
    }
    assert!(check_domain(&"a".repeat(64)).is_ok());
    assert!(DeterministicKey::new(&[0u8; 32], 1).is_err());
}

#[test]
fn parsing_and_versions() {
    assert_eq!(parse("det1_abc"), Some((1, "abc")));
    assert_eq!(parse("det12_a_b"), Some((12, "a_b")));
    assert_eq!(parse_shape("det01_x"), Some(("01", "x")));
    assert_eq!(parse_shape("det_x"), None);
    for bad in [
        "det_abc",
        "det01_abc",
        "det1_",
        "det1abc",
        "dét1_a",
        "det-1_a",
        "det99999999999_a",
    ] {
        assert_eq!(parse(bad), None, "{bad}");
    }
    let k = key();
    let text = k.encrypt("", DetValue::Bool(true)).unwrap();
    let v2 = DeterministicKey::new(&[9u8; 64], 2).unwrap();
    assert_eq!(
        v2.decrypt("", &text),
        Err(DetError::WrongVersion {
            found: 1,
            expected: 2
        })
    );
    assert!(!is_well_formed("det1_AAAA"));
    assert_eq!(k.decrypt("", "det1_AAAA"), Err(DetError::Malformed));
    assert_eq!(k.decrypt("", &format!("{text}=")), Err(DetError::Malformed));
    let mut flipped = text.clone().into_bytes();
    let last = flipped.len() - 3;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(
        k.decrypt("", std::str::from_utf8(&flipped).unwrap()),
        Err(DetError::Unauthentic)
    );
    assert!(!format!("{:?}", k.decrypt("", &text)).contains("true"));
}
