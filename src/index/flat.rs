//! Exact nearest-neighbour scan: the index of small collections, the plan for
//! selective filters, and the oracle of the recall tests.

// The executor that calls this layer is being written in another worktree;
// until it lands, some items here are only used by tests.
#![cfg_attr(not(test), allow(dead_code))]

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::index::distance::{cosine_from_dot, dot, l2_squared};
use crate::index::graph::distance::prefetch;
use crate::index::vectors::VectorStore;
use crate::index::Metric;

/// Scans of at least this many ids (by the iterator's size hint) are split
/// across rayon's threads (measurements in the doc of [`exact_top_k`]).
pub(crate) const PARALLEL_SCAN_MIN: usize = 100_000;

/// Ids per rayon task in a parallel scan.
pub(crate) const PARALLEL_CHUNK: usize = 16_384;

/// A candidate of the top-k heap, ordered by (distance, id): the heap's
/// maximum is the worst candidate kept, and between equal distances the larger
/// id is worse, so ties keep the smaller id whatever the scan order.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    /// Distance, with every NaN made the positive NaN (after +∞ in the total
    /// order) and −0 made +0.
    dist: f32,
    /// Internal id.
    id: u32,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.dist
            .total_cmp(&other.dist)
            .then(self.id.cmp(&other.id))
    }
}

/// Makes a distance totally ordered the way callers expect: NaN sorts after
/// every number, +∞ included (`total_cmp` puts the positive NaN last,
/// a negative one first), and −0 equals +0.
#[inline(always)]
fn order_key(d: f32) -> f32 {
    if d.is_nan() {
        f32::NAN
    } else {
        d + 0.0
    }
}

/// A bounded max-heap keeping the `k` best candidates seen (also the
/// candidates of a code scan, `index/codes.rs`).
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    /// An empty heap keeping the `k` best.
    pub(crate) fn new(k: usize) -> Self {
        TopK {
            k,
            // Bounded: a huge k from a query costs memory only as ids come.
            heap: BinaryHeap::with_capacity(k.min(4096) + 1),
        }
    }

    #[inline(always)]
    fn push(&mut self, c: Candidate) {
        if self.heap.len() < self.k {
            self.heap.push(c);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if c < *worst {
                *worst = c;
            }
        }
    }

    /// Offers `id` at distance `dist` (NaN ranks last, −0 as +0).
    #[inline(always)]
    pub(crate) fn offer(&mut self, id: u32, dist: f32) {
        self.push(Candidate {
            dist: order_key(dist),
            id,
        });
    }

    /// The union of two heaps, still the `k` best.
    pub(crate) fn merge(mut self, other: TopK) -> TopK {
        for c in other.heap {
            self.push(c);
        }
        self
    }

    /// The ids kept, in no particular order.
    pub(crate) fn into_ids(self) -> Vec<u32> {
        self.heap.into_iter().map(|c| c.id).collect()
    }

    /// Nearest first.
    fn into_sorted(self) -> Vec<(u32, f32)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|c| (c.id, c.dist))
            .collect()
    }
}

/// Ids read ahead of a scan, whose data is prefetched while the previous
/// batch is scored.
const AHEAD: usize = 16;

/// Up to `AHEAD` ids of `ids` below `len`, into `batch`; returns how many
/// (0 once `ids` is exhausted).
#[inline(always)]
fn next_batch(ids: &mut impl Iterator<Item = u32>, len: usize, batch: &mut [u32; AHEAD]) -> usize {
    let mut n = 0;
    for id in ids.by_ref() {
        if (id as usize) < len {
            batch[n] = id;
            n += 1;
            if n == AHEAD {
                break;
            }
        }
    }
    n
}

/// Calls `visit` with every id of `ids` below `len`, in order, having
/// called `fetch` (a prefetch of what `visit` reads) for it a batch ahead.
///
/// The ids of a filter are scattered over the store, so a plain loop waits
/// on memory for every vector (~30 ns at 50-d). Reading the ids a batch
/// ahead and prefetching their data while the current batch is scored
/// overlaps those waits: on 399k GloVe-50 with every tenth id, 1.5x faster
/// (BENCHMARKS.md, issue 15).
#[inline(always)]
pub(crate) fn visit_prefetched(
    mut ids: impl Iterator<Item = u32>,
    len: usize,
    fetch: impl Fn(u32),
    mut visit: impl FnMut(u32),
) {
    let (mut cur, mut next) = ([0u32; AHEAD], [0u32; AHEAD]);
    let mut n_cur = next_batch(&mut ids, len, &mut cur);
    while n_cur > 0 {
        let n_next = next_batch(&mut ids, len, &mut next);
        for &id in &next[..n_next] {
            fetch(id);
        }
        for &id in &cur[..n_cur] {
            visit(id);
        }
        std::mem::swap(&mut cur, &mut next);
        n_cur = n_next;
    }
}

