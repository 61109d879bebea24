//! The response: every record answered once, in order, within
//! [`MAX_RESPONSE_BYTES`], and never with a raw record.
//!
//! When the answers do not all fit (encryption and base64 make responses
//! larger than requests), the last ones overflow: their original bytes are
//! compressed and sealed together into one quarantine record (reason
//! `response_overflow`) carried by the first of them, and the others are
//! answered `Dropped`. `cdc-mask quarantine reprocess` brings them back. If
//! even that does not fit, the records left out of the bundle are answered
//! `Dropped` and counted as lost (the stream still holds them for a replay);
//! the template's processor buffer keeps that out of reach.

use super::batch::{quarantine_keys, Answer, Batch, Carried};
use super::{BatchStats, Event, MAX_RESPONSE_BYTES};
use crate::cipher::{self, Sealing};
use crate::json;
use crate::keys::{DataKeyCache, WrapError};
use crate::reason::Reason;

const OPEN: &[u8] = b"{\"records\":[";
const CLOSE: &[u8] = b"]}";
const OK_HEAD: &[u8] = b",\"result\":\"Ok\",\"data\":\"";
const DROPPED_HEAD: &[u8] = b",\"result\":\"Dropped\",\"data\":\"\"";
const KEYS_HEAD: &[u8] = b",\"metadata\":{";
const KEYS_TAIL: &[u8] = b"}}";
const ID_HEAD: &[u8] = b"{\"recordId\":";

/// The overflow bundle, once it fits.
struct Bundle {
    /// The record that carries it.
    carrier: usize,
    /// Its quarantine line.
    line: Vec<u8>,
    /// Its partition keys.
    keys: Vec<u8>,
    /// Records sealed in it.
    records: u64,
}

/// Writes the response of `batch` (made from `event`), with an overflow
/// bundle sealed under a key from `quarantine` if needed.
///
/// # Errors
/// [`WrapError::Random`] if a bundle is needed and no quarantine key can be
/// made.
pub(super) fn write(
    mut batch: Batch,
    event: &Event,
    quarantine: &DataKeyCache,
) -> Result<(Vec<u8>, BatchStats), WrapError> {
    // Every record id as a JSON string, back to back in one buffer.
    let mut id_text = Vec::with_capacity(event.records.len() * 64);
    let ids: Vec<std::ops::Range<usize>> = event
        .records
        .iter()
        .map(|r| {
            let start = id_text.len();
            json::write_string(&mut id_text, &r.record_id);
            start..id_text.len()
        })
        .collect();
    let full: Vec<usize> = batch
        .answers
        .iter()
        .zip(&ids)
        .map(|(answer, id)| full_len(answer, id.len()))
        .collect();
    let minimal: Vec<usize> = ids.iter().map(|id| minimal_len(id.len())).collect();
    let frame = OPEN.len() + CLOSE.len() + ids.len().saturating_sub(1);
    let mut stats = std::mem::take(&mut batch.stats);

    // `kept(k)`: answers before k in full, from k on minimal.
    let mut prefix = vec![0usize; full.len() + 1];
    for (i, size) in full.iter().enumerate() {
        prefix[i + 1] = prefix[i] + size;
    }
    let mut suffix = vec![0usize; minimal.len() + 1];
    for i in (0..minimal.len()).rev() {
        suffix[i] = suffix[i + 1] + minimal[i];
    }
    let kept = |k: usize| frame + prefix[k] + suffix[k];
    let mut first_overflow = (0..=full.len())
        .rev()
        .find(|&k| kept(k) <= MAX_RESPONSE_BYTES)
        .unwrap_or(0);
    let mut bundle = None;
    // Records from here on fit nowhere (normally none).
    let mut first_lost = full.len();
    // A view stream into Iceberg tables seals nothing: its overflow is lost
    // (and counted), as a bundle has no table to go to.
    while first_overflow < full.len() && !batch.iceberg {
        let members: Vec<usize> = (first_overflow..first_lost)
            .filter(|&i| matches!(batch.answers[i], Answer::Ok { .. }))
            .collect();
        let Some(&carrier) = members.first() else {
            break;
        };
        let candidate = seal_bundle(event, &members, carrier, quarantine)?;
        let carrier_len = ID_HEAD.len()
            + ids[carrier].len()
            + OK_HEAD.len()
            + candidate.line.len().div_ceil(3) * 4
            + 1
            + KEYS_HEAD.len()
            + candidate.keys.len()
            + KEYS_TAIL.len();
        let total = kept(first_overflow) - minimal[carrier] + carrier_len;
        if total <= MAX_RESPONSE_BYTES {
            bundle = Some(candidate);
            break;
        }
        let mut excess = total - MAX_RESPONSE_BYTES;
        if first_overflow > 0 {
            // Move more answers into the bundle until their full answers
            // free at least the excess, then seal again.
            while excess > 0 && first_overflow > 0 {
                first_overflow -= 1;
                excess = excess.saturating_sub(full[first_overflow] - minimal[first_overflow]);
            }
        } else if first_lost > carrier + 1 {
            // Everything is in the bundle and it still does not fit: leave
            // the last half of its members out (a path the template's
            // processor buffer keeps out of reach; halving bounds the work).
            first_lost = carrier + 1 + (first_lost - carrier - 1) / 2;
        } else {
            first_lost = carrier;
        }
    }

    let mut out = Vec::with_capacity(
        (batch.lines.len() * 4 / 3 + batch.keys.len() + frame + 64 * ids.len())
            .min(MAX_RESPONSE_BYTES + 1024),
    );
    out.extend_from_slice(OPEN);
    for (i, (answer, id)) in batch.answers.iter().zip(&ids).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(ID_HEAD);
        out.extend_from_slice(&id_text[id.clone()]);
        if i < first_overflow {
            write_full(&mut out, answer, &batch);
            continue;
        }
        if let Answer::Dropped { .. } = answer {
            // Dropped either way, without its keys.
            out.extend_from_slice(DROPPED_HEAD);
            out.push(b'}');
            continue;
        }
        // Counted once, where it ends up.
        match answer {
            Answer::Ok {
                carried: Carried::Row,
                ..
            } => stats.rows -= 1,
            Answer::Ok {
                carried: Carried::Control,
                ..
            } => stats.dropped_control -= 1,
            Answer::Ok {
                carried: Carried::Sealed(reason),
                ..
            } => stats.unquarantine(*reason),
            Answer::Dropped { .. } | Answer::Rejected { .. } => {}
        }
        match &bundle {
            Some(b) if i == b.carrier => {
                out.extend_from_slice(OK_HEAD);
                append_base64(&mut out, &b.line);
                out.push(b'"');
                out.extend_from_slice(KEYS_HEAD);
                out.extend_from_slice(&b.keys);
                out.extend_from_slice(KEYS_TAIL);
            }
            _ => {
                out.extend_from_slice(DROPPED_HEAD);
                out.push(b'}');
                if i >= first_lost || bundle.is_none() {
                    stats.lost += 1;
                }
            }
        }
    }
    out.extend_from_slice(CLOSE);
    if let Some(b) = &bundle {
        stats.quarantine(Reason::ResponseOverflow, b.records);
        tracing::warn!(
            records = b.records,
            "answers over {MAX_RESPONSE_BYTES} bytes sealed in one overflow bundle; lower the processor's BufferSizeInMBs"
        );
    }
    if stats.lost > 0 {
        tracing::error!(
            lost = stats.lost,
            "records fit neither the response nor an overflow bundle: answered Dropped, replay them from the stream; lower the processor's BufferSizeInMBs"
        );
    }
    stats.bytes_out = u64::try_from(out.len()).unwrap_or(u64::MAX);
    Ok((out, stats))
}

