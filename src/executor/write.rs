//! Node writes: CREATE NODE(S), UPSERT NODE, UPDATE, DELETE. Everything is
//! validated (ids, types, dimensions, embeddings computed) before the one
//! transaction that writes the statement's changes, so a refused statement
//! changes nothing and a batch is all or nothing.

use std::collections::{BTreeMap, HashSet};

use crate::clock::now_ms;
use crate::collection::filter::matching_ids;
use crate::collection::meta::{CollectionMeta, DEFAULT_VECTOR_FIELD, RESERVED_FIELDS};
use crate::collection::{Collection, NewNode};
use crate::error::{Error, ErrorKind, Result};
use crate::executor::metering::{embed_metered, note};
use crate::executor::Context;
use crate::index::vectors::prepare;
use crate::parser::ast::{Expr, FieldValue, NodeLiteral, Query, Span};
use crate::result::QueryResult;
use crate::tenant::quota::check_max;
use crate::tenant::usage::Metric;
use crate::tenant::{SharedCollection, Tenant};
use crate::value::Value;

/// How CREATE and UPSERT treat an existing id.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Create,
    Upsert,
}

/// A vector before embedding: literal numbers or text to embed.
enum RawVector {
    Literal(Vec<f32>),
    Text(String),
}

/// How many node literals a batch reads between two cancel checks.
const CANCEL_EVERY: usize = 1024;

/// The vector field a new collection gets from its first node: `embedding`,
/// unless the node has no `embedding` and exactly one `embed(...)` field.
fn implicit_vector_field(first: Option<&NodeLiteral>) -> String {
    if let Some(node) = first {
        let has_default = node.fields.iter().any(|(k, _)| k == DEFAULT_VECTOR_FIELD);
        let embeds: Vec<&String> = node
            .fields
            .iter()
            .filter(|(_, v)| matches!(v, FieldValue::Embed(_)))
            .map(|(k, _)| k)
            .collect();
        if !has_default && embeds.len() == 1 {
            return embeds[0].clone();
        }
    }
    DEFAULT_VECTOR_FIELD.to_string()
}

/// The collection, created with defaults if it does not exist (a collection
/// is created by its first insert, on disk only by that insert's commit),
/// and whether this call created it.
fn collection_for_insert(
    ctx: &Context<'_>,
    tenant: &Tenant,
    name: &str,
    first: Option<&NodeLiteral>,
) -> Result<(SharedCollection, bool)> {
    match tenant.collection(name, ctx.config) {
        Err(e) if e.kind() == &ErrorKind::CollectionNotFound => {
            let mut meta = CollectionMeta::new(name, &[], now_ms())?;
            meta.vector_field = implicit_vector_field(first);
            match tenant.create_collection(meta, true, true)? {
                Some(c) => Ok((c, true)),
                None => Ok((tenant.collection(name, ctx.config)?, false)),
            }
        }
        other => other.map(|c| (c, false)),
    }
}

fn number_vector(field: &str, items: &[Value]) -> Result<Vec<f32>> {
    if items.is_empty() {
        return Err(Error::type_error(format!(
            "vector field '{field}' is empty"
        )));
    }
    items
        .iter()
        .map(|v| match v.as_f64() {
            Some(x) if x.is_finite() && (x as f32).is_finite() => Ok(x as f32),
            _ => Err(Error::type_error(format!(
                "vector field '{field}' must hold only finite numbers, found {v}"
            ))),
        })
        .collect()
}

/// Splits a value given for the vector field into a raw vector.
fn raw_vector(field: &str, value: &FieldValue) -> Result<Option<RawVector>> {
    match value {
        FieldValue::Embed(text) => Ok(Some(RawVector::Text(text.clone()))),
        FieldValue::Literal(Value::Array(items)) => {
            Ok(Some(RawVector::Literal(number_vector(field, items)?)))
        }
        FieldValue::Literal(Value::Null) => Ok(None),
        FieldValue::Literal(other) => Err(Error::type_error(format!(
            "vector field '{field}' must be an array of numbers or embed(\"...\"), got {other}"
        ))),
    }
}

