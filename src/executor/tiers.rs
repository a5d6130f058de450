//! CREATE TIER, ALTER TIER, DROP TIER, SHOW TIERS.

use crate::clock::now_ms;
use crate::error::Result;
use crate::executor::show::{strs, time};
use crate::executor::Context;
use crate::parser::ast::Opt;
use crate::result::QueryResult;
use crate::tenant::quota::Limits;
use crate::tenant::record::INHERITED;
use crate::tenant::tiers::BUILTIN;
use crate::value::Value;

pub(super) fn create(
    ctx: &Context<'_>,
    name: &str,
    if_not_exists: bool,
    options: &[Opt],
) -> Result<QueryResult> {
    if ctx
        .catalog
        .create_tier(name, options, if_not_exists, now_ms())?
    {
        Ok(QueryResult::message(format!("Tier {name} created")))
    } else {
        Ok(QueryResult::message(format!(
            "Tier {name} already exists, skipped"
        )))
    }
}

pub(super) fn alter(ctx: &Context<'_>, name: &str, set: &[Opt]) -> Result<QueryResult> {
    let n = ctx.catalog.alter_tier(name, set, now_ms())?;
    Ok(QueryResult::message(format!(
        "Tier {name} altered ({n} tenant(s) on it)"
    )))
}

pub(super) fn drop(ctx: &Context<'_>, name: &str, if_exists: bool) -> Result<QueryResult> {
    if ctx.catalog.drop_tier(name, if_exists)? {
        Ok(QueryResult::message(format!("Tier {name} dropped")))
    } else {
        Ok(QueryResult::message(format!(
            "Tier {name} does not exist, skipped"
        )))
    }
}

/// `SHOW TIERS`: one row per tier with the tenants naming it and each
/// setting (`null`: the tier does not set it; storage in bytes).
pub(super) fn show(ctx: &Context<'_>) -> Result<QueryResult> {
    let settings: Vec<&str> = INHERITED
        .into_iter()
        .filter(|k| !matches!(*k, "max_storage_mb" | "max_storage_gb"))
        .collect();
    let mut columns = strs(&["name", "builtin", "tenants"]);
    columns.extend(strs(&settings));
    columns.push("updated_at".into());
    let rows = ctx
        .catalog
        .list_tiers()?
        .into_iter()
        .map(|(t, users)| {
            let l = Limits::from_options(&t.settings);
            let mut row = vec![
                Value::Str(t.name.clone()),
                Value::Bool(BUILTIN.contains(&t.name.as_str())),
                Value::Int(users as i64),
            ];
            row.extend(settings.iter().map(|k| {
                match *k {
                    // The storage options as one number, the rate as a number.
                    "max_storage_bytes" => l
                        .max_storage_bytes
                        .map_or(Value::Null, |n| Value::Int(n as i64)),
                    "max_qps" => l.max_qps.map_or(Value::Null, Value::Float),
                    k => t.settings.get(k).cloned().unwrap_or(Value::Null),
                }
            }));
            row.push(time(t.updated_at_ms));
            row
        })
        .collect();
    Ok(QueryResult::rows(columns, rows))
}
