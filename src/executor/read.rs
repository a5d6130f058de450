//! Reads: filtered listing, similarity search, projection, COUNT(*), and
//! `EXPLAIN`.

use std::collections::BTreeSet;

use roaring::RoaringBitmap;

use crate::collection::filter::matching_ids;
use crate::collection::meta::CollectionMeta;
use crate::collection::{Collection, Node};
use crate::error::{Error, ErrorKind, Result};
use crate::executor::metering::{embed_metered, note};
use crate::executor::write::dimension_mismatch;
use crate::executor::Context;
use crate::index::vectors::prepare;
use crate::parser::ast::{Query, QueryOp, Returning, Select, Similar, VectorExpr};
use crate::planner::strategy::{read_options, search_plan, SearchPlan, Strategy};
use crate::planner::Plan;
use crate::result::QueryResult;
use crate::tenant::usage::Metric;
use crate::tenant::Tenant;
use crate::value::Value;

/// The prepared query vector of `SIMILAR TO`, or `None` when the collection
/// has no vectors yet.
pub(crate) fn query_vector(
    ctx: &Context<'_>,
    tenant: &Tenant,
    c: &Collection,
    sim: &Similar,
) -> Result<Option<Vec<f32>>> {
    query_vector_of(ctx, tenant, &c.meta, sim, |id| {
        let iid = c.iid_of(id).ok_or_else(|| {
            Error::new(
                ErrorKind::NodeNotFound,
                format!("Node not found: {id:?} in collection {}", c.meta.name),
            )
        })?;
        c.vector(iid)
            .map(<[f32]>::to_vec)
            .ok_or_else(|| Error::type_error(format!("node {id:?} has no vector")))
    })
}

/// [`query_vector`] for a collection described by `meta`, whose node
/// vectors (`SIMILAR TO NODE "id"`) `node_vector` finds.
pub(crate) fn query_vector_of(
    ctx: &Context<'_>,
    tenant: &Tenant,
    meta: &CollectionMeta,
    sim: &Similar,
    node_vector: impl FnOnce(&str) -> Result<Vec<f32>>,
) -> Result<Option<Vec<f32>>> {
    let field = sim.using.as_deref().unwrap_or(&meta.vector_field);
    if field != meta.vector_field {
        return Err(Error::type_error(format!(
            "collection {} has vector field '{}', not '{field}'",
            meta.name, meta.vector_field
        )));
    }
    let mut v = match &sim.vector {
        VectorExpr::Literal(v) => v.clone(),
        VectorExpr::Embed(text) => {
            let embedder = ctx.embedder_for(tenant)?;
            if let Some(name) = &meta.embedder {
                if name != embedder.name() {
                    return Err(Error::type_error(format!(
                        "collection {} was filled by embedder '{name}', but the tenant's \
                         embedder is '{}'",
                        meta.name,
                        embedder.name()
                    )));
                }
            }
            let mut vectors = embed_metered(embedder.as_ref(), &[text.as_str()])?;
            vectors
                .pop()
                .ok_or_else(|| Error::io("embedder", "returned no vector"))?
        }
        VectorExpr::Node(id) => node_vector(id)?,
    };
    let Some(dim) = meta.dimension else {
        return Ok(None);
    };
    if v.len() != dim {
        return Err(dimension_mismatch(&meta.name, dim, v.len()));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::type_error("query vector holds a non-finite number"));
    }
    prepare(meta.metric, &mut v);
    Ok(Some(v))
}

/// The nodes a read's filter matches.
pub(crate) fn filtered(c: &Collection, s: &Select) -> Option<RoaringBitmap> {
    s.filter
        .as_ref()
        .map(|f| matching_ids(f, c.attributes(), c.live()))
}

/// A read: filtered listing, similarity search, `COUNT(*)`.
pub(super) fn select(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    s: &Select,
) -> Result<QueryResult> {
    let opts = read_options(&s.options)?.or_default_ef(tenant.quota.limits().default_ef);
    let shared = tenant.collection(&q.collection, ctx.config)?;
    let c = shared.read();
    let matches = filtered(&c, s);
    // (internal id, distance) in result order.
    let hits: Vec<(u32, Option<f32>)> = match &s.similar {
        Some(sim) => match query_vector(ctx, tenant, &c, sim)
            .map_err(|e| e.with_span(s.spans.vector))?
        {
            None => Vec::new(),
            Some(v) => {
                let (candidates, plan) = search_plan(ctx.config, &c, s, &opts, matches.as_ref());
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
    Ok(project(&*c, &hits, s))
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
        Strategy::Quantized { .. } => {
            c.quantized_search(v, plan.k, candidates.unwrap_or(c.with_vector()))
        }
        Strategy::Graph { ef } => c.graph_search(v, plan.k, ef, candidates),
    }
}

fn count_result(n: u64) -> QueryResult {
    QueryResult::rows(vec!["count".into()], vec![vec![Value::Int(n as i64)]])
}

/// Where [`project`] reads the hits' columns: a loaded collection, or the
/// rows a cold query fetched (`executor::cold`).
pub(crate) trait Rows {
    /// The node with internal id `iid`.
    fn node(&self, iid: u32) -> Option<&Node>;
    /// Its stored vector.
    fn vector(&self, iid: u32) -> Option<&[f32]>;
    /// The attribute holding the vector.
    fn vector_field(&self) -> &str;
}

impl Rows for Collection {
    fn node(&self, iid: u32) -> Option<&Node> {
        Collection::node(self, iid)
    }

    fn vector(&self, iid: u32) -> Option<&[f32]> {
        Collection::vector(self, iid)
    }

    fn vector_field(&self) -> &str {
        &self.meta.vector_field
    }
}

/// Builds the result rows: `RETURN` fields, or `_id`, `_distance` (for a
/// similarity query) and every attribute but the vector.
pub(crate) fn project(c: &impl Rows, hits: &[(u32, Option<f32>)], s: &Select) -> QueryResult {
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
                        "_id" | "id" => Value::Str(node.id.to_string()),
                        "_distance" => dist.map_or(Value::Null, |d| Value::Float(f64::from(d))),
                        f if f == c.vector_field() => c.vector(*iid).map_or(Value::Null, |v| {
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

/// `EXPLAIN QUERY ...`: the plan (collection, operation), and for a read
/// what the loaded collection tells: the strategy and the filter's match
/// count (the filter is evaluated, the search is not run).
pub(super) fn explain(
    ctx: &Context<'_>,
    plan: &Plan<'_>,
    tenant: &Tenant,
    q: &Query,
) -> Result<QueryResult> {
    let mut lines: Vec<String> = plan.to_string().lines().map(String::from).collect();
    if let QueryOp::Select(s) = &q.op {
        let opts = read_options(&s.options)?.or_default_ef(tenant.quota.limits().default_ef);
        let shared = tenant.collection(&q.collection, ctx.config)?;
        let c = shared.read();
        let matches = filtered(&c, s);
        if s.similar.is_some() {
            let (_, plan) = search_plan(ctx.config, &c, s, &opts, matches.as_ref());
            lines.extend(plan.to_string().lines().map(String::from));
            if matches!(plan.strategy, Strategy::Graph { .. }) {
                lines.push(format!("graph: {}", c.graph_origin()));
            }
        } else {
            lines.push(format!(
                "filter: {} of {} nodes match",
                matches.as_ref().map_or(c.len(), RoaringBitmap::len),
                c.len()
            ));
        }
    }
    let rows = lines.into_iter().map(|l| vec![Value::Str(l)]).collect();
    Ok(QueryResult::rows(vec!["plan".into()], rows))
}
