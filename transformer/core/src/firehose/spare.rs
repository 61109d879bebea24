//! Large buffers kept from one event to the next.
//!
//! An answer's lines, partition keys, record ids and response are
//! megabytes each. Allocated afresh for every event, they are pages the
//! system maps and zeroes again every time (the allocator hands large
//! freed blocks back to it): about 1,600 page faults for a 3 MiB event in
//! the masked view, 2,500 in the encrypted one. Kept here between events,
//! their pages stay mapped. The per-record vectors (the event's records,
//! their answers, sizes) are kept the same way, each type in its own
//! [`Pool`]: allocated afresh, they still cost about 280 page faults (a
//! tenth of the masked view's time) per 3 MiB event.
//!
//! The event's decoded records (clear PII) are wiped before their chunks
//! are kept; the other buffers never hold a record's clear bytes (lines
//! are masked or encrypted rows, or sealed records).

use std::sync::{Mutex, MutexGuard};

/// Vectors kept at most, per pool.
const MAX_KEPT: usize = 16;
/// Bytes of capacity kept at most, per pool, all its vectors together.
const MAX_KEPT_BYTES: usize = 32 * 1024 * 1024;

/// Byte buffers: lines, keys, record ids, responses, the records' data.
static BYTES: Pool<u8> = Pool::new();

/// An empty buffer with room for at least `capacity` bytes: the smallest
/// kept one that has it, else a new one.
pub fn take(capacity: usize) -> Vec<u8> {
    BYTES.take(capacity)
}

/// Keeps `buffer` for a later [`take`], emptied, unless that would pass
/// the bounds; the smallest buffers go first.
pub fn give(buffer: Vec<u8>) {
    BYTES.give(buffer);
}

/// Vectors of one element type kept between events. The per-record
/// vectors of an event (its records, their answers, sizes) are hundreds
/// of kilobytes for a large event: as page-faulting as the byte buffers
/// when they are allocated afresh.
pub(in crate::firehose) struct Pool<T> {
    kept: Mutex<Kept<T>>,
}

impl<T> Pool<T> {
    /// An empty pool.
    pub(in crate::firehose) const fn new() -> Self {
        Pool {
            kept: Mutex::new(Kept(Vec::new())),
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept<T>> {
        // The list is whole between statements: a panic elsewhere cannot
        // leave it half-changed.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An empty vector with room for at least `capacity` elements: the
    /// smallest kept one that has it, else a new one.
    pub(in crate::firehose) fn take(&self, capacity: usize) -> Vec<T> {
        let fitting = self.kept().take(capacity);
        fitting.unwrap_or_else(|| Vec::with_capacity(capacity))
    }

    /// Keeps `vector` for a later [`Pool::take`], emptied, unless that
    /// would pass the bounds; the smallest vectors go first.
    pub(in crate::firehose) fn give(&self, vector: Vec<T>) {
        if vector.capacity() > 0 {
            self.kept().give(vector);
        }
    }
}

/// Kept vectors, the largest first.
struct Kept<T>(Vec<Vec<T>>);

impl<T> Kept<T> {
    fn take(&mut self, capacity: usize) -> Option<Vec<T>> {
        // The largest first: the last that fits is the smallest.
        let at = self.0.iter().rposition(|v| v.capacity() >= capacity)?;
        Some(self.0.remove(at))
    }

    fn give(&mut self, mut vector: Vec<T>) {
        if bytes_of(&vector) > MAX_KEPT_BYTES {
            return;
        }
        vector.clear();
        let at = self
            .0
            .partition_point(|v| v.capacity() >= vector.capacity());
        self.0.insert(at, vector);
        while self.0.len() > MAX_KEPT || self.bytes() > MAX_KEPT_BYTES {
            self.0.pop();
        }
    }

    fn bytes(&self) -> usize {
        self.0.iter().map(bytes_of).sum()
    }
}

/// Bytes of `vector`'s capacity.
fn bytes_of<T>(vector: &Vec<T>) -> usize {
    vector.capacity().saturating_mul(std::mem::size_of::<T>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_the_smallest_that_fits() {
        let mut kept: Kept<u8> = Kept(Vec::new());
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
        let mut kept: Kept<u8> = Kept(Vec::new());
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

    #[test]
    fn a_pool_bounds_its_bytes_whatever_the_element_size() {
        let pool: Pool<[u64; 4]> = Pool::new();
        // 32 bytes an element: two of these pass the bytes bound together.
        let elements = MAX_KEPT_BYTES / 32 / 2 + 1;
        pool.give(Vec::with_capacity(elements));
        pool.give(Vec::with_capacity(elements));
        assert!(pool.kept().bytes() <= MAX_KEPT_BYTES);
        assert_eq!(pool.kept().0.len(), 1);
        let again = pool.take(elements);
        assert!(again.capacity() >= elements && again.is_empty());
        assert!(pool.take(1).capacity() >= 1, "a new one when none is kept");
    }
}
