//! The admin plane (the admin key only): tenants, their lifecycle, usage,
//! statistics and API keys (tiers: `tiers.rs`). Each endpoint builds one
//! statement.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json_};

use super::errors::ApiError;
use super::script::{self, results_json};
use super::state::Shared;
use super::{auth, body, json};
use crate::ast::{CmpOp, Expr, Period, Statement};
use crate::value::Value;
use crate::QueryResult;

/// Page size of `GET /v1/tenants` when `limit` is not given.
const DEFAULT_PAGE: u64 = 100;
/// Largest page of `GET /v1/tenants`.
const MAX_PAGE: u64 = 1000;

/// `?status=&after=&limit=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ListParams {
    /// Only tenants of this status (`active`, `archived`, ...).
    status: Option<String>,
    /// Only tenants whose name sorts after this one (the previous page's
    /// `next_after`).
    after: Option<String>,
    /// Page size (default 100, at most 1000).
    limit: Option<u64>,
}

/// `{"name", "options": {...}}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenantBody {
    /// The tenant's name.
    name: String,
    /// Options, as `CREATE TENANT ... WITH (...)` takes them.
    #[serde(default)]
    #[schema(value_type = Object)]
    options: Map<String, Json_>,
}

/// `{"options": {...}}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchTenantBody {
    /// Options to set, as `ALTER TENANT ... SET` takes them.
    #[schema(value_type = Object)]
    options: Map<String, Json_>,
}

/// `?period=YYYY-MM`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct UsageParams {
    /// A month, `YYYY-MM` (default: this month).
    period: Option<String>,
}

/// Checks the admin key, then reads the JSON body: the scope and the body.
pub(super) async fn admin_body<T: serde::de::DeserializeOwned>(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
) -> Result<(crate::KeyScope, T), ApiError> {
    let scope = auth::scope(state, headers).await?;
    auth::admin(&scope)?;
    let req = body::read_json(state, headers, body).await?;
    Ok((scope, req))
}

/// Checks the admin key and runs `statement`.
pub(super) async fn admin_run(
    state: &Shared,
    headers: &HeaderMap,
    statement: Statement,
) -> Result<QueryResult, ApiError> {
    let scope = auth::scope(state, headers).await?;
    auth::admin(&scope)?;
    script::run_one(state, scope, statement).await
}

/// The result as `{"results": [...]}`.
pub(super) fn results(result: &QueryResult) -> Json<Json_> {
    Json(json!({ "results": results_json(std::slice::from_ref(result)) }))
}

/// Each row as an object keyed by column.
pub(super) fn row_objects(result: &QueryResult) -> Vec<Json_> {
    result
        .rows
        .iter()
        .map(|row| {
            let fields = result
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| (c.clone(), v.to_json()));
            Json_::Object(fields.collect())
        })
        .collect()
}

/// A two-column (property, value) result as one object.
pub(crate) fn pairs_object(result: &QueryResult) -> Json_ {
    let fields = result.rows.iter().filter_map(|row| match row.as_slice() {
        [Value::Str(k), v] => Some((k.clone(), v.to_json())),
        _ => None,
    });
    Json_::Object(fields.collect())
}

/// Lists tenants by name, a page at a time.
#[utoipa::path(get, path = "/v1/tenants", tag = "admin", params(ListParams),
    responses((status = 200, description = "`{\"tenants\": [...], \"next_after\": name | null}`")))]
pub(crate) async fn list_tenants(
    State(state): State<Shared>,
    Query(params): Query<ListParams>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let limit = params.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let cmp = |field: &str, op, value: String| Expr::Cmp {
        field: field.into(),
        op,
        value: Value::Str(value),
    };
    let filter = [
        params.status.map(|s| cmp("status", CmpOp::Eq, s)),
        params.after.map(|a| cmp("name", CmpOp::Gt, a)),
    ]
    .into_iter()
    .flatten()
    .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    let statement = Statement::ShowTenants {
        filter,
        limit: Some(limit),
    };
    let result = admin_run(&state, &headers, statement).await?;
    let tenants = row_objects(&result);
    let next_after = match tenants.last() {
        Some(last) if tenants.len() as u64 == limit => last["name"].clone(),
        _ => Json_::Null,
    };
    Ok(Json(
        json!({ "tenants": tenants, "next_after": next_after }),
    ))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/v1/tenants", tag = "admin", request_body = CreateTenantBody,
    responses((status = 201, description = "created"), (status = 409, description = "exists")))]
