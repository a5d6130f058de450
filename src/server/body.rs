//! Reading a request body: content type, size limit, timeout, UTF-8, JSON.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::errors::ApiError;
use super::state::AppState;

/// What a body must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// PQL text: `text/plain`, `application/pql`, or no content type.
    Pql,
    /// `application/json`.
    Json,
}

/// Refuses a body of the wrong content type with 415.
pub(crate) fn content_type(headers: &HeaderMap, expect: Expect) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?"))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let ok = matches!(
        (expect, given.as_deref()),
        (Expect::Pql, None | Some("text/plain" | "application/pql"))
            | (Expect::Json, Some("application/json"))
    );
    if ok {
        return Ok(());
    }
    let wanted = match expect {
        Expect::Pql => "text/plain (PQL text)",
        Expect::Json => "application/json",
    };
    Err(ApiError::http(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UnsupportedMediaType",
        "http.content_type",
        format!(
            "wrong content type {}: this endpoint reads {wanted}",
            given.as_deref().unwrap_or("(none)")
        ),
    ))
}

/// Reads the whole body: 413 past the limit, 408 if the client is slower
/// than the body timeout.
pub(crate) async fn read(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, ApiError> {
    let limit = state.options.body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match tokio::time::timeout(
        state.options.body_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await
    {
        Err(_) => Err(ApiError::http(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeout",
            "http.timeout",
            "the request body did not arrive in time",
        )),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large(limit)),
        Ok(Err(e)) => Err(ApiError::bad_request(format!("cannot read the body: {e}"))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

fn too_large(limit: usize) -> ApiError {
    ApiError::http(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLarge",
        "http.body_too_large",
        format!("the body is larger than {limit} bytes"),
    )
}

/// The body as UTF-8 text.
pub(crate) fn text(bytes: Bytes) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))
}

/// The body as JSON of type `T`.
pub(crate) fn json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

/// Reads a JSON body of type `T` (content type, limit, timeout, parse).
pub(crate) async fn read_json<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    content_type(headers, Expect::Json)?;
    json(&read(state, headers, body).await?)
}
