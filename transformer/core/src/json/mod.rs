//! A strict, byte-preserving JSON scanner and the few JSON writers we need.
//!
//! The transformer must leave every non-PII value exactly as it came (number
//! precision, escapes, key order), so it never builds a DOM: it validates the
//! document (RFC 8259, strictly: no trailing commas, no comments, no leading
//! zeros, no control characters in strings) and hands out the raw bytes of each
//! member of an object. Only member names and the few values that a policy
//! acts on are ever decoded.
//!
//! # Layout
//! - `scan`: the validating scanner (also for callers that read a known
//!   shape member by member), and the fast scan inside strings.
//! - `decode`: a string's escapes resolved.
//! - `member_vecs`: member vectors kept between documents.
//! - `name_eq`: short names compared in place.
//! - `write`: string literals and members written back.
//!
//! Here, the parsed shapes and the entry points of the scanner.

use std::borrow::Cow;

mod decode;
mod member_vecs;
mod name_eq;
mod scan;
#[cfg(test)]
mod tests;
mod write;

use decode::decode_str;
pub use decode::decode_string_body;
pub use member_vecs::MemberVecs;
pub use name_eq::name_eq;
pub use scan::{Name, Scanner};
pub use write::{write_members, write_raw_one_line, write_string, write_string_body};

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

/// One `"name": value` member of an object, borrowed from the input. It
/// owns nothing (its name is decoded when asked for), so a vector of
/// members is emptied without a pass over them.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    /// The member name exactly as written, quotes included.
    pub raw_name: &'a str,
    /// The value exactly as it appeared in the input (validated UTF-8).
    pub raw: &'a str,
    /// The value's type.
    pub kind: Kind,
    /// Whether the name has escapes.
    escaped: bool,
    /// Whether the value is a string the scanner saw to have no escapes
    /// (false when it did not look: then [`Member::text`] does).
    plain_string: bool,
}

impl<'a> Member<'a> {
    /// The member name, decoded (escapes resolved): borrowed exactly when
    /// it has no escapes.
    pub fn name(&self) -> Cow<'a, str> {
        let body = &self.raw_name[1..self.raw_name.len() - 1];
        if self.escaped {
            decode_str(body)
        } else {
            Cow::Borrowed(body)
        }
    }

    /// Whether the name has escapes (then [`Member::name`] allocates).
    pub fn name_is_escaped(&self) -> bool {
        self.escaped
    }

    /// Decodes a string value (escapes resolved; borrowed exactly when it
    /// has none); other kinds give their literal text (`42`, `true`,
    /// `{"a":1}`).
    pub fn text(&self) -> Cow<'a, str> {
        match self.kind {
            Kind::String if self.plain_string => Cow::Borrowed(&self.raw[1..self.raw.len() - 1]),
            // The scanner validated the string, so decoding cannot fail.
            Kind::String => decode_str(&self.raw[1..self.raw.len() - 1]),
            _ => Cow::Borrowed(self.raw),
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
    parse_object_expanding(input, [], &mut MemberVecs::default()).map(|(top, [])| top)
}

/// Parses like [`parse_object`] and, in the same pass, splits the value of
/// each top-level member named in `expand` into its own members (slot `i`
/// of the returned array for `expand[i]`), so the caller need not scan it
/// again. A slot stays `None` when no member has that name or its value is
/// not an object; if the name occurs more than once, the slot holds the
/// members of the last one (callers that care reject duplicates by looking
/// at the top-level members). Every vector is taken from `vecs`.
///
/// # Errors
/// As [`parse_object`].
#[allow(clippy::type_complexity)]
pub fn parse_object_expanding<'a, const N: usize>(
    input: &'a [u8],
    expand: [&str; N],
    vecs: &mut MemberVecs,
) -> Result<(Vec<Member<'a>>, [Option<Vec<Member<'a>>>; N]), JsonError> {
    let mut scanner = Scanner::new(input)?;
    let mut slots: [Option<Vec<Member<'a>>>; N] = [const { None }; N];
    let mut top = vecs.take();
    // The document's top level is depth 1; its members' values are scanned
    // as children of depth 1, exactly as `value` would.
    scanner.object::<JsonError>(1, |s, name| {
        let decoded = s.name_text(&name);
        let slot = expand
            .iter()
            .position(|e| name_eq(e.as_bytes(), decoded.as_bytes()));
        let start = s.pos;
        let kind = match slot {
            Some(i) if s.peek() == Some(b'{') => {
                let mut members = vecs.take();
                s.object_members(2, &mut members)?;
                if let Some(replaced) = slots[i].replace(members) {
                    vecs.give(replaced);
                }
                Kind::Object
            }
            _ => s.value(1)?,
        };
        top.push(s.member(&name, start, kind, false));
        Ok(())
    })?;
    scanner.end()?;
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
    let mut scanner = Scanner {
        text: object.raw,
        input: object.raw.as_bytes(),
        pos: 0,
    };
    // The document's top level is depth 1, so this object's own members
    // may nest one level less than MAX_DEPTH allows; it was checked whole.
    let mut members = Vec::with_capacity(8);
    scanner.object_members(1, &mut members)?;
    Ok(members)
}