/// Seals the original bytes of `members` into one bundle line carried by
/// `carrier`.
fn seal_bundle(
    event: &Event,
    members: &[usize],
    carrier: usize,
    quarantine: &DataKeyCache,
) -> Result<Bundle, WrapError> {
    let entries: Vec<(&str, &[u8])> = members
        .iter()
        .map(|&i| {
            let record = &event.records[i];
            (record.record_id.as_ref(), event.original(record).1)
        })
        .collect();
    let records = u64::try_from(entries.len()).unwrap_or(u64::MAX);
    let key = quarantine.key_for(records)?;
    let mut line = Vec::new();
    let reason = Reason::ResponseOverflow;
    cipher::write_quarantine(
        &key,
        reason.as_str(),
        &event.records[carrier].record_id,
        Sealing::Bundle(&entries),
        &mut Vec::new(),
        &mut line,
    );
    drop(entries);
    let mut keys = Vec::new();
    quarantine_keys(&mut keys, &event.records[carrier]);
    Ok(Bundle {
        carrier,
        line,
        keys,
        records,
    })
}

/// Bytes of an answer in full (`id_len`: the record id as a JSON string).
fn full_len(answer: &Answer, id_len: usize) -> usize {
    ID_HEAD.len()
        + id_len
        + match answer {
            Answer::Ok { line, keys, .. } => {
                OK_HEAD.len()
                    + line.len().div_ceil(3) * 4
                    + 1
                    + KEYS_HEAD.len()
                    + keys.len()
                    + KEYS_TAIL.len()
            }
            Answer::Dropped { keys } if keys.is_empty() => DROPPED_HEAD.len() + 1,
            Answer::Dropped { keys } => {
                DROPPED_HEAD.len() + KEYS_HEAD.len() + keys.len() + KEYS_TAIL.len()
            }
            // Sealed before the response; never answered as is.
            Answer::Rejected { .. } => DROPPED_HEAD.len() + 1,
        }
}

/// Bytes of a bare `Dropped` answer.
fn minimal_len(id_len: usize) -> usize {
    ID_HEAD.len() + id_len + DROPPED_HEAD.len() + 1
}

/// Writes an answer in full, after its record id.
fn write_full(out: &mut Vec<u8>, answer: &Answer, batch: &Batch) {
    match answer {
        Answer::Ok { line, keys, .. } => {
            out.extend_from_slice(OK_HEAD);
            append_base64(out, &batch.lines[line.clone()]);
            out.push(b'"');
            out.extend_from_slice(KEYS_HEAD);
            out.extend_from_slice(&batch.keys[keys.clone()]);
            out.extend_from_slice(KEYS_TAIL);
        }
        Answer::Dropped { keys } if keys.is_empty() => {
            out.extend_from_slice(DROPPED_HEAD);
            out.push(b'}');
        }
        Answer::Dropped { keys } => {
            out.extend_from_slice(DROPPED_HEAD);
            out.extend_from_slice(KEYS_HEAD);
            out.extend_from_slice(&batch.keys[keys.clone()]);
            out.extend_from_slice(KEYS_TAIL);
        }
        // Every rejected record is sealed before the response is written.
        Answer::Rejected { .. } => {
            out.extend_from_slice(DROPPED_HEAD);
            out.push(b'}');
        }
    }
}

/// Appends the standard, padded base64 of `bytes` (SIMD).
fn append_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    base64_simd::STANDARD.encode_append(bytes, out);
}
