//! A strict, byte-preserving JSON scanner and the few JSON writers we need.
//!
//! The transformer must leave every non-PII value exactly as it came (number
//! precision, escapes, key order), so it never builds a DOM: it validates the
//! document (RFC 8259, strictly: no trailing commas, no comments, no leading
//! zeros, no control characters in strings) and hands out the raw bytes of each
//! member of an object. Only member names and the few values that a policy
//! acts on are ever decoded.

use std::borrow::Cow;

/// Deepest nesting accepted; deeper documents are rejected instead of
/// risking the stack (serde_json's default is 128).
pub const MAX_DEPTH: usize = 64;

/// Why a document was rejected. Never carries any of the input's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not well-formed JSON (or not the expected object).
    #[error("malformed JSON at byte {0}")]
    Syntax(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Not valid UTF-8.
    #[error("input is not valid UTF-8")]
    Utf8,
}

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A string (raw bytes include the quotes).
    String,
    /// A number, as written.
    Number,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
    /// An object.
    Object,
    /// An array.
    Array,
}

/// One `"name": value` member of an object, borrowed from the input.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    /// The member name, decoded (escapes resolved).
    pub name: Cow<'a, str>,
    /// The member name exactly as written, quotes included.
    pub raw_name: &'a [u8],
    /// The value exactly as it appeared in the input.
    pub raw: &'a [u8],
    /// The value's type.
    pub kind: Kind,
}

impl<'a> Member<'a> {
    /// Decodes a string value (escapes resolved); other kinds give their
    /// literal text (`42`, `true`, `{"a":1}`).
    pub fn text(&self) -> Cow<'a, str> {
        match self.kind {
            // The scanner validated the string, so decoding cannot fail.
            Kind::String => decode_string_body(&self.raw[1..self.raw.len() - 1]),
            // Validated UTF-8, so this borrows.
            _ => String::from_utf8_lossy(self.raw),
        }
    }
}

/// Parses a whole document that must be one JSON object (surrounding
/// whitespace allowed) and returns its members in order.
///
/// # Errors
/// [`JsonError`] if the input is not UTF-8, not well-formed, not an object, or
/// too deep.
pub fn parse_object(input: &[u8]) -> Result<Vec<Member<'_>>, JsonError> {
    std::str::from_utf8(input).map_err(|_| JsonError::Utf8)?;
    let mut scanner = Scanner { input, pos: 0 };
    scanner.skip_ws();
    let members = scanner.object_members(1)?;
    scanner.skip_ws();
    if scanner.pos != input.len() {
        return Err(JsonError::Syntax(scanner.pos));
    }
    Ok(members)
}

