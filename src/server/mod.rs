//! `pql serve`: an HTTP server over [`Engine`](crate::Engine) (feature
//! `server`, on by default). The server is a thin layer: every request
//! becomes PQL statements (parsed from a body, or built as an AST by the
//! JSON endpoints), authorised with [`Session::plan_script`](crate::Session::plan_script)
//! before any of them runs, then executed on the blocking pool.
//!
//! - `app`: the router, its layers and the graceful shutdown;
//! - `auth`: bearer keys, their scope, and the authorisation of plans;
//! - `body`: reading a body (size limit, timeout, content type, UTF-8, JSON);
//! - `script`: running statements for a request (shared by every endpoint);
//! - `query`, `points`: the data plane; `admin`: the admin plane;
//! - `health`, `metrics`, `openapi`; `errors`: error bodies and statuses;
//! - `json`: JSON values to PQL values;
//! - `cluster`: cluster mode (feature `s3`): joining, heartbeat, `/v1/cluster`.
//!
//! See `docs/http.md` for the endpoints.

mod admin;
mod app;
mod auth;
mod body;
#[cfg(feature = "s3")]
mod cluster;
mod errors;
mod export;
mod health;
mod json;
mod metrics;
mod openapi;
mod points;
mod query;
mod script;
mod state;
mod tiers;

use std::time::Duration;

pub use app::serve;
#[cfg(feature = "s3")]
pub use cluster::{join as join_cluster, Membership, DEFAULT_CHECKPOINT_EVERY};
pub use errors::{status_of, ApiError};

/// The default of [`ServerOptions::max_import_bytes`]: 8 GiB.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 8 << 30;

/// How the server runs (the `pql serve` flags).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// `/metrics` without the admin key (`--metrics-public`).
    pub metrics_public: bool,
    /// Largest request body, in bytes; larger ones get 413.
    pub body_limit: usize,
    /// Largest `POST /v1/imports` upload (a `.pqlt` file), in bytes; larger
    /// ones get 413. The upload streams to a file, so this bounds disk,
    /// not memory.
    pub max_import_bytes: u64,
    /// Longest wait for a request body; a slower client gets 408 (for an
    /// upload to `POST /v1/imports`: the longest wait for its next data).
    pub body_timeout: Duration,
    /// Per-tenant request series for the `n` busiest tenants; `None`
    /// (the default) emits none, so that the number of series never grows
    /// with the number of tenants.
    pub tenant_metrics_top: Option<usize>,
    /// The longest header value accepted, in bytes; longer gets 431.
    pub max_header_bytes: usize,
    /// Longest wait for a whole request head (request line and headers),
    /// from the connection's start or the end of its previous
    /// response; a slower client (a slowloris) is disconnected.
    pub header_timeout: Duration,
    /// Cluster mode: this server is this node (`--node-id`,
    /// docs/cluster.md), joined by [`join_cluster`] before [`serve`].
    /// `None` (the default): a single node.
    #[cfg(feature = "s3")]
    pub cluster: Option<std::sync::Arc<Membership>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            metrics_public: false,
            body_limit: 32 << 20,
            max_import_bytes: DEFAULT_MAX_IMPORT_BYTES,
            body_timeout: Duration::from_secs(30),
            tenant_metrics_top: None,
            max_header_bytes: 8 << 10,
            header_timeout: Duration::from_secs(10),
            #[cfg(feature = "s3")]
            cluster: None,
        }
    }
}
