//! Vector indexes: distance kernels, the exact scan (`flat`), and approximate
//! graph indexes behind the [`AnnIndex`] trait: `graph` (our own HNSW, the
//! default) and `hnsw` (wraps hnsw_rs, kept to compare against; the only
//! file that imports that crate).

pub(crate) mod codes;
pub(crate) mod distance;
#[cfg(test)]
mod extreme_tests;
pub(crate) mod flat;
pub(crate) mod graph;
#[cfg(feature = "hnsw-rs")]
pub(crate) mod hnsw;
pub(crate) mod quantized;
pub(crate) mod vectors;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

/// How distance between two vectors is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// 1 − cosine similarity (vectors are L2-normalised on the way in).
    Cosine,
    /// Euclidean distance.
    L2,
    /// Negative inner product (larger dot = nearer).
    Dot,
}

impl Metric {
    /// The name used in PQL (`'cosine'`, `'l2'`, `'dot'`).
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Dot => "dot",
        }
    }

    /// Parses a PQL metric name (case-insensitive).
    pub fn parse(s: &str) -> Option<Metric> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" => Some(Metric::Cosine),
            "l2" | "euclidean" => Some(Metric::L2),
            "dot" | "ip" | "inner_product" => Some(Metric::Dot),
            _ => None,
        }
    }
}

/// Build parameters of a graph index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphParams {
    /// Neighbours per node on upper layers (layer 0 keeps 2·m).
    pub m: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
}

/// A predicate over internal ids: `true` means the id may be returned.
pub type IdFilter<'a> = &'a (dyn Fn(u32) -> bool + Sync);

/// An approximate nearest-neighbour index over internal `u32` ids.
///
/// Vectors given to it are already prepared for the metric (normalised for
/// cosine). Ids are never reused for another vector while the index lives:
/// an update gives the node a new id and the old one is filtered out
/// (tombstone) until the index is rebuilt.
pub(crate) trait AnnIndex: Send + Sync {
    /// Adds vectors; large batches are inserted in parallel.
    fn insert(&self, items: &[(u32, &[f32])]);

    /// The `k` nearest ids with distances, nearest first, searching with
    /// breadth `ef`. Ids for which `filter` is false are never returned.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<IdFilter<'_>>,
    ) -> Vec<(u32, f32)>;

    /// Number of vectors inserted (tombstoned ones included).
    #[cfg_attr(
        not(any(test, feature = "bench", feature = "hnsw-rs")),
        allow(dead_code)
    )]
    fn len(&self) -> usize;

    /// Approximate heap bytes held by the index.
    fn memory_bytes(&self) -> usize;

    /// Puts a tombstone on `id` if the index can skip deleted ids by itself;
    /// returns `false` when it cannot (the caller must then filter them out).
    fn mark_deleted(&self, id: u32) -> bool {
        let _ = id;
        false
    }

    /// Writes the index to `dir` under files starting with `basename`,
    /// atomically: a crash leaves either the old files or the new ones.
    fn save(&self, dir: &Path, basename: &str) -> Result<()>;
}
