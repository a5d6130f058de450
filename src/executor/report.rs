//! Usage reports: `SHOW USAGE`, and the quota and usage rows of
//! `DESCRIBE TENANT` and `SHOW STATS`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::error::Result;
use crate::executor::Context;
use crate::parser::ast::Period;
use crate::result::QueryResult;
use crate::storage::usage_store::Row;
use crate::tenant::billing::{span, Span};
use crate::tenant::names;
use crate::tenant::record::name_of_usage_key;
use crate::tenant::registry::Registry;
use crate::tenant::usage::{merge_day, Metric, METRICS, N};
use crate::tenant::{tiers, Tenant};
use crate::value::Value;

/// Above this utilization a tenant is `near_quota`.
const NEAR_QUOTA: f64 = 0.8;

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// All-time usage of every tenant (stored buckets plus unflushed counts).
fn all_time(ctx: &Context<'_>) -> Result<Vec<(String, Row)>> {
    ctx.metering.totals(i64::MIN, i64::MAX, now_s())
}

/// `SHOW USAGE [FOR TENANT t] [PERIOD ..]`: one row per tenant incarnation
/// with its totals per operation type and the estimated cost. FOR TENANT
/// shows the current incarnation only; the export of every tenant also
/// keeps a dropped incarnation's row for its period (a name dropped and
/// created again has a row for each).
pub(super) fn show_usage(
    ctx: &mut Context<'_>,
    tenant: Option<&str>,
    period: Option<&Period>,
) -> Result<QueryResult> {
    let today = chrono::Utc::now().date_naive();
    let span = span(period, today)?;
    if let Some(registry) = ctx.catalog.registry() {
        return cluster_usage(ctx, registry.as_ref(), tenant, &span, today);
    }
    let wanted = match tenant {
        Some(t) => Some(ctx.catalog.get(t)?.usage_key.clone()),
        None => None,
    };
    // The day each current tenant incarnation was created: storage is
    // charged from then, and never for days to come.
    let created: BTreeMap<String, NaiveDate> = ctx
        .catalog
        .list()
        .iter()
        .filter_map(|t| {
            let at = chrono::DateTime::from_timestamp_millis(t.record().created_at_ms)?;
            Some((t.usage_key.clone(), at.date_naive()))
        })
        .collect();
    let (from, to) = span.seconds();
    let mut totals = ctx.metering.totals(from, to, now_s())?;
    // Every current tenant appears, used or not; dropped tenants appear
    // while they have usage in the period.
    let known: BTreeSet<String> = totals.iter().map(|(t, _)| t.clone()).collect();
    for t in ctx.catalog.list() {
        if !known.contains(&t.usage_key) {
            totals.push((t.usage_key.clone(), [0; N + 1]));
        }
    }
    totals.sort_by(|a, b| a.0.cmp(&b.0));
    totals.retain(|(key, _)| wanted.as_ref().is_none_or(|want| want == key));
    Ok(usage_result(ctx, totals, &created, &span, today))
}

/// `SHOW USAGE` in cluster mode: every node's own usage summed per tenant
/// name (this node's from its table and unflushed counts, the others' as
/// they last published it), one row per registered tenant and per name
/// with usage in the period.
fn cluster_usage(
    ctx: &Context<'_>,
    registry: &dyn Registry,
    tenant: Option<&str>,
    span: &Span,
    today: NaiveDate,
) -> Result<QueryResult> {
    let records = registry.tenants()?;
    if let Some(t) = tenant {
        names::validate("tenant", t)?;
        if !records.iter().any(|r| r.name == t) {
            return Err(crate::tenant::not_found(t));
        }
    }
    let created: BTreeMap<String, NaiveDate> = records
        .iter()
        .filter_map(|r| {
            let at = chrono::DateTime::from_timestamp_millis(r.created_at_ms)?;
            Some((r.name.clone(), at.date_naive()))
        })
        .collect();
    let (from, to) = span.seconds();
    let mut totals = ctx.metering.node_totals(from, to, now_s())?;
    for (day, usage) in registry.others_usage(from, to)? {
        for (name, row) in usage {
            merge_day(&mut totals, name, day, &row);
        }
    }
    for r in records {
        totals.entry(r.name).or_insert((i64::MIN, [0; N + 1]));
    }
    let totals = totals
        .into_iter()
        .filter(|(name, _)| tenant.is_none_or(|t| t == name))
        .map(|(name, (_, row))| (name, row))
        .collect();
    Ok(usage_result(ctx, totals, &created, span, today))
}

/// The rows of `SHOW USAGE`: per usage key (or tenant name) of `totals`,
/// its totals and cost over `span`, storage charged from the day in
/// `created`.
fn usage_result(
    ctx: &Context<'_>,
    totals: Vec<(String, Row)>,
    created: &BTreeMap<String, NaiveDate>,
    span: &Span,
    today: NaiveDate,
) -> QueryResult {
    let mut columns = vec!["tenant".to_string(), "from".into(), "to".into()];
    columns.extend(METRICS.iter().map(|m| m.to_string()));
    columns.extend(["storage_bytes".to_string(), "cost".into()]);
    let prices = &ctx.config.prices;
    let rows = totals
        .into_iter()
        .map(|(key, row)| {
            let mut counts = [0u64; N];
            counts.copy_from_slice(&row[..N]);
            let mut out = vec![
                Value::Str(name_of_usage_key(&key).to_string()),
                Value::Str(span.first.to_string()),
                Value::Str(span.last().to_string()),
            ];
            out.extend(row.iter().map(|n| Value::Int(*n as i64)));
            let days = span.stored_days(created.get(&key).copied(), today);
            out.push(Value::Float(prices.cost(&counts, row[N], days)));
            out
        })
        .collect();
    QueryResult::rows(columns, rows)
}

