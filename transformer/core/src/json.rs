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
    parse_object_expanding(input, []).map(|(top, [])| top)
}

/// Parses like [`parse_object`] and, in the same pass, splits the value of
/// each top-level member named in `expand` into its own members (slot `i`
/// of the returned array for `expand[i]`), so the caller need not scan it
/// again. A slot stays `None` when no member has that name or its value is
/// not an object; if the name occurs more than once, the slot holds the
/// members of the last one (callers that care reject duplicates by looking
/// at the top-level members).
///
/// # Errors
/// As [`parse_object`].
#[allow(clippy::type_complexity)]
pub fn parse_object_expanding<'a, const N: usize>(
    input: &'a [u8],
    expand: [&str; N],
) -> Result<(Vec<Member<'a>>, [Option<Vec<Member<'a>>>; N]), JsonError> {
    let text = simdutf8::basic::from_utf8(input).map_err(|_| JsonError::Utf8)?;
    let mut scanner = Scanner {
        text,
        input,
        pos: 0,
    };
    let mut slots = [const { None }; N];
    let mut top = Vec::with_capacity(8);
    scanner.skip_ws();
    // The document's top level is depth 1; its members' values are scanned
    // as children of depth 1, exactly as `value` would.
    scanner.object(1, |s, name| {
        let decoded = s.name_text(&name);
        let slot = expand.iter().position(|e| *e == decoded);
        let start = s.pos;
        let kind = match slot {
            Some(i) if s.peek() == Some(b'{') => {
                slots[i] = Some(s.object_members(2)?);
                Kind::Object
            }
            _ => s.value(1)?,
        };
        top.push(s.member(&name, decoded, start, kind));
        Ok(())
    })?;
    scanner.skip_ws();
    if scanner.pos != input.len() {
        return Err(JsonError::Syntax(scanner.pos));
    }
    Ok((top, slots))
}

/// The members of a value that [`parse_object`] returned as an object.
///
/// # Errors
/// [`JsonError::Syntax`] if `object` is not an object.
pub fn members<'a>(object: &Member<'a>) -> Result<Vec<Member<'a>>, JsonError> {
    if object.kind != Kind::Object {
        return Err(JsonError::Syntax(0));
    }
    // Validated with the whole document; this only regains the `str`.
    let text = simdutf8::basic::from_utf8(object.raw).map_err(|_| JsonError::Utf8)?;
    let mut scanner = Scanner {
        text,
        input: object.raw,
        pos: 0,
    };
    // The document's top level is depth 1, so this object's own members
    // may nest one level less than MAX_DEPTH allows; it was checked whole.
    scanner.object_members(1)
}

struct Scanner<'a> {
    /// The whole input, known to be UTF-8.
    text: &'a str,
    /// `text` as bytes.
    input: &'a [u8],
    pos: usize,
}

/// A member name as the scanner hands it to an object's callback: where its
/// raw bytes start and end (quotes included), and whether it has escapes.
struct Name {
    start: usize,
    end: usize,
    escaped: bool,
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