pub(crate) async fn create_tenant(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let (scope, req): (_, CreateTenantBody) = admin_body(&state, &headers, body).await?;
    let statement = Statement::CreateTenant {
        name: req.name.into(),
        if_not_exists: false,
        options: json::options(&req.options)?,
    };
    let result = script::run_one(&state, scope, statement).await?;
    Ok((StatusCode::CREATED, results(&result)))
}

/// Describes a tenant (`DESCRIBE TENANT`) as one object.
#[utoipa::path(get, path = "/v1/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, description = "the tenant's properties")))]
pub(crate) async fn get_tenant(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let result = admin_run(
        &state,
        &headers,
        Statement::DescribeTenant { name: name.into() },
    )
    .await?;
    Ok(Json(pairs_object(&result)))
}

/// Changes a tenant's options (`ALTER TENANT ... SET`).
#[utoipa::path(patch, path = "/v1/tenants/{tenant}", tag = "admin", request_body = PatchTenantBody,
    params(("tenant" = String, Path)), responses((status = 200, description = "changed")))]
pub(crate) async fn patch_tenant(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let (scope, req): (_, PatchTenantBody) = admin_body(&state, &headers, body).await?;
    let set = json::assignments(&req.options)?;
    let result = script::run_one(
        &state,
        scope,
        Statement::AlterTenant {
            name: name.into(),
            set,
        },
    )
    .await?;
    Ok(results(&result))
}

/// Deletes a tenant and all its data (`DROP TENANT`).
#[utoipa::path(delete, path = "/v1/tenants/{tenant}", tag = "admin", params(("tenant" = String, Path)),
    responses((status = 200, description = "dropped")))]
pub(crate) async fn delete_tenant(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::DropTenant {
        name: name.into(),
        if_exists: false,
    };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}

/// `ARCHIVE TENANT`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/archive", tag = "admin",
    params(("tenant" = String, Path)), responses((status = 200, description = "archived")))]
pub(crate) async fn archive(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::ArchiveTenant { name: name.into() };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}

/// `RESTORE TENANT`.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/restore", tag = "admin",
    params(("tenant" = String, Path)), responses((status = 200, description = "restored")))]
pub(crate) async fn restore(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::RestoreTenant { name: name.into() };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}

/// `SHOW USAGE FOR TENANT t [PERIOD p]`.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/usage", tag = "admin",
    params(("tenant" = String, Path), UsageParams), responses((status = 200, description = "usage")))]
pub(crate) async fn usage(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Query(params): Query<UsageParams>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::ShowUsage {
        tenant: Some(tenant.into()),
        period: params.period.map(Period::Month),
    };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}

/// `SHOW STATS` as one object.
#[utoipa::path(get, path = "/v1/stats", tag = "admin",
    responses((status = 200, description = "engine statistics")))]
pub(crate) async fn stats(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let result = admin_run(&state, &headers, Statement::ShowStats).await?;
    Ok(Json(pairs_object(&result)))
}

/// Creates a key bound to the tenant: `{"id", "tenant", "key",
/// "created_at"}`. The key is shown this once.
#[utoipa::path(post, path = "/v1/tenants/{tenant}/keys", tag = "admin",
    params(("tenant" = String, Path)), responses((status = 201, description = "`{\"id\", \"key\", ...}`")))]
pub(crate) async fn create_key(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let result = admin_run(&state, &headers, Statement::CreateApiKey { tenant }).await?;
    let key = row_objects(&result).pop().unwrap_or(Json_::Null);
    Ok((StatusCode::CREATED, Json(key)))
}

/// The tenant's keys: ids and creation times only.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/keys", tag = "admin",
    params(("tenant" = String, Path)), responses((status = 200, description = "`{\"keys\": [...]}`")))]
pub(crate) async fn list_keys(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::ShowApiKeys {
        tenant: Some(tenant),
    };
    let result = admin_run(&state, &headers, statement).await?;
    Ok(Json(json!({ "keys": row_objects(&result) })))
}

/// Revokes a key; it stops working at once.
#[utoipa::path(delete, path = "/v1/tenants/{tenant}/keys/{id}", tag = "admin",
    params(("tenant" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "revoked"), (status = 404, description = "no such key")))]
pub(crate) async fn delete_key(
    State(state): State<Shared>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::DropApiKey { id, tenant };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}