/// Checks an attribute assignment (not the vector field).
fn attribute(field: &str, value: &FieldValue, vector_field: &str) -> Result<Value> {
    if RESERVED_FIELDS.contains(&field) {
        return Err(Error::type_error(format!(
            "'{field}' is a reserved result column and cannot be a node attribute"
        )));
    }
    match value {
        FieldValue::Literal(v) => Ok(v.clone()),
        FieldValue::Embed(_) => Err(Error::type_error(format!(
            "embed(...) can only fill the vector field '{vector_field}', not '{field}' \
             (create the collection WITH (vector_field: '{field}') to use another field)"
        ))),
    }
}

/// Turns raw vectors into prepared vectors: embeds texts in one batch,
/// checks and fixes the dimension, records the embedder, normalises.
/// `spans[i]` is where raw vector `i` was written (its node literal), if
/// known; a dimension mismatch points there.
fn resolve_vectors(
    ctx: &Context<'_>,
    tenant: &Tenant,
    meta: &mut CollectionMeta,
    raws: Vec<Option<RawVector>>,
    spans: &[Span],
) -> Result<Vec<Option<Vec<f32>>>> {
    let texts: Vec<&str> = raws
        .iter()
        .filter_map(|r| match r {
            Some(RawVector::Text(t)) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    let embedder = if texts.is_empty() {
        ctx.config.embedder.clone()
    } else {
        ctx.embedder_for(tenant)?
    };
    if !texts.is_empty() {
        match &meta.embedder {
            Some(name) if name != embedder.name() => {
                return Err(Error::type_error(format!(
                    "collection {} holds vectors of embedder '{name}', but the engine's \
                     embedder is '{}'; mixing embedders in one collection gives meaningless \
                     distances",
                    meta.name,
                    embedder.name()
                )))
            }
            _ => meta.embedder = Some(embedder.name().to_string()),
        }
    }
    let mut embedded = embed_metered(embedder.as_ref(), &texts)?.into_iter();
    let mut out = Vec::with_capacity(raws.len());
    for (i, raw) in raws.into_iter().enumerate() {
        let v = match raw {
            None => None,
            Some(RawVector::Literal(v)) => Some(v),
            Some(RawVector::Text(_)) => Some(
                embedded
                    .next()
                    .ok_or_else(|| Error::io("embedder", "returned fewer vectors than texts"))?,
            ),
        };
        if let Some(mut v) = v {
            let dim = *meta.dimension.get_or_insert(v.len());
            if v.len() != dim {
                return Err(dimension_mismatch(&meta.name, dim, v.len())
                    .with_span(spans.get(i).copied().unwrap_or_default()));
            }
            prepare(meta.metric, &mut v);
            out.push(Some(v));
        } else {
            out.push(None);
        }
    }
    Ok(out)
}

/// The error for a vector of the wrong length.
pub(super) fn dimension_mismatch(collection: &str, expected: usize, got: usize) -> Error {
    Error::new(
        ErrorKind::DimensionMismatch,
        format!(
            "Vector dimension mismatch: collection {collection} has dimension {expected}, \
             got {got}"
        ),
    )
}

/// The node id from the `id` field: a string, or an integer taken as its text.
fn node_id(fields: &[(String, FieldValue)]) -> Result<String> {
    match fields.iter().find(|(k, _)| k == "id").map(|(_, v)| v) {
        Some(FieldValue::Literal(Value::Str(s))) if !s.is_empty() => Ok(s.clone()),
        Some(FieldValue::Literal(Value::Int(i))) => Ok(i.to_string()),
        Some(other) => Err(Error::type_error(format!(
            "node id must be a non-empty string, got {}",
            match other {
                FieldValue::Literal(v) => v.to_string(),
                FieldValue::Embed(_) => "embed(...)".into(),
            }
        ))),
        None => Err(Error::type_error(
            "every node needs an id field, e.g. { id: \"p1\", ... }",
        )),
    }
}

/// A node literal read and checked: id, attributes, raw vector, and the
/// node it replaces (`existing` looks the id up and refuses it if needed).
type ReadNode = (
    String,
    BTreeMap<String, Value>,
    Option<RawVector>,
    Option<u32>,
);

/// Reads one node literal of a batch; `seen` holds the ids before it.
fn read_node(
    node: &NodeLiteral,
    vector_field: &str,
    seen: &mut HashSet<String>,
    existing: impl Fn(&str) -> Result<Option<u32>>,
) -> Result<ReadNode> {
    let id = node_id(&node.fields)?;
    if !seen.insert(id.clone()) {
        return Err(Error::new(
            ErrorKind::NodeExists,
            format!("Node id {id:?} appears twice in the batch"),
        ));
    }
    let replaces = existing(&id)?;
    let mut attrs = BTreeMap::new();
    let mut raw = None;
    for (k, v) in &node.fields {
        if k == "id" {
            continue;
        }
        let duplicate = if k == vector_field {
            let was = raw.is_some();
            raw = raw_vector(k, v)?;
            was
        } else {
            attrs
                .insert(k.clone(), attribute(k, v, vector_field)?)
                .is_some()
        };
        if duplicate {
            return Err(Error::type_error(format!("field '{k}' is given twice")));
        }
    }
    Ok((id, attrs, raw, replaces))
}

/// CREATE NODE, CREATE NODES, UPSERT NODE. An empty batch changes nothing
/// (it creates no collection either). A first insert creates its
/// collection's file in the commit of its nodes, so a refused one (or a
/// crash before that commit) leaves no collection: a refused statement
/// changes nothing.
pub(super) fn insert(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    nodes: &[NodeLiteral],
    mode: Mode,
) -> Result<QueryResult> {
    if nodes.is_empty() {
        return Ok(QueryResult::message("0 nodes created"));
    }
    let (shared, created) = collection_for_insert(ctx, tenant, &q.collection, nodes.first())?;
    let result = insert_into(ctx, tenant, q, nodes, mode, &shared);
    if created && result.is_err() {
        tenant.forget_unwritten(&q.collection, &shared);
    }
    result
}

/// [`insert`] into `shared`, the collection `q` names.
fn insert_into(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    nodes: &[NodeLiteral],
    mode: Mode,
    shared: &SharedCollection,
) -> Result<QueryResult> {
    let mut c = shared.write();
    let mut meta = c.meta.clone();
    let vector_field = meta.vector_field.clone();
    let mut seen = HashSet::new();
    let mut prepared = Vec::with_capacity(nodes.len());
    let mut raws = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        if i % CANCEL_EVERY == 0 {
            ctx.cancel.check()?;
        }
        let read = read_node(node, &vector_field, &mut seen, |id| {
            let replaces = c.iid_of(id);
            if replaces.is_some() && mode == Mode::Create {
                return Err(Error::new(
                    ErrorKind::NodeExists,
                    format!(
                        "Node already exists: {id:?} in {}.{} (use UPSERT NODE to replace it)",
                        tenant.name, q.collection
                    ),
                ));
            }
            Ok(replaces)
        })
        .map_err(|e| e.with_span(node.span))?;
        let (id, attrs, raw, replaces) = read;
        raws.push(raw);
        prepared.push((id, attrs, replaces));
    }
    let spans: Vec<Span> = nodes.iter().map(|n| n.span).collect();
    let vectors = resolve_vectors(ctx, tenant, &mut meta, raws, &spans)?;
    if let Some(dim) = meta.dimension {
        let max = tenant.quota.limits().max_dimension;
        check_max("dimension", "Dimension exceeds maximum", dim as u64, max)?;
    }
    let added = prepared.iter().filter(|p| p.2.is_none()).count() as u64;
    let first = meta.allocate_iids(prepared.len())?;
    let new_nodes = prepared
        .into_iter()
        .zip(vectors)
        .enumerate()
        .map(|(i, ((id, attrs, replaces), vector))| {
            (
                first + i as u32,
                NewNode {
                    id,
                    attrs,
                    vector,
                    replaces,
                },
            )
        })
        .collect::<Vec<_>>();
    let n = new_nodes.len();
    // The last safe point: after the embedding, before the commit.
    ctx.cancel.check()?;
    // Reserved before the commit, so concurrent writers never pass the limit.
    tenant.quota.reserve(added)?;
    if let Err(e) = c.apply(meta, new_nodes, Vec::new(), ctx.config) {
        tenant.quota.release(added);
        return Err(e);
    }
    note(Metric::Inserts, n as u64);
    let verb = if mode == Mode::Upsert {
        "upserted"
    } else {
        "created"
    };
    Ok(QueryResult::message(format!(
        "{n} node{} {verb}",
        if n == 1 { "" } else { "s" }
    )))
}

/// The live internal ids a write's filter selects, in id order.
fn selected(c: &Collection, filter: Option<&Expr>) -> Vec<u32> {
    let ids = match filter {
        Some(f) => matching_ids(f, c.attributes(), c.live()),
        None => c.live().clone(),
    };
    ids.iter().collect()
}

/// `[WHERE ...] UPDATE SET ...`
pub(super) fn update(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    filter: Option<&Expr>,
    set: &[(String, FieldValue)],
) -> Result<QueryResult> {
    let shared = tenant.collection(&q.collection, ctx.config)?;
    let mut c = shared.write();
    let mut meta = c.meta.clone();
    let vector_field = meta.vector_field.clone();
    let mut new_vector = None;
    let mut assignments = Vec::new();
    for (k, v) in set {
        if k == "id" {
            return Err(Error::type_error("a node's id cannot be changed by UPDATE"));
        }
        if *k == vector_field {
            new_vector = Some(raw_vector(k, v)?);
        } else {
            assignments.push((k.clone(), attribute(k, v, &vector_field)?));
        }
    }
    let targets = selected(&c, filter);
    let vector = match new_vector {
        Some(raw) => Some(
            resolve_vectors(ctx, tenant, &mut meta, vec![raw], &[])?
                .pop()
                .flatten(),
        ),
        None => None,
    };
    let fresh_ids = if vector.is_some() {
        Some(meta.allocate_iids(targets.len())?)
    } else {
        None
    };
    let mut new_nodes = Vec::with_capacity(targets.len());
    for (i, iid) in targets.iter().enumerate() {
        let Some(node) = c.node(*iid) else { continue };
        let mut attrs = node.attrs.to_map();
        for (k, v) in &assignments {
            attrs.insert(k.clone(), v.clone());
        }
        // A new vector gets a new internal id (the graph cannot update a
        // point in place); an attribute-only update keeps id and vector.
        let (new_iid, vec) = match (&vector, fresh_ids) {
            (Some(v), Some(first)) => (first + i as u32, v.clone()),
            _ => (*iid, c.vector(*iid).map(<[f32]>::to_vec)),
        };
        new_nodes.push((
            new_iid,
            NewNode {
                id: node.id.to_string(),
                attrs,
                vector: vec,
                replaces: Some(*iid),
            },
        ));
    }
    let n = new_nodes.len();
    ctx.cancel.check()?;
    c.apply(meta, new_nodes, Vec::new(), ctx.config)?;
    note(Metric::Updates, n as u64);
    Ok(QueryResult::message(format!(
        "{n} node{} updated",
        if n == 1 { "" } else { "s" }
    )))
}

/// `[WHERE ...] DELETE`
pub(super) fn delete(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    filter: Option<&Expr>,
) -> Result<QueryResult> {
    let shared = tenant.collection(&q.collection, ctx.config)?;
    let mut c = shared.write();
    let targets = selected(&c, filter);
    let n = targets.len();
    let meta = c.meta.clone();
    c.apply(meta, Vec::new(), targets, ctx.config)?;
    tenant.quota.release(n as u64);
    note(Metric::Deletes, n as u64);
    Ok(QueryResult::message(format!(
        "{n} node{} deleted",
        if n == 1 { "" } else { "s" }
    )))
}