    /// The decoded text of a member name; borrowed unless it has escapes.
    fn name_text(&self, name: &Name) -> Cow<'a, str> {
        let body = &self.text[name.start + 1..name.end - 1];
        if name.escaped {
            decode_str(body)
        } else {
            Cow::Borrowed(body)
        }
    }

    /// The member named `name` (decoded: `decoded`) whose value spans from
    /// `value_start` to the current position.
    fn member(
        &self,
        name: &Name,
        decoded: Cow<'a, str>,
        value_start: usize,
        kind: Kind,
    ) -> Member<'a> {
        Member {
            name: decoded,
            raw_name: &self.input[name.start..name.end],
            raw: &self.input[value_start..self.pos],
            kind,
        }
    }

    /// Parses `{ ... }` at the current position, collecting its members.
    fn object_members(&mut self, depth: usize) -> Result<Vec<Member<'a>>, JsonError> {
        let mut members = Vec::with_capacity(8);
        self.object(depth, |s, name| {
            let start = s.pos;
            let kind = s.value(depth)?;
            members.push(s.member(&name, s.name_text(&name), start, kind));
            Ok(())
        })?;
        Ok(members)
    }

    /// Parses `{ ... }` at the current position. For each member,
    /// `on_member` is called with the scanner at the start of the value,
    /// which it must scan (as a child of `depth`).
    fn object(
        &mut self,
        depth: usize,
        mut on_member: impl FnMut(&mut Self, Name) -> Result<(), JsonError>,
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
            let start = self.pos;
            let escaped = self.string()?;
            let end = self.pos;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            on_member(
                self,
                Name {
                    start,
                    end,
                    escaped,
                },
            )?;
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
            Some(b'{') => self
                .object(depth + 1, |s, _| s.value(depth + 1).map(drop))
                .map(|()| Kind::Object),
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

    /// Validates a string at the current position, leaving the position
    /// after its closing quote; returns whether it holds escapes. The input
    /// is already known to be UTF-8.
    fn string(&mut self) -> Result<bool, JsonError> {
        self.expect(b'"')?;
        let mut escaped = false;
        loop {
            // Skip the bytes that need no attention; this is the hot loop.
            let plain =
                plain_len(&self.input[self.pos..]).ok_or(JsonError::Syntax(self.input.len()))?;
            self.pos += plain;
            match self.input[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
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

/// The number of leading bytes of `bytes` that need no attention inside a
/// JSON string ([`NEEDS_ATTENTION`]), or `None` if none does.
///
/// Eight bytes at a time: in a little-endian word, `(x - 0x01…) & !x & 0x80…`
/// flags the zero bytes and `(x - 0x20…) & !x & 0x80…` the bytes below 0x20;
/// a borrow can only flag bytes *above* a true hit, so the lowest flag is
/// always exact.
fn plain_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let quote = x ^ QUOTES;
        let backslash = x ^ BACKSLASHES;
        let hits = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | x.wrapping_sub(SPACES) & !x)
            & HIGH;
        if hits != 0 {
            // At most 63 / 8; the cast cannot truncate.
            return Some(offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| NEEDS_ATTENTION[usize::from(b)])
        .map(|p| offset + p)
}

/// Decodes the body of a validated JSON string (without its quotes).
/// Lone surrogate escapes become U+FFFD.
pub fn decode_string_body(body: &[u8]) -> Cow<'_, str> {
    match String::from_utf8_lossy(body) {
        Cow::Borrowed(text) => decode_str(text),
        // Not validated after all; decode what can be.
        Cow::Owned(text) => Cow::Owned(decode_str(&text).into_owned()),
    }
}

/// [`decode_string_body`] of a body already known to be UTF-8.
fn decode_str(body: &str) -> Cow<'_, str> {
    let Some(first_escape) = memchr::memchr(b'\\', body.as_bytes()) else {
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
    out.push(b'"');
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
        out.extend_from_slice(member.raw_name);
        out.push(b':');
        write_raw_one_line(out, member.raw);
    }
    out.push(b'}');
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
    fn plain_len_finds_the_first_byte_needing_attention() {
        // Every position in and past the first word, every kind of byte
        // around it, including bytes whose borrows could mislead.
        for len in 0..20 {
            for at in 0..=len {
                for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    for fill in [b'a', 0x20, 0x21, 0x5d, 0x80, 0xa0, 0xff] {
                        let mut bytes = vec![fill; len];
                        if at < len {
                            bytes[at] = stop;
                        }
                        let want = bytes.iter().position(|&b| NEEDS_ATTENTION[usize::from(b)]);
                        assert_eq!(plain_len(&bytes), want, "{bytes:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn expanding_gives_the_nested_members_in_the_same_pass() {
        let doc = br#"{"a":{"x":1,"y\u0041":"s"},"b":[1],"c":null,"d":{}}"#;
        let (top, [a, b, c, d, e]) =
            parse_object_expanding(doc, ["a", "b", "c", "d", "e"]).unwrap();
        assert_eq!(top.len(), 4);
        assert_eq!(top[0].raw, br#"{"x":1,"y\u0041":"s"}"#);
        assert_eq!(top[0].kind, Kind::Object);
        let a = a.unwrap();
        let again = members(&top[0]).unwrap();
        assert_eq!(a.len(), 2);
        for (m, n) in a.iter().zip(&again) {
            assert_eq!(
                (&m.name, m.raw_name, m.raw, m.kind),
                (&n.name, n.raw_name, n.raw, n.kind)
            );
        }
        assert_eq!(a[1].name, "yA");
        assert!(b.is_none() && c.is_none() && e.is_none());
        assert!(d.unwrap().is_empty());
        let deep = format!(
            "{{\"a\":{{\"b\":{}1{}}}}}",
            "[".repeat(MAX_DEPTH - 2),
            "]".repeat(MAX_DEPTH - 2)
        );
        assert!(parse_object_expanding(deep.as_bytes(), ["a"]).is_ok());
        let deeper = deep.replacen('[', "[[", 1).replacen(']', "]]", 1);
        assert_eq!(
            parse_object_expanding(deeper.as_bytes(), ["a"]).unwrap_err(),
            JsonError::TooDeep
        );
        assert_eq!(
            parse_object(deeper.as_bytes()).unwrap_err(),
            JsonError::TooDeep
        );
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
}
