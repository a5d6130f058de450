//! Reads: filtered listing, similarity search, projection, COUNT(*), and
//! `EXPLAIN`.

use std::collections::BTreeSet;

use roaring::RoaringBitmap;

use crate::collection::meta::IndexKind;
use crate::collection::Collection;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::executor::usage::{embed_metered, note};
use crate::executor::write::{self, dimension_mismatch, Mode};
use crate::executor::{check_access, resolve_tenant, Access, Context};
use crate::index::vectors::prepare;
use crate::parser::ast::{Opt, Query, QueryOp, Returning, Select, Similar, VectorExpr};
use crate::planner::filter::matching_ids;
use crate::planner::plan::{choose, Facts, SearchPlan, Strategy};
use crate::result::QueryResult;
use crate::tenant::usage::Metric;
use crate::value::Value;

/// k when `SIMILAR TO` has no `TOP`/`LIMIT`.
const DEFAULT_K: u64 = 10;

/// Runs any `QUERY` statement.
pub(super) fn run_query(ctx: &mut Context<'_>, q: &Query) -> Result<QueryResult> {
    match &q.op {
        QueryOp::CreateNode(n) => write::insert(ctx, q, std::slice::from_ref(n), Mode::Create),
        QueryOp::CreateNodes(ns) => write::insert(ctx, q, ns, Mode::Create),
        QueryOp::UpsertNode(n) => write::insert(ctx, q, std::slice::from_ref(n), Mode::Upsert),
        QueryOp::UpsertNodes(ns) => write::insert(ctx, q, ns, Mode::Upsert),
        QueryOp::Update { filter, set } => write::update(ctx, q, filter.as_ref(), set),
        QueryOp::Delete { filter } => write::delete(ctx, q, filter.as_ref()),
        QueryOp::Select(s) => select(ctx, q, s),
    }
}

/// `WITH (ef: n, exact: bool)` of a read.
pub(crate) struct ReadOptions {
    ef: Option<usize>,
    exact: bool,
}

/// Reads the options of a read statement.
pub(crate) fn read_options(opts: &[Opt]) -> Result<ReadOptions> {
    let mut out = ReadOptions {
        ef: None,
        exact: false,
    };
    for o in opts {
        match o.key.as_str() {
            "ef" => match o.value.as_i64() {
                Some(n) if (1..=4096).contains(&n) => out.ef = Some(n as usize),
                _ => {
                    return Err(Error::invalid_option(format!(
                        "ef must be an integer from 1 to 4096, got {}",
                        o.value
                    )))
                }
            },
            "exact" => {
                out.exact = o.value.as_bool().ok_or_else(|| {
                    Error::invalid_option(format!("exact must be true or false, got {}", o.value))
                })?
            }
            other => {
                return Err(Error::invalid_option(format!(
                    "unknown query option '{other}'; use ef or exact"
                )))
            }
        }
    }
    Ok(out)
}

/// The prepared query vector of `SIMILAR TO`, or `None` when the collection
/// has no vectors yet.
pub(crate) fn query_vector(
    ctx: &Context<'_>,
    c: &Collection,
    sim: &Similar,
) -> Result<Option<Vec<f32>>> {
    let field = sim.using.as_deref().unwrap_or(&c.meta.vector_field);
    if field != c.meta.vector_field {
        return Err(Error::type_error(format!(
            "collection {} has vector field '{}', not '{field}'",
            c.meta.name, c.meta.vector_field
        )));
    }
    let mut v = match &sim.vector {
        VectorExpr::Literal(v) => v.clone(),
        VectorExpr::Embed(text) => {
            let embedder = &ctx.engine.config.embedder;
            if let Some(name) = &c.meta.embedder {
                if name != embedder.name() {
                    return Err(Error::type_error(format!(
                        "collection {} was filled by embedder '{name}', but the engine's \
                         embedder is '{}'",
                        c.meta.name,
                        embedder.name()
                    )));
                }
            }
            let mut vectors = embed_metered(embedder.as_ref(), &[text.as_str()])?;
            vectors
                .pop()
                .ok_or_else(|| Error::io("embedder", "returned no vector"))?
        }
        VectorExpr::Node(id) => {
            let iid = c.iid_of(id).ok_or_else(|| {
                Error::new(
                    ErrorKind::NodeNotFound,
                    format!("Node not found: {id:?} in collection {}", c.meta.name),
                )
            })?;
            c.vector(iid)
                .map(<[f32]>::to_vec)
                .ok_or_else(|| Error::type_error(format!("node {id:?} has no vector")))?
        }
    };
    let Some(dim) = c.meta.dimension else {
        return Ok(None);
    };
    if v.len() != dim {
        return Err(dimension_mismatch(&c.meta.name, dim, v.len()));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::type_error("query vector holds a non-finite number"));
    }
    prepare(c.meta.metric, &mut v);
    Ok(Some(v))
}

