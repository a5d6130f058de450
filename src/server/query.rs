//! `POST /v1/query`: PQL text in, `{"results": [...]}` out.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::body::{self, Expect};
use super::errors::ApiError;
use super::script::{self, Input, Run};
use super::{auth, state::Shared};

/// Runs the statements of the body in order and stops at the first
/// error; the statements before it are durable. Every statement is
/// authorised before any runs.
#[utoipa::path(
    post, path = "/v1/query", tag = "data",
    request_body(content = String, content_type = "text/plain",
        description = "PQL statements separated by `;`"),
    params(("X-Tenant-ID" = Option<String>, Header, description = "acts like USE TENANT")),
    responses(
        (status = 200, description = "`{\"results\": [{\"columns\", \"rows\", \"message\", \"elapsed_ms\"}]}`"),
        (status = "4XX", description = "`{\"results\": [...], \"error\": {\"kind\", \"code\", \"message\", \"line\", \"column\", \"statement\"}}`"),
    )
)]
pub(crate) async fn query(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let scope = auth::scope(&state, &headers).await?;
    let use_tenant = auth::session_tenant(&headers, &scope)?;
    body::content_type(&headers, Expect::Pql)?;
    let text = body::text(body::read(&state, &headers, body).await?)?;
    let run = Run {
        scope,
        use_tenant,
        input: Input::Text(text),
    };
    let results = script::run(&state, run).await?;
    Ok(Json(json!({ "results": script::results_json(&results) })))
}
