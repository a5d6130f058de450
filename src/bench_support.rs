//! Entry points for the benches and benchmark examples into engine
//! internals: quota and metering (`benches/quota.rs`), the query path's
//! stages (`benches/query.rs`), a collection's graph searched directly
//! (`examples/pql_bench`), and the graph index on its own
//! (`examples/ann_bench`). Not a stable API.

mod graph_probe;
pub use graph_probe::{dot_kernel, kernels_name, FilterPath, GraphProbe};

use std::collections::BTreeMap;

use roaring::RoaringBitmap;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::executor::search;
use crate::executor::Context;
use crate::parser::ast::{Query, QueryOp, Select, Statement};
use crate::planner::plan::SearchPlan;
use crate::tenant::quota::QuotaState;
use crate::tenant::usage::{Counters, Metric};
use crate::tenant::SharedCollection;
use crate::value::Value;

/// One tenant's quota state with every limit set (high enough never to
/// refuse), to time the checks a statement pays.
pub struct QuotaProbe(QuotaState);

impl QuotaProbe {
    /// A tenant with limits on everything.
    pub fn new() -> Self {
        let mut o = BTreeMap::new();
        o.insert("tier".to_string(), Value::Str("pro".into()));
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

/// Total bytes of the regular files under `dir`, as the engine counts a
/// tenant's storage.
pub fn dir_size(dir: &std::path::Path) -> u64 {
    crate::storage::dir_size(dir)
}

/// One read statement's stages, each run on its own: the route to its
/// collection, the plan, and the search alone. `Engine::execute` runs all of
/// them plus parsing, quotas, metering and row building, so comparing the
/// stages with the whole shows where a query's time goes.
pub struct QueryProbe {
    engine: Engine,
    query: Query,
    collection: SharedCollection,
    /// The prepared query vector (`None` for a read without `SIMILAR TO`,
    /// or on a collection without vectors).
    vector: Option<Vec<f32>>,
    /// The plan made once, for [`QueryProbe::search`].
    plan: (Option<RoaringBitmap>, SearchPlan),
}

impl QueryProbe {
    /// Parses `pql`, one `QUERY ... SIMILAR TO` read naming its tenant, and
    /// opens its collection.
    pub fn new(engine: &Engine, pql: &str) -> Result<QueryProbe> {
        let script = crate::parser::parse(pql)?;
        let query = match script.statements.into_iter().next().map(|l| l.statement) {
            Some(Statement::Query(q)) if matches!(q.op, QueryOp::Select(_)) => q,
            _ => return Err(Error::invalid_option("the probe takes one QUERY read")),
        };
        let mut session_tenant = None;
        let ctx = Context {
            engine: engine.inner(),
            session_tenant: &mut session_tenant,
        };
        let collection = search::open_for_read(&ctx, &query)?;
        let s = select(&query)?;
        let vector = match &s.similar {
            Some(sim) => search::query_vector(&ctx, &collection.read(), sim)?,
            None => None,
        };
        let plan = make_plan(engine, &collection, s)?;
        Ok(QueryProbe {
            engine: engine.clone(),
            query,
            collection,
            vector,
            plan,
        })
    }

    /// The route of a read: tenant lookup, status check, the collection
    /// from the pool (marking the tenant used), and the pool's bookkeeping
    /// after the statement.
    pub fn route(&self) -> Result<()> {
        let inner = self.engine.inner();
        let mut session_tenant = None;
        let ctx = Context {
            engine: inner,
            session_tenant: &mut session_tenant,
        };
        let shared = search::open_for_read(&ctx, &self.query);
        inner.catalog.after_statement(&inner.config);
        shared.map(drop)
    }

    /// The plan of the read: its `WITH` options, the filter's bitmap from
    /// the attribute indexes, the candidates and the strategy. Returns the
    /// number of candidates.
    pub fn plan(&self) -> Result<u64> {
        let (candidates, plan) = make_plan(&self.engine, &self.collection, select(&self.query)?)?;
        Ok(candidates.map_or(plan.total, |b| b.len()))
    }

    /// The search alone, as planned, with the query vector already parsed
    /// and prepared. Returns the number of hits.
    pub fn search(&self) -> usize {
        let Some(v) = &self.vector else {
            return 0;
        };
        let (candidates, plan) = &self.plan;
        search::search(&self.collection.read(), v, plan, candidates.as_ref()).len()
    }
}

/// The read of a `QUERY` statement.
fn select(query: &Query) -> Result<&Select> {
    match &query.op {
        QueryOp::Select(s) => Ok(s),
        _ => Err(Error::invalid_option("not a read")),
    }
}

/// Plans read `s` on `collection` as `Engine::execute` does.
fn make_plan(
    engine: &Engine,
    collection: &SharedCollection,
    s: &Select,
) -> Result<(Option<RoaringBitmap>, SearchPlan)> {
    let opts = search::read_options(&s.options)?;
    let c = collection.read();
    let matches = search::filtered(&c, s);
    Ok(search::plan(
        &engine.inner().config,
        &c,
        s,
        &opts,
        matches.as_ref(),
    ))
}
