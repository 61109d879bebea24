//! Large byte buffers kept from one event to the next.
//!
//! An answer's lines, partition keys, record ids and response are
//! megabytes each. Allocated afresh for every event, they are pages the
//! system maps and zeroes again every time (the allocator hands large
//! freed blocks back to it): about 1,600 page faults for a 3 MiB event in
//! the masked view, 2,500 in the encrypted one. Kept here between events,
//! their pages stay mapped.
//!
//! The event's decoded records (clear PII) are wiped before their chunks
//! are kept; the other buffers never hold a record's clear bytes (lines
//! are masked or encrypted rows, or sealed records).

use std::sync::{Mutex, MutexGuard};

/// Buffers kept at most.
const MAX_KEPT: usize = 16;
/// Bytes of capacity kept at most, all buffers together.
const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;

static KEPT: Mutex<Kept> = Mutex::new(Kept(Vec::new()));

fn kept() -> MutexGuard<'static, Kept> {
    // The list is whole between statements: a panic elsewhere cannot
    // leave it half-changed.
    KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An empty buffer with room for at least `capacity` bytes: the smallest
/// kept one that has it, else a new one.
pub fn take(capacity: usize) -> Vec<u8> {
    let fitting = kept().take(capacity);
    fitting.unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// Keeps `buffer` for a later [`take`], emptied, unless that would pass
/// the bounds; the smallest buffers go first.
pub fn give(buffer: Vec<u8>) {
    if buffer.capacity() > 0 {
        kept().give(buffer);
    }
}

/// Kept buffers, the largest first.
struct Kept(Vec<Vec<u8>>);

impl Kept {
    fn take(&mut self, capacity: usize) -> Option<Vec<u8>> {
        // The largest first: the last that fits is the smallest.
        let at = self.0.iter().rposition(|b| b.capacity() >= capacity)?;
        Some(self.0.remove(at))
    }

    fn give(&mut self, mut buffer: Vec<u8>) {
        if buffer.capacity() > MAX_KEPT_BYTES {
            return;
        }
        buffer.clear();
        let at = self
            .0
            .partition_point(|b| b.capacity() >= buffer.capacity());
        self.0.insert(at, buffer);
        while self.0.len() > MAX_KEPT || self.bytes() > MAX_KEPT_BYTES {
            self.0.pop();
        }
    }

    fn bytes(&self) -> usize {
        self.0.iter().map(Vec::capacity).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_the_smallest_that_fits() {
        let mut kept = Kept(Vec::new());
        assert!(kept.take(1).is_none());
        let mut row = Vec::with_capacity(1000);
        row.extend_from_slice(b"masked row");
        let address = row.as_ptr();
        kept.give(row);
        kept.give(Vec::with_capacity(5000));
        kept.give(Vec::with_capacity(100));
        let again = kept.take(500).unwrap();
        assert!(again.is_empty(), "kept buffers are emptied");
        assert_eq!(again.as_ptr(), address, "the smallest that fits");
        assert!(kept.take(6000).is_none(), "none fits");
        assert_eq!(kept.take(0).unwrap().capacity(), 100);
    }

    #[test]
    fn what_is_kept_stays_within_bounds() {
        let mut kept = Kept(Vec::new());
        for _ in 0..MAX_KEPT + 4 {
            kept.give(Vec::with_capacity(5 * 1024 * 1024));
        }
        kept.give(Vec::with_capacity(MAX_KEPT_BYTES + 1));
        assert!(kept.0.len() <= MAX_KEPT);
        assert!(kept.bytes() <= MAX_KEPT_BYTES);
        assert!(kept
            .0
            .windows(2)
            .all(|w| w[0].capacity() >= w[1].capacity()));
        // The process-wide list: what goes in comes out with the room asked.
        give(Vec::with_capacity(64));
        assert!(take(64).capacity() >= 64);
    }
}
