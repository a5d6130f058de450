//! What every request shares: the engine, the options, the metrics, the
//! shutdown flag and each tenant's last error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Engine work of requests under way ([`AppState::blocking`]).
    busy: AtomicUsize,
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
            busy: AtomicUsize::new(0),
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

    /// Runs `work`, which blocks, where it holds back no other request:
    /// on the blocking pool, or in place (`block_in_place`, the async
    /// worker's other tasks moved to another thread) when no other
    /// request's engine work is under way. Handing a short statement to
    /// the pool and its answer back costs two thread wake-ups, ~45 µs of a
    /// lone client's 175 µs on this VM; in place under concurrent load
    /// each request would take a worker's core away (BENCHMARKS.md).
    pub(crate) async fn blocking<T, F>(self: &Shared, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        let alone = self.busy.fetch_add(1, Ordering::SeqCst) == 0;
        let guard = Busy(self.clone());
        if alone
            && tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::MultiThread
        {
            return tokio::task::block_in_place(move || {
                let _guard = guard;
                work(&state)
            });
        }
        tokio::task::spawn_blocking(move || {
            let _guard = guard;
            work(&state)
        })
        .await
        .map_err(|_| ApiError::internal("the request's task failed"))?
    }
}

/// One request's engine work under way: counted in [`AppState::blocking`]
/// until dropped.
struct Busy(Shared);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}
