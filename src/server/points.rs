//! The JSON data endpoints, for clients that do not build PQL strings:
//! `POST /v1/tenants/{t}/collections/{c}/upsert` and `.../search`. They
//! build the AST directly (no value is spliced into PQL text) and go
//! through the same planner, quotas and metering as PQL.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json_};

use super::errors::ApiError;
use super::script;
use super::state::Shared;
use super::{auth, body, json};
use crate::ast::{
    FieldValue, Limit, NodeLiteral, Opt, Query, QueryOp, Returning, Select, SelectSpans, Similar,
    Span, Statement, VectorExpr,
};
use crate::value::Value;
use crate::KeyScope;

/// The vector field when the request names none.
const DEFAULT_VECTOR_FIELD: &str = "embedding";

/// `{"points": [...], "vector_field"?}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpsertBody {
    /// The points, upserted as one atomic batch.
    points: Vec<Point>,
    /// The collection's vector field (default `embedding`).
    #[serde(default)]
    vector_field: Option<String>,
}

/// One point: an id, a vector and attributes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Point {
    /// The node id.
    #[schema(value_type = String)]
    id: Json_,
    /// The vector.
    vector: Vec<f32>,
    /// Other fields of the node.
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: Map<String, Json_>,
}

/// `{"vector" | "text", "filter", "top_k", "ef", "return", "vector_field"}`
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchBody {
    /// A query vector.
    #[serde(default)]
    vector: Option<Vec<f32>>,
    /// Text to embed as the query vector (`embed(text)`).
    #[serde(default)]
    text: Option<String>,
    /// A PQL filter expression, e.g. `category = 'tools' AND price < 10`.
    #[serde(default)]
    filter: Option<String>,
    /// How many results (default 10 with a vector or text).
    #[serde(default)]
    top_k: Option<u64>,
    /// The graph search's candidate list size.
    #[serde(default)]
    ef: Option<u64>,
    /// The fields to return (default all).
    #[serde(default, rename = "return")]
    returning: Option<Vec<String>>,
    /// The collection's vector field (default `embedding`).
    #[serde(default)]
    vector_field: Option<String>,
}

/// Upserts the points as one atomic batch (`UPSERT NODES [...]`).
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/collections/{collection}/upsert", tag = "data",
    request_body = UpsertBody,
    params(("tenant" = String, Path), ("collection" = String, Path)),
    responses((status = 200, description = "`{\"results\": [...]}`"))
)]
pub(crate) async fn upsert(
    State(state): State<Shared>,
    Path((tenant, collection)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let (scope, req) = tenant_request::<UpsertBody>(&state, &tenant, &headers, body).await?;
    let vector_field = req
        .vector_field
        .unwrap_or_else(|| DEFAULT_VECTOR_FIELD.to_string());
    let nodes = req
        .points
        .into_iter()
        .map(|p| node(p, &vector_field))
        .collect::<Result<Vec<_>, _>>()?;
    run(
        &state,
        scope,
        tenant,
        collection,
        QueryOp::UpsertNodes(nodes),
    )
    .await
}

/// Checks the key against the path's tenant, then reads the JSON body.
async fn tenant_request<T: serde::de::DeserializeOwned>(
    state: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(KeyScope, T), ApiError> {
    let scope = auth::scope(state, headers).await?;
    auth::tenant(&scope, tenant)?;
    Ok((scope, body::read_json(state, headers, body).await?))
}

/// Runs `QUERY collection TENANT tenant op` and answers `{"results": [...]}`.
async fn run(
    state: &Shared,
    scope: KeyScope,
    tenant: String,
    collection: String,
    op: QueryOp,
) -> Result<Json<Json_>, ApiError> {
    let statement = Statement::Query(Query {
        collection: collection.into(),
        tenant: Some(tenant.into()),
        op,
    });
    let result = script::run_one(state, scope, statement).await?;
    Ok(Json(json!({ "results": script::results_json(&[result]) })))
}

/// A point as a node literal: `id`, the vector field, then the attributes.
fn node(p: Point, vector_field: &str) -> Result<NodeLiteral, ApiError> {
    let mut fields = vec![
        ("id".to_string(), FieldValue::Literal(json::to_value(&p.id))),
        (
            vector_field.to_string(),
            FieldValue::Literal(Value::Array(
                p.vector
                    .iter()
                    .map(|x| Value::Float(f64::from(*x)))
                    .collect(),
            )),
        ),
    ];
    for (k, v) in &p.attributes {
        if k == "id" || k == vector_field {
            return Err(ApiError::bad_request(format!(
                "attribute {k} is given outside attributes already"
            )));
        }
        fields.push((k.clone(), FieldValue::Literal(json::to_value(v))));
    }
    Ok(NodeLiteral {
        fields,
        span: Span::default(),
    })
}

/// A read: similarity to a vector or a text, a filter, top-k.
#[utoipa::path(
    post, path = "/v1/tenants/{tenant}/collections/{collection}/search", tag = "data",
    request_body = SearchBody,
    params(("tenant" = String, Path), ("collection" = String, Path)),
    responses((status = 200, description = "`{\"results\": [{\"columns\", \"rows\", ...}]}`"))
)]
pub(crate) async fn search(
    State(state): State<Shared>,
    Path((tenant, collection)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let (scope, req) = tenant_request::<SearchBody>(&state, &tenant, &headers, body).await?;
    run(
        &state,
        scope,
        tenant,
        collection,
        QueryOp::Select(select(req)?),
    )
    .await
}

fn select(req: SearchBody) -> Result<Select, ApiError> {
    let vector = match (req.vector, req.text) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either vector or text, not both",
            ))
        }
        (Some(v), None) => Some(VectorExpr::Literal(v)),
        (None, Some(t)) => Some(VectorExpr::Embed(t)),
        (None, None) => None,
    };
    let filter = match req.filter.as_deref() {
        Some(f) => Some(crate::parse_filter(f)?),
        None => None,
    };
    let mut options = Vec::new();
    if let Some(ef) = req.ef {
        options.push(Opt {
            key: "ef".into(),
            value: Value::Int(
                i64::try_from(ef).map_err(|_| ApiError::bad_request("ef is too large"))?,
            ),
            span: Span::default(),
        });
    }
    Ok(Select {
        filter,
        similar: vector.map(|vector| Similar {
            vector,
            using: req.vector_field,
        }),
        limit: req.top_k.map(Limit::Top),
        options,
        returning: req.returning.map(Returning::Fields),
        spans: SelectSpans::default(),
    })
}
