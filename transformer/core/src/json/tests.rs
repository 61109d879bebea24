//! The scanner against what serde_json accepts and rejects, depth, the
//! fast string scans (inline heads, backslash search), and the writers
//! round-tripping.

use super::decode::find_backslash;
use super::scan::{digit_len, plain_len, NEEDS_ATTENTION};
use super::*;

fn names(input: &str) -> Vec<(String, String, Kind)> {
    parse_object(input.as_bytes())
        .unwrap()
        .into_iter()
        .map(|m| (m.name().into_owned(), m.raw.to_owned(), m.kind))
        .collect()
}

#[test]
fn members_keep_raw_bytes_and_order() {
    let got = names(
        r#" {"b": 12345678901234567890, "a":"x\u00e9\"", "n":null,"o":{"k":[1,2.5e-3,true]}} "#,
    );
    assert_eq!(
        got,
        vec![
            ("b".into(), "12345678901234567890".into(), Kind::Number),
            ("a".into(), r#""x\u00e9\"""#.into(), Kind::String),
            ("n".into(), "null".into(), Kind::Null),
            ("o".into(), r#"{"k":[1,2.5e-3,true]}"#.into(), Kind::Object),
        ]
    );
}

#[test]
fn names_are_decoded() {
    let got = names(r#"{"n\u0061me":1,"\ud83d\ude00":2,"\ud800x":3}"#);
    assert_eq!(got[0].0, "name");
    assert_eq!(got[1].0, "😀");
    assert_eq!(got[2].0, "\u{FFFD}x");
}

#[test]
fn rejects_what_serde_json_rejects() {
    for bad in [
        "",
        "[]",
        "{",
        "{\"a\":1,}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":.5}",
        "{\"a\":1e}",
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":tru}",
        "{\"a\":1} x",
        "{a:1}",
        "{\"a\" 1}",
        "{\"a\":[1,]}",
    ] {
        assert!(parse_object(bad.as_bytes()).is_err(), "accepted {bad:?}");
        assert!(
            serde_json::from_str::<serde_json::Value>(bad)
                .map(|v| !v.is_object())
                .unwrap_or(true),
            "serde accepted {bad:?}"
        );
    }
    assert_eq!(
        parse_object(b"{\"a\":\"\xff\"}").unwrap_err(),
        JsonError::Utf8
    );
}

#[test]
fn depth_is_bounded() {
    let deep = format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(MAX_DEPTH),
        "]".repeat(MAX_DEPTH)
    );
    assert_eq!(
        parse_object(deep.as_bytes()).unwrap_err(),
        JsonError::TooDeep
    );
    let ok = format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(MAX_DEPTH - 1),
        "]".repeat(MAX_DEPTH - 1)
    );
    assert!(parse_object(ok.as_bytes()).is_ok());
}

/// Calls `check` with every byte value at every place of two words and a
/// tail, amid each of `fills`, cut at every length a word scan treats
/// differently.
fn every_byte_at_every_place(fills: &[u8], check: impl Fn(&[u8])) {
    for &fill in fills {
        for byte in 0..=u8::MAX {
            for at in 0..19 {
                let mut bytes = [fill; 19];
                bytes[at] = byte;
                for len in [at + 1, 8, 16, 19] {
                    check(&bytes[..len.max(at + 1)]);
                }
            }
        }
    }
}

#[test]
fn plain_len_finds_the_first_byte_needing_attention_whatever_the_bytes() {
    // Amid the bytes next to the ones that need attention (where a borrow
    // or a mapping could mislead), and after a byte that needs it.
    let fills = [
        0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
    ];
    every_byte_at_every_place(&fills, |bytes| {
        let want = bytes.iter().position(|&b| NEEDS_ATTENTION[usize::from(b)]);
        assert_eq!(plain_len(bytes), want, "{bytes:?}");
    });
}

#[test]
fn digit_len_counts_the_leading_digits_whatever_the_bytes() {
    // Amid digits and the bytes next to them (where a carry or a nibble
    // could mislead).
    let fills = [
        b'0',
        b'5',
        b'9',
        b'/',
        b':',
        b'6',
        0x39 + 0x06,
        0xfa,
        0xff,
        0x00,
    ];
    every_byte_at_every_place(&fills, |bytes| {
        let want = bytes
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(bytes.len());
        assert_eq!(digit_len(bytes), want, "{bytes:?}");
    });
}

#[test]
fn find_backslash_finds_the_first_whatever_the_bytes() {
    // Every byte value at every place, in bodies on both sides of the
    // word-at-a-time limit, amid bytes next to the backslash, and after one.
    for fill in [0x00, 0x5b, 0x5c, 0x5d, 0xdc, 0xff] {
        for byte in 0..=u8::MAX {
            for len in [1, 7, 8, 9, 16, 31, 32, 33, 40] {
                for at in 0..len {
                    let mut bytes = vec![fill; len];
                    bytes[at] = byte;
                    let want = bytes.iter().position(|&b| b == b'\\');
                    assert_eq!(find_backslash(&bytes), want, "{bytes:?}");
                }
            }
        }
    }
    assert_eq!(find_backslash(b""), None);
}

