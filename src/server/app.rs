//! The router, its layers, and serving until a shutdown signal.

use std::future::Future;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::Listener;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use super::errors::ApiError;
use super::state::{AppState, Shared};
use super::{admin, health, metrics, openapi, points, query, ServerOptions};
use crate::Engine;

/// The routes of the server.
fn router(state: Shared) -> Router {
    let routes = Router::new()
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
        .route(
            "/v1/tiers",
            get(super::tiers::list_tiers).post(super::tiers::create_tier),
        )
        .route(
            "/v1/tiers/{tier}",
            axum::routing::patch(super::tiers::patch_tier).delete(super::tiers::delete_tier),
        );
    #[cfg(feature = "s3")]
    let routes = routes
        .route("/v1/cluster", get(super::cluster::cluster))
        .route(
            "/v1/cluster/tenants/{tenant}/move",
            post(super::cluster::move_tenant),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::cluster::route,
        ));
    routes
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
/// indexes and the usage counts; in cluster mode it then hands the
/// tenants it holds over through the bucket (docs/cluster.md). The engine closes when its last clone
/// is dropped.
///
/// Each connection is HTTP/1.1 (keep-alive) with `TCP_NODELAY`, so small
/// responses go out at once rather than waiting for the client's delayed
/// ACK; a client that has not sent a whole request head within
/// [`ServerOptions::header_timeout`] (a slowloris, or an idle keep-alive
/// connection) is disconnected.
pub async fn serve(
    engine: Engine,
    mut listener: TcpListener,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    #[cfg(feature = "s3")]
    if let Some(member) = &options.cluster {
        super::cluster::keys::share(&engine, member);
        super::cluster::registry::share(&engine, member).await?;
    }
    let state = AppState::new(engine, options);
    let app = router(state.clone());
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let served =
            http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app.clone()));
        let served = connections.watch(served);
        tokio::spawn(async move {
            // A connection's errors (a reset, a header timeout) end only it.
            let _ = served.await;
        });
    }
    state.begin_shutdown();
    drop(listener);
    connections.shutdown().await;
    let flushed = state
        .blocking(|s| s.engine.flush().map_err(ApiError::from))
        .await;
    if let Err(e) = flushed {
        eprintln!("pql serve: flush at shutdown failed: {:?}", e.status());
    }
    // Cluster mode: the tenants this node holds go to the bucket, and
    // their leases to whichever node is asked for them next.
    #[cfg(feature = "s3")]
    if let Some(member) = &state.options.cluster {
        member.hand_over_all(&state).await;
    }
    Ok(())
}
