//! Per-thread search state reused between queries: an epoch-stamped visited
//! array, the two heaps, and small buffers. Nothing is allocated per query
//! once a thread has warmed up.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::store::Lane;

/// Packs a distance and an id into one `u64` whose integer order is the
/// order of `(distance, id)`; heaps then compare plain integers.
#[inline]
pub(crate) fn key(d: f32, id: u32) -> u64 {
    let b = d.to_bits();
    let o = if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    };
    ((o as u64) << 32) | id as u64
}

/// The distance packed in a [`key`].
#[inline]
pub(crate) fn key_dist(k: u64) -> f32 {
    let o = (k >> 32) as u32;
    let b = if o & 0x8000_0000 != 0 {
        o & 0x7fff_ffff
    } else {
        !o
    };
    f32::from_bits(b)
}

/// The id packed in a [`key`].
#[inline]
pub(crate) fn key_id(k: u64) -> u32 {
    k as u32
}

/// Visited marks: a slot is visited iff its stamp equals the current epoch.
#[derive(Default)]
pub(crate) struct Visited {
    stamps: Vec<u16>,
    epoch: u16,
}

impl Visited {
    /// Starts a new search over `n` slots: all marks are cleared in O(1)
    /// (O(n) once every 65,535 searches, when the epoch wraps).
    pub(crate) fn reset(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }

    /// Marks `id`; returns whether it was already marked.
    #[inline]
    pub(crate) fn check_and_mark(&mut self, id: u32) -> bool {
        let s = &mut self.stamps[id as usize];
        let seen = *s == self.epoch;
        *s = self.epoch;
        seen
    }

    /// Whether `id` is marked.
    #[inline]
    pub(crate) fn is_marked(&self, id: u32) -> bool {
        self.stamps[id as usize] == self.epoch
    }
}

/// Everything one search or one insertion needs besides the index.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Visited marks.
    pub(crate) visited: Visited,
    /// Candidates to expand, nearest first.
    pub(crate) cand: BinaryHeap<Reverse<u64>>,
    /// Best results so far, worst on top.
    pub(crate) top: BinaryHeap<u64>,
    /// Link ids read from a block.
    pub(crate) links: Vec<u32>,
    /// Second-hop link ids.
    pub(crate) links2: Vec<u32>,
    /// Sorted candidates handed to the selection heuristic.
    pub(crate) sorted: Vec<u64>,
    /// Output of the heuristic.
    pub(crate) chosen: Vec<u64>,
    /// Ids chosen, per layer during insertion.
    pub(crate) ids: Vec<u32>,
    /// The query, padded to the row stride.
    pub(crate) query: Vec<Lane>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch, or with a fresh one if the thread's
/// is in use (a filter that searches from inside a search).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut Scratch::default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_like_distances() {
        let ds = [-3.5f32, -1.0, -0.0, 0.0, 1e-9, 0.5, 2.0, 1e30];
        for w in ds.windows(2) {
            assert!(key(w[0], 9) <= key(w[1], 1), "{} {}", w[0], w[1]);
        }
        for &d in &ds {
            assert_eq!(key_dist(key(d, 7)).to_bits(), d.to_bits());
            assert_eq!(key_id(key(d, 7)), 7);
        }
    }

    #[test]
    fn visited_epochs_clear_marks() {
        let mut v = Visited::default();
        v.reset(10);
        assert!(!v.check_and_mark(3));
        assert!(v.check_and_mark(3));
        for _ in 0..70_000 {
            v.reset(10);
            assert!(!v.is_marked(3));
        }
    }
}
