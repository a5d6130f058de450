//! `GET /metrics`, Prometheus text format (prometheus-client): requests and
//! latency by endpoint and status, statements by access, tenants by status,
//! pool loads/hits/misses/evictions, quota refusals by resource, bytes on
//! disk; and, only when configured, requests of the top-N busiest tenants,
//! so that 100,000 tenants never become 100,000 series.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::auth;
use super::errors::ApiError;
use super::state::{AppState, Shared};
use crate::Access;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    statements: Family<KindLabels, Counter>,
    quota_refusals: Family<ResourceLabels, Counter>,
    tenants: Family<StatusLabels, Gauge>,
    pool: Family<KindLabels, Gauge>,
    disk_bytes: Gauge,
    tenant_requests: Family<TenantLabels, Gauge>,
    /// Statements per tenant, when per-tenant series are on.
    per_tenant: Option<(usize, Mutex<HashMap<String, u64>>)>,
    /// Serialises scrapes (they reset the scrape-time gauges).
    scrape: Mutex<()>,
}

impl Metrics {
    pub(crate) fn new(tenant_top: Option<usize>) -> Metrics {
        let mut registry = Registry::with_prefix("pql");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            requests.clone(),
        );
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by endpoint",
            latency.clone(),
        );
        let statements = Family::<KindLabels, Counter>::default();
        registry.register(
            "statements",
            "Statements run, by access (read, write, admin)",
            statements.clone(),
        );
        let quota_refusals = Family::<ResourceLabels, Counter>::default();
        registry.register(
            "quota_refusals",
            "Statements refused by a quota, by resource",
            quota_refusals.clone(),
        );
        let tenants = Family::<StatusLabels, Gauge>::default();
        registry.register("tenants", "Tenants by status", tenants.clone());
        let pool = Family::<KindLabels, Gauge>::default();
        registry.register(
            "pool_events",
            "Tenant pool loads, hits, misses, evictions and idle unloads since start",
            pool.clone(),
        );
        let disk_bytes = Gauge::default();
        registry.register(
            "disk_bytes",
            "Bytes of the data folder on disk",
            disk_bytes.clone(),
        );
        let tenant_requests = Family::<TenantLabels, Gauge>::default();
        if tenant_top.is_some() {
            registry.register(
                "tenant_statements",
                "Statements of the busiest tenants (top N only)",
                tenant_requests.clone(),
            );
        }
        Metrics {
            registry,
            requests,
            latency,
            statements,
            quota_refusals,
            tenants,
            pool,
            disk_bytes,
            tenant_requests,
            per_tenant: tenant_top.map(|n| (n, Mutex::new(HashMap::new()))),
            scrape: Mutex::new(()),
        }
    }

    /// Counts a statement about to run.
    pub(crate) fn statement(&self, access: Access, tenants: &[String]) {
        self.statements
            .get_or_create(&KindLabels {
                kind: access.name().into(),
            })
            .inc();
        if let Some((_, counts)) = &self.per_tenant {
            let mut counts = counts.lock();
            for t in tenants {
                *counts.entry(t.clone()).or_default() += 1;
            }
        }
    }

    /// Counts a statement refused by the quota on `resource`.
    pub(crate) fn quota_refusal(&self, resource: &str) {
        self.quota_refusals
            .get_or_create(&ResourceLabels {
                resource: resource.into(),
            })
            .inc();
    }

    /// Sets the scrape-time gauges and renders everything.
    fn render(&self, state: &AppState) -> String {
        let _one_at_a_time = self.scrape.lock();
        let engine = &state.engine;
        self.tenants.clear();
        for name in engine.tenant_names() {
            if let Ok(status) = engine.tenant_status(&name) {
                self.tenants
                    .get_or_create(&StatusLabels {
                        status: status.into(),
                    })
                    .inc();
            }
        }
        let p = engine.pool_stats();
        for (kind, n) in [
            ("loads", p.loads),
            ("hits", p.hits),
            ("misses", p.misses),
            ("evictions", p.evictions),
            ("idle_unloads", p.idle_unloads),
        ] {
            self.pool
                .get_or_create(&KindLabels { kind: kind.into() })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        let bytes = crate::storage::dir_size(&engine.config().data_dir);
        self.disk_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        if let Some((top, counts)) = &self.per_tenant {
            let mut busiest: Vec<(String, u64)> =
                counts.lock().iter().map(|(k, v)| (k.clone(), *v)).collect();
            busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            busiest.truncate(*top);
            self.tenant_requests.clear();
            for (tenant, n) in busiest {
                self.tenant_requests
                    .get_or_create(&TenantLabels { tenant })
                    .set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware: counts every request and its latency under its route.
pub(crate) async fn track(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let endpoint = request.extensions().get::<MatchedPath>().map_or_else(
        || "unmatched".to_string(),
        |p| format!("{} {}", request.method(), p.as_str()),
    );
    let start = Instant::now();
    let response = next.run(request).await;
    let m = &state.metrics;
    m.latency
        .get_or_create(&EndpointLabels {
            endpoint: endpoint.clone(),
        })
        .observe(start.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            endpoint,
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

/// The metrics, in Prometheus text format. Needs the admin key unless the
/// server runs with `--metrics-public`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format")))]
pub(crate) async fn metrics(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !state.options.metrics_public {
        auth::admin(&auth::scope(&state, &headers).await?)?;
    }
    let text = state.blocking(|s| Ok(s.metrics.render(s))).await?;
    let content_type =
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8");
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}
