//! Health probes (no key needed): `/healthz`, `/readyz`; and a tenant's
//! health, `/v1/tenants/{t}/health` (its own key or the admin key).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::admin::pairs_object;
use super::auth;
use super::errors::ApiError;
use super::script;
use super::state::Shared;
use crate::ast::Statement;

/// Utilisation from which a quota counts as near its limit.
const NEAR_LIMIT: f64 = 0.9;

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`")))]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The engine is open and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "ready"), (status = 503, description = "shutting down")))]
pub(crate) async fn readyz(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::shutting_down());
    }
    Ok(Json(json!({ "status": "ready" })))
}

/// The tenant's status, whether it is loaded, its last error, and which
/// quotas are near their limits (90 % or more used).
#[utoipa::path(get, path = "/v1/tenants/{tenant}/health", tag = "health",
    params(("tenant" = String, Path)),
    responses((status = 200, description = "`{\"tenant\", \"status\", \"loaded\", \"last_error\", \"quotas_near_limit\", \"utilization\"}`")))]
pub(crate) async fn tenant_health(
    State(state): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let scope = auth::scope(&state, &headers).await?;
    auth::tenant(&scope, &name)?;
    let statement = Statement::DescribeTenant {
        name: name.clone().into(),
    };
    let described = pairs_object(&script::run_one(&state, scope, statement).await?);
    let mut utilization = serde_json::Map::new();
    let mut near = Vec::new();
    if let Value::Object(fields) = &described {
        for (k, v) in fields {
            let Some(resource) = k.strip_prefix("utilization_") else {
                continue;
            };
            if v.as_f64().is_some_and(|u| u >= NEAR_LIMIT) {
                near.push(resource.to_string());
            }
            utilization.insert(resource.to_string(), v.clone());
        }
    }
    let body = json!({
        "tenant": name,
        "status": described["status"],
        "loaded": described["loaded"],
        "last_error": state.last_error(&name),
        "quotas_near_limit": near,
        "utilization": utilization,
    });
    Ok(Json(body))
}
