//! Insertion: slots are placed under the store's write lock (a short copy),
//! then linked under its read lock, in parallel for large batches, with
//! per-node locks around each link-list rewrite (as hnswlib does).

use std::sync::atomic::Ordering::Relaxed;

use rayon::prelude::*;

use super::scratch::{key, key_dist, key_id, with_scratch, Scratch};
use super::store::{read_links, write_links, Store};
use super::{GraphIndex, MAX_LEVEL};

/// Batches at least this large are linked on the rayon pool.
const PARALLEL_MIN: usize = 64;

/// splitmix64: a tiny, good 64-bit mixer.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl GraphIndex {
    /// The top layer of `id`: geometric with ratio 1/m, drawn from a hash of
    /// the id so that builds are reproducible whatever the thread count.
    fn draw_level(&self, id: u32) -> u8 {
        let u = ((mix64(self.seed ^ id as u64) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() * self.ml) as usize).min(MAX_LEVEL) as u8
    }

    /// Inserts `items`, skipping vectors of the wrong dimension and ids that
    /// are already present.
    pub(crate) fn insert_batch(&self, items: &[(u32, &[f32])]) {
        let mut placed: Vec<(u32, u8)> = Vec::with_capacity(items.len());
        {
            let mut st = self.store.write();
            let want = items
                .iter()
                .filter(|(_, v)| v.len() == self.dim)
                .map(|(id, _)| *id as usize + 1)
                .max()
                .unwrap_or(0);
            st.grow(want);
            for &(id, v) in items {
                if v.len() != self.dim || st.present(id) {
                    continue;
                }
                let level = self.draw_level(id);
                // Upper offsets are u32: refuse nodes that would overflow them.
                let words = level as usize * (st.m + 1);
                if st.upper.len() + words > u32::MAX as usize {
                    continue;
                }
                st.place(id, v, level);
                placed.push((id, level));
            }
        }
        let st = self.store.read_recursive();
        let link = |&(id, level): &(u32, u8)| with_scratch(|sc| self.link(&st, id, level, sc));
        if placed.len() >= PARALLEL_MIN {
            placed.par_iter().for_each(link);
        } else {
            placed.iter().for_each(link);
        }
        self.count.fetch_add(placed.len(), Relaxed);
    }

    /// Links the placed node `id` into every layer up to `level`.
    fn link(&self, st: &Store, id: u32, level: u8, sc: &mut Scratch) {
        let level = level as usize;
        let mut guard = None;
        let (ep, top) = loop {
            match self.entry() {
                Some((ep, top)) if level <= top || guard.is_some() => break (ep, top),
                Some(_) => guard = Some(self.entry_lock.lock()),
                None => {
                    let g = guard.take().unwrap_or_else(|| self.entry_lock.lock());
                    if self.entry().is_none() {
                        self.set_entry(id, level);
                        return;
                    }
                    guard = Some(g);
                }
            }
        };
        let flat = st.flat();
        let q = &flat[id as usize * st.stride..][..st.stride];
        let mut cur = ep;
        let mut cur_d = self.dist(q, row(st, flat, ep));
        for layer in (level + 1..=top).rev() {
            (cur, cur_d) = self.greedy(st, q, cur, cur_d, layer, sc);
        }
        for layer in (0..=level.min(top)).rev() {
            self.search_layer(
                st,
                q,
                &[key(cur_d, cur)],
                self.params.ef_construction,
                layer,
                sc,
                None,
            );
            sc.sorted.clear();
            sc.sorted.extend(sc.top.drain());
            sc.sorted.sort_unstable();
            if let Some(&best) = sc.sorted.first() {
                (cur, cur_d) = (key_id(best), key_dist(best));
            }
            let sorted = std::mem::take(&mut sc.sorted);
            self.select(st, &sorted, self.params.m, &mut sc.chosen);
            sc.sorted = sorted;
            sc.ids.clear();
            sc.ids.extend(sc.chosen.iter().map(|&k| key_id(k)));
            let ids = std::mem::take(&mut sc.ids);
            self.set_own_links(st, id, layer, &ids, sc);
            for &n in &ids {
                self.add_link(st, n, id, layer, sc);
            }
            sc.ids = ids;
        }
        if level > top {
            self.set_entry(id, level);
        }
        drop(guard);
    }

    /// Greedy descent on one layer: moves to the nearest neighbour until none
    /// is nearer.
    pub(crate) fn greedy(
        &self,
        st: &Store,
        q: &[f32],
        mut cur: u32,
        mut cur_d: f32,
        layer: usize,
        sc: &mut Scratch,
    ) -> (u32, f32) {
        let flat = st.flat();
        loop {
            read_links(st.block(cur, layer), &mut sc.links);
            let mut moved = false;
            for &n in &sc.links {
                let d = self.dist(q, row(st, flat, n));
                if d < cur_d {
                    (cur, cur_d, moved) = (n, d, true);
                }
            }
            if !moved {
                return (cur, cur_d);
            }
        }
    }

    /// The neighbour-selection heuristic (HNSW paper, Algorithm 4; hnswlib's
    /// `getNeighborsByHeuristic2`): walking candidates nearest first, keep one
    /// only if it is nearer to the base than to every one already kept.
    /// `sorted` holds keys of (distance to base, id) in ascending order.
    fn select(&self, st: &Store, sorted: &[u64], m: usize, out: &mut Vec<u64>) {
        out.clear();
        if sorted.len() <= m {
            // Room for all: keep them (as hnswlib does).
            out.extend_from_slice(sorted);
            return;
        }
        let flat = st.flat();
        for &c in sorted {
            if out.len() >= m {
                break;
            }
            let (cd, cv) = (key_dist(c), row(st, flat, key_id(c)));
            let good = out
                .iter()
                .all(|&r| self.dist(cv, row(st, flat, key_id(r))) >= cd);
            if good {
                out.push(c);
            }
        }
    }

    /// Writes the new node's own links on `layer`, merging any that other
    /// threads added meanwhile.
    fn set_own_links(&self, st: &Store, id: u32, layer: usize, ids: &[u32], sc: &mut Scratch) {
        let block = st.block(id, layer);
        let _g = st.locks[id as usize].lock();
        read_links(block, &mut sc.links2);
        if sc.links2.is_empty() {
            write_links(block, ids);
            return;
        }
        let extra = std::mem::take(&mut sc.links2);
        let merged: Vec<u32> = ids.iter().chain(&extra).copied().collect();
        sc.links2 = extra;
        self.shrink_into(st, id, layer, &merged, sc);
    }

    /// Adds `new` to the links of `node` on `layer`; when full, re-selects
    /// with the heuristic among the old links and `new`.
    fn add_link(&self, st: &Store, node: u32, new: u32, layer: usize, sc: &mut Scratch) {
        let block = st.block(node, layer);
        let cap = block.len() - 1;
        let _g = st.locks[node as usize].lock();
        read_links(block, &mut sc.links2);
        if sc.links2.contains(&new) || node == new {
            return;
        }
        if sc.links2.len() < cap {
            block[sc.links2.len() + 1].store(new, Relaxed);
            block[0].store(sc.links2.len() as u32 + 1, Relaxed);
            return;
        }
        sc.links2.push(new);
        let merged = std::mem::take(&mut sc.links2);
        self.shrink_into(st, node, layer, &merged, sc);
        sc.links2 = merged;
    }

    /// Rewrites the block of `node` with the heuristic's pick from `ids`.
    /// The caller holds the node's lock.
    fn shrink_into(&self, st: &Store, node: u32, layer: usize, ids: &[u32], sc: &mut Scratch) {
        let block = st.block(node, layer);
        let flat = st.flat();
        let base = row(st, flat, node);
        let mut sorted: Vec<u64> = ids
            .iter()
            .filter(|&&n| n != node)
            .map(|&n| key(self.dist(base, row(st, flat, n)), n))
            .collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut chosen = std::mem::take(&mut sc.chosen);
        self.select(st, &sorted, block.len() - 1, &mut chosen);
        let kept: Vec<u32> = chosen.iter().map(|&k| key_id(k)).collect();
        sc.chosen = chosen;
        write_links(block, &kept);
    }

    /// Internal distance between two padded rows.
    #[inline]
    ///
    /// NaN (from `∞ − ∞` in a dot product of huge vectors) becomes the
    /// positive NaN, whose [`key`](super::scratch::key) orders after every
    /// number, +∞ included, whatever the sign bit the kernel produced; a
    /// comparison with it is false, so the greedy descent never moves to it.
    pub(crate) fn dist(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = (self.dist_fn)(a, b);
        if d.is_nan() {
            f32::NAN
        } else {
            d
        }
    }
}

/// The row of `id` in `flat`.
#[inline(always)]
pub(crate) fn row<'a>(st: &Store, flat: &'a [f32], id: u32) -> &'a [f32] {
    &flat[id as usize * st.stride..][..st.stride]
}
