//! Search: greedy descent through the upper layers, then a best-first search
//! on layer 0. With a filter or tombstones, excluded nodes are still walked
//! through (they keep the graph connected) but never enter the results;
//! selective filters also look two hops out through excluded nodes (as
//! ACORN does) so that allowed results are found sooner; very selective
//! filters get an exact scan, which is both exact and cheaper than a long
//! walk. The choice is made in
//! [`GraphIndex::plan`] and counted in [`GraphIndex::paths`].

use std::cmp::Reverse;
use std::sync::atomic::Ordering::Relaxed;

use super::build::{mix64, row};
use super::distance::{external, prefetch};
use super::scratch::{key, key_dist, key_id, with_scratch, Scratch};
use super::store::{read_links, Lane, Store, LANE};
use super::GraphIndex;
use crate::index::IdFilter;

/// Cost of one step of an exact scan (filter call, tombstone check), in
/// distance evaluations. Measured on GloVe-50: ~2.7 ns against ~26 ns.
const SCAN_STEP_COST: f64 = 0.1;
/// Distance evaluations of a filtered graph walk per unit of `ef / rate`
/// (measured on GloVe-50, M=16: ~55).
const WALK_COST: f64 = 55.0;
/// The smallest `ef` of a filtered walk. Results that fail the filter do
/// not count, and at `ef` 64 recall at 10% selectivity fell just short of
/// 0.99 on GloVe-50; at 128 it is 0.992–0.998 from 50% to 10% on 399k
/// (BENCHMARKS.md). Walks asked for more keep what they asked for: doubling
/// every `ef`, as before, cost 1.6–1.8× the time for no recall needed.
const FILTERED_MIN_EF: usize = 128;
/// Ids sampled to estimate a filter's selectivity.
const SAMPLES: u64 = 512;

/// How a filtered search runs. `Auto` chooses from the estimated
/// selectivity; the others force a path (tests and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FilterMode {
    /// Choose from the filter's estimated selectivity.
    Auto,
    /// Graph walk, excluded nodes walked through.
    Graph,
    /// Graph walk that also expands neighbours of excluded nodes.
    TwoHop,
    /// Exact scan of the allowed ids.
    Exact,
}

/// The `ef` a filtered walk runs with when `ef` is asked for: at least
/// [`FILTERED_MIN_EF`]. The planner prices and prints this breadth.
pub(crate) fn filtered_walk_ef(ef: usize) -> usize {
    ef.max(FILTERED_MIN_EF)
}

impl GraphIndex {
    /// [`AnnIndex::search`](crate::index::AnnIndex::search) with a chosen
    /// filter path. Returns nothing for a query of the wrong dimension.
    pub(crate) fn search_with(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<IdFilter<'_>>,
        mode: FilterMode,
    ) -> Vec<(u32, f32)> {
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let st = self.store.read_recursive();
        let Some((ep, top)) = self.entry() else {
            return Vec::new();
        };
        let ef = ef.max(k);
        with_scratch(|sc| {
            let mut qbuf = std::mem::take(&mut sc.query);
            qbuf.clear();
            qbuf.resize(st.stride / LANE, Lane::default());
            bytemuck::cast_slice_mut::<Lane, f32>(&mut qbuf)[..self.dim].copy_from_slice(query);
            let q: &[f32] = bytemuck::cast_slice(&qbuf);
            let has_deleted = self.deleted_count.load(Relaxed) > 0;
            let allow = |id: u32| !st.is_deleted(id) && filter.is_none_or(|f| f(id));
            let mode = match (filter, mode) {
                (None, _) if !has_deleted => None,
                (None, _) => Some(FilterMode::Graph),
                (Some(f), FilterMode::Auto) => Some(self.plan(&st, f, ef)),
                (Some(_), m) => Some(m),
            };
            let out = if mode == Some(FilterMode::Exact) {
                self.paths.exact.fetch_add(1, Relaxed);
                self.exact(&st, q, k, &allow, sc)
            } else {
                let flat = st.flat();
                let (mut cur, mut cur_d) = (ep, self.dist(q, row(&st, flat, ep)));
                for layer in (1..=top).rev() {
                    (cur, cur_d) = self.greedy(&st, q, cur, cur_d, layer, sc);
                }
                let start = [key(cur_d, cur)];
                match mode {
                    None => {
                        self.paths.plain.fetch_add(1, Relaxed);
                        self.search_layer(&st, q, &start, ef, 0, sc, None);
                    }
                    Some(m) => {
                        let ef = if filter.is_some() {
                            filtered_walk_ef(ef)
                        } else {
                            ef
                        };
                        let two_hop = m == FilterMode::TwoHop;
                        let c = if two_hop {
                            &self.paths.two_hop
                        } else {
                            &self.paths.filtered
                        };
                        c.fetch_add(1, Relaxed);
                        self.search_layer(&st, q, &start, ef, 0, sc, Some((&allow, two_hop)));
                    }
                }
                sc.sorted.clear();
                sc.sorted.extend(sc.top.drain());
                sc.sorted.sort_unstable();
                sc.sorted
                    .iter()
                    .take(k)
                    .map(|&c| (key_id(c), external(self.metric, key_dist(c))))
                    .collect()
            };
            sc.query = qbuf;
            out
        })
    }

