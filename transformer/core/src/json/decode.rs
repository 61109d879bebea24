//! A JSON string's body with its escapes resolved (borrowed when it has
//! none).

use std::borrow::Cow;

use super::scan::{backslashes, first_flagged};

/// Decodes the body of a validated JSON string (without its quotes).
/// Lone surrogate escapes become U+FFFD.
pub fn decode_string_body(body: &[u8]) -> Cow<'_, str> {
    // `from_utf8` first: `from_utf8_lossy`'s chunk iterator costs more on
    // the short bodies (names, metadata) this mostly sees.
    match std::str::from_utf8(body) {
        Ok(text) => decode_str(text),
        // Not validated after all; decode what can be.
        Err(_) => Cow::Owned(decode_str(&String::from_utf8_lossy(body)).into_owned()),
    }
}

/// [`decode_string_body`] of a body already known to be UTF-8.
pub(super) fn decode_str(body: &str) -> Cow<'_, str> {
    let Some(first_escape) = find_backslash(body.as_bytes()) else {
        return Cow::Borrowed(body);
    };
    let bytes = body.as_bytes();
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..first_escape]);
    let mut i = first_escape;
    while i < bytes.len() {
        let next = memchr::memchr(b'\\', &bytes[i..]).map_or(bytes.len(), |p| i + p);
        // `i` and `next` sit at ASCII bytes (or the end), so both are char
        // boundaries.
        out.push_str(body.get(i..next).unwrap_or_default());
        if next >= bytes.len() {
            break;
        }
        i = next + 1;
        let escape = bytes.get(i).copied().unwrap_or(b'\\');
        i += 1;
        match escape {
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let unit = hex4(bytes, i);
                i += 4;
                let ch = if (0xD800..0xDC00).contains(&unit)
                    && bytes.get(i) == Some(&b'\\')
                    && bytes.get(i + 1) == Some(&b'u')
                    && (0xDC00..0xE000).contains(&hex4(bytes, i + 2))
                {
                    let low = hex4(bytes, i + 2);
                    i += 6;
                    char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                } else {
                    char::from_u32(unit)
                };
                out.push(ch.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            other => out.push(char::from(other)),
        }
    }
    Cow::Owned(out)
}

/// Where the first backslash is. Most bodies are a few words long, where
/// `memchr`'s call and setup cost more than a word-at-a-time scan.
pub(super) fn find_backslash(bytes: &[u8]) -> Option<usize> {
    const SHORT: usize = 32;
    if bytes.len() > SHORT {
        return memchr::memchr(b'\\', bytes);
    }
    first_flagged(bytes, backslashes, |b| b == b'\\')
}

fn hex4(body: &[u8], at: usize) -> u32 {
    body.get(at..at + 4)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0xFFFD)
}