/// Scans `ids` with a distance specialised for one metric (the `match` on the
/// metric is hoisted out of the loop by monomorphisation).
fn scan_with<F: Fn(&[f32]) -> f32>(
    store: &VectorStore,
    k: usize,
    ids: impl Iterator<Item = u32>,
    dist: F,
) -> TopK {
    let mut top = TopK::new(k);
    visit_prefetched(
        ids,
        store.len(),
        |id| prefetch(store.get(id)),
        |id| top.offer(id, dist(store.get(id))),
    );
    top
}

fn scan(
    store: &VectorStore,
    metric: Metric,
    query: &[f32],
    k: usize,
    ids: impl Iterator<Item = u32>,
) -> TopK {
    match metric {
        Metric::Cosine => scan_with(store, k, ids, |v| cosine_from_dot(dot(query, v))),
        Metric::Dot => scan_with(store, k, ids, |v| -dot(query, v)),
        // Ordered by the squared distance; the root is taken of the k results.
        Metric::L2 => scan_with(store, k, ids, |v| l2_squared(query, v)),
    }
}

/// The `k` ids among `ids` nearest to `query` with their distances
/// ([`crate::index::distance::distance`] units), nearest first; equal
/// distances are ordered by smaller id, so the result does not depend on the
/// order of `ids`. Duplicate ids in `ids` may appear twice.
///
/// `query` must be prepared for `metric` like the stored vectors. Ids at or
/// past `store.len()` are skipped; a query whose length differs from the
/// store's dimension, or `k == 0`, gives an empty result. NaN distances sort
/// last and are reported as +∞.
///
/// Cost: one distance per id and `O(log k)` heap work for the few that enter
/// the heap. When the iterator announces at least 100,000 ids (its size hint)
/// and rayon has more than one thread, the ids are collected and scanned in
/// chunks in parallel, then the per-chunk heaps are merged.
///
/// Measured (rustc -O, dim 50, k 10, on the shared 2-core machine under a
/// load average of ~9): sequential ≈ 7M vectors/s; splitting over 2 threads
/// was slower below 100k ids (0.7× at 10k, 0.76× at 50k) and 1.2× faster at
/// 100k and 400k — hence the threshold. On an idle machine the gain should
/// be closer to 2× and the threshold could come down.
pub(crate) fn exact_top_k(
    store: &VectorStore,
    metric: Metric,
    query: &[f32],
    k: usize,
    ids: impl IntoIterator<Item = u32>,
) -> Vec<(u32, f32)> {
    if k == 0 || query.len() != store.dim() {
        return Vec::new();
    }
    let ids = ids.into_iter();
    let top = if ids.size_hint().0 >= PARALLEL_SCAN_MIN && rayon::current_num_threads() > 1 {
        let ids: Vec<u32> = ids.collect();
        ids.par_chunks(PARALLEL_CHUNK)
            .map(|chunk| scan(store, metric, query, k, chunk.iter().copied()))
            .reduce(|| TopK::new(k), TopK::merge)
    } else {
        scan(store, metric, query, k, ids)
    };
    let mut out = top.into_sorted();
    for (_, d) in &mut out {
        if d.is_nan() {
            *d = f32::INFINITY;
        } else if metric == Metric::L2 {
            *d = d.sqrt();
        }
    }
    out
}

