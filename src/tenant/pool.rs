//! The pool of loaded tenants: which tenants hold collections in memory,
//! how much memory they use, when each was last used, and the hit / miss /
//! eviction counters behind `SHOW STATS`.
//!
//! The query path only touches atomics of its own tenant (and a
//! thread-local list of touched tenants). Everything that needs a view of
//! all loaded tenants — measuring memory, evicting the least recently used,
//! the idle TTL — runs in [`Catalog::after_statement`], once the statement
//! has released its collections, so an eviction never waits on (or pulls a
//! collection out from under) a running statement: a tenant whose
//! collections are held by another statement is skipped.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::collection;
use crate::config::Config;
use crate::error::Result;
use crate::storage::closer;
use crate::tenant::lifecycle;
use crate::tenant::status::{Access, Storage};
use crate::tenant::{Catalog, Tenant};

/// A tenant's memory is measured again at the end of a statement at most
/// this often unless a change marked it dirty (a full measure walks every
/// node of its collections; with 1,000 small tenants in use, measuring
/// each every 100 ms took 6% of the statements' time).
const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// ... and, unless a change marked it dirty, at most once per this many
/// times the last measure took, so that these measures cost at most 2% of
/// the time: on 399,000 vectors a measure takes tens of milliseconds, and
/// every 100 ms that was a third of the time of a thread running queries.
/// (The periodic pass still measures every loaded tenant, about once a
/// second.)
const MEASURE_SPACING: u64 = 50;

thread_local! {
    /// Tenants whose collections the current statement used.
    static TOUCHED: RefCell<Vec<Weak<Tenant>>> = const { RefCell::new(Vec::new()) };
}

/// Statistics of the pool of loaded tenants (also shown by `SHOW STATS`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolStats {
    /// Tenants with at least one collection in memory.
    pub loaded_tenants: usize,
    /// Estimated memory those collections hold, in bytes.
    pub memory_bytes: usize,
    /// `Config::memory_budget_bytes`.
    pub memory_budget_bytes: Option<usize>,
    /// Statements that found their collection loaded.
    pub hits: u64,
    /// Statements that had to load their collection from disk.
    pub misses: u64,
    /// Tenants unloaded to get back under the memory budget or tenant limit.
    pub evictions: u64,
    /// Tenants unloaded because they were idle longer than `Config::idle_ttl`.
    pub idle_unloads: u64,
    /// Collections loaded from disk.
    pub loads: u64,
    /// Total time spent loading them.
    pub load_time: Duration,
}

impl PoolStats {
    /// Average time of one load, in milliseconds (0 before any load).
    pub fn avg_load_ms(&self) -> f64 {
        if self.loads == 0 {
            return 0.0;
        }
        self.load_time.as_secs_f64() * 1000.0 / self.loads as f64
    }
}

/// The engine-wide part of the pool.
pub(crate) struct Pool {
    budget: Option<usize>,
    max_loaded: Option<usize>,
    idle_ttl: Option<Duration>,
    /// How often the periodic pass (idle TTL, retention purge) runs.
    every: Duration,
    epoch: Instant,
    epoch_ms: i64,
    loaded: Mutex<HashMap<String, Weak<Tenant>>>,
    loaded_count: AtomicUsize,
    memory: AtomicI64,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
    idle_unloads: AtomicU64,
    loads: AtomicU64,
    load_nanos: AtomicU64,
    /// Held by the thread running an eviction pass; others skip theirs.
    evicting: Mutex<()>,
    last_periodic: AtomicU64,
}

impl Pool {
    /// A pool with the limits of `config`.
    pub(crate) fn new(config: &Config) -> Arc<Pool> {
        let every = config
            .idle_ttl
            .map_or(Duration::from_secs(1), |t| t / 2)
            .clamp(Duration::from_millis(10), Duration::from_secs(1));
        Arc::new(Pool {
            budget: config.memory_budget_bytes,
            max_loaded: config.max_loaded_tenants,
            idle_ttl: config.idle_ttl,
            every,
            epoch: Instant::now(),
            epoch_ms: crate::clock::now_ms(),
            loaded: Mutex::new(HashMap::new()),
            loaded_count: AtomicUsize::new(0),
            memory: AtomicI64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            idle_unloads: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            load_nanos: AtomicU64::new(0),
            evicting: Mutex::new(()),
            last_periodic: AtomicU64::new(0),
        })
    }

