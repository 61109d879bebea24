//! Small pure pieces of format version 2 (`schemas/ciphertext.md`): the
//! associated data of `enc2:` values and of quarantine records, the overflow
//! bundle, the quarantine line, and the input of domain-separated tokens.
//!
//! No I/O, no async, no keys: the AEAD itself stays with the data key.

use std::fmt;
use std::io::{Read as _, Write as _};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use zeroize::Zeroizing;

/// Prefix of an encrypted value of format version 2.
pub const ENC2_PREFIX: &str = "enc2:";
/// Label opening the associated data of an `enc2:` value.
pub const CELL_AAD_LABEL_V2: &[u8] = b"cdc-mask/enc2";
/// Label opening the associated data of a version 2 quarantine record.
pub const QUARANTINE_AAD_LABEL_V2: &[u8] = b"cdc-mask/quarantine2";
/// `encoding` of a quarantine record that seals several records.
pub const BUNDLE_ENCODING: &str = "bundle";
/// Longest join domain.
pub const MAX_DOMAIN_LEN: usize = 64;
/// Separator between a named domain and the value in token input.
pub const DOMAIN_SEPARATOR: u8 = 0x00;

/// Length of the shortest complete `enc<N>:` ciphertext: a nonce and a tag.
pub const MIN_SEALED_LEN: usize = 12 + 16;

/// The version digits and the body of a text shaped `enc<N>:<body>` (N one
/// or more ASCII digits), or `None`. Readers treat such a text as a
/// cdc-mask value (`schemas/ciphertext.md`, "Reading a row").
pub fn parse_enc(text: &str) -> Option<(&str, &str)> {
    let (digits, body) = text.strip_prefix("enc")?.split_once(':')?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())).then_some((digits, body))
}

/// Whether `text` is a complete `enc<N>:` ciphertext by its syntax: a
/// version without leading zero, and a body that is canonical padded
/// standard base64 of at least 28 bytes. Such a value must decrypt (or be
/// an error) whatever the column's name.
pub fn is_complete_enc(text: &str) -> bool {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    parse_enc(text)
        .filter(|(digits, _)| !digits.starts_with('0'))
        .and_then(|(_, body)| STANDARD.decode(body).ok())
        .is_some_and(|sealed| sealed.len() >= MIN_SEALED_LEN)
}

/// Where a value sits in a row; bound into its associated data so a value
/// cannot move between the row and its before-image.
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

/// Appends `u32be(len(part)) ‖ part`.
pub fn lp(part: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
}

/// Writes into `out` (cleared first, so it can be reused per value) the
/// associated data of an `enc2:` value:
/// `"cdc-mask/enc2" ‖ lp(schema) ‖ lp(table) ‖ lp(column) ‖ lp(place)`,
/// names as DMS reported them (UTF-8, case kept), `column` the original
/// (un-renamed) column name.
pub fn write_cell_aad_v2(schema: &str, table: &str, column: &str, place: Place, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(CELL_AAD_LABEL_V2);
    for part in [schema, table, column, place.as_str()] {
        lp(part.as_bytes(), out);
    }
}

/// The associated data of an `enc2:` value (see [`write_cell_aad_v2`]).
pub fn cell_aad_v2(schema: &str, table: &str, column: &str, place: Place) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        CELL_AAD_LABEL_V2.len() + 16 + schema.len() + table.len() + column.len() + 6,
    );
    write_cell_aad_v2(schema, table, column, place, &mut out);
    out
}

/// The associated data of a version 2 quarantine record:
/// `"cdc-mask/quarantine2" ‖ lp(reason) ‖ lp(record_id) ‖ lp(encoding)`,
/// with `encoding` `""` for a single record, so none of the clear fields can
/// be edited without breaking the seal.
pub fn quarantine_aad_v2(reason: &str, record_id: &str, encoding: Option<&str>) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(QUARANTINE_AAD_LABEL_V2.len() + 12 + reason.len() + record_id.len() + 6);
    out.extend_from_slice(QUARANTINE_AAD_LABEL_V2);
    for part in [reason, record_id, encoding.unwrap_or("")] {
        lp(part.as_bytes(), &mut out);
    }
    out
}

