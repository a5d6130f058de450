//! Ownership on the request path: a request about tenants (in the path,
//! `/v1/tenants/<t>/...`, in `X-Tenant-ID`, or in the statements of a
//! `/v1/query` body) is served here if this node owns them, else forwarded
//! to their owner; a body touching tenants of different owners is refused.
//! Other requests (no tenant) are served here.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::owners::{Membership, Owner, FORWARD_TIMEOUT};
use super::proxy;
use crate::cluster::LeaseRecord;
use crate::server::auth::{self, TENANT_HEADER};
use crate::server::body;
use crate::server::errors::ApiError;
use crate::server::state::{AppState, Shared};

/// The owner's address, on every answer about a tenant, so that a client
/// can go to the owner directly next time.
pub(super) const OWNER_HEADER: &str = "x-pql-owner";
/// Set by a node forwarding a request: its name.
pub(super) const FORWARDED_HEADER: &str = "x-pql-forwarded-by";
/// The cluster secret, on forwarded requests.
pub(super) const SECRET_HEADER: &str = "x-pql-cluster-secret";
/// The admin endpoints that move a tenant; their handler takes the
/// tenant's hand-over gate itself (so does `ALTER TENANT t SET node`).
const MOVE_PREFIX: &str = "/v1/cluster/tenants/";

/// The middleware (cluster mode only; a no-op otherwise).
pub(crate) async fn route(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let Some(member) = state.options.cluster.clone() else {
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
    // Only a known key makes this node take a lease or forward: the
    // bucket's key records tell every node every key.
    let scope = match auth::scope(&state, request.headers()).await {
        Ok(scope) => scope,
        Err(e) => return e.into_response(),
    };
    let (parts, body) = request.into_parts();
    let mut body = Pending::Stream(body);
    let (tenants, moves) = match tenants_of(&state, &parts, &mut body).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = tenants.iter().try_for_each(|t| auth::tenant(&scope, t)) {
        return e.into_response();
    }
    if tenants.is_empty() {
        return next.run(Request::from_parts(parts, body.into_body())).await;
    }
    let routed = Routed {
        state: &state,
        member: &member,
        tenants: &tenants,
        forwarded,
        moves,
    };
    routed.dispatch(parts, body, next).await
}

/// A request about `tenants`, on its way to their owner.
struct Routed<'a> {
    state: &'a Shared,
    member: &'a Membership,
    tenants: &'a [String],
    forwarded: bool,
    /// The request moves its tenant (the move endpoint, or `ALTER TENANT
    /// t SET node`): its hand-over takes the tenant's gate itself, so
    /// the request must not hold it (it would wait for itself).
    moves: bool,
}

impl Routed<'_> {
    /// Serves the request here or forwards it. A forward that found the
    /// lease moved (`cluster.not_owner`) or the owner not listening (it is
    /// handing its tenants over as it shuts down) is routed again, to the
    /// owner the lease names then, for up to [`FORWARD_TIMEOUT`]: either
    /// way the owner did not apply it. An owner that stopped for good
    /// stops renewing its lease, so after the lease time this node takes
    /// the lease and answers itself.
    async fn dispatch(&self, parts: Parts, mut body: Pending, next: Next) -> Response {
        let lease_time = self.member.node().lease_time();
        let deadline = Instant::now() + FORWARD_TIMEOUT;
        loop {
            // A move takes the gate itself.
            let mut entered = Vec::new();
            if !self.moves {
                for tenant in self.tenants {
                    entered.push(self.member.enter(tenant).await);
                }
            }
            let owner = match self.owner().await {
                Ok(owner) => owner,
                Err(e) => return e.into_response(),
            };
            let owner = match owner {
                Owner::Here => {
                    let request = Request::from_parts(parts, body.into_body());
                    let mut response = next.run(request).await;
                    drop(entered);
                    for tenant in self.tenants {
                        self.member.settle(self.state, tenant).await;
                    }
                    if let Ok(v) = HeaderValue::from_str(self.member.node().address()) {
                        response.headers_mut().insert(OWNER_HEADER, v);
                    }
                    return response;
                }
                Owner::There(owner) => owner,
            };
            drop(entered);
            // One hop only: the lease moved while the request travelled.
            if self.forwarded {
                let first = self.tenants.first().map_or("", String::as_str);
                return ApiError::from(self.member.not_owner(first)).into_response();
            }
            let bytes = match body.bytes(self.state, &parts).await {
                Ok(bytes) => bytes,
                Err(e) => return e.into_response(),
            };
            let again = match proxy::forward(self.member, &owner, &parts, bytes).await {
                Ok(answer) if answer.is_not_owner() => answer.into_response(&owner),
                Ok(answer) => return answer.into_response(&owner),
                Err(failed) if failed.never_sent => failed.error.into_response(),
                Err(failed) => return failed.error.into_response(),
            };
            for tenant in self.tenants {
                self.member.forget_route(tenant);
            }
            if Instant::now() >= deadline {
                return again;
            }
            tokio::time::sleep(lease_time / 20).await;
        }
    }

    /// The one owner of every tenant of the request; 409
    /// `cluster.mixed_owners` if they have different ones.
    async fn owner(&self) -> Result<Owner, ApiError> {
        let mut here: Option<&str> = None;
        let mut there: Option<(&str, LeaseRecord)> = None;
        for tenant in self.tenants {
            match self.member.owner(self.state, tenant).await? {
                Owner::Here => here = Some(tenant.as_str()),
                Owner::There(record) => {
                    if let Some((other, first)) = &there {
                        if first.owner != record.owner {
                            return Err(mixed(other, &first.owner, tenant, &record.owner));
                        }
                    }
                    there = Some((tenant.as_str(), record));
                }
            }
            if let (Some(mine), Some((other, record))) = (here, &there) {
                return Err(mixed(mine, self.member.node().id(), other, &record.owner));
            }
        }
        Ok(there.map_or(Owner::Here, |(_, record)| Owner::There(record)))
    }
}

