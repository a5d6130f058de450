//! What every request shares: the engine, the options, the metrics, the
//! shutdown flag and each tenant's last error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::errors::ApiError;
use super::metrics::Metrics;
use super::ServerOptions;
use crate::Engine;

/// Most tenants whose last error is remembered (a bound on memory).
const MAX_LAST_ERRORS: usize = 100_000;

/// The state behind every handler.
pub(crate) struct AppState {
    pub(crate) engine: Engine,
    pub(crate) options: ServerOptions,
    pub(crate) metrics: Metrics,
    shutting_down: AtomicBool,
    last_errors: Mutex<HashMap<String, String>>,
}

/// The state as handlers receive it.
pub(crate) type Shared = Arc<AppState>;

impl AppState {
    pub(crate) fn new(engine: Engine, options: ServerOptions) -> Shared {
        let metrics = Metrics::new(options.tenant_metrics_top);
        Arc::new(AppState {
            engine,
            options,
            metrics,
            shutting_down: AtomicBool::new(false),
            last_errors: Mutex::new(HashMap::new()),
        })
    }

    /// Without an admin key the server is in local development mode.
    pub(crate) fn dev_mode(&self) -> bool {
        self.engine.config().admin_key.is_none()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Remembers `message` as `tenant`'s last error.
    pub(crate) fn record_error(&self, tenant: &str, message: &str) {
        let mut errors = self.last_errors.lock();
        if errors.len() < MAX_LAST_ERRORS || errors.contains_key(tenant) {
            errors.insert(tenant.to_string(), message.to_string());
        }
    }

    /// `tenant`'s last error, if any.
    pub(crate) fn last_error(&self, tenant: &str) -> Option<String> {
        self.last_errors.lock().get(tenant).cloned()
    }

    /// Runs `work` on the blocking pool, never on the async threads.
    pub(crate) async fn blocking<T, F>(self: &Shared, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .map_err(|_| ApiError::internal("the request's task failed"))?
    }
}
