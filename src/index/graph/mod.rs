//! Our own HNSW graph index (issue 7): internal `u32` ids, vectors in one
//! aligned array, layer-0 links in one fixed-stride array, upper layers
//! sparse, per-node locks for concurrent inserts, tombstones, filter-aware
//! search, and a one-file persisted form that loads without a rebuild.
//!
//! - `store.rs`: the arrays and their invariants;
//! - `build.rs`: insertion and the neighbour-selection heuristic;
//! - `search.rs`: layer search, filtered search and the plan choice;
//! - `persist.rs`: the file format; `distance.rs`: SIMD kernels.
//!
//! Ids are the slots: the caller's `u32` ids index the arrays directly, so
//! they should be dense (as the engine's internal ids are).

mod build;
pub(crate) mod distance;
mod persist;
mod rows;
mod scratch;
mod search;
pub(crate) mod store;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_persist;
#[cfg(test)]
mod testutil;

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use parking_lot::{Mutex, RwLock};

use super::{AnnIndex, GraphParams, IdFilter, Metric};
use crate::error::Result;
use distance::Kernels;
use store::Store;

pub(crate) use search::{filtered_walk_ef, FilterMode};

/// Highest layer a node may get (levels are stored in a byte).
const MAX_LEVEL: usize = 16;
/// Entry-point word of an empty graph.
const NO_ENTRY: u64 = u64::MAX;

/// Counters of which search path ran, for tests and `EXPLAIN`-style reports.
#[derive(Default, Debug)]
pub(crate) struct PathCounts {
    /// Searches without filter or tombstones.
    pub(crate) plain: AtomicUsize,
    /// Filtered graph searches.
    pub(crate) filtered: AtomicUsize,
    /// Filtered graph searches that also expanded two hops.
    pub(crate) two_hop: AtomicUsize,
    /// Exact scans chosen for very selective filters.
    pub(crate) exact: AtomicUsize,
}

/// An HNSW index. Safe to share between threads: inserts, searches and
/// tombstones may run concurrently.
pub(crate) struct GraphIndex {
    metric: Metric,
    dim: usize,
    params: GraphParams,
    /// The distance kernel of `metric` for this CPU, resolved once.
    dist_fn: distance::KernelFn,
    /// Level multiplier, 1 / ln(m).
    ml: f64,
    /// Seed of the level draw (kept in the file so rebuilt ids match).
    seed: u64,
    store: RwLock<Store>,
    /// `(max_level << 32) | entry_id`, or [`NO_ENTRY`].
    entry: AtomicU64,
    /// Held while a node that raises the top layer is inserted.
    entry_lock: Mutex<()>,
    count: AtomicUsize,
    deleted_count: AtomicUsize,
    /// Which search paths ran.
    pub(crate) paths: PathCounts,
}

impl GraphIndex {
    /// An empty index. `m` is clamped to 2..=128 and `ef_construction` to at
    /// least `m`; `capacity_hint` slots are reserved up front.
    pub(crate) fn new(
        metric: Metric,
        dim: usize,
        params: GraphParams,
        capacity_hint: usize,
    ) -> GraphIndex {
        let m = params.m.clamp(2, 128);
        let params = GraphParams {
            m,
            ef_construction: params.ef_construction.max(m),
        };
        let store = Store::new(dim, m, capacity_hint.min(1 << 26));
        Self::from_parts(metric, dim, params, 0x9e37_79b9_7f4a_7c15, store)
    }

    fn from_parts(
        metric: Metric,
        dim: usize,
        params: GraphParams,
        seed: u64,
        store: Store,
    ) -> GraphIndex {
        GraphIndex {
            metric,
            dim,
            params,
            dist_fn: Kernels::detect().for_metric(metric),
            ml: 1.0 / (params.m as f64).ln(),
            seed,
            store: RwLock::new(store),
            entry: AtomicU64::new(NO_ENTRY),
            entry_lock: Mutex::new(()),
            count: AtomicUsize::new(0),
            deleted_count: AtomicUsize::new(0),
            paths: PathCounts::default(),
        }
    }

    /// The metric.
    #[cfg(test)]
    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    /// The vector dimension.
    #[cfg(test)]
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Puts a tombstone on `id`: it stays in the graph for navigation but is
    /// never returned. Returns whether `id` was present and not yet deleted.
    pub(crate) fn mark_deleted(&self, id: u32) -> bool {
        let st = self.store.read_recursive();
        if !st.present(id) {
            return false;
        }
        let bit = 1u64 << (id % 64);
        let old = st.deleted[id as usize / 64].fetch_or(bit, Relaxed);
        let fresh = old & bit == 0;
        if fresh {
            self.deleted_count.fetch_add(1, Relaxed);
        }
        fresh
    }

    /// Number of tombstoned nodes.
    #[cfg(test)]
    pub(crate) fn deleted_len(&self) -> usize {
        self.deleted_count.load(Relaxed)
    }

    /// Entry point and top layer, if the graph is not empty.
    fn entry(&self) -> Option<(u32, usize)> {
        let e = self.entry.load(std::sync::atomic::Ordering::Acquire);
        (e != NO_ENTRY).then_some((e as u32, (e >> 32) as usize))
    }

    fn set_entry(&self, id: u32, level: usize) {
        let e = ((level as u64) << 32) | id as u64;
        self.entry.store(e, std::sync::atomic::Ordering::Release);
    }
}

/// Opens `<dir>/<basename>.graph` written by [`AnnIndex::save`], ready to
/// search at once. Files written for another metric or dimension, damaged,
/// truncated or of another format version give an error of kind `Corrupt`.
pub(crate) fn load(dir: &Path, basename: &str, metric: Metric, dim: usize) -> Result<GraphIndex> {
    persist::load(dir, basename, metric, dim)
}

impl AnnIndex for GraphIndex {
    fn insert(&self, items: &[(u32, &[f32])]) {
        self.insert_batch(items);
    }

    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<IdFilter<'_>>,
    ) -> Vec<(u32, f32)> {
        self.search_with(query, k, ef, filter, FilterMode::Auto)
    }

    fn len(&self) -> usize {
        self.count.load(Relaxed)
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.store.read_recursive().heap_bytes()
    }

    fn save(&self, dir: &Path, basename: &str) -> Result<()> {
        persist::save(self, dir, basename)
    }

    fn mark_deleted(&self, id: u32) -> bool {
        // Present or already deleted: either way the index skips it.
        GraphIndex::mark_deleted(self, id) || self.store.read_recursive().present(id)
    }
}
