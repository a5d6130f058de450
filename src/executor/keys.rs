//! CREATE API KEY, SHOW API KEYS, DROP API KEY.

use crate::error::Result;
use crate::executor::show::{strs, time};
use crate::executor::Context;
use crate::result::QueryResult;
use crate::value::Value;

/// `CREATE API KEY FOR TENANT t`: one row with the key, shown this once.
pub(super) fn create(ctx: &mut Context<'_>, tenant: &str) -> Result<QueryResult> {
    let (record, key) = ctx.catalog.create_key(tenant, crate::clock::now_ms())?;
    let mut result = QueryResult::rows(
        strs(&["id", "tenant", "key", "created_at"]),
        vec![vec![
            Value::Str(record.id),
            Value::Str(record.tenant),
            Value::Str(key),
            time(record.created_at_ms),
        ]],
    );
    result.message = Some("API key created; it is shown only this once".into());
    Ok(result)
}

/// `SHOW API KEYS [FOR TENANT t]`: ids and creation times, never keys.
pub(super) fn show(ctx: &mut Context<'_>, tenant: Option<&str>) -> Result<QueryResult> {
    let rows = ctx
        .catalog
        .keys(tenant)?
        .into_iter()
        .map(|r| {
            vec![
                Value::Str(r.id),
                Value::Str(r.tenant),
                time(r.created_at_ms),
            ]
        })
        .collect();
    Ok(QueryResult::rows(
        strs(&["id", "tenant", "created_at"]),
        rows,
    ))
}

/// `DROP API KEY 'id' FOR TENANT t`: the key stops working at once.
pub(super) fn drop(ctx: &mut Context<'_>, id: &str, tenant: &str) -> Result<QueryResult> {
    ctx.catalog.drop_key(tenant, id)?;
    Ok(QueryResult::message(format!(
        "API key {id} of tenant {tenant} dropped"
    )))
}
