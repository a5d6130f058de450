//! Packed copies of the code rows of an id set scanned again.
//!
//! A filter's matches are scattered over the codes, so a scan of them waits
//! on memory for each row. Applications filter on the same values again
//! and again (a category, a customer, a language): the second scan of the
//! same id set copies its rows, in id order, into one contiguous block,
//! and every later scan of that set reads the block front to back, which
//! the hardware prefetches. A one-off filter never pays for a copy.
//!
//! Internal ids are never reused, so writes only add rows and a pack stays
//! true; packs are dropped with the codes (a refit) or if a row is
//! overwritten all the same, and kept within the codes' own size, least
//! recently used first out.

use std::collections::VecDeque;
use std::sync::Arc;

use rayon::prelude::*;
use roaring::RoaringBitmap;

use super::{Line, LINE};
use crate::index::flat::{TopK, PARALLEL_CHUNK, PARALLEL_SCAN_MIN};

/// Id sets smaller than this are not packed: their scan is short anyway.
const MIN_IDS: u64 = 1_024;

/// How many id sets scanned once are remembered.
const SEEN: usize = 32;

/// A cheap summary of an id set: equal sets have equal marks.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Mark {
    len: u64,
    min: u32,
    max: u32,
}

impl Mark {
    fn of(ids: &RoaringBitmap) -> Mark {
        Mark {
            len: ids.len(),
            min: ids.min().unwrap_or(0),
            max: ids.max().unwrap_or(0),
        }
    }
}

/// The rows of one id set, contiguous, in the order of `order`.
pub(super) struct Pack {
    mark: Mark,
    /// The set itself: a mark alone could match another set.
    ids: RoaringBitmap,
    order: Vec<u32>,
    rows: Vec<Line>,
}

/// The bytes a pack of `ids` with rows of `stride` bytes holds (what
/// [`Pack::bytes`] says of it once built).
pub(super) fn bytes_for(ids: &RoaringBitmap, stride: usize) -> usize {
    ids.len() as usize * (stride + 4) + ids.serialized_size()
}

impl Pack {
    fn bytes(&self) -> usize {
        self.rows.capacity() * LINE + self.order.capacity() * 4 + self.ids.serialized_size()
    }

    /// The `m` best of the set: `score` offers the ids of a run of rows
    /// (given with their rows, `stride` bytes each) to the heap it is
    /// handed. Large packs are cut into runs scored in parallel.
    pub(super) fn scan(
        &self,
        m: usize,
        stride: usize,
        score: impl Fn(&[u32], &[u8], &mut TopK) + Sync,
    ) -> TopK {
        let rows: &[u8] = bytemuck::cast_slice(&self.rows);
        let n = self.order.len();
        debug_assert_eq!(rows.len(), n * stride);
        let run = |from: usize, to: usize| {
            let mut best = TopK::new(m);
            score(
                &self.order[from..to],
                &rows[from * stride..to * stride],
                &mut best,
            );
            best
        };
        if n >= PARALLEL_SCAN_MIN && rayon::current_num_threads() > 1 {
            (0..n.div_ceil(PARALLEL_CHUNK))
                .into_par_iter()
                .map(|c| run(c * PARALLEL_CHUNK, ((c + 1) * PARALLEL_CHUNK).min(n)))
                .reduce(|| TopK::new(m), TopK::merge)
        } else {
            run(0, n)
        }
    }
}

/// What [`Packs::find`] knows of an id set.
pub(super) enum Found {
    /// Packed already.
    Packed(Arc<Pack>),
    /// Scanned before: pack it now.
    Again,
    /// Not seen before (or too small to pack).
    New,
}

/// The packs of one set of codes.
#[derive(Default)]
pub(super) struct Packs {
    /// Id sets scanned once and not packed, most recent last.
    seen: VecDeque<Mark>,
    /// Packs, least recently used first.
    packed: Vec<Arc<Pack>>,
    bytes: usize,
}

