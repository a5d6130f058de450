//! Data statements: `QUERY coll [TENANT t] ...` (node writes, updates,
//! deletes and reads) and `EXPLAIN QUERY ...`.

use std::collections::HashSet;

use pest::iterators::Pair;

use super::ast::{
    FieldValue, Limit, NodeLiteral, Query, QueryOp, Returning, Select, SelectSpans, Similar, Span,
    VectorExpr,
};
use super::errors::Source;
use super::literal::{self, count, key, name, only, options, significant, span, string, value};
use super::{expr, Rule};
use crate::error::Result;

/// Builds a `query_stmt` pair.
pub(crate) fn query(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Query> {
    let mut collection = None;
    let mut tenant = None;
    let mut filter = None;
    let mut filter_span = Span::default();
    let mut op = None;
    for p in significant(pair.clone()) {
        match p.as_rule() {
            Rule::name => collection = Some(name(src, p)?),
            Rule::tenant_clause => tenant = Some(name(src, only(src, p)?)?),
            Rule::where_clause => {
                filter_span = span(&p);
                filter = Some(expr::filter(src, only(src, p)?)?);
            }
            Rule::create_node => op = Some(QueryOp::CreateNode(node(src, only(src, p)?)?)),
            Rule::upsert_node => op = Some(QueryOp::UpsertNode(node(src, only(src, p)?)?)),
            Rule::create_nodes => {
                let nodes = significant(p).map(|n| node(src, n));
                op = Some(QueryOp::CreateNodes(nodes.collect::<Result<_>>()?));
            }
            Rule::upsert_nodes => {
                let nodes = significant(p).map(|n| node(src, n));
                op = Some(QueryOp::UpsertNodes(nodes.collect::<Result<_>>()?));
            }
            Rule::update_op => {
                let set = significant(p).map(|a| assignment(src, a));
                op = Some(QueryOp::Update {
                    filter: filter.take(),
                    set: set.collect::<Result<_>>()?,
                });
            }
            Rule::delete_op => {
                op = Some(QueryOp::Delete {
                    filter: filter.take(),
                })
            }
            Rule::select => {
                let mut s = select(src, p)?;
                s.filter = filter.take();
                s.spans.filter = filter_span;
                op = Some(QueryOp::Select(s));
            }
            _ => return Err(src.internal(&p)),
        }
    }
    Ok(Query {
        collection: collection.ok_or_else(|| src.internal(&pair))?,
        tenant,
        op: op.unwrap_or_else(|| {
            QueryOp::Select(Select {
                filter,
                spans: SelectSpans {
                    filter: filter_span,
                    ..SelectSpans::default()
                },
                ..Select::default()
            })
        }),
    })
}

/// `{ field: value | embed("..."), ... }`; a field may appear once.
fn node(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<NodeLiteral> {
    let at = span(&pair);
    let mut fields = Vec::new();
    let mut seen = HashSet::new();
    for f in significant(pair) {
        let at = f.clone();
        let (k, v) = assignment(src, f)?;
        if !seen.insert(k.clone()) {
            return Err(src.error_at(&at, format!("duplicate field `{k}`")));
        }
        fields.push((k, v));
    }
    Ok(NodeLiteral { fields, span: at })
}

/// `field: value` in a node literal or `field = value` in `UPDATE SET`.
fn assignment(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<(String, FieldValue)> {
    let mut parts = significant(pair.clone());
    let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
        return Err(src.internal(&pair));
    };
    Ok((key(src, k)?, field_value(src, v)?))
}

fn field_value(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<FieldValue> {
    let inner = only(src, pair)?;
    match inner.as_rule() {
        Rule::embed_call => Ok(FieldValue::Embed(string(src, only(src, inner)?)?)),
        _ => Ok(FieldValue::Literal(value(src, inner)?)),
    }
}

/// The read clauses after `WHERE` (the caller sets the filter).
fn select(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Select> {
    let mut s = Select::default();
    for p in significant(pair) {
        match p.as_rule() {
            Rule::similar_clause => {
                s.spans.similar = span(&p);
                let (similar, vector) = similar(src, p)?;
                s.similar = Some(similar);
                s.spans.vector = vector;
            }
            Rule::top_clause | Rule::limit_clause => {
                let top = p.as_rule() == Rule::top_clause;
                let k = only(src, p)?;
                s.spans.limit = span(&k);
                let k = count(src, &k)?;
                s.limit = Some(if top { Limit::Top(k) } else { Limit::Limit(k) });
            }
            Rule::with_options => {
                s.spans.options = span(&p);
                s.options = options(src, p)?;
            }
            Rule::return_clause => {
                let mut fields = Vec::new();
                for f in significant(p) {
                    if f.as_rule() == Rule::count_star {
                        s.returning = Some(Returning::Count);
                    } else {
                        fields.push(key(src, f)?);
                    }
                }
                if !fields.is_empty() {
                    s.returning = Some(Returning::Fields(fields));
                }
            }
            _ => return Err(src.internal(&p)),
        }
    }
    Ok(s)
}

/// `SIMILAR TO (embed("..") | [numbers] | NODE "id") [USING field]`, and
/// where its vector is.
fn similar(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<(Similar, Span)> {
    let mut vector = None;
    let mut using = None;
    let mut at = Span::default();
    for p in significant(pair.clone()) {
        if p.as_rule() != Rule::using_clause {
            at = span(&p);
        }
        match p.as_rule() {
            Rule::embed_call => vector = Some(VectorExpr::Embed(string(src, only(src, p)?)?)),
            Rule::node_ref => vector = Some(VectorExpr::Node(string(src, only(src, p)?)?)),
            Rule::vector_literal => vector = Some(VectorExpr::Literal(literal::vector(src, p)?)),
            Rule::using_clause => using = Some(key(src, only(src, p)?)?),
            _ => return Err(src.internal(&p)),
        }
    }
    let similar = Similar {
        vector: vector.ok_or_else(|| src.internal(&pair))?,
        using,
    };
    Ok((similar, at))
}
