//! SHOW TENANTS, DESCRIBE TENANT, SHOW COLLECTIONS, SHOW STATS.

use std::collections::BTreeMap;

use crate::collection::filter::matches_row;
use crate::collection::meta::CollectionMeta;
use crate::error::Result;
use crate::executor::{report, Context};
use crate::parser::ast::Expr;
use crate::result::QueryResult;
use crate::storage::dir_size;
use crate::tenant::retention::purge_due_ms;
use crate::tenant::Tenant;
use crate::value::Value;

pub(super) fn time(ms: i64) -> Value {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => Value::Str(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        None => Value::Null,
    }
}

pub(super) fn strs(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| c.to_string()).collect()
}

pub(super) fn show_tenants(
    ctx: &mut Context<'_>,
    filter: Option<&Expr>,
    limit: Option<u64>,
) -> Result<QueryResult> {
    let columns = strs(&["name", "status", "tier", "display_name", "created_at"]);
    let mut rows = Vec::new();
    for r in ctx.catalog.listed_records()? {
        if limit.is_some_and(|l| rows.len() as u64 >= l) {
            break;
        }
        let mut fields: BTreeMap<String, Value> = r.options.clone();
        fields.insert("name".into(), Value::Str(r.name.clone()));
        fields.insert("status".into(), Value::Str(r.status().into()));
        fields.insert("created_at".into(), time(r.created_at_ms));
        if let Some(f) = filter {
            if !matches_row(f, &|k: &str| fields.get(k)) {
                continue;
            }
        }
        let get = |k: &str| fields.get(k).cloned().unwrap_or(Value::Null);
        rows.push(columns.iter().map(|c| get(c)).collect());
    }
    Ok(QueryResult::rows(columns, rows))
}

pub(super) fn describe_tenant(ctx: &mut Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    let r = tenant.record();
    let infos = tenant.collection_infos()?;
    let (loaded, memory) = tenant.loaded_memory();
    let mut rows: Vec<Vec<Value>> = vec![
        vec![Value::Str("name".into()), Value::Str(r.name.clone())],
        vec![Value::Str("status".into()), Value::Str(r.status().into())],
        vec![
            Value::Str("storage".into()),
            Value::Str(r.storage.name().into()),
        ],
        vec![
            Value::Str("access".into()),
            Value::Str(r.access.name().into()),
        ],
        vec![
            Value::Str("reason".into()),
            r.reason.clone().map_or(Value::Null, Value::Str),
        ],
        vec![
            Value::Str("purge_at".into()),
            purge_due_ms(&r, &ctx.catalog.effective_options(&r.options)).map_or(Value::Null, time),
        ],
        vec![Value::Str("created_at".into()), time(r.created_at_ms)],
        vec![Value::Str("updated_at".into()), time(r.updated_at_ms)],
    ];
    for (k, v) in &r.options {
        rows.push(vec![Value::Str(k.clone()), v.clone()]);
    }
    let vectors: u64 = infos.iter().map(|(_, n)| n).sum();
    let storage = dir_size(&tenant.dir);
    let dimension = infos.iter().filter_map(|(m, _)| m.dimension).max();
    let (location, in_bucket) = ctx.catalog.placement(&tenant)?;
    rows.extend([
        vec![
            Value::Str("collections".into()),
            Value::Int(infos.len() as i64),
        ],
        vec![Value::Str("vectors".into()), Value::Int(vectors as i64)],
        vec![
            Value::Str("storage_bytes".into()),
            Value::Int(storage as i64),
        ],
        vec![Value::Str("location".into()), Value::Str(location)],
        vec![
            Value::Str("object_store_bytes".into()),
            in_bucket.map_or(Value::Null, |b| Value::Int(b as i64)),
        ],
        vec![Value::Str("loaded".into()), Value::Bool(loaded > 0)],
        vec![Value::Str("memory_bytes".into()), Value::Int(memory as i64)],
        vec![
            Value::Str("last_accessed".into()),
            tenant.slot.last_accessed_ms().map_or(Value::Null, time),
        ],
    ]);
    let dimension = dimension.unwrap_or(0) as u64;
    rows.extend(report::describe_rows(
        ctx, &tenant, vectors, storage, dimension,
    )?);
    Ok(QueryResult::rows(strs(&["property", "value"]), rows))
}

pub(super) fn show_collections(tenant: &Tenant) -> Result<QueryResult> {
    let mut columns = strs(&["name", "nodes"]);
    columns.extend(strs(&CollectionMeta::DESCRIBED));
    let rows = tenant
        .collection_infos()?
        .into_iter()
        .map(|(meta, count)| {
            let mut row = vec![Value::Str(meta.name.clone()), Value::Int(count as i64)];
            row.extend(meta.describe());
            row
        })
        .collect();
    Ok(QueryResult::rows(columns, rows))
}

pub(super) fn show_stats(ctx: &mut Context<'_>) -> Result<QueryResult> {
    let tenants = ctx.catalog.list();
    let mut by_status: BTreeMap<&'static str, i64> = BTreeMap::new();
    let (mut loaded_tenants, mut loaded_collections, mut memory) = (0i64, 0i64, 0i64);
    for t in &tenants {
        *by_status.entry(t.status()).or_default() += 1;
        let (n, bytes) = t.loaded_memory();
        if n > 0 {
            loaded_tenants += 1;
        }
        loaded_collections += n as i64;
        memory += bytes as i64;
    }
    let mut rows = vec![vec![
        Value::Str("tenants".into()),
        Value::Int(tenants.len() as i64),
    ]];
    for (status, n) in by_status {
        rows.push(vec![Value::Str(format!("tenants_{status}")), Value::Int(n)]);
    }
    rows.extend([
        vec![
            Value::Str("loaded_tenants".into()),
            Value::Int(loaded_tenants),
        ],
        vec![
            Value::Str("loaded_collections".into()),
            Value::Int(loaded_collections),
        ],
        vec![Value::Str("memory_bytes".into()), Value::Int(memory)],
    ]);
    rows.extend(super::pool_stats::rows(&ctx.catalog.pool_stats()));
    rows.extend([vec![
        Value::Str("embedder".into()),
        Value::Str(ctx.config.embedder.name().into()),
    ]]);
    rows.extend(report::stats_rows(ctx)?);
    Ok(QueryResult::rows(strs(&["metric", "value"]), rows))
}
