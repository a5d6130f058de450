//! Process-wide counters of graph index work, shown by `SHOW STATS`: how
//! often a graph was built from scratch, how many vectors loads found newer
//! than a graph's checkpoint, and how many checkpoints were written.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static FULL_REBUILDS: AtomicU64 = AtomicU64::new(0);
static CAUGHT_UP_NODES: AtomicU64 = AtomicU64::new(0);
static CHECKPOINTS: AtomicU64 = AtomicU64::new(0);

/// The counters since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GraphStats {
    /// Graphs built from all of a collection's vectors: the first build past
    /// `flat_threshold`, a compaction of tombstones, or a load that found no
    /// usable checkpoint.
    pub(crate) full_rebuilds: u64,
    /// Vectors a load found committed after the graph's checkpoint (searched
    /// exactly beside it, then inserted by the next write or save).
    pub(crate) caught_up_nodes: u64,
    /// Graph checkpoints written while writes went on (not at close).
    pub(crate) checkpoints: u64,
}

/// Reads the counters.
pub(crate) fn snapshot() -> GraphStats {
    GraphStats {
        full_rebuilds: FULL_REBUILDS.load(Relaxed),
        caught_up_nodes: CAUGHT_UP_NODES.load(Relaxed),
        checkpoints: CHECKPOINTS.load(Relaxed),
    }
}

pub(super) fn note_full_rebuild() {
    FULL_REBUILDS.fetch_add(1, Relaxed);
}

pub(super) fn note_caught_up(nodes: u64) {
    CAUGHT_UP_NODES.fetch_add(nodes, Relaxed);
}

pub(super) fn note_checkpoint() {
    CHECKPOINTS.fetch_add(1, Relaxed);
}
