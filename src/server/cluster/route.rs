//! Ownership on the request path: a request about one tenant (in the path,
//! `/v1/tenants/<t>/...`, or in `X-Tenant-ID`) is served here if this node
//! owns the tenant, else forwarded to its owner. Other requests (no
//! tenant) are served here.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::owners::Owner;
use super::proxy;
use crate::error::{Error, ErrorKind};
use crate::server::auth::TENANT_HEADER;
use crate::server::errors::ApiError;
use crate::server::state::Shared;

/// The owner's address, on every answer about a tenant, so that a client
/// can go to the owner directly next time.
pub(super) const OWNER_HEADER: &str = "x-pql-owner";
/// Set by a node forwarding a request: its name.
pub(super) const FORWARDED_HEADER: &str = "x-pql-forwarded-by";
/// The cluster secret, on forwarded requests.
pub(super) const SECRET_HEADER: &str = "x-pql-cluster-secret";

/// The middleware (cluster mode only; a no-op otherwise).
pub(crate) async fn route(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let Some(member) = state.options.cluster.clone() else {
        return next.run(request).await;
    };
    let Some(tenant) = tenant_of(&request) else {
        return next.run(request).await;
    };
    // Without a key the handler answers 401: no lease is taken for it.
    if !state.dev_mode() && !request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    let forwarded = request.headers().contains_key(FORWARDED_HEADER);
    if forwarded {
        let secret = request.headers().get(SECRET_HEADER);
        if !secret.is_some_and(|s| member.is_secret(s.as_bytes())) {
            return ApiError::forbidden("a forwarded request without the cluster secret")
                .into_response();
        }
    }
    match member.owner(&tenant).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Owner::Here) => {
            let mut response = next.run(request).await;
            if let Ok(v) = HeaderValue::from_str(member.node().address()) {
                response.headers_mut().insert(OWNER_HEADER, v);
            }
            response
        }
        // One hop only: the lease moved while the request travelled.
        Ok(Owner::There(owner)) if forwarded => ApiError::from(Error::new(
            ErrorKind::NotOwner,
            format!(
                "node {:?} does not own tenant {tenant:?} ({:?} does since epoch {}); retry",
                member.node().id(),
                owner.owner,
                owner.epoch
            ),
        ))
        .into_response(),
        Ok(Owner::There(owner)) => {
            let limit = state.options.body_limit;
            proxy::forward(&member, &owner, request, limit)
                .await
                .unwrap_or_else(|e| e.into_response())
        }
    }
}

/// The one tenant a request is about, if it names one: the path's
/// `/v1/tenants/<t>/...`, else `X-Tenant-ID`.
fn tenant_of(request: &Request) -> Option<String> {
    let path = request.uri().path();
    if let Some(rest) = path.strip_prefix("/v1/tenants/") {
        let name = rest.split('/').next().unwrap_or("");
        if !name.is_empty() {
            return Some(name.to_string());
        }
    }
    request
        .headers()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// 502 for an owner that did not answer.
pub(super) fn unreachable(owner: &str, address: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::http(
        StatusCode::BAD_GATEWAY,
        "OwnerUnreachable",
        "cluster.owner_unreachable",
        format!("the tenant's owner {owner:?} at {address} did not answer: {err}; retry"),
    )
}