    /// Chooses the path for `filter` from its pass rate on a sample of
    /// present ids: an exact scan when it costs fewer distance evaluations
    /// than the walk would (selective filters), else a filtered walk.
    ///
    /// The two-hop walk is never chosen here: on GloVe-50 it was slower than
    /// the plain filtered walk at 10% and 1% for the same recall (see
    /// docs/graph-index.md); it stays available as [`FilterMode::TwoHop`].
    fn plan(&self, st: &Store, filter: IdFilter<'_>, ef: usize) -> FilterMode {
        let slots = st.slots() as u64;
        let (mut tried, mut passed) = (0u32, 0u32);
        for i in 0..SAMPLES * 2 {
            if tried as u64 == SAMPLES {
                break;
            }
            let id = (mix64(i) % slots.max(1)) as u32;
            if st.present(id) {
                tried += 1;
                passed += filter(id) as u32;
            }
        }
        let rate = passed as f64 / tried.max(1) as f64;
        let allowed = rate * self.count.load(Relaxed) as f64;
        let exact = slots as f64 * SCAN_STEP_COST + allowed;
        let walk = WALK_COST * filtered_walk_ef(ef) as f64 / rate.max(1e-9);
        if exact <= walk {
            FilterMode::Exact
        } else {
            FilterMode::Graph
        }
    }

    /// Exact top-`k` over the allowed present ids.
    fn exact(
        &self,
        st: &Store,
        q: &[f32],
        k: usize,
        allow: &dyn Fn(u32) -> bool,
        sc: &mut Scratch,
    ) -> Vec<(u32, f32)> {
        let flat = st.flat();
        sc.top.clear();
        for (id, &level) in st.levels.iter().enumerate() {
            let id = id as u32;
            if level == super::store::ABSENT || !allow(id) {
                continue;
            }
            let kk = key(self.dist(q, row(st, flat, id)), id);
            if sc.top.len() < k {
                sc.top.push(kk);
            } else if sc.top.peek().is_some_and(|&w| kk < w) {
                sc.top.pop();
                sc.top.push(kk);
            }
        }
        sc.sorted.clear();
        sc.sorted.extend(sc.top.drain());
        sc.sorted.sort_unstable();
        sc.sorted
            .iter()
            .map(|&c| (key_id(c), external(self.metric, key_dist(c))))
            .collect()
    }

    /// Best-first search of one layer from `entries` (keys), leaving up to
    /// `ef` results in `sc.top`. With `filter = Some((allow, two_hop))`, only
    /// allowed nodes enter the results.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn search_layer(
        &self,
        st: &Store,
        q: &[f32],
        entries: &[u64],
        ef: usize,
        layer: usize,
        sc: &mut Scratch,
        filter: Option<(&dyn Fn(u32) -> bool, bool)>,
    ) {
        match filter {
            None => self.layer_impl::<false>(st, q, entries, ef, layer, sc, &|_| true, false),
            Some((allow, two_hop)) => {
                self.layer_impl::<true>(st, q, entries, ef, layer, sc, allow, two_hop)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn layer_impl<const FILTERED: bool>(
        &self,
        st: &Store,
        q: &[f32],
        entries: &[u64],
        ef: usize,
        layer: usize,
        sc: &mut Scratch,
        allow: &dyn Fn(u32) -> bool,
        two_hop: bool,
    ) {
        let flat = st.flat();
        sc.visited.reset(st.slots());
        sc.cand.clear();
        sc.top.clear();
        for &e in entries {
            let id = key_id(e);
            sc.visited.check_and_mark(id);
            sc.cand.push(Reverse(e));
            if !FILTERED || allow(id) {
                sc.top.push(e);
            }
        }
        let mut bound = u64::MAX;
        if sc.top.len() >= ef {
            bound = sc.top.peek().copied().unwrap_or(u64::MAX);
        }
        let mut links = std::mem::take(&mut sc.links);
        let mut links2 = std::mem::take(&mut sc.links2);
        while let Some(Reverse(c)) = sc.cand.pop() {
            if c > bound {
                break;
            }
            // The next candidate's links are likely read next: start loading.
            if let Some(&Reverse(next)) = sc.cand.peek() {
                prefetch(st.block(key_id(next), layer));
            }
            read_links(st.block(key_id(c), layer), &mut links);
            for &n in &links {
                if !sc.visited.is_marked(n) {
                    prefetch(row(st, flat, n));
                }
            }
            for &n in &links {
                if sc.visited.check_and_mark(n) {
                    continue;
                }
                let ok = !FILTERED || allow(n);
                let kk = key(self.dist(q, row(st, flat, n)), n);
                if kk >= bound {
                    continue;
                }
                consider(sc, kk, ok, ef, &mut bound);
                if FILTERED && two_hop && !ok {
                    // A promising excluded node: also look at its allowed
                    // neighbours now (two hops), so results fill sooner. It
                    // stays queued itself, so anti-correlated filters (allowed
                    // nodes far from the query) are still reached.
                    read_links(st.block(n, layer), &mut links2);
                    for &n2 in &links2 {
                        if sc.visited.is_marked(n2) || !allow(n2) {
                            continue;
                        }
                        sc.visited.check_and_mark(n2);
                        let k2 = key(self.dist(q, row(st, flat, n2)), n2);
                        if k2 < bound {
                            consider(sc, k2, true, ef, &mut bound);
                        }
                    }
                }
            }
        }
        sc.links = links;
        sc.links2 = links2;
    }
}

/// Queues a node found below the bound; if allowed, adds it to the results
/// and tightens the bound once `ef` results are held.
#[inline(always)]
fn consider(sc: &mut Scratch, kk: u64, allowed: bool, ef: usize, bound: &mut u64) {
    sc.cand.push(Reverse(kk));
    if allowed {
        sc.top.push(kk);
        if sc.top.len() > ef {
            sc.top.pop();
        }
        if sc.top.len() >= ef {
            *bound = sc.top.peek().copied().unwrap_or(u64::MAX);
        }
    }
}
