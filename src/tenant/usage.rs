//! Usage metering: per-tenant atomic counters that statements add to (no
//! lock, no disk on the query path), and a background thread that moves
//! them into time buckets of the catalog at most every second.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use redb::Database;

use crate::error::Result;
use crate::storage::usage_store::{self, Row};
use crate::tenant::record::name_of_usage_key;

/// What is metered. The order is the order of [`METRICS`] and of the
/// stored rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    /// Statements run against the tenant (data statements).
    Statements,
    /// Similarity searches.
    Searches,
    /// Vectors a search considered (its candidates).
    VectorsScanned,
    /// Nodes created or upserted.
    Inserts,
    /// Nodes updated.
    Updates,
    /// Nodes deleted.
    Deletes,
    /// Time inside the engine, microseconds.
    ComputeMicros,
    /// Texts embedded by `embed(...)` (one per text, not per word).
    EmbeddingTokens,
    /// Statements refused by a rate limit.
    RateLimited,
    /// Statements refused by a quota.
    QuotaExceeded,
    /// Statements that failed otherwise.
    Errors,
}

/// Number of counted metrics: the width of a stored usage row.
pub(crate) use crate::storage::usage_store::N;

/// Column names of the metrics, in [`Metric`] order.
pub(crate) const METRICS: [&str; N] = [
    "statements",
    "searches",
    "vectors_scanned",
    "inserts",
    "updates",
    "deletes",
    "compute_us",
    "embedding_tokens",
    "rate_limited",
    "quota_exceeded",
    "errors",
];

/// Counts of one tenant not yet flushed, plus the storage gauge.
#[derive(Default)]
pub(crate) struct Counters {
    counts: [AtomicU64; N],
    storage: AtomicU64,
}

