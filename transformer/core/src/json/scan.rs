//! The validating scanner: one pass over a document, RFC 8259 strictly,
//! handing out the raw bytes of each member; and the fast scan inside
//! strings (eight bytes at a time) that the writer shares.
//!
//! Outside this module the scanner reads documents of a known shape member
//! by member (the Firehose event): [`Scanner::new`], [`Scanner::object`],
//! [`Scanner::array`], [`Scanner::value`], [`Scanner::end`].

use std::borrow::Cow;

use super::decode::decode_str;
use super::{JsonError, Kind, Member, MAX_DEPTH};

/// A cursor over one JSON document that validates every byte it passes.
pub struct Scanner<'a> {
    /// The whole input, known to be UTF-8.
    pub(super) text: &'a str,
    /// `text` as bytes.
    pub(super) input: &'a [u8],
    pub(super) pos: usize,
}

/// A member name as the scanner hands it to an object's callback (or any
/// string it passed): where its raw bytes start and end (quotes included),
/// and whether it has escapes.
pub struct Name {
    start: usize,
    end: usize,
    escaped: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `input`, past any whitespace.
    ///
    /// # Errors
    /// [`JsonError::Utf8`] if `input` is not UTF-8.
    pub fn new(input: &'a [u8]) -> Result<Self, JsonError> {
        let text = simdutf8::basic::from_utf8(input).map_err(|_| JsonError::Utf8)?;
        let mut scanner = Scanner {
            text,
            input,
            pos: 0,
        };
        scanner.skip_ws();
        Ok(scanner)
    }

    /// Where the scanner is, in bytes from the start of the document.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The document's text from `start` to where the scanner is.
    pub fn raw_since(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// Checks that nothing but whitespace follows.
    ///
    /// # Errors
    /// [`JsonError::Syntax`] where something else starts.
    pub fn end(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// The next byte, if any.
    pub fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    pub(super) fn err(&self) -> JsonError {
        JsonError::Syntax(self.pos)
    }

    pub(super) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    pub(super) fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// The decoded text of a member name (or string); borrowed unless it
    /// has escapes.
    pub fn name_text(&self, name: &Name) -> Cow<'a, str> {
        let body = &self.text[name.start + 1..name.end - 1];
        if name.escaped {
            decode_str(body)
        } else {
            Cow::Borrowed(body)
        }
    }

    /// The member named `name` whose value spans from `value_start` to the
    /// current position; `plain_string` if it is a string seen to have no
    /// escapes.
    #[inline]
    pub(super) fn member(
        &self,
        name: &Name,
        value_start: usize,
        kind: Kind,
        plain_string: bool,
    ) -> Member<'a> {
        Member {
            raw_name: &self.text[name.start..name.end],
            raw: &self.text[value_start..self.pos],
            kind,
            escaped: name.escaped,
            plain_string,
        }
    }

    /// Parses `{ ... }` at the current position, appending its members to
    /// `members`.
    pub(super) fn object_members(
        &mut self,
        depth: usize,
        members: &mut Vec<Member<'a>>,
    ) -> Result<(), JsonError> {
        self.object::<JsonError>(depth, |s, name| {
            let start = s.pos;
            // Most values of a row are strings: read inline, no dispatch.
            // (Inlining this test into `value` itself, for every caller,
            // cost 0.3 M instructions more per 3 MiB event.)
            let (kind, plain) = if s.peek() == Some(b'"') {
                (Kind::String, !s.string()?)
            } else {
                (s.value(depth)?, false)
            };
            members.push(s.member(&name, start, kind, plain));
            Ok(())
        })
    }

