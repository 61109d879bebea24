//! Sealed quarantine lines (format version 2, `schemas/ciphertext.md`):
//! the original bytes of a record that could not be protected, sealed
//! under a quarantine data key, with the reason and record id in clear but
//! bound into the associated data; and overflow bundles, several records
//! that did not fit a response sealed as one.

use std::fmt;
use std::io::Read as _;

use flate2::read::DeflateDecoder;
use flate2::{Compress, Compression, FlushCompress, Status};
use zeroize::Zeroizing;

use super::lp;
use crate::json;
use crate::keys::DataKey;

/// Associated data of a version 1 quarantine record (read only).
pub const QUARANTINE_AAD_V1: &[u8] = b"cdc-mask/quarantine1";

/// Label opening the associated data of a version 2 quarantine record.
const QUARANTINE_AAD_LABEL: &[u8] = b"cdc-mask/quarantine2";

/// `encoding` of a quarantine record that seals several records.
pub const BUNDLE_ENCODING: &str = "bundle";

/// What one quarantine line seals.
#[derive(Debug, Clone, Copy)]
pub enum Sealing<'a> {
    /// One record's original bytes.
    Record(&'a [u8]),
    /// Several records, already encoded by [`encode_bundle`] (so that a
    /// caller can size the bundle before sealing it).
    Bundle {
        /// How many records it holds.
        records: usize,
        /// Its plaintext: [`encode_bundle`] of the records.
        encoded: &'a [u8],
    },
}

/// The associated data of a version 2 quarantine record:
/// `"cdc-mask/quarantine2" ‖ lp(reason) ‖ lp(record_id) ‖ lp(encoding)`,
/// `encoding` `""` for a single record, so that none of the clear fields
/// can be edited without breaking the seal.
pub fn quarantine_aad(reason: &str, record_id: &str, encoding: Option<&str>) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(QUARANTINE_AAD_LABEL.len() + 12 + reason.len() + record_id.len() + 6);
    out.extend_from_slice(QUARANTINE_AAD_LABEL);
    for part in [reason, record_id, encoding.unwrap_or("")] {
        lp(part.as_bytes(), &mut out);
    }
    out
}

/// Appends one quarantine line, `\n` included:
/// `{"_quarantine":{"v":2,"reason":R,"record_id":I,"key":K,"sealed":S}}`,
/// or for a bundle of `n` records
/// `{"_quarantine":{"v":2,"reason":R,"record_id":I,"key":K,"encoding":"bundle","records":n,"sealed":S}}`,
/// where `K` is the wrapped quarantine key and `S` the base64 of
/// `nonce ‖ ciphertext ‖ tag`.
pub fn write_quarantine(
    key: &DataKey,
    reason: &str,
    record_id: &str,
    sealing: Sealing<'_>,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) {
    let (bundle, aad) = match sealing {
        Sealing::Record(_) => (None, quarantine_aad(reason, record_id, None)),
        Sealing::Bundle { records, .. } => (
            Some(records),
            quarantine_aad(reason, record_id, Some(BUNDLE_ENCODING)),
        ),
    };
    write_line(
        reason,
        record_id,
        key.wrapped(),
        bundle,
        out,
        |out| match sealing {
            Sealing::Record(original) => key.seal_base64(&aad, original, scratch, out),
            Sealing::Bundle { encoded, .. } => key.seal_base64(&aad, encoded, scratch, out),
        },
    );
}

/// The quarantine line of a record sealed elsewhere: `sealed` is the base64
/// of `nonce ‖ ciphertext ‖ tag`, `bundle_records` the record count of a
/// bundle. The same bytes [`write_quarantine`] writes.
pub fn quarantine_line(
    reason: &str,
    record_id: &str,
    wrapped_key: &str,
    bundle_records: Option<usize>,
    sealed: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    write_line(
        reason,
        record_id,
        wrapped_key,
        bundle_records,
        &mut out,
        |out| {
            out.extend_from_slice(sealed.as_bytes());
        },
    );
    out
}