impl Packs {
    /// Forgets every pack and every set seen (the rows changed).
    pub(super) fn clear(&mut self) {
        *self = Packs::default();
    }

    /// Heap bytes held by the packs.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Looks up `ids`, remembering it as seen.
    pub(super) fn find(&mut self, ids: &RoaringBitmap) -> Found {
        if ids.len() < MIN_IDS {
            return Found::New;
        }
        let mark = Mark::of(ids);
        if let Some(i) = self
            .packed
            .iter()
            .position(|p| p.mark == mark && p.ids == *ids)
        {
            let pack = self.packed.remove(i);
            self.packed.push(pack.clone());
            return Found::Packed(pack);
        }
        if let Some(i) = self.seen.iter().position(|s| *s == mark) {
            self.seen.remove(i);
            return Found::Again;
        }
        if self.seen.len() == SEEN {
            self.seen.pop_front();
        }
        self.seen.push_back(mark);
        Found::New
    }

    /// Keeps `pack`, dropping the least recently used ones to stay within
    /// `budget` bytes; a pack larger than `budget` is not kept.
    pub(super) fn insert(&mut self, pack: Arc<Pack>, budget: usize) {
        let size = pack.bytes();
        if size > budget {
            return;
        }
        while self.bytes + size > budget && !self.packed.is_empty() {
            let old = self.packed.remove(0);
            self.bytes -= old.bytes();
        }
        self.bytes += size;
        self.packed.push(pack);
    }
}

/// Copies the rows of `ids` (rows of `lines` lines each; ids past the
/// last row are skipped, as a scan skips them) out of `all` into a pack.
pub(super) fn pack(all: &[Line], lines: usize, ids: &RoaringBitmap) -> Arc<Pack> {
    let slots = all.len() / lines.max(1);
    let mut order = Vec::with_capacity(ids.len() as usize);
    let mut rows = Vec::with_capacity(ids.len() as usize * lines);
    for id in ids.iter().take_while(|&id| (id as usize) < slots) {
        order.push(id);
        let first = id as usize * lines;
        rows.extend_from_slice(&all[first..first + lines]);
    }
    Arc::new(Pack {
        mark: Mark::of(ids),
        ids: ids.clone(),
        order,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(from: u32, n: u32) -> RoaringBitmap {
        (from..from + n).collect()
    }

    #[test]
    fn packs_stay_within_their_budget_least_recently_used_first_out() {
        let all = vec![Line([1; LINE]); 10_000];
        let (a, b, c) = (set(0, 2000), set(2000, 2000), set(4000, 2000));
        let one = pack(&all, 1, &a).bytes();
        let mut packs = Packs::default();
        for s in [&a, &b, &c] {
            assert!(matches!(packs.find(s), Found::New));
            assert!(matches!(packs.find(s), Found::Again));
            packs.insert(pack(&all, 1, s), 2 * one);
        }
        // Room for two: `a`, the oldest, went.
        assert_eq!(packs.bytes(), 2 * one);
        assert!(matches!(packs.find(&b), Found::Packed(_)));
        assert!(matches!(packs.find(&c), Found::Packed(_)));
        assert!(matches!(packs.find(&a), Found::New));
        // `b` was used after `c`: a new pack evicts `c`.
        assert!(matches!(packs.find(&b), Found::Packed(_)));
        packs.insert(pack(&all, 1, &a), 2 * one);
        assert!(matches!(packs.find(&c), Found::New));
        assert!(matches!(packs.find(&b), Found::Packed(_)));
        // A pack larger than the budget is not kept.
        packs.insert(pack(&all, 1, &set(0, 9000)), 2 * one);
        assert_eq!(packs.bytes(), 2 * one);
        // Ids past the rows are left out, as a scan leaves them.
        let p = pack(&all, 1, &set(9000, 2000));
        assert_eq!(p.order.len(), 1000);
        packs.clear();
        assert_eq!(packs.bytes(), 0);
    }
}
