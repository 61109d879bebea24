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

use zeroize::Zeroizing;

use super::batch::{quarantine_keys, Answer, Batch, Carried};
use super::spare::{self, Pool};
use super::{BatchStats, Event, MAX_RESPONSE_BYTES};
use crate::cipher::{self, Sealing};
use crate::keys::{DataKey, DataKeyCache, WrapError};
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
    /// Bytes of its DEFLATE stream.
    deflated: usize,
}

/// Per-record sizes of earlier responses, for the next ([`spare`]).
static SIZES: Pool<usize> = Pool::new();

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
    // Borrowed: the batch keeps them for the next one when it is dropped.
    let (id_text, ids) = (&batch.id_text, &batch.ids);
    let mut full = SIZES.take(ids.len());
    full.extend(
        batch
            .answers
            .iter()
            .zip(ids)
            .map(|(answer, id)| full_len(answer, id.len())),
    );
    let mut minimal = SIZES.take(ids.len());
    minimal.extend(ids.iter().map(|id| minimal_len(id.len())));
    let frame = frame_len(ids.len());
    let mut stats = std::mem::take(&mut batch.stats);

    // `kept(k)`: answers before k in full, from k on minimal.
    let mut prefix = SIZES.take(full.len() + 1);
    prefix.resize(full.len() + 1, 0);
    for (i, size) in full.iter().enumerate() {
        prefix[i + 1] = prefix[i] + size;
    }
    let mut suffix = SIZES.take(minimal.len() + 1);
    suffix.resize(minimal.len() + 1, 0);
    for i in (0..minimal.len()).rev() {
        suffix[i] = suffix[i + 1] + minimal[i];
    }
    let kept = |k: usize| frame + prefix[k] + suffix[k];
    let first_overflow = (0..=full.len())
        .rev()
        .find(|&k| kept(k) <= MAX_RESPONSE_BYTES)
        .unwrap_or(0);
    let (first_overflow, first_lost, bundle) = if first_overflow < full.len() && !batch.iceberg {
        // A view stream into Iceberg tables seals nothing: its overflow is
        // lost (and counted), as a bundle has no table to go to.
        let sizes = Sizes {
            full: &full,
            minimal: &minimal,
            ids,
            kept: &kept,
        };
        overflow(&batch, event, &sizes, first_overflow, quarantine)?
    } else {
        (first_overflow, full.len(), None)
    };

    // The exact size, so that the response is never copied as it grows.
    let size = kept(first_overflow)
        + bundle.as_ref().map_or(0, |b| {
            carrier_len(ids[b.carrier].len(), b.line.len(), b.keys.len()) - minimal[b.carrier]
        });
    let mut out = spare::take(size);
    out.extend_from_slice(OPEN);
    for (i, (answer, id)) in batch.answers.iter().zip(ids).enumerate() {
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
            Answer::Dropped { .. } | Answer::Rejected { .. } | Answer::Overflow => {}
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
    debug_assert_eq!(out.len(), size, "the response's size, computed beforehand");
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
    for sizes in [full, minimal, prefix, suffix] {
        SIZES.give(sizes);
    }
    Ok((out, stats))
}

/// The response's size while a batch is answered in order: the frame, the
/// answers so far in full and every later one as a bare `Dropped`. Once
/// that exceeds [`MAX_RESPONSE_BYTES`], no later answer is written in full
/// ([`write()`]'s cut only ever moves earlier), so later records need not be
/// transformed. Rejected records count as bare (they grow when sealed), so
/// the budget is never spent too early.
pub(super) struct Budget {
    used: usize,
}

impl Budget {
    /// The budget of a response to records with these ids (JSON strings).
    pub(super) fn new(ids: &[std::ops::Range<usize>]) -> Self {
        let minimal: usize = ids.iter().map(|id| minimal_len(id.len())).sum();
        Budget {
            used: frame_len(ids.len()) + minimal,
        }
    }

    /// Counts `answer` (its id `id_len` bytes as a JSON string) in full;
    /// whether the response is now certain to overflow.
    pub(super) fn spend(&mut self, answer: &Answer, id_len: usize) -> bool {
        self.used += full_len(answer, id_len).saturating_sub(minimal_len(id_len));
        self.used > MAX_RESPONSE_BYTES
    }
}