/// One version 2 quarantine line, `\n` included:
/// `{"_quarantine":{"v":2,"reason":R,"record_id":I,"key":K,"sealed":S}}`, or
/// for a bundle of `n` records
/// `{"_quarantine":{"v":2,"reason":R,"record_id":I,"key":K,"encoding":"bundle","records":n,"sealed":S}}`.
/// `key` is the `ecdh1:` descriptor, `sealed_base64` the base64 of
/// `nonce ‖ ciphertext ‖ tag` sealed with [`quarantine_aad_v2`].
pub fn quarantine_line_v2(
    reason: &str,
    record_id: &str,
    key: &str,
    sealed_base64: &str,
    bundle_records: Option<usize>,
) -> String {
    let mut line = String::with_capacity(
        96 + reason.len() + record_id.len() + key.len() + sealed_base64.len(),
    );
    line.push_str(r#"{"_quarantine":{"v":2,"reason":"#);
    push_json_string(&mut line, reason);
    line.push_str(r#","record_id":"#);
    push_json_string(&mut line, record_id);
    line.push_str(r#","key":"#);
    push_json_string(&mut line, key);
    if let Some(records) = bundle_records {
        line.push_str(r#","encoding":"bundle","records":"#);
        line.push_str(&records.to_string());
    }
    line.push_str(r#","sealed":"#);
    push_json_string(&mut line, sealed_base64);
    line.push_str("}}\n");
    line
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The plaintext of a bundle: raw DEFLATE (RFC 1951, no zlib or gzip
/// header) of `lp(record id) ‖ lp(original bytes)` for each record, in
/// order.
pub fn encode_bundle(entries: &[(&str, &[u8])]) -> Zeroizing<Vec<u8>> {
    let mut concatenated = Zeroizing::new(Vec::with_capacity(
        entries
            .iter()
            .map(|(id, raw)| 8 + id.len() + raw.len())
            .sum(),
    ));
    for (id, raw) in entries {
        lp(id.as_bytes(), &mut concatenated);
        lp(raw, &mut concatenated);
    }
    // Room for DEFLATE's worst case (stored blocks), so the buffer never
    // reallocates and leaves an unzeroized copy behind.
    let mut deflated = Zeroizing::new(Vec::with_capacity(
        concatenated.len() + concatenated.len() / 16 + 64,
    ));
    let mut encoder = DeflateEncoder::new(&mut *deflated, Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(&concatenated);
    let _ = encoder.finish();
    deflated
}

/// One record of an opened bundle.
#[derive(Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// Its record id (Firehose `recordId` or the router's source position).
    pub record_id: String,
    /// Its original bytes, exactly as received.
    pub original: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for BundleEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BundleEntry")
            .field("record_id", &self.record_id)
            .field("bytes", &self.original.len())
            .finish()
    }
}

/// Why a bundle could not be read. Never holds content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleError {
    /// Not raw DEFLATE, or bytes after its end.
    NotDeflate,
    /// Inflates to more than the limit given.
    TooLarge,
    /// The inflated bytes are not a sequence of length-prefixed entries
    /// (truncated, a record id that is not UTF-8, or no entry at all).
    Malformed,
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BundleError::NotDeflate => "quarantine bundle is not raw DEFLATE",
            BundleError::TooLarge => "quarantine bundle inflates beyond the limit",
            BundleError::Malformed => "quarantine bundle entries are malformed",
        })
    }
}

impl std::error::Error for BundleError {}

/// Opens a bundle's plaintext (after the AEAD): inflates at most
/// `max_inflated` bytes and splits the entries.
///
/// # Errors
/// [`BundleError`].
pub fn decode_bundle(
    deflated: &[u8],
    max_inflated: usize,
) -> Result<Vec<BundleEntry>, BundleError> {
    let mut decoder = DeflateDecoder::new(deflated);
    let mut inflated = Zeroizing::new(Vec::new());
    let limit = u64::try_from(max_inflated)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    (&mut decoder)
        .take(limit)
        .read_to_end(&mut inflated)
        .map_err(|_| BundleError::NotDeflate)?;
    if inflated.len() > max_inflated {
        return Err(BundleError::TooLarge);
    }
    // The whole input must be the one DEFLATE stream.
    if decoder.total_in() != deflated.len() as u64 {
        return Err(BundleError::NotDeflate);
    }
    let mut entries = Vec::new();
    let mut rest = &inflated[..];
    while !rest.is_empty() {
        let (id, after) = take_lp(rest)?;
        let (raw, after) = take_lp(after)?;
        let record_id = std::str::from_utf8(id)
            .map_err(|_| BundleError::Malformed)?
            .to_owned();
        entries.push(BundleEntry {
            record_id,
            original: Zeroizing::new(raw.to_vec()),
        });
        rest = after;
    }
    if entries.is_empty() {
        return Err(BundleError::Malformed);
    }
    Ok(entries)
}

fn take_lp(bytes: &[u8]) -> Result<(&[u8], &[u8]), BundleError> {
    let (len, rest) = bytes
        .split_first_chunk::<4>()
        .ok_or(BundleError::Malformed)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| BundleError::Malformed)?;
    if rest.len() < len {
        return Err(BundleError::Malformed);
    }
    Ok(rest.split_at(len))
}

/// A join domain that is neither empty (the default) nor `[a-z0-9_]{1,64}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDomain;

impl fmt::Display for InvalidDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("join domain must match [a-z0-9_]{1,64}")
    }
}

impl std::error::Error for InvalidDomain {}

/// Checks a join domain: `""` (the default domain) or `[a-z0-9_]{1,64}`
/// (which can hold no 0x00, so `domain ‖ 0x00 ‖ value` is unambiguous).
///
/// # Errors
/// [`InvalidDomain`].
pub fn check_domain(domain: &str) -> Result<(), InvalidDomain> {
    let ok = domain.len() <= MAX_DOMAIN_LEN
        && domain
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(InvalidDomain)
    }
}

