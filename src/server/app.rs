//! The router, its layers, and serving until a shutdown signal.

use std::future::Future;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use super::errors::ApiError;
use super::state::{AppState, Shared};
use super::{admin, health, metrics, openapi, points, query, ServerOptions};
use crate::Engine;

/// The routes of the server.
fn router(state: Shared) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/openapi.json", get(openapi::openapi))
        .route("/v1/query", post(query::query))
        .route(
            "/v1/tenants/{tenant}/collections/{collection}/upsert",
            post(points::upsert),
        )
        .route(
            "/v1/tenants/{tenant}/collections/{collection}/search",
            post(points::search),
        )
        .route(
            "/v1/tenants",
            get(admin::list_tenants).post(admin::create_tenant),
        )
        .route(
            "/v1/tenants/{tenant}",
            get(admin::get_tenant)
                .patch(admin::patch_tenant)
                .delete(admin::delete_tenant),
        )
        .route("/v1/tenants/{tenant}/archive", post(admin::archive))
        .route("/v1/tenants/{tenant}/restore", post(admin::restore))
        .route("/v1/tenants/{tenant}/usage", get(admin::usage))
        .route("/v1/tenants/{tenant}/export", get(super::export::export))
        .route("/v1/imports", post(super::export::import))
        .route("/v1/tenants/{tenant}/health", get(health::tenant_health))
        .route(
            "/v1/tenants/{tenant}/keys",
            get(admin::list_keys).post(admin::create_key),
        )
        .route(
            "/v1/tenants/{tenant}/keys/{id}",
            axum::routing::delete(admin::delete_key),
        )
        .route("/v1/stats", get(admin::stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), header_limit))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "NotFound",
        "http.not_found",
        "no such endpoint",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "http.method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// 431 for a header value longer than the limit.
async fn header_limit(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let limit = state.options.max_header_bytes;
    if request.headers().values().any(|v| v.len() > limit) {
        return ApiError::http(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HeadersTooLarge",
            "http.headers_too_large",
            format!("a header is longer than {limit} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Serves `engine` on `listener` until `shutdown` completes, then stops
/// accepting, lets the requests in flight finish, and saves the graph
/// indexes and the usage counts. The engine closes when its last clone
/// is dropped.
pub async fn serve(
    engine: Engine,
    listener: TcpListener,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(engine, options);
    let app = router(state.clone());
    let flag = state.clone();
    // Small responses go out at once rather than waiting for the
    // client's delayed ACK (Nagle's algorithm).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            flag.begin_shutdown();
        })
        .await?;
    let flushed = state
        .blocking(|s| s.engine.flush().map_err(ApiError::from))
        .await;
    if let Err(e) = flushed {
        eprintln!("pql serve: flush at shutdown failed: {:?}", e.status());
    }
    Ok(())
}
