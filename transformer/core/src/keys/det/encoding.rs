//! The plaintext of a deterministic value: a type tag and the canonical
//! text (a string decoded, a number as written), and the JSON it gives
//! back.

use super::*;

/// The plaintext of a value: its type tag then its canonical text.
pub fn plaintext(value: DetValue<'_>) -> Zeroizing<Vec<u8>> {
    let (tag, text): (u8, &[u8]) = match value {
        DetValue::String(s) => (TAG_STRING, s.as_bytes()),
        DetValue::Number(n) => (TAG_NUMBER, n.as_bytes()),
        DetValue::Bool(true) => (TAG_BOOL, b"true"),
        DetValue::Bool(false) => (TAG_BOOL, b"false"),
    };
    let mut out = Zeroizing::new(Vec::with_capacity(1 + text.len()));
    out.push(tag);
    out.extend_from_slice(text);
    out
}

pub(super) fn parse_plaintext(plain: &[u8]) -> Result<DetPlain, DetError> {
    let (&tag, text) = plain.split_first().ok_or(DetError::BadPlaintext)?;
    let text = std::str::from_utf8(text).map_err(|_| DetError::BadPlaintext)?;
    match tag {
        TAG_STRING => Ok(DetPlain::String(Zeroizing::new(text.to_owned()))),
        TAG_NUMBER if is_json_number(text.as_bytes()) => {
            Ok(DetPlain::Number(Zeroizing::new(text.to_owned())))
        }
        TAG_BOOL if text == "true" => Ok(DetPlain::Bool(true)),
        TAG_BOOL if text == "false" => Ok(DetPlain::Bool(false)),
        _ => Err(DetError::BadPlaintext),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` (RFC 8259 §6).
pub fn is_json_number(text: &[u8]) -> bool {
    let mut i = 0;
    let at = |i: usize| text.get(i).copied();
    let digits = |mut i: usize| {
        let start = i;
        while at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        (i > start).then_some(i)
    };
    if at(i) == Some(b'-') {
        i += 1;
    }
    match at(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => match digits(i) {
            Some(next) => i = next,
            None => return false,
        },
        _ => return false,
    }
    if at(i) == Some(b'.') {
        match digits(i + 1) {
            Some(next) => i = next,
            None => return false,
        }
    }
    if matches!(at(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(at(i), Some(b'+' | b'-')) {
            i += 1;
        }
        match digits(i) {
            Some(next) => i = next,
            None => return false,
        }
    }
    i == text.len()
}

/// Decodes one JSON string (with its quotes) strictly: valid UTF-8, no raw
/// control characters, only the RFC 8259 escapes, surrogate escapes in
/// pairs.
pub(super) fn decode_json_string(raw: &[u8]) -> Result<Zeroizing<String>, DetError> {
    let inner = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .ok_or(DetError::InvalidJson)?;
    let text = std::str::from_utf8(inner).map_err(|_| DetError::InvalidJson)?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\u{0}'..='\u{1f}' => return Err(DetError::InvalidJson),
            '\\' => {
                let decoded = match chars.next() {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('/') => '/',
                    Some('b') => '\u{8}',
                    Some('f') => '\u{c}',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('u') => {
                        let unit = hex4(&mut chars)?;
                        match unit {
                            0xD800..=0xDBFF => {
                                if chars.next() != Some('\\') || chars.next() != Some('u') {
                                    return Err(DetError::InvalidJson);
                                }
                                let low = hex4(&mut chars)?;
                                if !(0xDC00..=0xDFFF).contains(&low) {
                                    return Err(DetError::InvalidJson);
                                }
                                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                char::from_u32(code).ok_or(DetError::InvalidJson)?
                            }
                            0xDC00..=0xDFFF => return Err(DetError::InvalidJson),
                            _ => char::from_u32(unit).ok_or(DetError::InvalidJson)?,
                        }
                    }
                    _ => return Err(DetError::InvalidJson),
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

pub(super) fn hex4(chars: &mut std::str::Chars<'_>) -> Result<u32, DetError> {
    let mut unit = 0;
    for _ in 0..4 {
        let digit = chars
            .next()
            .and_then(|c| c.to_digit(16))
            .ok_or(DetError::InvalidJson)?;
        unit = unit * 16 + digit;
    }
    Ok(unit)
}

pub(super) fn write_json_string(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}