/// Writes into `out` (cleared first) the HMAC-SHA-256 input of a token:
/// `value` itself in the default domain `""` (exactly the tokens of before,
/// so existing joins keep working), `domain ‖ 0x00 ‖ value` in a named one.
/// `value` is what tokens always took: a string's decoded content, a
/// number's or boolean's literal.
///
/// # Errors
/// [`InvalidDomain`].
pub fn write_token_input(
    domain: &str,
    value: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), InvalidDomain> {
    check_domain(domain)?;
    out.clear();
    if !domain.is_empty() {
        out.extend_from_slice(domain.as_bytes());
        out.push(DOMAIN_SEPARATOR);
    }
    out.extend_from_slice(value);
    Ok(())
}

/// The token input (see [`write_token_input`]).
///
/// # Errors
/// [`InvalidDomain`].
pub fn token_input(domain: &str, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, InvalidDomain> {
    let mut out = Zeroizing::new(Vec::with_capacity(domain.len() + 1 + value.len()));
    write_token_input(domain, value, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_aad_binds_the_place() {
        let row = cell_aad_v2("s", "t", "c", Place::Row);
        assert_eq!(
            row,
            b"cdc-mask/enc2\0\0\0\x01s\0\0\0\x01t\0\0\0\x01c\0\0\0\x03row".to_vec()
        );
        assert_ne!(row, cell_aad_v2("s", "t", "c", Place::Before));
        let mut reused = vec![1, 2, 3];
        write_cell_aad_v2("s", "t", "c", Place::Row, &mut reused);
        assert_eq!(reused, row);
    }

    #[test]
    fn quarantine_aad_binds_every_clear_field() {
        let a = quarantine_aad_v2("invalid_json", "1", None);
        assert_eq!(a, quarantine_aad_v2("invalid_json", "1", Some("")));
        assert_ne!(a, quarantine_aad_v2("invalid_json", "1", Some("bundle")));
        assert_ne!(a, quarantine_aad_v2("invalid_json", "2", None));
        assert_ne!(a, quarantine_aad_v2("key_error", "1", None));
        assert_ne!(
            quarantine_aad_v2("ab", "c", None),
            quarantine_aad_v2("a", "bc", None)
        );
    }

    #[test]
    fn bundles_round_trip_and_refuse_garbage() {
        let entries: [(&str, &[u8]); 3] = [("1", b"{\"a\":1}"), ("2", b""), ("é", &[0xff, 0, 1])];
        let deflated = encode_bundle(&entries);
        let opened = decode_bundle(&deflated, 1 << 20).unwrap();
        assert_eq!(opened.len(), 3);
        for (entry, (id, raw)) in opened.iter().zip(entries) {
            assert_eq!(entry.record_id, id);
            assert_eq!(entry.original.as_slice(), raw);
        }
        assert!(!format!("{opened:?}").contains("\"a\""));
        assert_eq!(decode_bundle(&deflated, 10), Err(BundleError::TooLarge));
        let mut trailing = deflated.to_vec();
        trailing.push(0);
        assert_eq!(
            decode_bundle(&trailing, 1 << 20),
            Err(BundleError::NotDeflate)
        );
        assert!(decode_bundle(b"not deflate at all", 1 << 20).is_err());
        assert_eq!(
            decode_bundle(&encode_bundle(&[]), 1 << 20),
            Err(BundleError::Malformed)
        );
    }

    #[test]
    fn ciphertext_shapes() {
        assert_eq!(parse_enc("enc2:abc"), Some(("2", "abc")));
        assert_eq!(parse_enc("enc17:"), Some(("17", "")));
        for text in ["enc:abc", "ENC1:abc", "encore: une fois", "enc1"] {
            assert_eq!(parse_enc(text), None, "{text}");
        }
        let full = format!("enc2:{}", "A".repeat(36) + "AAAA");
        assert!(is_complete_enc(&full));
        assert!(!is_complete_enc("enc2:AAAA"));
        assert!(!is_complete_enc("enc1:hello"));
        assert!(!is_complete_enc(&format!("{full}=")));
    }

    #[test]
    fn token_input_is_domain_separated() {
        assert_eq!(token_input("", b"v").unwrap().as_slice(), b"v");
        assert_eq!(token_input("d_1", b"v").unwrap().as_slice(), b"d_1\0v");
        assert!(token_input("D", b"v").is_err());
        assert!(token_input(&"a".repeat(65), b"v").is_err());
        assert!(token_input(&"a".repeat(64), b"v").is_ok());
    }

    #[test]
    fn quarantine_lines() {
        assert_eq!(
            quarantine_line_v2("invalid_json", "r\"1", "ecdh1:k", "AAAA", None),
            "{\"_quarantine\":{\"v\":2,\"reason\":\"invalid_json\",\"record_id\":\"r\\\"1\",\"key\":\"ecdh1:k\",\"sealed\":\"AAAA\"}}\n"
        );
        assert!(quarantine_line_v2("overflow", "b", "k", "S", Some(3))
            .contains(r#""key":"k","encoding":"bundle","records":3,"sealed":"S""#));
    }
}
