//! The records' bytes of one event, in a few large chunks, wiped when the
//! event is dropped.

use std::ops::Range;

use crate::firehose::spare;

/// Where a record's bytes are in an [`Arena`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(in crate::firehose) struct Span {
    chunk: usize,
    range: Range<usize>,
}

/// Bytes of an [`Arena`] chunk (a record larger than this gets a chunk of
/// its own).
const CHUNK_BYTES: usize = 1024 * 1024;

/// The records' bytes, in chunks each allocated once at its final size: an
/// event's size is not known while it is read, and one growing buffer
/// would be copied at every doubling.
#[derive(Default)]
pub(in crate::firehose) struct Arena {
    chunks: Vec<Chunk>,
    len: usize,
}

/// One chunk of an [`Arena`].
struct Chunk {
    bytes: Vec<u8>,
    /// How far writes may have reached: bytes a failed decode wrote and
    /// took back (or left past the length) included.
    reached: usize,
}

impl Arena {
    /// Appends what `write` writes, which is at most `at_most` bytes, to a
    /// chunk with room for it; returns where the bytes are.
    pub(super) fn append(&mut self, at_most: usize, write: impl FnOnce(&mut Vec<u8>)) -> Span {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.bytes.capacity() - c.bytes.len() >= at_most);
        if !fits {
            self.chunks.push(Chunk {
                bytes: spare::take(at_most.max(CHUNK_BYTES)),
                reached: 0,
            });
        }
        let at = self.chunks.len() - 1;
        let chunk = &mut self.chunks[at];
        let start = chunk.bytes.len();
        chunk.reached = chunk.reached.max(start + at_most);
        write(&mut chunk.bytes);
        self.len += chunk.bytes.len() - start;
        Span {
            chunk: at,
            range: start..chunk.bytes.len(),
        }
    }

    /// The bytes at `span`.
    pub(super) fn get(&self, span: &Span) -> &[u8] {
        self.chunks
            .get(span.chunk)
            .map_or(&[], |c| &c.bytes[span.range.clone()])
    }

    /// Bytes held.
    pub(in crate::firehose) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Arena {
    /// Wipes every byte a write may have reached (clear PII, also what a
    /// failed decode left) and keeps the chunks for the next event
    /// ([`spare`]). The wipe cannot be optimised away: the chunk goes on to
    /// be shared with whichever event takes it.
    fn drop(&mut self) {
        for mut chunk in self.chunks.drain(..) {
            wipe(&mut chunk.bytes, chunk.reached);
            spare::give(chunk.bytes);
        }
    }
}

/// Zeroes `chunk` up to `reached` bytes (or its length, if longer), past
/// its length too, leaving that many zeroes in it.
fn wipe(chunk: &mut Vec<u8>, reached: usize) {
    // Within capacity: `Arena::append` had room for every write.
    let reached = reached.min(chunk.capacity()).max(chunk.len());
    chunk.fill(0);
    chunk.resize(reached, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wipe_reaches_what_was_taken_back_and_what_lies_past_the_length() {
        let mut chunk = Vec::with_capacity(64);
        chunk.extend_from_slice(b"jdoe@example.com");
        chunk.truncate(4);
        chunk.spare_capacity_mut()[20].write(b'!');
        wipe(&mut chunk, 21);
        assert_eq!(chunk, [0; 21]);
        let mut longer = b"longer than reached".to_vec();
        wipe(&mut longer, 3);
        assert_eq!(longer, [0; 19], "never shorter than its length");
    }
}
