//! Errors as HTTP responses: every error has the body
//! `{"error": {"kind", "code", "message", "line", "column"}}` (and, for
//! `POST /v1/query`, the results of the statements that completed and the
//! failing statement's index), with the status [`status_of`] gives.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use crate::error::{Error, ErrorKind};
use crate::output;

/// The HTTP status of an engine error.
///
/// | status | kinds |
/// |---|---|
/// | 400 | ParseError, TypeError, DimensionMismatch, InvalidName, InvalidOption, Unsupported, NoTenant |
/// | 404 | TenantNotFound, CollectionNotFound, NodeNotFound, KeyNotFound, TierNotFound |
/// | 409 | TenantExists, CollectionExists, NodeExists, TierExists, TierInUse, InvalidTransition, TenantArchived, TenantSuspended, TenantReadOnly, TenantPendingDeletion |
/// | 413 | QuotaExceeded on `batch_size` |
/// | 422 | QuotaExceeded on any other resource (vectors, storage, dimension, results, ...) |
/// | 429 | RateLimited |
/// | 500 | Io, Corrupt |
/// | 503 | StorageUnavailable (the object store cannot be reached), NotOwner (cluster mode: retry, another node owns the tenant now) |
pub fn status_of(kind: &ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::ParseError
        | ErrorKind::TypeError
        | ErrorKind::DimensionMismatch
        | ErrorKind::InvalidName
        | ErrorKind::InvalidOption
        | ErrorKind::Unsupported
        | ErrorKind::NoTenant => StatusCode::BAD_REQUEST,
        ErrorKind::TenantNotFound
        | ErrorKind::CollectionNotFound
        | ErrorKind::NodeNotFound
        | ErrorKind::KeyNotFound
        | ErrorKind::TierNotFound => StatusCode::NOT_FOUND,
        ErrorKind::TenantExists
        | ErrorKind::CollectionExists
        | ErrorKind::NodeExists
        | ErrorKind::TierExists
        | ErrorKind::TierInUse
        | ErrorKind::InvalidTransition
        | ErrorKind::TenantArchived
        | ErrorKind::TenantSuspended
        | ErrorKind::TenantReadOnly
        | ErrorKind::TenantPendingDeletion => StatusCode::CONFLICT,
        ErrorKind::QuotaExceeded { resource, .. } if resource == "batch_size" => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        ErrorKind::QuotaExceeded { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Io | ErrorKind::Corrupt => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::StorageUnavailable | ErrorKind::NotOwner => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::REQUEST_TIMEOUT),
    }
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// The object under `"error"`.
    error: Json,
    /// `Retry-After`, for rate limits.
    retry_after: Option<Duration>,
    /// Results of the statements that completed before the error.
    results: Option<Vec<Json>>,
}

impl ApiError {
    /// An error of the HTTP layer (no engine error behind it).
    pub(crate) fn http(
        status: StatusCode,
        kind: &str,
        code: &str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            error: json!({
                "kind": kind,
                "code": code,
                "message": message.into(),
                "line": null,
                "column": null,
            }),
            retry_after: None,
            results: None,
        }
    }

    /// 400: a body that is not what the endpoint reads.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::http(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "http.bad_request",
            message,
        )
    }

    /// 401: no key, or a key the server does not know.
    pub(crate) fn unauthorized(message: &str) -> Self {
        Self::http(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "auth.unauthorized",
            message,
        )
    }

    /// 403: the key may not do this.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::http(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "auth.forbidden",
            message,
        )
    }

    /// 503: the server is shutting down.
    pub(crate) fn shutting_down() -> Self {
        Self::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "ShuttingDown",
            "server.shutting_down",
            "the server is shutting down",
        )
    }

    /// 500 for a failure of the server itself (a task that did not finish).
    pub(crate) fn internal(message: &str) -> Self {
        Self::http(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal",
            "server.internal",
            message,
        )
    }

    /// An engine error. Storage failures are logged and answered without
    /// their message, which may name server paths.
    pub fn engine(err: &Error) -> Self {
        let status = status_of(err.kind());
        let mut error = output::error_value(err);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            eprintln!("pql serve: {err}");
            error["message"] = Json::String("internal storage error (see the server log)".into());
        }
        let retry_after = match err.kind() {
            ErrorKind::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        };
        ApiError {
            status,
            error,
            retry_after,
            results: None,
        }
    }

    /// The error of statement `index` of a script, after `results`.
    pub(crate) fn in_script(mut self, index: Option<usize>, results: Vec<Json>) -> Self {
        if let Some(i) = index {
            self.error["statement"] = json!(i);
        }
        self.results = Some(results);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        self.error["message"].as_str().unwrap_or_default()
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError::engine(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.results {
            Some(results) => json!({ "results": results, "error": self.error }),
            None => json!({ "error": self.error }),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, with the status the table gives it.
    #[test]
    fn every_error_kind_has_its_status() {
        let quota = |resource: &str| ErrorKind::QuotaExceeded {
            resource: resource.into(),
            current: 2,
            limit: 1,
        };
        let cases = [
            (ErrorKind::ParseError, 400),
            (ErrorKind::TypeError, 400),
            (ErrorKind::DimensionMismatch, 400),
            (ErrorKind::InvalidName, 400),
            (ErrorKind::InvalidOption, 400),
            (ErrorKind::Unsupported, 400),
            (ErrorKind::NoTenant, 400),
            (ErrorKind::TenantNotFound, 404),
            (ErrorKind::CollectionNotFound, 404),
            (ErrorKind::NodeNotFound, 404),
            (ErrorKind::KeyNotFound, 404),
            (ErrorKind::TierNotFound, 404),
            (ErrorKind::TenantExists, 409),
            (ErrorKind::TierExists, 409),
            (ErrorKind::TierInUse, 409),
            (ErrorKind::CollectionExists, 409),
            (ErrorKind::NodeExists, 409),
            (ErrorKind::InvalidTransition, 409),
            (ErrorKind::TenantArchived, 409),
            (ErrorKind::TenantSuspended, 409),
            (ErrorKind::TenantReadOnly, 409),
            (ErrorKind::TenantPendingDeletion, 409),
            (quota("batch_size"), 413),
            (quota("vectors"), 422),
            (quota("storage_bytes"), 422),
            (quota("dimension"), 422),
            (quota("results"), 422),
            (
                ErrorKind::RateLimited {
                    retry_after: Duration::from_millis(1500),
                },
                429,
            ),
            (ErrorKind::Io, 500),
            (ErrorKind::Corrupt, 500),
            (ErrorKind::StorageUnavailable, 503),
            (ErrorKind::NotOwner, 503),
            (ErrorKind::Cancelled, 499),
        ];
        for (kind, status) in cases {
            assert_eq!(status_of(&kind).as_u16(), status, "{kind:?}");
        }
    }

    #[test]
    fn storage_errors_hide_their_message() {
        let e = ApiError::engine(&Error::new(ErrorKind::Io, "cannot open /srv/secret/x.redb"));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.error.to_string().contains("/srv"), "{}", e.error);
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let e = ApiError::engine(&Error::new(
            ErrorKind::RateLimited {
                retry_after: Duration::from_millis(1500),
            },
            "slow down",
        ));
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