/// The sizes the cut is chosen from, per answer.
struct Sizes<'a> {
    /// Bytes of each answer in full.
    full: &'a [usize],
    /// Bytes of each answer as a bare `Dropped`.
    minimal: &'a [usize],
    /// Each record id as a JSON string, in `id_text`.
    ids: &'a [std::ops::Range<usize>],
    /// Response bytes with the answers before `k` in full and the others
    /// minimal.
    kept: &'a dyn Fn(usize) -> usize,
}

/// Raw bytes of the sample a bundle's compression ratio is first
/// estimated from.
const RATIO_SAMPLE_BYTES: usize = 128 * 1024;

/// Bytes of a quarantine line around its sealed text, beyond the wrapped
/// key and the record id (field names, reason, record count, newline),
/// rounded up.
const BUNDLE_LINE_OVERHEAD: usize = 160;

/// Chooses where the answers stop fitting in full and seals the overflow
/// into one bundle: `(first_overflow, first_lost, bundle)`.
///
/// The cut is chosen from an estimate of the bundle's size (the members'
/// bytes times a DEFLATE ratio measured on a sample of them), so the
/// bundle is normally sealed once; if it still does not fit, the ratio is
/// taken from the sealed bundle and the cut moves, until it fits or
/// nothing is left to move.
fn overflow(
    batch: &Batch,
    event: &Event,
    sizes: &Sizes<'_>,
    mut first_overflow: usize,
    quarantine: &DataKeyCache,
) -> Result<(usize, usize, Option<Bundle>), WrapError> {
    let n = sizes.full.len();
    let is_member = |i: usize| matches!(batch.answers[i], Answer::Ok { .. } | Answer::Overflow);
    // What each record adds to the bundle's plaintext before DEFLATE.
    let raw: Vec<usize> = (0..n)
        .map(|i| {
            let record = &event.records[i];
            8 + event.record_id(record).len() + event.original(record).1.len()
        })
        .collect();
    let members_of = |from: usize, to: usize| (from..to).filter(|&i| is_member(i)).collect();
    // The last records that overflow: they end every bundle the cut can
    // make (it only moves back), so their DEFLATE is kept as its tail.
    let sample: Vec<usize> = {
        let mut taken = 0;
        let mut sample: Vec<usize> = (first_overflow..n)
            .rev()
            .filter(|&i| is_member(i))
            .take_while(|&i| {
                taken += raw[i];
                taken - raw[i] < RATIO_SAMPLE_BYTES
            })
            .collect();
        sample.reverse();
        sample
    };
    if sample.is_empty() {
        return Ok((first_overflow, n, None));
    }
    // One key for every attempt, counted for the records that overflow.
    let overflowing = (first_overflow..n).filter(|&i| is_member(i)).count();
    let key = quarantine.key_for(u64::try_from(overflowing).unwrap_or(u64::MAX))?;
    let tail = Tail {
        deflated: cipher::encode_bundle(&entries_of(event, &sample)),
        members: sample,
    };
    let mut ratio = (tail.deflated.len() as f64
        / tail.members.iter().map(|&i| raw[i]).sum::<usize>() as f64)
        * 1.02;
    let wrapped = key.wrapped().len();
    let mut first_lost = n;
    // The carrier's partition keys, rendered again for each candidate.
    let mut keys = Vec::new();
    loop {
        // The largest cut whose estimated response fits.
        let mut raw_sum: usize = (first_overflow..first_lost)
            .filter(|&i| is_member(i))
            .map(|i| raw[i])
            .sum();
        let mut estimate = |k: usize, raw_sum: usize| -> Option<usize> {
            let carrier = (k..first_lost).find(|&i| is_member(i))?;
            let record = &event.records[carrier];
            let deflated = (raw_sum as f64 * ratio).ceil() as usize + 64;
            let line = BUNDLE_LINE_OVERHEAD
                + wrapped
                + sizes.ids[carrier].len()
                + (12 + deflated + 16).div_ceil(3) * 4;
            keys.clear();
            quarantine_keys(&mut keys, record);
            Some(
                (sizes.kept)(k) - sizes.minimal[carrier]
                    + carrier_len(sizes.ids[carrier].len(), line, keys.len()),
            )
        };
        while first_overflow > 0
            && estimate(first_overflow, raw_sum).is_some_and(|t| t > MAX_RESPONSE_BYTES)
        {
            first_overflow -= 1;
            if is_member(first_overflow) {
                raw_sum += raw[first_overflow];
            }
        }
        let members: Vec<usize> = members_of(first_overflow, first_lost);
        let Some(&carrier) = members.first() else {
            return Ok((first_overflow, first_lost, None));
        };
        let candidate = seal_bundle(event, &members, carrier, &key, &tail);
        let total = (sizes.kept)(first_overflow) - sizes.minimal[carrier]
            + carrier_len(
                sizes.ids[carrier].len(),
                candidate.line.len(),
                candidate.keys.len(),
            );
        if total <= MAX_RESPONSE_BYTES {
            return Ok((first_overflow, first_lost, Some(candidate)));
        }
        // Learn the ratio from what was sealed, with a margin that grows
        // with each miss, and make progress either way.
        let sealed_raw: usize = members.iter().map(|&i| raw[i]).sum();
        ratio = ratio.max(candidate.deflated as f64 / sealed_raw as f64) * 1.05;
        if first_overflow > 0 {
            first_overflow -= 1;
        } else if first_lost > carrier + 1 {
            // Everything is in the bundle and it still does not fit: leave
            // the last half of its members out (a path the template's
            // processor buffer keeps out of reach; halving bounds the work).
            first_lost = carrier + 1 + (first_lost - carrier - 1) / 2;
        } else {
            return Ok((first_overflow, carrier, None));
        }
    }
}