/// The nodes a read's filter matches.
pub(crate) fn filtered(c: &Collection, s: &Select) -> Option<RoaringBitmap> {
    s.filter
        .as_ref()
        .map(|f| matching_ids(f, c.attributes(), c.live()))
}

/// Plans a similarity search: its candidates and strategy.
pub(crate) fn plan(
    config: &Config,
    c: &Collection,
    s: &Select,
    opts: &ReadOptions,
    matches: Option<&RoaringBitmap>,
) -> (Option<RoaringBitmap>, SearchPlan) {
    // Without a filter every vector is a candidate, and no bitmap is built
    // (on 399k vectors the copy alone cost tens of microseconds a query).
    let candidates = matches.map(|m| m & c.with_vector());
    let n = candidates
        .as_ref()
        .map_or(c.with_vector().len(), RoaringBitmap::len);
    // No more results than candidates: a huge TOP must not size the search.
    let requested = s.limit.map_or(DEFAULT_K, |l| l.count());
    let k = requested.min(n) as usize;
    let facts = Facts {
        total: c.with_vector().len(),
        matches: candidates.as_ref().map(RoaringBitmap::len),
        has_graph: c.has_graph(),
        exact_requested: opts.exact,
        ef: opts.ef.unwrap_or(c.meta.ef_search),
        k,
        // The native graph widens its own filtered walk; hnsw_rs needs ef raised.
        raise_ef_for_filters: c.meta.index == IndexKind::HnswRs,
    };
    (candidates, choose(&facts, config))
}

/// Opens the collection of a read (after the tenant's status check).
pub(crate) fn open_for_read(
    ctx: &Context<'_>,
    q: &Query,
) -> Result<crate::tenant::SharedCollection> {
    let tenant = resolve_tenant(ctx, q.tenant.as_deref())?;
    check_access(ctx, &tenant, Access::Read)?;
    tenant.collection(&q.collection, &ctx.engine.config)
}

fn select(ctx: &mut Context<'_>, q: &Query, s: &Select) -> Result<QueryResult> {
    let opts = read_options(&s.options)?;
    let shared = open_for_read(ctx, q)?;
    let c = shared.read();
    let matches = filtered(&c, s);
    // (internal id, distance) in result order.
    let hits: Vec<(u32, Option<f32>)> = match &s.similar {
        Some(sim) => match query_vector(ctx, &c, sim)? {
            None => Vec::new(),
            Some(v) => {
                let (candidates, plan) = plan(&ctx.engine.config, &c, s, &opts, matches.as_ref());
                note(Metric::Searches, 1);
                note(
                    Metric::VectorsScanned,
                    candidates
                        .as_ref()
                        .map_or(c.with_vector().len(), RoaringBitmap::len),
                );
                search(&c, &v, &plan, candidates.as_ref())
                    .into_iter()
                    .map(|(i, d)| (i, Some(d)))
                    .collect()
            }
        },
        None => {
            let matches = matches.unwrap_or_else(|| c.live().clone());
            if matches!(s.returning, Some(Returning::Count)) {
                let n = s
                    .limit
                    .map_or(matches.len(), |l| l.count().min(matches.len()));
                return Ok(count_result(n));
            }
            let mut nodes: Vec<(&str, u32)> = matches
                .iter()
                .filter_map(|i| c.node(i).map(|n| (n.id.as_str(), i)))
                .collect();
            nodes.sort_unstable();
            let limit = s.limit.map_or(usize::MAX, |l| l.count() as usize);
            nodes
                .into_iter()
                .take(limit)
                .map(|(_, i)| (i, None))
                .collect()
        }
    };
    if matches!(s.returning, Some(Returning::Count)) {
        return Ok(count_result(hits.len() as u64));
    }
    Ok(project(&c, &hits, s))
}