/// 409 for statements touching tenants owned by different nodes.
fn mixed(a: &str, a_owner: &str, b: &str, b_owner: &str) -> ApiError {
    ApiError::http(
        StatusCode::CONFLICT,
        "MixedOwners",
        "cluster.mixed_owners",
        format!(
            "the statements touch tenants owned by different nodes: {a:?} by {a_owner:?}, \
             {b:?} by {b_owner:?}; send the statements of each tenant in a request of their own"
        ),
    )
}

/// A request body: not read yet, or read (to plan its statements, or to
/// forward it).
enum Pending {
    Stream(Body),
    Read(Bytes),
}

impl Pending {
    /// The body for the handler.
    fn into_body(self) -> Body {
        match self {
            Pending::Stream(body) => body,
            Pending::Read(bytes) => Body::from(bytes),
        }
    }

    /// The whole body, read once (the size limit and timeout of every
    /// body apply).
    async fn bytes(&mut self, state: &AppState, parts: &Parts) -> Result<Bytes, ApiError> {
        let body = match std::mem::replace(self, Pending::Read(Bytes::new())) {
            Pending::Read(bytes) => bytes,
            Pending::Stream(body) => body::read(state, &parts.headers, body).await?,
        };
        *self = Pending::Read(body.clone());
        Ok(body)
    }
}

/// The tenants a request is about, sorted, without repeats: the path's
/// `/v1/tenants/<t>/...` (or a move's `/v1/cluster/tenants/<t>/...`); the
/// `name` of a `POST /v1/tenants` body; the `as` of a `POST /v1/imports`; for `POST /v1/query`, those its statements touch (with `X-Tenant-ID` as
/// their `USE TENANT`); else `X-Tenant-ID`. A body that does not parse or
/// plan is routed by `X-Tenant-ID` alone: the node serving it reports the
/// error. And whether the request moves a tenant (the move endpoint, or a
/// body with an `ALTER TENANT t SET node`).
async fn tenants_of(
    state: &Shared,
    parts: &Parts,
    body: &mut Pending,
) -> Result<(Vec<String>, bool), ApiError> {
    let path = parts.uri.path();
    for prefix in ["/v1/tenants/", MOVE_PREFIX] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let name = rest.split('/').next().unwrap_or("");
            if !name.is_empty() {
                return Ok((vec![name.to_string()], prefix == MOVE_PREFIX));
            }
        }
    }
    let header = parts
        .headers
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if parts.method == Method::POST && path == "/v1/tenants" {
        // Creating a tenant: its node is the one that will hold its lease.
        let bytes = body.bytes(state, parts).await?;
        let named = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("name")?.as_str().map(str::to_string));
        return Ok((named.or(header).into_iter().collect(), false));
    }
    if parts.method == Method::POST && path == "/v1/imports" {
        // An import under a name of its own goes to that tenant's owner.
        let named = axum::extract::Query::<ImportName>::try_from_uri(&parts.uri)
            .ok()
            .and_then(|q| q.0.as_name);
        return Ok((named.or(header).into_iter().collect(), false));
    }
    if parts.method != Method::POST || path != "/v1/query" {
        return Ok((header.into_iter().collect(), false));
    }
    let bytes = body.bytes(state, parts).await?;
    state
        .blocking(move |s| Ok(planned_tenants(s, header, &bytes)))
        .await
}

/// The `as` parameter of `POST /v1/imports`.
#[derive(serde::Deserialize)]
struct ImportName {
    #[serde(rename = "as")]
    as_name: Option<String>,
}

/// The tenants the statements of `text` touch, and whether one of them
/// moves its tenant, as [`tenants_of`] says.
fn planned_tenants(state: &AppState, header: Option<String>, text: &[u8]) -> (Vec<String>, bool) {
    let planned = std::str::from_utf8(text)
        .ok()
        .and_then(|text| crate::parse(text).ok())
        .and_then(|mut script| {
            if let Some(name) = &header {
                crate::server::script::use_tenant_first(&mut script, name);
            }
            let session = state.engine.session();
            let plans = session.plan_script(&script).ok()?;
            let tenants = plans
                .iter()
                .flat_map(|p| p.tenants().iter().cloned())
                .collect::<Vec<_>>();
            Some((tenants, plans.iter().any(|p| p.moves_to().is_some())))
        });
    let (mut tenants, moves) = planned.unwrap_or_else(|| (header.into_iter().collect(), false));
    tenants.sort();
    tenants.dedup();
    (tenants, moves)
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