    /// Nanoseconds since the pool was created (never 0, so 0 can mean "never").
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    /// Whether memory or the number of loaded tenants is over its limit.
    fn over(&self) -> bool {
        self.budget
            .is_some_and(|b| self.memory.load(Relaxed) > b as i64)
            || self
                .max_loaded
                .is_some_and(|m| self.loaded_count.load(Relaxed) > m)
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> PoolStats {
        PoolStats {
            loaded_tenants: self.loaded_count.load(Relaxed),
            memory_bytes: self.memory.load(Relaxed).max(0) as usize,
            memory_budget_bytes: self.budget,
            hits: self.hits.load(Relaxed),
            misses: self.misses.load(Relaxed),
            evictions: self.evictions.load(Relaxed),
            idle_unloads: self.idle_unloads.load(Relaxed),
            loads: self.loads.load(Relaxed),
            load_time: Duration::from_nanos(self.load_nanos.load(Relaxed)),
        }
    }

    /// The loaded tenants, least recently used first.
    fn lru(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<Arc<Tenant>> = self
            .loaded
            .lock()
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        v.sort_by_key(|t| t.slot.used_ns.load(Relaxed));
        v
    }
}

/// A tenant's place in the pool.
pub(crate) struct Slot {
    pool: Arc<Pool>,
    me: Weak<Tenant>,
    /// Last use, in [`Pool::now_ns`] (0: not since the engine opened).
    used_ns: AtomicU64,
    /// Memory of the loaded collections when last measured.
    memory: AtomicUsize,
    measured_ns: AtomicU64,
    /// How long the last measure took, in ns.
    measure_cost_ns: AtomicU64,
    /// Set when a collection was loaded, created or dropped: measure again.
    dirty: AtomicBool,
    /// Persisted last access, from the catalog record (ms since the epoch).
    stored_ms: Option<i64>,
}

impl Slot {
    /// The slot of tenant `me`.
    pub(super) fn new(pool: &Arc<Pool>, me: Weak<Tenant>, stored_ms: Option<i64>) -> Slot {
        Slot {
            pool: pool.clone(),
            me,
            used_ns: AtomicU64::new(0),
            memory: AtomicUsize::new(0),
            measured_ns: AtomicU64::new(0),
            measure_cost_ns: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            stored_ms,
        }
    }

    /// Marks the tenant used by the current statement.
    fn touch(&self) {
        self.used_ns.store(self.pool.now_ns(), Relaxed);
        TOUCHED.with(|t| {
            let mut t = t.borrow_mut();
            if !t.iter().any(|w| w.ptr_eq(&self.me)) {
                t.push(self.me.clone());
            }
        });
    }

    /// A statement found its collection loaded.
    pub(super) fn hit(&self) {
        self.pool.hits.fetch_add(1, Relaxed);
        self.touch();
    }

    /// A statement loaded a collection from disk in `took`.
    pub(super) fn loaded(&self, name: &str, took: Duration) {
        self.pool.misses.fetch_add(1, Relaxed);
        self.pool.loads.fetch_add(1, Relaxed);
        self.pool
            .load_nanos
            .fetch_add(took.as_nanos() as u64, Relaxed);
        self.changed(name);
    }

    /// A collection was loaded, created or dropped: the tenant is (still)
    /// loaded and its memory must be measured again.
    pub(super) fn changed(&self, name: &str) {
        let mut loaded = self.pool.loaded.lock();
        if loaded.insert(name.to_string(), self.me.clone()).is_none() {
            self.pool.loaded_count.fetch_add(1, Relaxed);
        }
        drop(loaded);
        self.dirty.store(true, Relaxed);
        self.touch();
    }

    /// The tenant's collections were all unloaded.
    pub(super) fn unloaded(&self, name: &str) {
        if self.pool.loaded.lock().remove(name).is_some() {
            self.pool.loaded_count.fetch_sub(1, Relaxed);
        }
        let old = self.memory.swap(0, Relaxed);
        self.pool.memory.fetch_sub(old as i64, Relaxed);
    }

    /// Sets the measured memory to `bytes`.
    /// Whether the last measure is old enough to be repeated at `now`
    /// ([`MEASURE_EVERY`], [`MEASURE_SPACING`]).
    fn stale(&self, now: u64) -> bool {
        let every = (MEASURE_EVERY.as_nanos() as u64).max(
            self.measure_cost_ns
                .load(Relaxed)
                .saturating_mul(MEASURE_SPACING),
        );
        now.saturating_sub(self.measured_ns.load(Relaxed)) > every
    }

    fn set_memory(&self, bytes: usize) {
        let old = self.memory.swap(bytes, Relaxed);
        self.pool
            .memory
            .fetch_add(bytes as i64 - old as i64, Relaxed);
        self.measured_ns.store(self.pool.now_ns(), Relaxed);
    }

    /// Last access in milliseconds since the Unix epoch, if known.
    pub(crate) fn last_accessed_ms(&self) -> Option<i64> {
        match self.used_ns.load(Relaxed) {
            0 => self.stored_ms,
            ns => Some(self.pool.epoch_ms + (ns / 1_000_000) as i64),
        }
    }
}

impl Tenant {
    /// The one-column status (without copying the record).
    pub(crate) fn status(&self) -> &'static str {
        self.record.read().status()
    }