/// [`exact_top_k`] over every slot of the store (`0..store.len()`).
pub(crate) fn exact_top_k_all(
    store: &VectorStore,
    metric: Metric,
    query: &[f32],
    k: usize,
) -> Vec<(u32, f32)> {
    let n = u32::try_from(store.len()).unwrap_or(u32::MAX);
    exact_top_k(store, metric, query, k, 0..n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::distance::distance;
    use crate::index::vectors::prepare;

    use crate::test_rng::uniform;

    fn random_store(metric: Metric, n: usize, dim: usize, seed: u64) -> VectorStore {
        let mut s = seed;
        let mut store = VectorStore::new(dim);
        for id in 0..n {
            let mut v: Vec<f32> = (0..dim).map(|_| uniform(&mut s)).collect();
            prepare(metric, &mut v);
            store.set(id as u32, &v).unwrap();
        }
        store
    }

    /// Sort everything, take k: the obviously correct answer.
    fn brute(
        store: &VectorStore,
        metric: Metric,
        q: &[f32],
        k: usize,
        ids: &[u32],
    ) -> Vec<(u32, f32)> {
        let mut all: Vec<(u32, f32)> = ids
            .iter()
            .map(|&id| (id, distance(metric, q, store.get(id))))
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }

    #[test]
    fn matches_brute_force_for_every_metric() {
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            let store = random_store(metric, 500, 19, 1);
            let mut s = 99u64;
            for _ in 0..20 {
                let mut q: Vec<f32> = (0..19).map(|_| uniform(&mut s)).collect();
                prepare(metric, &mut q);
                let ids: Vec<u32> = (0..500).collect();
                let got = exact_top_k(&store, metric, &q, 10, ids.iter().copied());
                let want = brute(&store, metric, &q, 10, &ids);
                assert_eq!(got.len(), 10);
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g.0, w.0, "{metric:?}");
                    assert!((g.1 - w.1).abs() <= 1e-5 * (1.0 + w.1.abs()));
                }
                // Nearest first.
                assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
                // A subset of ids (every third) only returns those ids.
                let sub: Vec<u32> = (0..500).step_by(3).collect();
                let got = exact_top_k(&store, metric, &q, 7, sub.iter().copied());
                let want = brute(&store, metric, &q, 7, &sub);
                let g: Vec<u32> = got.iter().map(|x| x.0).collect();
                let w: Vec<u32> = want.iter().map(|x| x.0).collect();
                assert_eq!(g, w);
            }
        }
    }

    #[test]
    fn ties_are_broken_by_smaller_id_whatever_the_order() {
        let mut store = VectorStore::new(2);
        for id in 0..20u32 {
            // Ids 0..10 and 10..20 hold the same two vectors.
            let v = if id % 2 == 0 { [1.0, 0.0] } else { [0.0, 1.0] };
            store.set(id, &v).unwrap();
        }
        let q = [1.0, 0.0];
        let fwd = exact_top_k(&store, Metric::L2, &q, 4, 0..20);
        let rev = exact_top_k(&store, Metric::L2, &q, 4, (0..20).rev());
        assert_eq!(fwd, rev);
        let ids: Vec<u32> = fwd.iter().map(|x| x.0).collect();
        assert_eq!(ids, vec![0, 2, 4, 6]);
        assert!(fwd.iter().all(|x| x.1 == 0.0));
    }

    #[test]
    fn edge_cases() {
        let store = random_store(Metric::L2, 10, 4, 3);
        let q = [0.0; 4];
        assert!(exact_top_k(&store, Metric::L2, &q, 0, 0..10).is_empty());
        // Wrong query dimension: empty, no panic.
        assert!(exact_top_k(&store, Metric::L2, &[0.0; 3], 5, 0..10).is_empty());
        // k larger than the candidates: all of them.
        assert_eq!(exact_top_k(&store, Metric::L2, &q, 50, 0..10).len(), 10);
        // Ids past the end are skipped.
        assert_eq!(exact_top_k(&store, Metric::L2, &q, 50, 5..1000).len(), 5);
        assert!(exact_top_k(&store, Metric::L2, &q, 5, std::iter::empty()).is_empty());
        assert_eq!(exact_top_k_all(&store, Metric::L2, &q, 3).len(), 3);
        // NaN sorts last.
        let mut st = VectorStore::new(1);
        st.set(0, &[f32::NAN]).unwrap();
        st.set(1, &[5.0]).unwrap();
        let r = exact_top_k(&st, Metric::Dot, &[1.0], 2, 0..2);
        assert_eq!(r[0], (1, -5.0));
        assert_eq!(r[1], (0, f32::INFINITY));
    }

    #[test]
    fn parallel_path_equals_sequential() {
        // 120k ids of dimension 4 over a store of 3000 slots (ids repeat via
        // modulo are not allowed, so use a big store of small vectors).
        let n = 120_000usize;
        let store = random_store(Metric::Dot, n, 4, 5);
        let q = [0.3, -0.2, 0.9, 0.1];
        let par = exact_top_k(&store, Metric::Dot, &q, 10, 0..n as u32);
        // A filter iterator has a size hint of 0: sequential path.
        let seq = exact_top_k(&store, Metric::Dot, &q, 10, (0..n as u32).filter(|_| true));
        assert_eq!(par, seq);
    }
}
