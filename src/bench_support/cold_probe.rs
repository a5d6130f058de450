//! The stages of a cold query's quick path timed apart
//! (`examples/offload_bench`), on an offloaded tenant, without the onload
//! a statement would start behind its answer.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::executor::cold::{self, ColdTimes};
use crate::parser::ast::Statement;
use crate::tenant::status::Storage;

/// Runs the quick path of `pql` (one `SIMILAR TO` read without a filter
/// naming its tenant, which must be offloaded and have a quick object for
/// the collection) and returns how long each stage took and the rows.
pub fn cold_query_stages(engine: &Engine, pql: &str) -> Result<(ColdTimes, usize)> {
    let script = crate::parser::parse(pql)?;
    let Some(Statement::Query(q)) = script.statements.into_iter().next().map(|l| l.statement)
    else {
        return Err(Error::invalid_option("the probe takes one QUERY read"));
    };
    let read = cold::eligible(&q)
        .ok_or_else(|| Error::invalid_option("not a read the quick path answers"))?;
    let inner = engine.inner();
    let tenant = inner.catalog.get(
        q.tenant
            .as_deref()
            .ok_or_else(|| Error::invalid_option("the read must name its tenant"))?,
    )?;
    if tenant.record().storage != Storage::Offloaded {
        return Err(Error::invalid_option("the tenant is not offloaded"));
    }
    let mut times = ColdTimes::default();
    let result = super::with_context(engine, |ctx| {
        cold::answer(ctx, &tenant, &q, read, &mut times)
    })?
    .ok_or_else(|| Error::invalid_option("the collection has no quick object"))?;
    Ok((times, result.rows.len()))
}
