//! A read statement's stages timed apart (`benches/query.rs`): route, plan
//! and search, through the functions `Engine::execute` runs.

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::executor::read;
use crate::parser::ast::{Query, QueryOp, Select, Statement};
use crate::planner::admit::{admit, tenant_of};
use crate::planner::strategy::{read_options, search_plan, SearchPlan};
use crate::tenant::{SharedCollection, Tenant};

/// One read statement's stages, each run on its own: the route to its
/// collection, the plan, and the search alone. `Engine::execute` runs all of
/// them plus parsing, quotas, metering and row building, so comparing the
/// stages with the whole shows where a query's time goes.
pub struct QueryProbe {
    engine: Engine,
    statement: Statement,
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
        let statement = match script.statements.into_iter().next().map(|l| l.statement) {
            Some(Statement::Query(q)) if matches!(q.op, QueryOp::Select(_)) => Statement::Query(q),
            _ => return Err(Error::invalid_option("the probe takes one QUERY read")),
        };
        let (tenant, collection) = open_for_read(engine, &statement)?;
        let s = select(&statement)?;
        let vector = match &s.similar {
            Some(sim) => super::with_context(engine, |ctx| {
                read::query_vector(ctx, &tenant, &collection.read(), sim)
            })?,
            None => None,
        };
        let plan = make_plan(engine, &collection, s)?;
        Ok(QueryProbe {
            engine: engine.clone(),
            statement,
            collection,
            vector,
            plan,
        })
    }

    /// The route of a read: planning, tenant lookup, admission (status,
    /// quotas), the collection from the pool (marking the tenant used), and
    /// the pool's bookkeeping after the statement.
    pub fn route(&self) -> Result<()> {
        let inner = self.engine.inner();
        let shared = open_for_read(&self.engine, &self.statement);
        inner.catalog.after_statement(&inner.config);
        shared.map(drop)
    }

    /// The plan of the read: its `WITH` options, the filter's bitmap from
    /// the attribute indexes, the candidates and the strategy. Returns the
    /// number of candidates.
    pub fn plan(&self) -> Result<u64> {
        let (candidates, plan) =
            make_plan(&self.engine, &self.collection, select(&self.statement)?)?;
        Ok(candidates.map_or(plan.total, |b| b.len()))
    }

    /// The search alone, as planned, with the query vector already parsed
    /// and prepared. Returns the number of hits.
    pub fn search(&self) -> usize {
        let Some(v) = &self.vector else {
            return 0;
        };
        let (candidates, plan) = &self.plan;
        read::search(&self.collection.read(), v, plan, candidates.as_ref()).len()
    }
}

/// The read of a `QUERY` statement.
fn select(statement: &Statement) -> Result<&Select> {
    match statement {
        Statement::Query(Query {
            op: QueryOp::Select(s),
            ..
        }) => Ok(s),
        _ => Err(Error::invalid_option("not a read")),
    }
}

/// Plans and admits the read, and opens its collection.
fn open_for_read(
    engine: &Engine,
    statement: &Statement,
) -> Result<(Arc<Tenant>, SharedCollection)> {
    let inner = engine.inner();
    let plan = crate::planner::plan(statement, None)?;
    let tenant = tenant_of(&plan, &inner.catalog)?;
    let _admitted = admit(plan, &tenant, &inner.catalog)?;
    let Statement::Query(q) = statement else {
        return Err(Error::invalid_option("not a read"));
    };
    let collection = tenant.collection(&q.collection, &inner.config)?;
    Ok((tenant, collection))
}

/// Plans read `s` on `collection` as `Engine::execute` does.
fn make_plan(
    engine: &Engine,
    collection: &SharedCollection,
    s: &Select,
) -> Result<(Option<RoaringBitmap>, SearchPlan)> {
    let opts = read_options(&s.options)?;
    let c = collection.read();
    let matches = read::filtered(&c, s);
    Ok(search_plan(
        &engine.inner().config,
        &c,
        s,
        &opts,
        matches.as_ref(),
    ))
}