#[test]
fn short_strings_read_inline_as_the_general_loop_reads_them() {
    // A string of every length around the inline window (15 bytes and two
    // words), with each kind of byte at each place, followed by tails that
    // leave the window whole or cut it: the inline head and the general loop
    // agree on the end, on escapes and on errors (which carry their place).
    let specials = ["\"", "\\\"", "\\u00e9", "\\x", "\u{1}", "\t", "é", "a"];
    for len in 0..20 {
        for special in specials {
            for at in 0..=len {
                let body: String = (0..len)
                    .map(|i| if i == at { special } else { "b" })
                    .collect();
                for tail in ["", "\"", ",\"k\":1}", "\"}                    "] {
                    let document = format!("\"{body}{tail}");
                    let mut inline = Scanner::new(document.as_bytes()).unwrap();
                    let mut general = Scanner::new(document.as_bytes()).unwrap();
                    let read = inline.string();
                    let want = general.expect(b'"').and_then(|()| general.string_tail());
                    assert_eq!(read, want, "{document:?}");
                    if read.is_ok() {
                        assert_eq!(inline.position(), general.position(), "{document:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn expanding_gives_the_nested_members_in_the_same_pass() {
    let doc = br#"{"a":{"x":1,"y\u0041":"s"},"b":[1],"c":null,"d":{}}"#;
    let (top, [a, b, c, d, e]) =
        parse_object_expanding(doc, ["a", "b", "c", "d", "e"], &mut MemberVecs::default()).unwrap();
    assert_eq!(top.len(), 4);
    assert_eq!(top[0].raw, r#"{"x":1,"y\u0041":"s"}"#);
    assert_eq!(top[0].kind, Kind::Object);
    let a = a.unwrap();
    let again = members(&top[0]).unwrap();
    assert_eq!(a.len(), 2);
    for (m, n) in a.iter().zip(&again) {
        assert_eq!(
            (m.name(), m.raw_name, m.raw, m.kind),
            (n.name(), n.raw_name, n.raw, n.kind)
        );
    }
    assert_eq!(a[1].name(), "yA");
    assert!(b.is_none() && c.is_none() && e.is_none());
    assert!(d.unwrap().is_empty());
    let deep = format!(
        "{{\"a\":{{\"b\":{}1{}}}}}",
        "[".repeat(MAX_DEPTH - 2),
        "]".repeat(MAX_DEPTH - 2)
    );
    assert!(parse_object_expanding(deep.as_bytes(), ["a"], &mut MemberVecs::default()).is_ok());
    let deeper = deep.replacen('[', "[[", 1).replacen(']', "]]", 1);
    assert_eq!(
        parse_object_expanding(deeper.as_bytes(), ["a"], &mut MemberVecs::default()).unwrap_err(),
        JsonError::TooDeep
    );
    assert_eq!(
        parse_object(deeper.as_bytes()).unwrap_err(),
        JsonError::TooDeep
    );
}

#[test]
fn string_values_decode_alike_whether_the_scanner_saw_their_escapes_or_not() {
    // Each escape at each place of strings around the inline window: the
    // members of `o` come from the scanner's member loop (which tells
    // `text` a string had no escapes), `top` from the top level (which
    // does not), and both decode as serde_json does.
    for len in 0..40 {
        for special in ["\\u0041", "\\\"", "\\n", "\\/", "é", "a"] {
            for at in 0..=len {
                let body: String = (0..len)
                    .map(|i| if i == at { special } else { "b" })
                    .collect();
                let value = format!("\"{body}\"");
                let doc = format!(r#"{{"top":{value},"o":{{"k":{value}}}}}"#);
                let want: String = serde_json::from_str(&value).unwrap();
                let (top, [o]) =
                    parse_object_expanding(doc.as_bytes(), ["o"], &mut MemberVecs::default())
                        .unwrap();
                assert_eq!(top[0].text(), want, "{doc}");
                assert_eq!(o.unwrap()[0].text(), want, "{doc}");
            }
        }
    }
}

#[test]
fn write_string_round_trips() {
    for s in [
        "plain",
        "q\"b\\s",
        "\u{0}\u{1f}\n\t",
        "é😀",
        "",
        "a longer value \"with\" quotes\\ past eight bytes\u{7}",
    ] {
        let mut out = Vec::new();
        write_string(&mut out, s);
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, s);
    }
}

#[test]
fn one_line_strips_only_insignificant_whitespace() {
    let mut out = Vec::new();
    write_raw_one_line(
        &mut out,
        b"{\n  \"a b\": [1,\r\n 2],\n \"c\\\"\": \" x \"\n}",
    );
    assert_eq!(out, br#"{"a b":[1,2],"c\"":" x "}"#);
}

#[test]
fn name_eq_is_slice_equality() {
    // Every length around the word sizes, equal and with one byte changed
    // at each place (by one bit, high or low), and lengths that differ.
    for len in 0..70 {
        let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        assert!(name_eq(&a, &a.clone()), "{len}");
        for at in 0..len {
            for flip in [0x01, 0x80] {
                let mut b = a.clone();
                b[at] ^= flip;
                assert!(!name_eq(&a, &b), "{len} {at}");
            }
        }
        let mut longer = a.clone();
        longer.push(b'a');
        assert!(!name_eq(&a, &longer), "{len}");
        assert!(!name_eq(&longer, &a), "{len}");
    }
}
