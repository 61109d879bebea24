//! Equality of short names (members, columns, metadata keys), which the
//! hot path compares several times per record: a call to `memcmp` costs
//! more than comparing a name of a few words in place.

/// Whether `a` and `b` hold the same bytes. Up to 32 bytes are compared as
/// two overlapping blocks (of 16, 8 or 4 bytes, or byte by byte), without
/// a call; longer names go to the slice comparison.
#[inline]
pub fn name_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => head_tail::<4>(a, b),
        8..=16 => head_tail::<8>(a, b),
        17..=32 => head_tail::<16>(a, b),
        _ => a == b,
    }
}

/// Compares the first and the last `N` bytes of two slices of the same
/// length, between `N` and `2N`: together they cover every byte.
#[inline(always)]
fn head_tail<const N: usize>(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    let word = |s: &[u8], at: usize| -> Option<[u8; N]> { s.get(at..at + N)?.try_into().ok() };
    word(a, 0) == word(b, 0) && word(a, len - N) == word(b, len - N)
}