/// Bytes of the answer that carries a bundle line of `line` bytes.
fn carrier_len(id_len: usize, line: usize, keys: usize) -> usize {
    ID_HEAD.len()
        + id_len
        + OK_HEAD.len()
        + line.div_ceil(3) * 4
        + 1
        + KEYS_HEAD.len()
        + keys
        + KEYS_TAIL.len()
}

/// `(record id, original bytes)` of `members`.
fn entries_of<'a>(event: &'a Event, members: &[usize]) -> Vec<(&'a str, &'a [u8])> {
    members
        .iter()
        .map(|&i| {
            let record = &event.records[i];
            (event.record_id(record), event.original(record).1)
        })
        .collect()
}

/// The last records of the overflow and their DEFLATE, compressed once to
/// estimate the ratio and reused as the end of the bundle.
struct Tail {
    /// Their indices, in order.
    members: Vec<usize>,
    /// Their bundle plaintext ([`cipher::encode_bundle`]).
    deflated: Zeroizing<Vec<u8>>,
}

/// Seals the original bytes of `members` into one bundle line carried by
/// `carrier`, under `key`; if they end with `tail`'s records, its DEFLATE
/// is reused for them.
fn seal_bundle(
    event: &Event,
    members: &[usize],
    carrier: usize,
    key: &DataKey,
    tail: &Tail,
) -> Bundle {
    let records = u64::try_from(members.len()).unwrap_or(u64::MAX);
    let plaintext = match members.strip_suffix(&tail.members[..]) {
        Some(head) => cipher::encode_bundle_before(&entries_of(event, head), &tail.deflated),
        None => cipher::encode_bundle(&entries_of(event, members)),
    };
    let mut line = Vec::new();
    cipher::write_quarantine(
        key,
        Reason::ResponseOverflow.as_str(),
        event.record_id(&event.records[carrier]),
        Sealing::Bundle {
            records: members.len(),
            encoded: &plaintext,
        },
        &mut Vec::new(),
        &mut line,
    );
    let mut keys = Vec::new();
    quarantine_keys(&mut keys, &event.records[carrier]);
    Bundle {
        carrier,
        line,
        keys,
        records,
        deflated: plaintext.len(),
    }
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
            // Sealed before the response, or bundled: never answered as is.
            Answer::Rejected { .. } | Answer::Overflow => DROPPED_HEAD.len() + 1,
        }
}

/// Bytes of a response to `answers` records around the answers themselves:
/// `{"records":[`, `]}` and the commas between them.
fn frame_len(answers: usize) -> usize {
    OPEN.len() + CLOSE.len() + answers.saturating_sub(1)
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
        // Every rejected record is sealed before the response is written;
        // overflowing ones come after the cut.
        Answer::Rejected { .. } | Answer::Overflow => {
            out.extend_from_slice(DROPPED_HEAD);
            out.push(b'}');
        }
    }
}

/// Appends the standard, padded base64 of `bytes` (SIMD).
fn append_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    base64_simd::STANDARD.encode_append(bytes, out);
}
