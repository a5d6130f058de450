//! Who is asking: `Authorization: Bearer KEY` becomes a [`KeyScope`], and
//! a scope is checked against the plans of the statements a request runs.
//!
//! A tenant key may do `Read` and `Write` on its own tenant only. Naming
//! another tenant (in a statement, in `X-Tenant-ID` or in the path) is 403
//! whether or not that tenant exists, so the answer reveals nothing.

use axum::http::{header, HeaderMap};

use super::errors::ApiError;
use super::state::Shared;
use crate::{Access, KeyScope, Plan};

/// The header that acts like `USE TENANT`.
pub(crate) const TENANT_HEADER: &str = "x-tenant-id";

/// The scope of the request's key. In local development mode (no admin
/// key) a request without a key is admin; one that presents a key is
/// bound to it as always (a tenant key to its tenant, an unknown key 401).
///
/// The admin key and tenant keys verified before are answered from
/// memory; only a key not seen yet is looked up on the blocking pool.
pub(crate) async fn scope(state: &Shared, headers: &HeaderMap) -> Result<KeyScope, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        if state.dev_mode() {
            return Ok(KeyScope::Admin);
        }
        return Err(ApiError::unauthorized(
            "missing key: send Authorization: Bearer KEY",
        ));
    };
    let key = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::unauthorized("malformed Authorization: expected Bearer KEY"))?;
    if let Some(known) = state.engine.cached_key_scope(key) {
        return Ok(known);
    }
    let key = key.to_string();
    let found = state
        .blocking(move |s| s.engine.key_scope(&key).map_err(ApiError::from))
        .await?;
    found.ok_or_else(|| ApiError::unauthorized("unknown key"))
}

/// The admin plane's check: only the admin key.
pub(crate) fn admin(scope: &KeyScope) -> Result<(), ApiError> {
    match scope {
        KeyScope::Admin => Ok(()),
        KeyScope::Tenant(_) => Err(ApiError::forbidden("this needs the admin key")),
    }
}

/// A request about `tenant` (a path segment): its own key or the admin key.
pub(crate) fn tenant(scope: &KeyScope, tenant: &str) -> Result<(), ApiError> {
    match scope {
        KeyScope::Tenant(own) if own != tenant => Err(forbidden_tenant()),
        _ => Ok(()),
    }
}

/// The tenant the request's statements use by default: `X-Tenant-ID`,
/// else, for a tenant key, its own tenant. A tenant key naming another
/// tenant is refused.
pub(crate) fn session_tenant(
    headers: &HeaderMap,
    scope: &KeyScope,
) -> Result<Option<String>, ApiError> {
    let named = match headers.get(TENANT_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::bad_request("X-Tenant-ID is not visible ASCII"))?
                .to_string(),
        ),
        None => None,
    };
    match (scope, named) {
        (KeyScope::Tenant(own), Some(t)) if *own != t => Err(forbidden_tenant()),
        (KeyScope::Tenant(own), None) => Ok(Some(own.clone())),
        (_, named) => Ok(named),
    }
}

/// Checks every plan against `scope`, before any statement runs.
pub(crate) fn authorize(scope: &KeyScope, plans: &[Plan]) -> Result<(), ApiError> {
    let KeyScope::Tenant(own) = scope else {
        return Ok(());
    };
    for plan in plans {
        if plan.access() == Access::Admin {
            return Err(ApiError::forbidden(
                "an admin statement needs the admin key",
            ));
        }
        if plan.tenants().iter().any(|t| t != own) {
            return Err(forbidden_tenant());
        }
    }
    Ok(())
}

fn forbidden_tenant() -> ApiError {
    ApiError::forbidden("this key may not touch that tenant")
}