fn limit_value(limit: Option<u64>) -> Value {
    limit.map_or(Value::Null, |l| Value::Int(l as i64))
}

fn ratio(used: u64, limit: Option<u64>) -> Option<f64> {
    match limit {
        Some(0) => Some(if used > 0 { 1.0 } else { 0.0 }),
        Some(l) => Some(used as f64 / l as f64),
        None => None,
    }
}

/// Quota rows of `DESCRIBE TENANT`: each effective limit and where it
/// comes from (`limit_<name>_source`: `override`, `tier` or `default`), the
/// usage and utilization of the stored ones, the other inherited settings
/// (`effective_<option>` and its source), the maximum and `near_quota`.
pub(super) fn describe_rows(
    ctx: &Context<'_>,
    tenant: &Tenant,
    vectors: u64,
    storage: u64,
    dimension: u64,
) -> Result<Vec<Vec<Value>>> {
    let l = tenant.quota.limits();
    let own = tenant.record().options;
    let tier = {
        let tiers = ctx.catalog.tiers();
        tiers::tier_of(&own).and_then(|t| tiers.get(t)).cloned()
    };
    let source = |key: &str| Value::Str(tiers::source(&own, tier.as_ref(), key).name().into());
    let row = |k: &str, v: Value| vec![Value::Str(k.into()), v];
    let mut rows = Vec::new();
    let mut max = 0.0f64;
    let limit_rows = |name: &str, limit: Value, rows: &mut Vec<Vec<Value>>| {
        rows.push(row(&format!("limit_{name}"), limit));
        rows.push(row(
            &format!("limit_{name}_source"),
            source(&format!("max_{name}")),
        ));
    };
    let mut used = |name: &str, value: u64, limit: Option<u64>, rows: &mut Vec<Vec<Value>>| {
        limit_rows(name, limit_value(limit), rows);
        let u = ratio(value, limit);
        if let Some(u) = u {
            max = max.max(u);
        }
        let shown = u.map_or(Value::Null, |u| Value::Float((u * 1e4).round() / 1e4));
        rows.push(row(&format!("utilization_{name}"), shown));
    };
    used("vectors", vectors, l.max_vectors, &mut rows);
    used("storage_bytes", storage, l.max_storage_bytes, &mut rows);
    used("dimension", dimension, l.max_dimension, &mut rows);
    let running = tenant.quota.running();
    used(
        "concurrent_queries",
        running,
        l.max_concurrent_queries,
        &mut rows,
    );
    limit_rows(
        "qps",
        l.max_qps.map_or(Value::Null, Value::Float),
        &mut rows,
    );
    for (name, limit) in [
        ("api_calls_per_minute", l.max_api_calls_per_minute),
        ("results_per_query", l.max_results_per_query),
        ("batch_size", l.max_batch_size),
    ] {
        limit_rows(name, limit_value(limit), &mut rows);
    }
    let effective = ctx.catalog.effective_options(&own);
    // Without a setting the embedder is the engine's default, not null.
    let default_embedder = Value::Str(ctx.config.embedder.name().into());
    for (key, default) in [
        ("retention_days", Value::Null),
        ("default_ef", Value::Null),
        ("embedder", default_embedder),
    ] {
        let value = effective.get(key).cloned().unwrap_or(default);
        rows.push(row(&format!("effective_{key}"), value));
        rows.push(row(&format!("effective_{key}_source"), source(key)));
    }
    let usage = all_time(ctx)?
        .into_iter()
        .find(|(key, _)| *key == tenant.usage_key)
        .map_or([0; N + 1], |(_, r)| r);
    for (name, m) in [
        ("requests", Metric::Statements),
        ("queries", Metric::Searches),
        ("inserts", Metric::Inserts),
        ("deletes", Metric::Deletes),
    ] {
        rows.push(row(name, Value::Int(usage[m as usize] as i64)));
    }
    rows.push(row(
        "quota_utilization",
        Value::Float((max * 1e4).round() / 1e4),
    ));
    rows.push(row("near_quota", Value::Bool(max > NEAR_QUOTA)));
    Ok(rows)
}

/// Aggregate request rows of `SHOW STATS` (all tenants, all time).
pub(super) fn stats_rows(ctx: &Context<'_>) -> Result<Vec<Vec<Value>>> {
    let mut sum = [0u64; N];
    for (_, row) in all_time(ctx)? {
        for (s, n) in sum.iter_mut().zip(row.iter()) {
            *s = s.saturating_add(*n);
        }
    }
    Ok(METRICS
        .iter()
        .zip(sum)
        .map(|(name, n)| vec![Value::Str(format!("usage_{name}")), Value::Int(n as i64)])
        .collect())
}
