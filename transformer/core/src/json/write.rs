//! JSON written back: string literals escaped as little as JSON requires,
//! and members copied as they came, on one line.

use super::scan::plain_len;
use super::Member;

/// Appends `value` as a JSON string literal (quotes included), escaping only
/// what JSON requires.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    write_string_body(out, value);
    out.push(b'"');
}

/// Appends `value` escaped as the body of a JSON string literal (without
/// its quotes), escaping only what JSON requires.
pub fn write_string_body(out: &mut Vec<u8>, value: &str) {
    let mut rest = value.as_bytes();
    while let Some(plain) = plain_len(rest) {
        out.extend_from_slice(&rest[..plain]);
        match rest[plain] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            }
        }
        rest = &rest[plain + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends `{"name":value,…}` of `members` as they came (names raw, values
/// on one line, see [`write_raw_one_line`]).
pub fn write_members<'m, 'a: 'm>(
    out: &mut Vec<u8>,
    members: impl IntoIterator<Item = &'m Member<'a>>,
) {
    out.push(b'{');
    for (i, member) in members.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(member.raw_name.as_bytes());
        out.push(b':');
        write_raw_one_line(out, member.raw.as_bytes());
    }
    out.push(b'}');
}

/// Appends a raw, validated JSON value on one line: values that span lines
/// (pretty-printed objects or arrays) lose their insignificant whitespace,
/// everything else is copied byte for byte. Inlined: most values are
/// scalars, copied where the caller is.
#[inline]
pub fn write_raw_one_line(out: &mut Vec<u8>, raw: &[u8]) {
    // Only an object or an array can span lines: a string cannot hold a
    // raw line break, and the other values are one token each.
    if matches!(raw.first(), Some(b'{' | b'[')) {
        write_container_one_line(out, raw);
    } else {
        out.extend_from_slice(raw);
    }
}

/// [`write_raw_one_line`] of an object or an array.
fn write_container_one_line(out: &mut Vec<u8>, raw: &[u8]) {
    if memchr::memchr2(b'\n', b'\r', raw).is_none() {
        out.extend_from_slice(raw);
        return;
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in raw {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
}