    /// Parses `{ ... }` at the current position (`depth` deep). For each
    /// member, `on_member` is called with the scanner at the start of the
    /// value, which it must scan (as a child of `depth`, e.g.
    /// [`Scanner::value`]`(depth)`).
    ///
    /// # Errors
    /// The first error of the object's syntax or of `on_member`.
    // Always inlined: each caller's member loop then holds its callback and
    // the name's inline string read (left to itself, the compiler's choice
    // changed with unrelated edits, by up to 2 M instructions per event).
    #[inline(always)]
    pub fn object<E: From<JsonError>>(
        &mut self,
        depth: usize,
        mut on_member: impl FnMut(&mut Self, Name) -> Result<(), E>,
    ) -> Result<(), E> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep.into());
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
                _ => return Err(self.err().into()),
            }
        }
    }

    /// Parses `[ ... ]` at the current position (`depth` deep). For each
    /// element, `on_element` is called with the scanner at its start, which
    /// it must scan (as a child of `depth`).
    ///
    /// # Errors
    /// The first error of the array's syntax or of `on_element`.
    pub fn array<E: From<JsonError>>(
        &mut self,
        depth: usize,
        mut on_element: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep.into());
        }
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            on_element(self)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err().into()),
            }
        }
    }

    /// Validates one value; `depth` is the depth of its container.
    ///
    /// # Errors
    /// [`JsonError`] where the value is not well-formed or nests too deep.
    pub fn value(&mut self, depth: usize) -> Result<Kind, JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| Kind::String),
            Some(b'{') => self
                .object(depth + 1, |s, _| s.value(depth + 1).map(drop))
                .map(|()| Kind::Object),
            Some(b'[') => self
                .array(depth + 1, |s| s.value(depth + 1).map(drop))
                .map(|()| Kind::Array),
            Some(b't') => self.literal(b"true").map(|()| Kind::Bool),
            Some(b'f') => self.literal(b"false").map(|()| Kind::Bool),
            Some(b'n') => self.literal(b"null").map(|()| Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(|()| Kind::Number),
            _ => Err(self.err()),
        }
    }

    /// Reads the string value at the current position, decoded (borrowed
    /// unless it has escapes).
    ///
    /// # Errors
    /// [`JsonError::Syntax`] if no well-formed string starts here.
    pub fn string_text(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.pos;
        let escaped = self.string()?;
        Ok(self.name_text(&Name {
            start,
            end: self.pos,
            escaped,
        }))
    }

    /// Reads a string value whose body its reader can vouch for without a
    /// scan here, when one pass over it is all the work: `read` gets the
    /// bytes from after the opening quote to the next quote. When it returns
    /// true it vouches that they hold no backslash and no control character
    /// (e.g. it decoded them as base64), so they are the whole string, and the
    /// scanner moves past it. Otherwise (or if no string starts here) the
    /// scanner stays where it was.
    pub fn plain_string_with(&mut self, read: impl FnOnce(&'a str) -> bool) -> bool {
        if self.peek() != Some(b'"') {
            return false;
        }
        let body_start = self.pos + 1;
        let Some(len) = memchr::memchr(b'"', &self.input[body_start..]) else {
            return false;
        };
        let body_end = body_start + len;
        // Both ends sit next to ASCII quotes: char boundaries.
        let body = self.text.get(body_start..body_end).unwrap_or_default();
        if !read(body) {
            return false;
        }
        debug_assert_eq!(
            plain_len(body.as_bytes()),
            None,
            "the reader vouched falsely"
        );
        self.pos = body_end + 1;
        true
    }

    pub(super) fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.input[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    pub(super) fn digits(&mut self) -> usize {
        let len = digit_len(&self.input[self.pos..]);
        self.pos += len;
        len
    }

    pub(super) fn number(&mut self) -> Result<(), JsonError> {
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
    ///
    /// A string's first 16 bytes are read inline ([`Scanner::string_head`]):
    /// most strings of a row (names, codes, dates) end within them, and for
    /// those the general loop's setup would cost more than the scan itself.
    #[inline(always)]
    pub(super) fn string(&mut self) -> Result<bool, JsonError> {
        match self.string_head() {
            Some((after, true)) => {
                self.pos = after;
                Ok(false)
            }
            Some((at, false)) => {
                self.pos = at;
                self.string_tail()
            }
            None => {
                self.expect(b'"')?;
                self.string_tail()
            }
        }
    }

    /// Reads up to 16 bytes of a string that starts here, two words of
    /// [`attention`] with no loop: `(after, true)` if it ends within them
    /// with no escape (`after` is past its closing quote); `(at, false)` if
    /// [`Scanner::string_tail`] must go on from `at` (an escape or a control
    /// character there, or a longer string); `None` if no string starts here
    /// or the document ends within 17 bytes. (The two words are written out:
    /// as a call of [`first_flagged`] they cost 0.2–0.5 M instructions more
    /// per 3 MiB event.)
    #[inline(always)]
    fn string_head(&self) -> Option<(usize, bool)> {
        let window = self.input.get(self.pos..self.pos + 17)?;
        let (&quote, body) = window.split_first()?;
        if quote != b'"' {
            return None;
        }
        let (low, high) = body.split_at(8);
        let low = attention(u64::from_le_bytes(low.try_into().ok()?));
        let len = if low != 0 {
            low.trailing_zeros() / 8
        } else {
            let high = attention(u64::from_le_bytes(high.try_into().ok()?));
            if high == 0 {
                return Some((self.pos + 17, false));
            }
            8 + high.trailing_zeros() / 8
        };
        // At most 15; the cast cannot truncate.
        let len = len as usize;
        Some(if body[len] == b'"' {
            (self.pos + len + 2, true)
        } else {
            (self.pos + len + 1, false)
        })
    }

    /// The general loop of [`Scanner::string`], from inside a string's body
    /// that holds no escape before the current position.
    #[inline(never)]
    pub(super) fn string_tail(&mut self) -> Result<bool, JsonError> {
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
pub(super) static NEEDS_ATTENTION: [bool; 256] = {
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
/// Eight bytes at a time. In a little-endian word, `(y - n·0x01…) & !y &
/// 0x80…` flags the bytes of `y` below `n` (for `n` ≤ 0x80); a borrow can
/// only flag bytes *above* a true hit, so the lowest flag is always exact.
/// Two such tests cover the three kinds of byte: `x ^ 0x02…` maps the
/// control characters onto themselves and the quote (0x22) onto 0x20, and
/// nothing else below 0x21; `x ^ 0x5C…` maps the backslash onto zero.
pub(super) fn plain_len(bytes: &[u8]) -> Option<usize> {
    first_flagged(bytes, attention, |b| NEEDS_ATTENTION[usize::from(b)])
}

/// The number of leading ASCII digits of `bytes`, eight bytes at a time
/// (timestamps in milliseconds have 13).
pub(super) fn digit_len(bytes: &[u8]) -> usize {
    first_flagged(bytes, non_digits, |b| !b.is_ascii_digit()).unwrap_or(bytes.len())
}

/// The bytes of a little-endian word that are not ASCII digits, flagged
/// as [`attention`] flags bytes (exact at the lowest). A digit, 0x30 to
/// 0x39, is the only byte whose high nibble is 3 both as it is and plus 6;
/// a carry out of a byte (from 0xFA up, itself flagged) can only mislead
/// the bytes above it.
#[inline(always)]
fn non_digits(x: u64) -> u64 {
    const HIGH_NIBBLES: u64 = u64::from_le_bytes([0xF0; 8]);
    const THREES: u64 = u64::from_le_bytes([0x30; 8]);
    const SIXES: u64 = u64::from_le_bytes([0x06; 8]);
    const LOW_SEVEN: u64 = u64::from_le_bytes([0x7F; 8]);
    let off = ((x & HIGH_NIBBLES) ^ THREES) | ((x.wrapping_add(SIXES) & HIGH_NIBBLES) ^ THREES);
    // The high bit of each nonzero byte, with no carry between bytes.
    ((off & LOW_SEVEN).wrapping_add(LOW_SEVEN) | off) & HIGH
}

/// The place of the first byte of `bytes` that `flags` marks, eight bytes
/// at a time: `flags` maps a little-endian word to the high bits of its
/// marked bytes (exact at the lowest), `is_marked` says the same of one
/// byte of the tail.
#[inline(always)]
pub(super) fn first_flagged(
    bytes: &[u8],
    flags: impl Fn(u64) -> u64,
    is_marked: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = flags(u64::from_le_bytes(word));
        if hits != 0 {
            // At most 63 / 8; the cast cannot truncate.
            return Some(offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| is_marked(b))
        .map(|p| offset + p)
}

/// The bytes of a little-endian word that need attention inside a JSON
/// string ([`NEEDS_ATTENTION`]): the high bit of the lowest one is exact,
/// those above it may be false (see [`plain_len`]); zero if there is none.
#[inline(always)]
fn attention(x: u64) -> u64 {
    const QUOTE_TO_SPACE: u64 = u64::from_le_bytes([0x02; 8]);
    const BELOW_BANG: u64 = u64::from_le_bytes([0x21; 8]);
    let low = x ^ QUOTE_TO_SPACE;
    low.wrapping_sub(BELOW_BANG) & !low & HIGH | backslashes(x)
}

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The backslashes of a little-endian word, flagged as [`attention`] flags
/// bytes (zero bytes of `x ^ 0x5C…`; exact at the lowest).
#[inline(always)]
pub(super) fn backslashes(x: u64) -> u64 {
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    let x = x ^ BACKSLASHES;
    x.wrapping_sub(ONES) & !x & HIGH
}
