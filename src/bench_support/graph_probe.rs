//! The native graph index on its own, for `examples/ann_bench` (the index
//! against hnswlib on the same data): build, search with each filter path,
//! save, load, and which path a search took. Not a stable API.

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;

use crate::error::Result;
use crate::index::graph::{self, distance::Kernels, FilterMode, GraphIndex};
use crate::index::{AnnIndex, GraphParams, Metric};

/// How a filtered search walks (see `src/index/graph/search.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterPath {
    /// The index chooses: a filtered walk, or an exact scan of the few
    /// allowed ids.
    Auto,
    /// Always the filtered graph walk.
    Graph,
    /// The filtered walk that also expands two hops.
    TwoHop,
}

/// A graph index over inner-product vectors (normalised rows: cosine).
pub struct GraphProbe(GraphIndex);

impl GraphProbe {
    /// An empty index for `capacity` vectors of `dim` dimensions.
    pub fn new(dim: usize, m: usize, ef_construction: usize, capacity: usize) -> Self {
        let params = GraphParams { m, ef_construction };
        GraphProbe(GraphIndex::new(Metric::Dot, dim, params, capacity))
    }

    /// Loads the index `basename` saved in `dir`.
    pub fn load(dir: &Path, basename: &str, dim: usize) -> Result<Self> {
        graph::load(dir, basename, Metric::Dot, dim).map(GraphProbe)
    }

    /// Inserts `(id, vector)` pairs, in parallel on the current rayon pool.
    pub fn insert(&self, items: &[(u32, &[f32])]) {
        self.0.insert(items);
    }

    /// Top-`k` (id, distance) at `ef`, optionally only among ids `filter`
    /// admits, walking as `path` says.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<&(dyn Fn(u32) -> bool + Sync)>,
        path: FilterPath,
    ) -> Vec<(u32, f32)> {
        let mode = match path {
            FilterPath::Auto => FilterMode::Auto,
            FilterPath::Graph => FilterMode::Graph,
            FilterPath::TwoHop => FilterMode::TwoHop,
        };
        self.0.search_with(query, k, ef, filter, mode)
    }

    /// Saves the index as `basename` in `dir`.
    pub fn save(&self, dir: &Path, basename: &str) -> Result<()> {
        self.0.save(dir, basename)
    }

    /// Heap bytes the index accounts for.
    pub fn memory_bytes(&self) -> usize {
        self.0.memory_bytes()
    }

    /// How many searches took each path so far: plain, filtered graph walk,
    /// two-hop walk, exact scan.
    pub fn path_counts(&self) -> [usize; 4] {
        let p = &self.0.paths;
        [
            p.plain.load(Relaxed),
            p.filtered.load(Relaxed),
            p.two_hop.load(Relaxed),
            p.exact.load(Relaxed),
        ]
    }
}

/// The distance kernels this CPU runs (e.g. `avx2+fma`).
pub fn kernels_name() -> &'static str {
    Kernels::detect().name
}

/// The inner-product kernel this CPU runs (SIMD when available).
pub fn dot_kernel() -> fn(&[f32], &[f32]) -> f32 {
    Kernels::detect().dot
}
