//! The tier endpoints (the admin key only): `GET /v1/tiers` (SHOW TIERS),
//! `POST /v1/tiers` (CREATE TIER), `PATCH /v1/tiers/{tier}` (ALTER TIER)
//! and `DELETE /v1/tiers/{tier}` (DROP TIER).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json_};

use super::admin::{admin_body, admin_run, results, row_objects};
use super::errors::ApiError;
use super::state::Shared;
use super::{json, script};
use crate::ast::Statement;

/// `{"name", "settings": {...}}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTierBody {
    /// The tier's name.
    name: String,
    /// Settings, as `CREATE TIER ... WITH (...)` takes them.
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Json_>,
}

/// `{"settings": {...}}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchTierBody {
    /// Settings to set (`null` removes one), as `ALTER TIER ... SET` takes them.
    #[schema(value_type = Object)]
    settings: Map<String, Json_>,
}

/// Lists the tiers with their settings and how many tenants name each.
#[utoipa::path(get, path = "/v1/tiers", tag = "admin",
    responses((status = 200, description = "`{\"tiers\": [...]}`")))]
pub(crate) async fn list_tiers(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let result = admin_run(&state, &headers, Statement::ShowTiers).await?;
    Ok(Json(json!({ "tiers": row_objects(&result) })))
}

/// Creates a tier.
#[utoipa::path(post, path = "/v1/tiers", tag = "admin", request_body = CreateTierBody,
    responses((status = 201, description = "created"), (status = 409, description = "exists")))]
pub(crate) async fn create_tier(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let (scope, req): (_, CreateTierBody) = admin_body(&state, &headers, body).await?;
    let statement = Statement::CreateTier {
        name: req.name.into(),
        if_not_exists: false,
        options: json::options(&req.settings)?,
    };
    let result = script::run_one(&state, scope, statement).await?;
    Ok((StatusCode::CREATED, results(&result)))
}

/// Changes a tier's settings (`ALTER TIER ... SET`); every tenant
/// inheriting a setting gets the new value at once.
#[utoipa::path(patch, path = "/v1/tiers/{tier}", tag = "admin", request_body = PatchTierBody,
    params(("tier" = String, Path)), responses((status = 200, description = "changed"),
    (status = 404, description = "no such tier")))]
pub(crate) async fn patch_tier(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let (scope, req): (_, PatchTierBody) = admin_body(&state, &headers, body).await?;
    let statement = Statement::AlterTier {
        name: name.into(),
        set: json::assignments(&req.settings)?,
    };
    Ok(results(&script::run_one(&state, scope, statement).await?))
}

/// Drops a tier (`DROP TIER`): 409 while a tenant names it.
#[utoipa::path(delete, path = "/v1/tiers/{tier}", tag = "admin", params(("tier" = String, Path)),
    responses((status = 200, description = "dropped"), (status = 409, description = "in use")))]
pub(crate) async fn delete_tier(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::DropTier {
        name: name.into(),
        if_exists: false,
    };
    Ok(results(&admin_run(&state, &headers, statement).await?))
}
