//! How long each stage of loading a collection from disk took, for the
//! benchmarks that ask where a cold query's time goes
//! (`bench_support::collection_load_stages`).

use std::time::{Duration, Instant};

/// The stages of [`Collection::load`](super::Collection::load).
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadTimes {
    /// Opening the redb file and reading the meta record.
    pub open: Duration,
    /// Reading and decoding the node and vector chunks.
    pub records: Duration,
    /// Building the attribute indexes while the persisted graph loads.
    pub indexes: Duration,
    /// Filling the node table and catching the graph up.
    pub finish: Duration,
}

/// A stopwatch that reports the time since its last lap.
pub(super) struct Lap(Instant);

impl Lap {
    /// A stopwatch started now.
    pub(super) fn start() -> Lap {
        Lap(Instant::now())
    }

    /// The time since the previous lap (or the start), and a new lap.
    pub(super) fn lap(&mut self) -> Duration {
        let now = Instant::now();
        let took = now - self.0;
        self.0 = now;
        took
    }
}
