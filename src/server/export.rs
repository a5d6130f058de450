//! Tenant export and import over HTTP (admin key only): `GET
//! /v1/tenants/{t}/export` runs EXPORT TENANT into a temporary file in the
//! data folder's `exports/` and streams it; `POST /v1/imports` writes the
//! request body (at most `--max-import-bytes`) to such a file and runs
//! IMPORT TENANT from it. The temporary file is removed when the response
//! or the import is done, when the upload is refused or the client goes
//! away; one left by a crash ends in `.tmp`, and the engine removes it at
//! open (`storage::temporaries`). File I/O runs off the async threads.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value as Json_};
use tokio::io::AsyncWriteExt;

use super::auth;
use super::errors::ApiError;
use super::script::{self, results_json};
use super::state::Shared;
use crate::ast::{Opt, Statement};
use crate::storage::export_paths::exports_dir;
use crate::value::Value;

/// Bytes read from the file per streamed chunk.
const CHUNK: usize = 1 << 20;

/// Numbers the temporary files of this process.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A temporary file under `exports/`, removed when dropped (on the
/// blocking pool when a runtime is there).
struct Temporary {
    /// The name relative to `exports/` (what the statement is given).
    name: String,
    path: PathBuf,
}

impl Temporary {
    fn new(state: &Shared, what: &str) -> Temporary {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // `.tmp`: a crash's leftover is cleaned at open.
        let name = format!(".http-{what}-{}-{n}.tmp", std::process::id());
        let path = exports_dir(&state.engine.config().data_dir).join(&name);
        Temporary { name, path }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.path);
        let remove = move || {
            let _ = std::fs::remove_file(&path);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(remove)),
            Err(_) => remove(),
        }
    }
}

fn opt(key: &str, value: Value) -> Opt {
    Opt {
        key: key.into(),
        value,
        span: Default::default(),
    }
}

/// `?usage=true&keys=true`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ExportParams {
    /// Include the usage history.
    #[serde(default)]
    usage: bool,
    /// Include the API key hashes.
    #[serde(default)]
    keys: bool,
}

/// `EXPORT TENANT`, streamed as `application/octet-stream`.
#[utoipa::path(get, path = "/v1/tenants/{tenant}/export", tag = "admin",
    params(("tenant" = String, Path), ExportParams),
    responses((status = 200, description = "the .pqlt file")))]
pub(crate) async fn export(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(params): Query<ExportParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = auth::scope(&state, &headers).await?;
    auth::admin(&scope)?;
    let tmp = Temporary::new(&state, "export");
    let statement = Statement::ExportTenant {
        name: name.as_str().into(),
        path: tmp.name.clone(),
        options: vec![
            opt("usage", Value::Bool(params.usage)),
            opt("keys", Value::Bool(params.keys)),
        ],
    };
    script::run_one(&state, scope, statement).await?;
    let cannot_read =
        |e: std::io::Error| ApiError::internal(&format!("cannot read the export: {e}"));
    let file = tokio::fs::File::open(&tmp.path)
        .await
        .map_err(cannot_read)?;
    let len = file.metadata().await.map_err(cannot_read)?.len();
    let file = file.into_std().await;
    // The stream owns the file and its temporary: both go when it ends or
    // the client goes away.
    let chunks = futures::stream::unfold(Some((file, tmp)), |open| async move {
        let (mut file, tmp) = open?;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf);
            (file, buf, n)
        })
        .await;
        match read {
            Ok((file, mut buf, Ok(n))) if n > 0 => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), Some((file, tmp))))
            }
            Ok((_, _, Err(e))) => Some((Err(e), None)),
            _ => None,
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.pqlt\""),
        )
        .body(Body::from_stream(chunks))
        .map_err(|e| ApiError::internal(&e.to_string()))
}

/// `?as=&replace=&status=&tier=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ImportParams {
    /// Import under this name (default: the name in the file).
    #[serde(rename = "as")]
    as_name: Option<String>,
    /// Replace an existing tenant of that name.
    #[serde(default)]
    replace: bool,
    /// The imported tenant's status.
    status: Option<String>,
    /// The imported tenant's tier.
    tier: Option<String>,
}

/// 413 for an upload past `--max-import-bytes`.
fn too_large(limit: u64) -> ApiError {
    ApiError::http(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PayloadTooLarge",
        "http.body_too_large",
        format!("the upload is larger than {limit} bytes (pql serve --max-import-bytes)"),
    )
}

/// Writes the request body to `tmp`: 413 past `limit` bytes (refused from
/// its Content-Length before anything is written when it declares one),
/// 408 when no data arrives for the body timeout.
async fn receive(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    tmp: &Temporary,
) -> Result<(), ApiError> {
    let limit = state.options.max_import_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let cannot_store =
        |e: std::io::Error| ApiError::internal(&format!("cannot store the upload: {e}"));
    if let Some(folder) = tmp.path.parent() {
        tokio::fs::create_dir_all(folder)
            .await
            .map_err(cannot_store)?;
    }
    let mut file = tokio::fs::File::create(&tmp.path)
        .await
        .map_err(cannot_store)?;
    let mut stream = body.into_data_stream();
    let mut received: u64 = 0;
    loop {
        let next = tokio::time::timeout(state.options.body_timeout, stream.next()).await;
        let chunk = match next {
            Err(_) => {
                return Err(ApiError::http(
                    StatusCode::REQUEST_TIMEOUT,
                    "RequestTimeout",
                    "http.timeout",
                    "the upload stalled: no data arrived within the body timeout",
                ))
            }
            Ok(None) => break,
            Ok(Some(chunk)) => {
                chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?
            }
        };
        received = received.saturating_add(chunk.len() as u64);
        if received > limit {
            return Err(too_large(limit));
        }
        file.write_all(&chunk).await.map_err(cannot_store)?;
    }
    file.flush().await.map_err(cannot_store)
}

/// `IMPORT TENANT` of the request body (a `.pqlt` file).
#[utoipa::path(post, path = "/v1/imports", tag = "admin", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "imported"),
        (status = 413, description = "larger than --max-import-bytes")))]
pub(crate) async fn import(
    State(state): State<Shared>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let scope = auth::scope(&state, &headers).await?;
    auth::admin(&scope)?;
    let tmp = Temporary::new(&state, "import");
    receive(&state, &headers, body, &tmp).await?;
    let options = [
        params.status.map(|s| opt("status", Value::Str(s))),
        params.tier.map(|t| opt("tier", Value::Str(t))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let statement = Statement::ImportTenant {
        path: tmp.name.clone(),
        as_name: params.as_name.map(Into::into),
        replace: params.replace,
        options,
    };
    let result = script::run_one(&state, scope, statement).await?;
    let _ = tokio::fs::remove_file(&tmp.path).await;
    Ok(Json(
        json!({ "results": results_json(std::slice::from_ref(&result)) }),
    ))
}
