//! Member vectors kept from one document to the next, so that parsing a
//! record allocates none (a record's `data`, `metadata` and top level are
//! three vectors; allocated afresh, they were about 3 % of the masked
//! view's time in `malloc` and `free`).

use super::Member;

/// Vectors kept at most.
const MAX_KEPT: usize = 8;

/// Emptied member vectors, for documents of any lifetime.
#[derive(Debug, Default)]
pub struct MemberVecs(Vec<Vec<Member<'static>>>);

impl MemberVecs {
    /// An empty vector: a kept one, else a new one.
    pub fn take<'a>(&mut self) -> Vec<Member<'a>> {
        self.0.pop().map_or_else(|| Vec::with_capacity(8), recycle)
    }

    /// Keeps `members`' allocation (emptied) for a later [`MemberVecs::take`],
    /// unless [`MAX_KEPT`] are kept already.
    pub fn give(&mut self, members: Vec<Member<'_>>) {
        if self.0.len() < MAX_KEPT && members.capacity() > 0 {
            self.0.push(recycle(members));
        }
    }
}

/// `members`' allocation, emptied, for members borrowed from another
/// document: an empty vector collected from its own iterator into a type
/// of the same layout keeps its allocation (std's in-place collection).
#[expect(
    clippy::unnecessary_filter_map,
    reason = "a filter would keep the lifetime, which this changes"
)]
fn recycle<'b>(mut members: Vec<Member<'_>>) -> Vec<Member<'b>> {
    members.clear();
    members.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_object;

    #[test]
    fn a_vector_comes_back_empty_with_its_allocation() {
        let mut vecs = MemberVecs::default();
        let doc = br#"{"a":1,"b":"x","c\u0041":true}"#.to_vec();
        let mut members = parse_object(&doc).unwrap();
        members.reserve(40);
        let (address, capacity) = (members.as_ptr().cast::<u8>(), members.capacity());
        vecs.give(members);
        drop(doc);
        let again: Vec<Member<'_>> = vecs.take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), capacity);
        assert_eq!(again.as_ptr().cast::<u8>(), address, "the same allocation");
        assert_eq!(vecs.take().capacity(), 8, "a new one when none is kept");
        for _ in 0..MAX_KEPT + 3 {
            vecs.give(Vec::with_capacity(1));
        }
        assert_eq!(vecs.0.len(), MAX_KEPT);
    }
}
