//! Entry points for the benches and benchmark examples into engine
//! internals: quota and metering (`benches/quota.rs`), the query path's
//! stages (`benches/query.rs`), a collection's graph searched directly
//! (`examples/pql_bench`), and the graph index on its own
//! (`examples/ann_bench`), and a collection's load from disk and a cold
//! query's quick path by stage (`examples/offload_bench`). Not a stable API.

mod graph_probe;
pub use graph_probe::{dot_kernel, kernels_name, FilterPath, GraphProbe};

use std::collections::BTreeMap;

use crate::error::Result;
use crate::tenant::quota::QuotaState;
use crate::tenant::usage::{Counters, Metric};
use crate::value::Value;

mod query_probe;
pub use query_probe::QueryProbe;

#[cfg(feature = "s3")]
mod cold_probe;
#[cfg(feature = "s3")]
pub use crate::executor::cold::ColdTimes;
#[cfg(feature = "s3")]
pub use cold_probe::cold_query_stages;

/// Runs `f` with the context a statement of a fresh session runs in
/// (no `USE TENANT`, never cancelled, no onload behind a cold query).
fn with_context<T>(
    engine: &crate::Engine,
    f: impl FnOnce(&crate::executor::Context<'_>) -> T,
) -> T {
    let inner = engine.inner();
    let mut session_tenant = None;
    let never = crate::CancelToken::new();
    let ctx = crate::executor::Context {
        catalog: &inner.catalog,
        config: &inner.config,
        metering: &inner.metering,
        session_tenant: &mut session_tenant,
        cancel: &never,
        #[cfg(feature = "s3")]
        engine: None,
    };
    f(&ctx)
}

/// One tenant's quota state with every limit set (high enough never to
/// refuse), to time the checks a statement pays.
pub struct QuotaProbe(QuotaState);

impl QuotaProbe {
    /// A tenant with limits on everything.
    pub fn new() -> Self {
        let mut o = BTreeMap::new();
        // What the pro tier gives, then limits high enough never to refuse.
        o.insert("max_storage_gb".to_string(), Value::Int(10));
        o.insert("max_concurrent_queries".to_string(), Value::Int(20));
        o.insert("max_qps".to_string(), Value::Float(1e12));
        o.insert("max_api_calls_per_minute".to_string(), Value::Int(i64::MAX));
        o.insert("max_vectors".to_string(), Value::Int(i64::MAX));
        QuotaProbe(QuotaState::new(&o))
    }

    /// The checks of one write statement: admission (rate windows and a
    /// concurrency permit), storage, and a node reservation given back.
    pub fn check(&self) -> Result<()> {
        let _permit = self.0.admit()?;
        self.0.check_storage()?;
        self.0.reserve(1)?;
        self.0.release(1);
        Ok(())
    }
}

impl Default for QuotaProbe {
    fn default() -> Self {
        QuotaProbe::new()
    }
}

/// One tenant's usage counters, to time recording an event.
#[derive(Default)]
pub struct UsageProbe(Counters);

impl UsageProbe {
    /// Records one search event.
    #[inline]
    pub fn record(&self) {
        self.0.add(Metric::Searches, 1);
    }
}

/// The graph index of one loaded collection, searched directly: no parsing,
/// planning, routing, quotas or metering. `examples/pql_bench` times it next
/// to the same queries sent as PQL text, so the PQL overhead is measured in
/// one run.
pub struct RawIndex(crate::tenant::SharedCollection);

impl RawIndex {
    /// Loads (if needed) collection `collection` of tenant `tenant`.
    pub fn open(engine: &crate::Engine, tenant: &str, collection: &str) -> Result<Self> {
        let inner = engine.inner();
        let c = inner
            .catalog
            .get(tenant)?
            .collection(collection, &inner.config)?;
        Ok(RawIndex(c))
    }

    /// Top-`k` internal ids for `query` at `ef`, from the graph index (or an
    /// exact scan if the collection has no graph), with no filter.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<u32> {
        let c = self.0.read();
        let q = crate::index::vectors::prepared(c.meta.metric, query);
        c.graph_search(&q, k, ef, None)
            .into_iter()
            .map(|(iid, _)| iid)
            .collect()
    }
}

pub use crate::collection::LoadTimes;

/// Loads collection `collection` from the tenant folder `dir` (as the first
/// statement on a tenant does) and returns how long each stage took.
pub fn collection_load_stages(dir: &std::path::Path, collection: &str) -> Result<LoadTimes> {
    let mut times = LoadTimes::default();
    crate::collection::Collection::load_timed(
        dir,
        collection,
        &crate::Config::new(dir),
        &mut times,
    )?;
    Ok(times)
}

/// Total bytes of the regular files under `dir`, as the engine counts a
/// tenant's storage.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    crate::storage::dir_size(dir)
}