/// The members of a value that [`parse_object`] returned as an object. Its
/// bytes were validated with the whole document, so they are not checked
/// for UTF-8 again.
///
/// # Errors
/// [`JsonError::Syntax`] if `object` is not an object.
pub fn members<'a>(object: &Member<'a>) -> Result<Vec<Member<'a>>, JsonError> {
    if object.kind != Kind::Object {
        return Err(JsonError::Syntax(0));
    }
    let mut scanner = Scanner {
        input: object.raw,
        pos: 0,
    };
    // The document's top level is depth 1, so this object's own members
    // may nest one level less than MAX_DEPTH allows; it was checked whole.
    scanner.object_members(1)
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax(self.pos)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// Parses `{ ... }` at the current position, collecting its members.
    fn object_members(&mut self, depth: usize) -> Result<Vec<Member<'a>>, JsonError> {
        let mut members = Vec::with_capacity(8);
        self.object(depth, |raw_name, raw, kind| {
            members.push(Member {
                name: decode_string_body(&raw_name[1..raw_name.len() - 1]),
                raw_name,
                raw,
                kind,
            })
        })?;
        Ok(members)
    }

    fn object(
        &mut self,
        depth: usize,
        mut on_member: impl FnMut(&'a [u8], &'a [u8], Kind),
    ) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let name_raw = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let start = self.pos;
            let kind = self.value(depth)?;
            on_member(name_raw, &self.input[start..self.pos], kind);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err()),
            }
        }
    }

    /// Validates one value; `depth` is the depth of its container.
    fn value(&mut self, depth: usize) -> Result<Kind, JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| Kind::String),
            Some(b'{') => self.object(depth + 1, |_, _, _| ()).map(|()| Kind::Object),
            Some(b'[') => self.array(depth + 1).map(|()| Kind::Array),
            Some(b't') => self.literal(b"true").map(|()| Kind::Bool),
            Some(b'f') => self.literal(b"false").map(|()| Kind::Bool),
            Some(b'n') => self.literal(b"null").map(|()| Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| Kind::Number),
            _ => Err(self.err()),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err());
            }
        }
        Ok(())
    }

    /// Validates a string at the current position and returns its raw bytes,
    /// quotes included. The input is already known to be UTF-8.
    fn string(&mut self) -> Result<&'a [u8], JsonError> {
        let start = self.pos;
        self.expect(b'"')?;
        loop {
            // Skip the bytes that need no attention; this is the hot loop.
            let rest = &self.input[self.pos..];
            let plain = rest
                .iter()
                .position(|&b| NEEDS_ATTENTION[usize::from(b)])
                .ok_or(JsonError::Syntax(self.input.len()))?;
            self.pos += plain;
            match self.input[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(&self.input[start..self.pos]);
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let hex = self
                                .input
                                .get(self.pos + 1..self.pos + 5)
                                .ok_or(self.err())?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(self.err());
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.err()),
                    }
                }
                // A control character: not allowed raw inside a JSON string.
                _ => return Err(self.err()),
            }
        }
    }
}

/// Bytes that end the fast scan inside a string: the quote, the backslash and
/// the control characters (which JSON forbids unescaped).
static NEEDS_ATTENTION: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// Decodes the body of a validated JSON string (without its quotes).
/// Lone surrogate escapes become U+FFFD.
pub fn decode_string_body(body: &[u8]) -> Cow<'_, str> {
    let Some(first_escape) = memchr::memchr(b'\\', body) else {
        // Validated UTF-8 without escapes: borrow it as is.
        return Cow::Borrowed(std::str::from_utf8(body).unwrap_or_default());
    };
    let mut out = String::with_capacity(body.len());
    out.push_str(std::str::from_utf8(&body[..first_escape]).unwrap_or_default());
    let mut i = first_escape;
    while i < body.len() {
        let next = memchr::memchr(b'\\', &body[i..]).map_or(body.len(), |p| i + p);
        out.push_str(std::str::from_utf8(&body[i..next]).unwrap_or_default());
        if next >= body.len() {
            break;
        }
        i = next + 1;
        let escape = body.get(i).copied().unwrap_or(b'\\');
        i += 1;
        match escape {
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let unit = hex4(body, i);
                i += 4;
                let ch = if (0xD800..0xDC00).contains(&unit)
                    && body.get(i) == Some(&b'\\')
                    && body.get(i + 1) == Some(&b'u')
                    && (0xDC00..0xE000).contains(&hex4(body, i + 2))
                {
                    let low = hex4(body, i + 2);
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

fn hex4(body: &[u8], at: usize) -> u32 {
    body.get(at..at + 4)
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0xFFFD)
}

/// Appends `value` as a JSON string literal (quotes included), escaping only
/// what JSON requires.
pub fn write_string(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !NEEDS_ATTENTION[usize::from(b)] {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends a raw, validated JSON value on one line: values that span lines
/// (pretty-printed objects or arrays) lose their insignificant whitespace,
/// everything else is copied byte for byte.
pub fn write_raw_one_line(out: &mut Vec<u8>, raw: &[u8]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(input: &str) -> Vec<(String, String, Kind)> {
        parse_object(input.as_bytes())
            .unwrap()
            .into_iter()
            .map(|m| {
                (
                    m.name.into_owned(),
                    String::from_utf8(m.raw.to_vec()).unwrap(),
                    m.kind,
                )
            })
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

    #[test]
    fn write_string_round_trips() {
        for s in ["plain", "q\"b\\s", "\u{0}\u{1f}\n\t", "é😀", ""] {
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
}
