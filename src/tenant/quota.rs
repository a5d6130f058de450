//! Tenant quotas: the effective limits (a tenant's own options over its
//! tier's, `tiers.rs`) and the per-tenant state the checks run against. Every check is
//! a few atomic operations on the tenant's own state (the rate windows take
//! a per-tenant mutex for a few nanoseconds): no global lock, no disk.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, ErrorKind, Result};
use crate::tenant::rate::Window;
use crate::tenant::usage::{Counters, Metering};
use crate::value::Value;

/// The effective limits of a tenant; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Limits {
    /// Nodes stored, all collections together.
    pub(crate) max_vectors: Option<u64>,
    /// Bytes of the tenant folder.
    pub(crate) max_storage_bytes: Option<u64>,
    /// Statements per second (sliding window).
    pub(crate) max_qps: Option<f64>,
    /// Statements per minute (sliding window).
    pub(crate) max_api_calls_per_minute: Option<u64>,
    /// Statements executing at once.
    pub(crate) max_concurrent_queries: Option<u64>,
    /// Largest vector dimension.
    pub(crate) max_dimension: Option<u64>,
    /// Largest `TOP`/`LIMIT`.
    pub(crate) max_results_per_query: Option<u64>,
    /// Largest `CREATE NODES` batch.
    pub(crate) max_batch_size: Option<u64>,
    /// Not a limit but inherited the same way: the `ef` of a search that
    /// gives none (else the collection's `ef_search`).
    pub(crate) default_ef: Option<u64>,
}

const MB: u64 = 1024 * 1024;
const GB: u64 = 1024 * MB;

impl Limits {
    /// The limits of a tenant's effective options (its own over its tier's,
    /// `tenant::tiers::effective`); an option not given is no limit. Of the
    /// storage options the most precise given wins (`_bytes`, then `_mb`,
    /// then `_gb`).
    pub(crate) fn from_options(options: &BTreeMap<String, Value>) -> Limits {
        let mut l = Limits::default();
        let count = |k: &str| options.get(k).and_then(Value::as_i64).map(|n| n as u64);
        let num = |k: &str| options.get(k).and_then(Value::as_f64);
        let set = |slot: &mut Option<u64>, k: &str| {
            if let Some(n) = count(k) {
                *slot = Some(n);
            }
        };
        set(&mut l.max_vectors, "max_vectors");
        set(&mut l.max_api_calls_per_minute, "max_api_calls_per_minute");
        set(&mut l.max_concurrent_queries, "max_concurrent_queries");
        set(&mut l.max_dimension, "max_dimension");
        set(&mut l.max_results_per_query, "max_results_per_query");
        set(&mut l.max_batch_size, "max_batch_size");
        set(&mut l.default_ef, "default_ef");
        if let Some(q) = num("max_qps") {
            l.max_qps = Some(q);
        }
        if let Some(b) = count("max_storage_bytes") {
            l.max_storage_bytes = Some(b);
        } else if let Some(mb) = num("max_storage_mb") {
            l.max_storage_bytes = Some((mb * MB as f64) as u64);
        } else if let Some(gb) = num("max_storage_gb") {
            l.max_storage_bytes = Some((gb * GB as f64) as u64);
        }
        l
    }
}