impl Counters {
    /// Adds `n` to `metric`: one relaxed atomic add.
    #[cfg(any(test, feature = "bench"))]
    #[inline]
    pub(crate) fn add(&self, metric: Metric, n: u64) {
        self.counts[metric as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// Adds a statement's counts, in [`METRICS`] order.
    pub(crate) fn add_all(&self, counts: &[u64; N]) {
        for (i, n) in counts.iter().enumerate() {
            if *n > 0 {
                self.counts[i].fetch_add(*n, Ordering::Relaxed);
            }
        }
    }

    /// Sets the storage gauge.
    pub(crate) fn set_storage(&self, bytes: u64) {
        self.storage.store(bytes, Ordering::Relaxed);
    }

    /// The counts not flushed yet.
    pub(crate) fn pending(&self) -> [u64; N] {
        std::array::from_fn(|i| self.counts[i].load(Ordering::Acquire))
    }

    /// The storage gauge.
    pub(crate) fn storage(&self) -> u64 {
        self.storage.load(Ordering::Relaxed)
    }

    /// Takes the unflushed counts (leaving zero).
    fn take(&self) -> [u64; N] {
        std::array::from_fn(|i| self.counts[i].swap(0, Ordering::AcqRel))
    }

    /// Puts counts back after a failed flush.
    fn give_back(&self, counts: &[u64; N]) {
        for (c, n) in self.counts.iter().zip(counts) {
            c.fetch_add(*n, Ordering::AcqRel);
        }
    }
}

/// The counters of every tenant, and the thread that flushes them.
pub(crate) struct Metering {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    db: Arc<Database>,
    /// Cluster mode: also count per tenant name in this node's own rows
    /// ([`Metering::count_per_node`]).
    per_node: AtomicBool,
    tenants: RwLock<HashMap<String, Arc<Counters>>>,
    stop: AtomicBool,
    /// Serialises flushes (the thread's and the final one).
    flushing: Mutex<()>,
}

/// How often counts are flushed.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl Metering {
    /// Starts metering into the catalog database `db`.
    pub(crate) fn start(db: Arc<Database>) -> Metering {
        let shared = Arc::new(Shared {
            db,
            per_node: AtomicBool::new(false),
            tenants: RwLock::new(HashMap::new()),
            stop: AtomicBool::new(false),
            flushing: Mutex::new(()),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("pql-usage-flush".into())
            .spawn(move || {
                while !s.stop.load(Ordering::Acquire) {
                    std::thread::park_timeout(FLUSH_EVERY);
                    s.flush();
                }
            })
            .ok();
        Metering {
            shared,
            thread: Mutex::new(thread),
        }
    }

    /// The counters of `tenant` (created on first use). Callers cache the
    /// `Arc`, so this map is not on the query path.
    pub(crate) fn counters(&self, tenant: &str) -> Arc<Counters> {
        if let Some(c) = self.shared.tenants.read().get(tenant) {
            return c.clone();
        }
        self.shared
            .tenants
            .write()
            .entry(tenant.to_string())
            .or_default()
            .clone()
    }

    /// Writes the unflushed counts to the catalog now.
    pub(crate) fn flush(&self) {
        self.shared.flush();
    }

    /// Counts from now on also in this node's own rows, per tenant name and
    /// day (cluster mode: what the node publishes for the reports to sum).
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn count_per_node(&self) {
        self.shared.per_node.store(true, Ordering::Release);
    }

    /// This node's own day rows starting at or after `from` (Unix seconds):
    /// (tenant name, day start, row).
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn node_days(&self, from: i64) -> Result<Vec<(String, i64, Row)>> {
        usage_store::node_days(&self.shared.db, from)
    }

    /// This node's own usage per tenant name for day buckets starting in
    /// `[from, to)`, the unflushed counts added when `now` is in that
    /// range: (name, (start of its last day, counts and storage gauge)).
    pub(crate) fn node_totals(
        &self,
        from: i64,
        to: i64,
        now: i64,
    ) -> Result<BTreeMap<String, (i64, Row)>> {
        let _g = self.shared.flushing.lock();
        let mut out: BTreeMap<String, (i64, Row)> = BTreeMap::new();
        for (name, day, row) in usage_store::node_days(&self.shared.db, from)? {
            if day < to {
                merge_day(&mut out, name, day, &row);
            }
        }
        if (from..to).contains(&now) {
            let today = usage_store::bucket_start(now, usage_store::DAY);
            for (key, c) in self.shared.tenants.read().iter() {
                let pending = c.pending();
                if pending.iter().all(|n| *n == 0) {
                    continue;
                }
                let mut row = [0; N + 1];
                add_counts(&mut row, &pending);
                row[N] = c.storage();
                merge_day(&mut out, name_of_usage_key(key).to_string(), today, &row);
            }
        }
        Ok(out)
    }

    /// Usage per tenant for day buckets starting in `[from, to)` (Unix
    /// seconds), the unflushed counts added when `now` is in that range:
    /// (tenant, counts, last storage gauge), sorted by tenant. Runs under
    /// the flush lock, so nothing is counted twice or missed.
    pub(crate) fn totals(&self, from: i64, to: i64, now: i64) -> Result<Vec<(String, Row)>> {
        let _g = self.shared.flushing.lock();
        let mut out: BTreeMap<String, (i64, Row)> = BTreeMap::new();
        for (tenant, start, row) in usage_store::days(&self.shared.db, from, to)? {
            merge_day(&mut out, tenant, start, &row);
        }
        if (from..to).contains(&now) {
            for (tenant, c) in self.shared.tenants.read().iter() {
                let pending = c.pending();
                let e = out.entry(tenant.clone()).or_insert((i64::MIN, [0; N + 1]));
                add_counts(&mut e.1, &pending);
                if pending.iter().any(|n| *n > 0) || e.1[N] == 0 {
                    e.1[N] = c.storage();
                }
            }
        }
        Ok(out.into_iter().map(|(k, (_, row))| (k, row)).collect())
    }
}

/// Adds day `day`'s `row` of tenant `name` to `out`: the counts add up,
/// and the storage gauge is the one of the latest day (the largest of that
/// day's, from several nodes; a usage key has one row a day).
pub(crate) fn merge_day(out: &mut BTreeMap<String, (i64, Row)>, name: String, day: i64, row: &Row) {
    let e = out.entry(name).or_insert((i64::MIN, [0; N + 1]));
    add_counts(&mut e.1, row);
    if day > e.0 || (day == e.0 && row[N] > e.1[N]) {
        e.0 = day;
        e.1[N] = row[N];
    }
}

/// Adds the first `N` counts of `from` to `into`.
fn add_counts(into: &mut Row, from: &[u64]) {
    for (slot, n) in into.iter_mut().zip(from.iter().take(N)) {
        *slot = slot.saturating_add(*n);
    }
}

impl Shared {
    fn flush(&self) {
        let _g = self.flushing.lock();
        let taken: Vec<(String, Arc<Counters>, [u64; N], u64)> = self
            .tenants
            .read()
            .iter()
            .map(|(name, c)| {
                let counts = c.take();
                (
                    name.clone(),
                    c.clone(),
                    counts,
                    c.storage.load(Ordering::Relaxed),
                )
            })
            .filter(|(_, _, counts, storage)| counts.iter().any(|n| *n > 0) || *storage > 0)
            .collect();
        if taken.is_empty() {
            return;
        }
        let rows: Vec<(&str, [u64; N], u64)> = taken
            .iter()
            .map(|(name, _, counts, storage)| (name.as_str(), *counts, *storage))
            .collect();
        let now = chrono::Utc::now().timestamp();
        let per_node = self
            .per_node
            .load(Ordering::Acquire)
            .then_some(name_of_usage_key as fn(&str) -> &str);
        if usage_store::add(&self.db, now, &rows, per_node).is_err() {
            // Keep the counts for the next attempt rather than lose them.
            for (_, c, counts, _) in &taken {
                c.give_back(counts);
            }
        }
    }
}

impl Drop for Metering {
    /// Stops the flush thread and writes what is left.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.lock().take() {
            t.thread().unpark();
            let _ = t.join();
        }
        self.shared.flush();
    }
}
