//! Tenant export and import over HTTP (admin key only): `GET
//! /v1/tenants/{t}/export` runs EXPORT TENANT into a temporary file in the
//! data folder's `exports/` and streams it; `POST /v1/imports` writes the
//! request body to such a file and runs IMPORT TENANT from it. The
//! temporary file is removed when the response or the import is done.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Json;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value as Json_};

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

/// A temporary file under `exports/`, removed when dropped.
struct Temporary {
    /// The name relative to `exports/` (what the statement is given).
    name: String,
    path: PathBuf,
}

impl Temporary {
    fn new(state: &Shared, what: &str) -> Temporary {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!(".http-{what}-{}-{n}.pqlt", std::process::id());
        let path = exports_dir(&state.engine.config().data_dir).join(&name);
        Temporary { name, path }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
    let file = File::open(&tmp.path)
        .map_err(|e| ApiError::internal(&format!("cannot read the export: {e}")))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
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

/// `IMPORT TENANT` of the request body (a `.pqlt` file).
#[utoipa::path(post, path = "/v1/imports", tag = "admin", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "imported")))]
pub(crate) async fn import(
    State(state): State<Shared>,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Json_>, ApiError> {
    let scope = auth::scope(&state, &headers).await?;
    auth::admin(&scope)?;
    let tmp = Temporary::new(&state, "import");
    std::fs::create_dir_all(tmp.path.parent().unwrap_or(std::path::Path::new(".")))
        .map_err(|e| ApiError::internal(&format!("cannot create the exports folder: {e}")))?;
    let mut file = File::create(&tmp.path)
        .map_err(|e| ApiError::internal(&format!("cannot store the upload: {e}")))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        file.write_all(&chunk)
            .map_err(|e| ApiError::internal(&format!("cannot store the upload: {e}")))?;
    }
    drop(file);
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
    drop(tmp);
    Ok(Json(
        json!({ "results": results_json(std::slice::from_ref(&result)) }),
    ))
}
