//! The ciphertext formats (`schemas/ciphertext.md`): protected values of the
//! encrypted view, and sealed quarantine records.

use crate::json;
use crate::keys::DataKey;

/// Prefix of an encrypted value: `enc1:<base64(nonce ‖ ciphertext ‖ tag)>`.
pub const CELL_PREFIX: &str = "enc1:";

/// Label opening the associated data of an encrypted value.
const CELL_AAD_LABEL: &[u8] = b"cdc-mask/enc1";

/// Associated data of a sealed quarantine record.
pub const QUARANTINE_AAD: &[u8] = b"cdc-mask/quarantine1";

/// Builds the associated data that binds a value to its place:
/// `"cdc-mask/enc1"` then, for schema, table and column in turn, the byte
/// length as a 4-byte big-endian integer followed by the UTF-8 name, exactly
/// as DMS reported it. Length prefixes make the encoding unambiguous.
pub fn cell_aad(schema: &str, table: &str, column: &str, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(CELL_AAD_LABEL);
    for part in [schema, table, column] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(part.as_bytes());
    }
}

/// Appends `"enc1:…"` (a JSON string, quotes included) encrypting `plaintext`
/// (the value's raw JSON text) under `key` with `aad`.
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

/// Appends one quarantine line: the original bytes sealed under a quarantine
/// data key, with the reason and the record's id in clear:
/// `{"_quarantine":{"v":1,"reason":…,"record_id":…,"key":…,"sealed":…}}` + `\n`.
pub fn write_quarantine(
    key: &DataKey,
    reason: &str,
    record_id: &str,
    original: &[u8],
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(br#"{"_quarantine":{"v":1,"reason":"#);
    json::write_string(out, reason);
    out.extend_from_slice(br#","record_id":"#);
    json::write_string(out, record_id);
    out.extend_from_slice(br#","key":"#);
    json::write_string(out, key.wrapped());
    out.extend_from_slice(br#","sealed":""#);
    key.seal_base64(QUARANTINE_AAD, original, scratch, out);
    out.extend_from_slice(b"\"}}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aad_is_length_prefixed() {
        let mut a = Vec::new();
        cell_aad("ab", "c", "d", &mut a);
        let mut b = Vec::new();
        cell_aad("a", "bc", "d", &mut b);
        assert_ne!(a, b);
        assert_eq!(
            a,
            b"cdc-mask/enc1\x00\x00\x00\x02ab\x00\x00\x00\x01c\x00\x00\x00\x01d".to_vec()
        );
    }
}