/// Runs a planned similarity search over `candidates` (all vectors when
/// `None`): (internal id, distance), nearest first.
pub(crate) fn search(
    c: &Collection,
    v: &[f32],
    plan: &SearchPlan,
    candidates: Option<&RoaringBitmap>,
) -> Vec<(u32, f32)> {
    match plan.strategy {
        Strategy::Exact { .. } => c.exact_search(v, plan.k, candidates.unwrap_or(c.with_vector())),
        Strategy::Graph { ef } => c.graph_search(v, plan.k, ef, candidates),
    }
}

fn count_result(n: u64) -> QueryResult {
    QueryResult::rows(vec!["count".into()], vec![vec![Value::Int(n as i64)]])
}

/// Builds the result rows: `RETURN` fields, or `_id`, `_distance` (for a
/// similarity query) and every attribute but the vector.
fn project(c: &Collection, hits: &[(u32, Option<f32>)], s: &Select) -> QueryResult {
    let similar = s.similar.is_some();
    let columns: Vec<String> = match &s.returning {
        Some(Returning::Fields(fields)) => fields.clone(),
        _ => {
            let mut attrs = BTreeSet::new();
            for (iid, _) in hits {
                if let Some(n) = c.node(*iid) {
                    attrs.extend(n.attrs.keys().cloned());
                }
            }
            let mut cols = vec!["_id".to_string()];
            if similar {
                cols.push("_distance".into());
            }
            cols.extend(attrs);
            cols
        }
    };
    let rows = hits
        .iter()
        .filter_map(|(iid, dist)| {
            let node = c.node(*iid)?;
            Some(
                columns
                    .iter()
                    .map(|col| match col.as_str() {
                        "_id" | "id" => Value::Str(node.id.clone()),
                        "_distance" => dist.map_or(Value::Null, |d| Value::Float(f64::from(d))),
                        f if f == c.meta.vector_field => c.vector(*iid).map_or(Value::Null, |v| {
                            Value::Array(v.iter().map(|x| Value::Float(f64::from(*x))).collect())
                        }),
                        f => node.attrs.get(f).cloned().unwrap_or(Value::Null),
                    })
                    .collect(),
            )
        })
        .collect();
    QueryResult::rows(columns, rows)
}

/// `EXPLAIN QUERY ...`: the plan of a read (the filter is evaluated, the
/// search is not run), or what a write would do.
pub(super) fn explain(ctx: &mut Context<'_>, q: &Query) -> Result<QueryResult> {
    let tenant = resolve_tenant(ctx, q.tenant.as_deref())?;
    let mut lines = vec![format!("collection: {}.{}", tenant.name, q.collection)];
    match &q.op {
        QueryOp::Select(s) => {
            let opts = read_options(&s.options)?;
            let shared = open_for_read(ctx, q)?;
            let c = shared.read();
            let matches = filtered(&c, s);
            match &s.similar {
                Some(_) => {
                    let (_, plan) = plan(&ctx.engine.config, &c, s, &opts, matches.as_ref());
                    lines.push("operation: similarity search".into());
                    lines.extend(plan.to_string().lines().map(String::from));
                    if matches!(plan.strategy, Strategy::Graph { .. }) {
                        lines.push(format!("graph: {}", c.graph_origin()));
                    }
                }
                None => {
                    lines.push("operation: filter scan in id order".into());
                    lines.push(format!(
                        "filter: {} of {} nodes match",
                        matches.as_ref().map_or(c.len(), RoaringBitmap::len),
                        c.len()
                    ));
                }
            }
        }
        QueryOp::CreateNode(_) => lines.push("operation: insert 1 node".into()),
        QueryOp::CreateNodes(n) => lines.push(format!("operation: insert {} nodes", n.len())),
        QueryOp::UpsertNode(_) => lines.push("operation: upsert 1 node".into()),
        QueryOp::UpsertNodes(n) => lines.push(format!("operation: upsert {} nodes", n.len())),
        QueryOp::Update { .. } => lines.push("operation: update matching nodes".into()),
        QueryOp::Delete { .. } => lines.push("operation: delete matching nodes".into()),
    }
    let rows = lines.into_iter().map(|l| vec![Value::Str(l)]).collect();
    Ok(QueryResult::rows(vec!["plan".into()], rows))
}
