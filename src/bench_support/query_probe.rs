//! A read statement's stages timed apart (`benches/query.rs`): route, plan
//! and search, through the functions `Engine::execute` runs.

use roaring::RoaringBitmap;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::executor::search;
use crate::executor::Context;
use crate::parser::ast::{Query, QueryOp, Select, Statement};
use crate::planner::plan::SearchPlan;
use crate::tenant::SharedCollection;

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
