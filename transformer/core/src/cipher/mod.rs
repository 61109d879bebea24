//! The ciphertext formats (`schemas/ciphertext.md`): protected values of the
//! encrypted view (`enc2:`, and `enc1:` read only) and sealed quarantine
//! records.
//!
//! # Layout
//! - this module: encrypted values, their associated data, and how a
//!   reader recognises them.
//! - `quarantine`: sealed quarantine lines and overflow bundles.

mod quarantine;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::keys::DataKey;

pub use quarantine::{
    decode_bundle, encode_bundle, encode_bundle_before, quarantine_aad, quarantine_line,
    write_quarantine, BundleEntry, BundleError, Sealing, BUNDLE_ENCODING, QUARANTINE_AAD_V1,
};

/// Prefix of an encrypted value: `enc2:<base64(nonce ‖ ciphertext ‖ tag)>`.
pub const CELL_PREFIX: &str = "enc2:";

/// Label opening the associated data of an `enc2:` value.
const CELL_AAD_LABEL: &[u8] = b"cdc-mask/enc2";

/// Label opening the associated data of an `enc1:` value (read only).
const CELL_AAD_LABEL_V1: &[u8] = b"cdc-mask/enc1";

/// Length of the shortest complete `enc<N>:` ciphertext: a nonce and a tag.
const MIN_SEALED_LEN: usize = 12 + 16;

/// Where a value sits in a row; bound into its associated data so that a
/// value cannot move between the row and its before-image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    /// The row's own columns (flat shape: top level; envelope: `data`).
    Row,
    /// The before-image (flat shape: `_before`; envelope: `before-image`).
    Before,
}

impl Place {
    /// `row` or `before`, as bound into the associated data.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Row => "row",
            Place::Before => "before",
        }
    }
}

/// Appends `u32be(len(part)) ‖ part`: every field of every associated data
/// is length-prefixed, so that no two field lists encode alike.
pub fn lp(part: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
}

/// Writes into `out` (cleared first, so it is reused per value) the
/// associated data of an `enc2:` value:
/// `"cdc-mask/enc2" ‖ lp(schema) ‖ lp(table) ‖ lp(column) ‖ lp(place)`,
/// names exactly as DMS reported them, `column` the original (un-renamed)
/// column name.
pub fn cell_aad(schema: &str, table: &str, column: &str, place: Place, out: &mut Vec<u8>) {
    out.clear();
    append_cell_aad(schema, table, column, place, out);
}

/// Appends to `out` the associated data of an `enc2:` value, as
/// [`cell_aad`] writes it.
pub fn append_cell_aad(schema: &str, table: &str, column: &str, place: Place, out: &mut Vec<u8>) {
    out.extend_from_slice(CELL_AAD_LABEL);
    for part in [schema, table, column, place.as_str()] {
        lp(part.as_bytes(), out);
    }
}

/// The associated data of an `enc1:` value (format version 1, read only):
/// `"cdc-mask/enc1" ‖ lp(schema) ‖ lp(table) ‖ lp(column)`.
pub fn cell_aad_v1(schema: &str, table: &str, column: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(CELL_AAD_LABEL_V1);
    for part in [schema, table, column] {
        lp(part.as_bytes(), out);
    }
}

/// Appends `"enc2:…"` (a JSON string, quotes included) encrypting
/// `plaintext` (the value's raw JSON text) under `key` with `aad`.
pub fn write_cell(
    key: &DataKey,
    aad: &[u8],
    plaintext: &[u8],
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    out.push(b'"');
    out.extend_from_slice(CELL_PREFIX.as_bytes());
    key.seal_base64(aad, plaintext, scratch, out);
    out.push(b'"');
}

/// The version digits and the body of a text shaped `enc<N>:<body>` (N one
/// or more ASCII digits), or `None`.
pub fn parse_enc(text: &str) -> Option<(&str, &str)> {
    let (digits, body) = text.strip_prefix("enc")?.split_once(':')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((digits, body))
}

/// Whether `text` is a complete `enc<N>:` ciphertext by its syntax: a
/// version without a leading zero and a body that is canonical padded
/// standard base64 of at least a nonce and a tag. Readers refuse such a
/// value that does not decrypt, whatever its column's name; the writer
/// therefore never lets one through in clear.
pub fn is_complete_enc(text: &str) -> bool {
    parse_enc(text)
        .filter(|(digits, _)| !digits.starts_with('0'))
        .and_then(|(_, body)| STANDARD.decode(body).ok())
        .is_some_and(|sealed| sealed.len() >= MIN_SEALED_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_length_prefixed_and_binds_the_place() {
        let mut row = Vec::new();
        cell_aad("s", "t", "c", Place::Row, &mut row);
        assert_eq!(
            row,
            b"cdc-mask/enc2\0\0\0\x01s\0\0\0\x01t\0\0\0\x01c\0\0\0\x03row".to_vec()
        );
        let mut before = vec![1, 2, 3];
        cell_aad("s", "t", "c", Place::Before, &mut before);
        assert_ne!(row, before);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        cell_aad_v1("ab", "c", "d", &mut a);
        cell_aad_v1("a", "bc", "d", &mut b);
        assert_ne!(a, b);
        assert_eq!(
            a,
            b"cdc-mask/enc1\x00\x00\x00\x02ab\x00\x00\x00\x01c\x00\x00\x00\x01d".to_vec()
        );
    }

    #[test]
    fn ciphertext_shapes() {
        assert_eq!(parse_enc("enc2:abc"), Some(("2", "abc")));
        assert_eq!(parse_enc("enc17:"), Some(("17", "")));
        for text in ["enc:abc", "ENC1:abc", "encore: une fois", "enc1"] {
            assert_eq!(parse_enc(text), None, "{text}");
        }
        let full = format!("enc2:{}", "A".repeat(40));
        assert!(is_complete_enc(&full));
        assert!(!is_complete_enc("enc2:AAAA"));
        assert!(!is_complete_enc("enc1:hello"));
        assert!(!is_complete_enc(&format!("{full}=")));
        assert!(!is_complete_enc(&format!("enc02:{}", "A".repeat(40))));
    }
}