/// The `embedder` option of effective `options`.
fn embedder_option(options: &BTreeMap<String, Value>) -> Option<String> {
    options
        .get("embedder")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The error of a passed quota.
pub(crate) fn exceeded(resource: &str, current: u64, limit: u64, message: String) -> Error {
    Error::new(
        ErrorKind::QuotaExceeded {
            resource: resource.to_string(),
            current,
            limit,
        },
        message,
    )
}

/// Checks a size against an optional maximum (`TOP`, batch, dimension);
/// `what` starts the message, e.g. `Batch size exceeds limit`.
pub(crate) fn check_max(resource: &str, what: &str, value: u64, limit: Option<u64>) -> Result<()> {
    match limit {
        Some(l) if value > l => Err(exceeded(
            resource,
            value,
            l,
            format!("{what}: {value} > {l}"),
        )),
        _ => Ok(()),
    }
}

/// The window of `max_qps`.
const QPS_WINDOW: Duration = Duration::from_secs(1);

/// The quota state of one tenant: its limits and its usage counters.
pub(crate) struct QuotaState {
    limits: RwLock<Limits>,
    /// The effective `embedder` option (own or the tier's), if any.
    embedder: RwLock<Option<String>>,
    /// Nodes stored (valid once `vectors_ready`), including reservations of
    /// writes being committed.
    vectors: AtomicU64,
    vectors_ready: AtomicBool,
    vectors_init: Mutex<()>,
    /// Last known size of the tenant folder.
    storage: AtomicU64,
    running: Arc<AtomicU64>,
    second: Window,
    minute: Window,
    /// This tenant's usage counters, looked up once.
    usage: OnceLock<Arc<Counters>>,
}

/// A permit of `max_concurrent_queries`, held while a statement runs.
#[derive(Debug)]
pub(crate) struct Permit(Arc<AtomicU64>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl QuotaState {
    /// State for a tenant with effective `options`; usage counted on first use.
    pub(crate) fn new(options: &BTreeMap<String, Value>) -> Self {
        QuotaState {
            limits: RwLock::new(Limits::from_options(options)),
            embedder: RwLock::new(embedder_option(options)),
            vectors: AtomicU64::new(0),
            vectors_ready: AtomicBool::new(false),
            vectors_init: Mutex::new(()),
            storage: AtomicU64::new(0),
            running: Arc::new(AtomicU64::new(0)),
            second: Window::new(),
            minute: Window::new(),
            usage: OnceLock::new(),
        }
    }

    /// The usage counters of the tenant incarnation whose usage key is
    /// `key` (from `metering` on first use).
    pub(crate) fn usage(&self, metering: &Metering, key: &str) -> &Counters {
        self.usage.get_or_init(|| metering.counters(key))
    }

    /// The effective limits.
    pub(crate) fn limits(&self) -> Limits {
        *self.limits.read()
    }

    /// Recomputes the limits from the effective options after a change of
    /// the tenant's options or of its tier.
    pub(crate) fn set_options(&self, options: &BTreeMap<String, Value>) {
        *self.limits.write() = Limits::from_options(options);
        *self.embedder.write() = embedder_option(options);
    }

    /// The name of the embedder the tenant picked (itself or through its
    /// tier); `None`: the engine's default.
    pub(crate) fn embedder(&self) -> Option<String> {
        self.embedder.read().clone()
    }

    /// Admits one statement: rate windows and a concurrency permit.
    pub(crate) fn admit(&self) -> Result<Permit> {
        let l = self.limits();
        let now = Instant::now();
        if let Some(qps) = l.max_qps {
            // Fractional rates: the window is stretched to hold a whole
            // number of statements (2.5 qps = 5 per 2 s).
            let (n, span) = if qps.fract() == 0.0 || qps == 0.0 {
                (qps as u64, QPS_WINDOW)
            } else {
                ((qps * 2.0).round() as u64, QPS_WINDOW * 2)
            };
            self.second.admit(now, span, n).map_err(|wait| {
                rate_limited(wait, format!("Rate limit exceeded: {qps} requests/second"))
            })?;
        }
        if let Some(n) = l.max_api_calls_per_minute {
            self.minute
                .admit(now, Duration::from_secs(60), n)
                .map_err(|wait| {
                    rate_limited(wait, format!("Rate limit exceeded: {n} requests/minute"))
                })?;
        }
        let running = self.running.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(self.running.clone());
        if let Some(max) = l.max_concurrent_queries {
            if running >= max {
                return Err(exceeded(
                    "concurrent_queries",
                    running,
                    max,
                    format!("Concurrent query limit exceeded: {running} / {max}"),
                ));
            }
        }
        Ok(permit)
    }

    /// Counts the stored nodes with `count` the first time it is needed
    /// (and after [`QuotaState::invalidate`]). Call before taking a
    /// collection lock: `count` reads every collection.
    pub(crate) fn ensure_counted(&self, count: impl FnOnce() -> Result<u64>) -> Result<()> {
        if self.vectors_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let _g = self.vectors_init.lock();
        if !self.vectors_ready.load(Ordering::Acquire) {
            self.vectors.store(count()?, Ordering::Release);
            self.vectors_ready.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Forgets the node count (a collection was dropped or restored).
    pub(crate) fn invalidate(&self) {
        let _g = self.vectors_init.lock();
        self.vectors_ready.store(false, Ordering::Release);
    }

    /// Statements of the tenant running now.
    pub(crate) fn running(&self) -> u64 {
        self.running.load(Ordering::Acquire)
    }

    /// Reserves `n` more nodes, or refuses if that passes `max_vectors`.
    /// Release with [`QuotaState::release`] if the write then fails.
    pub(crate) fn reserve(&self, n: u64) -> Result<()> {
        let limit = self.limits().max_vectors;
        self.vectors
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| match limit {
                Some(l) if n > 0 && cur.saturating_add(n) > l => None,
                _ => Some(cur.saturating_add(n)),
            })
            .map(|_| ())
            .map_err(|cur| {
                let l = limit.unwrap_or_default();
                exceeded(
                    "vectors",
                    cur + n,
                    l,
                    format!("Vector quota exceeded: {cur} + {n} > {l}"),
                )
            })
    }

    /// Gives back `n` nodes (deleted, or a reservation not used).
    pub(crate) fn release(&self, n: u64) {
        let _ = self
            .vectors
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                Some(c.saturating_sub(n))
            });
    }

    /// Refuses growth when the last known folder size has reached the limit.
    pub(crate) fn check_storage(&self) -> Result<()> {
        let used = self.storage_bytes();
        match self.limits().max_storage_bytes {
            Some(l) if used >= l => Err(exceeded(
                "storage",
                used,
                l,
                format!("Storage quota exceeded: {used} / {l} bytes"),
            )),
            _ => Ok(()),
        }
    }

    /// Last known size of the tenant folder.
    pub(crate) fn storage_bytes(&self) -> u64 {
        self.storage.load(Ordering::Acquire)
    }

    /// Records the tenant folder's size (after a write).
    pub(crate) fn set_storage_bytes(&self, bytes: u64) {
        self.storage.store(bytes, Ordering::Release);
    }
}

fn rate_limited(retry_after: Duration, message: String) -> Error {
    Error::new(ErrorKind::RateLimited { retry_after }, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(opts: &[(&str, Value)]) -> QuotaState {
        let o = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        QuotaState::new(&o)
    }

    #[test]
    fn options_give_the_limits() {
        let s = state(&[
            ("tier", Value::Str("free".into())),
            ("max_vectors", Value::Int(7)),
            ("max_storage_mb", Value::Float(1.5)),
        ]);
        let l = s.limits();
        assert_eq!(l.max_vectors, Some(7));
        assert_eq!(l.max_storage_bytes, Some(1_572_864));
        // The tier's own settings are merged in before (tiers.rs).
        assert_eq!(l.max_batch_size, None);
        assert_eq!(state(&[]).limits(), Limits::default());
    }

    #[test]
    fn concurrency_permits_at_the_boundary() {
        let s = state(&[("max_concurrent_queries", Value::Int(5))]);
        let held: Vec<Permit> = (0..5).map(|_| s.admit().unwrap()).collect();
        let e = s.admit().unwrap_err();
        assert_eq!(e.message(), "Concurrent query limit exceeded: 5 / 5");
        assert_eq!(s.running(), 5, "a refused statement holds no permit");
        drop(held);
        assert!(s.admit().is_ok());
    }

    #[test]
    fn reservations_stop_at_the_limit() {
        let s = state(&[("max_vectors", Value::Int(10_000))]);
        s.ensure_counted(|| Ok(9_999)).unwrap();
        s.reserve(1).unwrap();
        let e = s.reserve(1).unwrap_err();
        assert_eq!(e.message(), "Vector quota exceeded: 10000 + 1 > 10000");
        s.release(1);
        s.reserve(1).unwrap();
    }

    #[test]
    fn storage_uses_the_last_known_size() {
        let s = state(&[("max_storage_bytes", Value::Int(104_857_600))]);
        s.set_storage_bytes(104_857_599);
        s.check_storage().unwrap();
        s.set_storage_bytes(105_000_000);
        let e = s.check_storage().unwrap_err();
        assert_eq!(
            e.message(),
            "Storage quota exceeded: 105000000 / 104857600 bytes"
        );
    }
}