fn write_line(
    reason: &str,
    record_id: &str,
    wrapped_key: &str,
    bundle_records: Option<usize>,
    out: &mut Vec<u8>,
    sealed: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(br#"{"_quarantine":{"v":2,"reason":"#);
    json::write_string(out, reason);
    out.extend_from_slice(br#","record_id":"#);
    json::write_string(out, record_id);
    out.extend_from_slice(br#","key":"#);
    json::write_string(out, wrapped_key);
    if let Some(records) = bundle_records {
        out.extend_from_slice(br#","encoding":"bundle","records":"#);
        out.extend_from_slice(records.to_string().as_bytes());
    }
    out.extend_from_slice(br#","sealed":""#);
    sealed(out);
    out.extend_from_slice(b"\"}}\n");
}

/// The plaintext of a bundle: raw DEFLATE (RFC 1951) of
/// `lp(record id) ‖ lp(original bytes)` for each record, in order.
pub fn encode_bundle(entries: &[(&str, &[u8])]) -> Zeroizing<Vec<u8>> {
    encode_bundle_before(entries, &[])
}

/// The plaintext of a bundle of `entries` followed by the records of
/// `tail`, itself a bundle from [`encode_bundle`]: it inflates to the same
/// bytes as [`encode_bundle`] of all of them, without compressing `tail`'s
/// records again. The blocks of `entries` end with a sync flush (an empty
/// stored block, byte-aligned, not final), so `tail`'s blocks, which
/// never refer back past their own start, follow as they are.
pub fn encode_bundle_before(entries: &[(&str, &[u8])], tail: &[u8]) -> Zeroizing<Vec<u8>> {
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
    // Room for DEFLATE's worst case (stored blocks) and the tail, so that
    // the buffer is normally never moved (see `deflate_into`).
    let mut deflated = Zeroizing::new(Vec::with_capacity(
        concatenated.len() + concatenated.len() / 16 + 64 + tail.len(),
    ));
    if tail.is_empty() {
        deflate_into(&concatenated, FlushCompress::Finish, &mut deflated);
    } else {
        if !concatenated.is_empty() {
            deflate_into(&concatenated, FlushCompress::Sync, &mut deflated);
        }
        grow_zeroized(&mut deflated, tail.len());
        deflated.extend_from_slice(tail);
    }
    deflated
}

/// Appends the raw DEFLATE of `input` to `out`, at the fast level (the
/// bundle is sealed on the response path, where time matters more than the
/// last few percent of size), ended by `flush`: `Finish` ends the stream,
/// `Sync` leaves it open and byte-aligned.
fn deflate_into(input: &[u8], flush: FlushCompress, out: &mut Zeroizing<Vec<u8>>) {
    let mut compress = Compress::new(Compression::fast(), false);
    loop {
        let consumed = usize::try_from(compress.total_in()).unwrap_or(usize::MAX);
        // Writes into `out`'s spare room only, never reallocating it.
        let status = compress.compress_vec(&input[consumed.min(input.len())..], out, flush);
        let all_in = compress.total_in() == input.len() as u64;
        let done = match (status, flush) {
            // Compressing bytes in memory does not fail.
            (Err(_), _) => true,
            (Ok(status), FlushCompress::Finish) => status == Status::StreamEnd,
            // A flush is complete when it left room unused.
            (Ok(_), _) => all_in && out.len() < out.capacity(),
        };
        if done {
            return;
        }
        // Out of room (callers reserve DEFLATE's worst case, so normally
        // never): at least double it.
        let spare = out.capacity() - out.len();
        grow_zeroized(out, spare + out.capacity().max(64));
    }
}

/// Makes room for `more` bytes in `out` by moving it to a larger buffer
/// when needed: the old one is wiped as it drops, where `Vec`'s own growth
/// would free it with its bytes in clear.
fn grow_zeroized(out: &mut Zeroizing<Vec<u8>>, more: usize) {
    if out.capacity() - out.len() >= more {
        return;
    }
    let mut larger = Zeroizing::new(Vec::with_capacity(out.len() + more));
    larger.extend_from_slice(out);
    *out = larger;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not raw DEFLATE, or bytes after its end.
    #[error("quarantine bundle is not raw DEFLATE")]
    NotDeflate,
    /// Inflates to more than the limit given.
    #[error("quarantine bundle inflates beyond the limit")]
    TooLarge,
    /// The inflated bytes are not a sequence of length-prefixed entries
    /// (truncated, a record id that is not UTF-8, or no entry at all).
    #[error("quarantine bundle entries are malformed")]
    Malformed,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aad_binds_every_clear_field() {
        let a = quarantine_aad("invalid_json", "1", None);
        assert_eq!(a, quarantine_aad("invalid_json", "1", Some("")));
        assert_ne!(a, quarantine_aad("invalid_json", "1", Some("bundle")));
        assert_ne!(a, quarantine_aad("invalid_json", "2", None));
        assert_ne!(a, quarantine_aad("key_unavailable", "1", None));
        assert_ne!(
            quarantine_aad("ab", "c", None),
            quarantine_aad("a", "bc", None)
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

    /// Bytes no DEFLATE can shrink much (a xorshift stream) and bytes it
    /// shrinks a lot, so that streams span several blocks of both kinds.
    fn varied_records() -> Vec<(String, Vec<u8>)> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut noise = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect()
        };
        let mut records = Vec::new();
        for i in 0..12 {
            let raw = match i % 3 {
                0 => noise(40_000),
                1 => format!("{{\"id\":{i},\"name\":\"x\"}}")
                    .repeat(2_000)
                    .into_bytes(),
                _ => Vec::new(),
            };
            records.push((format!("record-{i}"), raw));
        }
        records
    }

    fn opened(deflated: &[u8]) -> Vec<(String, Vec<u8>)> {
        decode_bundle(deflated, 64 << 20)
            .unwrap()
            .into_iter()
            .map(|e| (e.record_id, e.original.to_vec()))
            .collect()
    }

    #[test]
    fn a_bundle_ending_with_an_encoded_tail_opens_as_all_its_records() {
        let records = varied_records();
        let entries: Vec<(&str, &[u8])> = records
            .iter()
            .map(|(id, raw)| (id.as_str(), raw.as_slice()))
            .collect();
        for split in 0..entries.len() {
            let (head, tail) = entries.split_at(split);
            let tail = encode_bundle(tail);
            assert_eq!(
                opened(&encode_bundle_before(head, &tail)),
                records,
                "split {split}"
            );
        }
        // With no tail, the stream is the plain bundle.
        assert_eq!(
            encode_bundle_before(&entries, &[]).as_slice(),
            encode_bundle(&entries).as_slice()
        );
    }

    #[test]
    fn deflate_into_a_full_buffer_moves_it_and_loses_nothing() {
        let records = varied_records();
        let input: Vec<u8> = records.iter().flat_map(|(_, raw)| raw.clone()).collect();
        for flush in [FlushCompress::Finish, FlushCompress::Sync] {
            let mut out = Zeroizing::new(Vec::new());
            deflate_into(&input, flush, &mut out);
            if flush == FlushCompress::Sync {
                // A stored, final, empty block closes the open stream.
                out.extend_from_slice(&[0x03, 0x00]);
            }
            let mut inflated = Vec::new();
            DeflateDecoder::new(&out[..])
                .read_to_end(&mut inflated)
                .unwrap();
            assert_eq!(inflated, input);
        }
    }
}