    /// Where the data is and what the tenant may do (without copying the
    /// record).
    pub(crate) fn state(&self) -> (Storage, Access) {
        let r = self.record.read();
        (r.storage, r.access)
    }

    /// Measures the memory of the loaded collections, without waiting: a
    /// collection locked by a running writer keeps the old figure.
    fn measure(&self) {
        let started = Instant::now();
        let Some(loaded) = self.collections.try_lock() else {
            return;
        };
        if loaded.is_empty() {
            self.slot.unloaded(&self.name);
            return;
        }
        let mut bytes = 0;
        for c in loaded.values() {
            match c.try_read() {
                Some(c) => bytes += c.memory_bytes(),
                None => return,
            }
        }
        self.slot.set_memory(bytes);
        let cost = started.elapsed().as_nanos() as u64;
        self.slot.measure_cost_ns.store(cost, Relaxed);
    }

    /// Unloads the tenant if no statement holds any of its collections;
    /// runs `then` before letting statements load them again.
    fn try_unload(&self, then: impl FnOnce() -> Result<()>) -> Result<bool> {
        let Some(mut loaded) = self.collections.try_lock() else {
            return Ok(false);
        };
        if loaded.is_empty() || loaded.values().any(|c| Arc::strong_count(c) > 1) {
            return Ok(false);
        }
        for c in loaded.values() {
            c.write().flush()?;
        }
        // Closed and freed on the closer thread: the statement that made
        // the room does not wait for another tenant's file syncs.
        let files = loaded
            .keys()
            .map(|name| self.dir.join(collection::file_name(name)))
            .collect();
        let evicted: Vec<_> = loaded.drain().map(|(_, c)| c).collect();
        closer::close_later(files, move || drop(evicted));
        self.slot.unloaded(&self.name);
        then()?;
        Ok(true)
    }
}

impl Catalog {
    /// The pool's statistics.
    pub(crate) fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Unloads `tenant` if nothing holds it: status `inactive` (an `active`
    /// one; other statuses stay), last access persisted.
    fn unload_idle(&self, tenant: &Tenant) -> Result<bool> {
        let last = tenant.slot.last_accessed_ms();
        tenant.try_unload(|| {
            self.update_deferred(tenant, |r| {
                let after = lifecycle::after_unload(r.storage);
                lifecycle::move_storage(r, after, crate::clock::now_ms());
                r.last_accessed_ms = last;
                Ok(())
            })
            .map(|_| ())
        })
    }

    /// Runs after every statement, once it has released its collections:
    /// measures the tenants it used, evicts the least recently used other
    /// tenants while over the limits, and now and then runs the periodic
    /// pass. Failures are left for the next pass: the statement succeeded.
    pub(crate) fn after_statement(&self, config: &Config) {
        let touched = TOUCHED.with(|t| std::mem::take(&mut *t.borrow_mut()));
        let now = self.pool.now_ns();
        for t in touched.iter().filter_map(Weak::upgrade) {
            if t.slot.dirty.swap(false, Relaxed) || t.slot.stale(now) {
                t.measure();
            }
        }
        if self.pool.over() {
            self.evict();
        }
        let last = self.pool.last_periodic.load(Relaxed);
        if now.saturating_sub(last) >= self.pool.every.as_nanos() as u64
            && self
                .pool
                .last_periodic
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            let _ = self.periodic(config);
        }
    }

    /// Unloads least recently used tenants until under the limits; the most
    /// recently used one always stays.
    fn evict(&self) {
        let Some(_running) = self.pool.evicting.try_lock() else {
            return;
        };
        let mut lru = self.pool.lru();
        lru.pop();
        for t in lru {
            if !self.pool.over() {
                break;
            }
            if let Ok(true) = self.unload_idle(&t) {
                self.pool.evictions.fetch_add(1, Relaxed);
            }
        }
    }

    /// The periodic pass: writes the deferred status flips (one commit for
    /// all of them), re-measures loaded tenants, unloads those idle
    /// longer than the TTL, evicts while over the limits, purges tenants
    /// whose retention has passed, and offloads those idle longer than
    /// `Config::offload_after`.
    pub(crate) fn periodic(&self, config: &Config) -> Result<()> {
        self.write_deferred()?;
        let lru = self.pool.lru();
        for t in &lru {
            t.measure();
        }
        if let Some(ttl) = self.pool.idle_ttl {
            let now = self.pool.now_ns();
            for t in &lru {
                let idle = now.saturating_sub(t.slot.used_ns.load(Relaxed));
                if idle > ttl.as_nanos() as u64 && self.unload_idle(t)? {
                    self.pool.idle_unloads.fetch_add(1, Relaxed);
                }
            }
        }
        if self.pool.over() {
            self.evict();
        }
        let now = (config.clock)();
        self.purge_expired(now)?;
        if let Some(after) = config.offload_after {
            self.offload_idle(after, now)?;
        }
        Ok(())
    }
}
