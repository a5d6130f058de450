//! Issue 14's "3 nodes against 1": the QPS of one cluster node and of
//! three, on the 1,000 tenants × 200 vectors workload, with real
//! `pql serve` processes on one bucket (SeaweedFS on loopback).
//!
//! The layouts: one server not in a cluster (for reference), one cluster
//! node, three. For each layout the tenants are spread over the nodes (tenant `i` is
//! created on node `i % nodes` and loaded there, one request each, so that
//! node takes its lease), then `--clients` threads send top-10 queries to
//! random tenants for `--seconds`, twice:
//!
//! - **any node**: each query to a random node, as a plain round-robin
//!   load balancer would (a query reaching a node that does not own the
//!   tenant is forwarded to the owner);
//! - **owner**: each query to the tenant's owner, as a client following
//!   `X-PQL-Owner` would.
//!
//! ```sh
//! cargo build --release
//! source /work/notes/s3env.sh   # or any S3 endpoint: AWS_* variables
//! cargo run --release --example cluster_scale_bench -- \
//!     --store s3://pql-test/bench-scale-$(date +%s)
//! ```
//!
//! Options: `--tenants` (1,000), `--per-tenant` (200), `--dim` (50),
//! `--clients` (16), `--seconds` (5), `--pql PATH` (`target/release/pql`).

mod admin_client;
mod glove_files;
mod serve_process;

use std::time::{Duration, Instant};

use admin_client::Client;
use glove_files::{arg, literal, loadavg, next_u64, percentile_us, synthetic};
use serve_process::Serve;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ADMIN: &str = "bench-admin-key-0123456789";
const SECRET: &str = "bench-cluster-secret-0123456789";
/// Threads loading tenants.
const LOADERS: usize = 4;

struct Workload {
    tenants: usize,
    per_tenant: usize,
    dim: usize,
    clients: usize,
    seconds: u64,
    base: Vec<f32>,
    queries: Vec<f32>,
}

/// Runs PQL as `tenant` on `url`; an error unless 200.
fn pql(client: &Client, url: &str, tenant: &str, text: &str) -> Res<()> {
    let (status, body) = client.post_as(
        ADMIN,
        &format!("{url}/v1/query"),
        "text/plain",
        text,
        Some(tenant),
    );
    if status != 200 {
        return Err(format!("{tenant}: {status}: {body}").into());
    }
    Ok(())
}

/// Creates and fills tenant `t` on `url`: two requests.
fn load_tenant(client: &Client, w: &Workload, url: &str, t: usize) -> Res<()> {
    let name = format!("t{t:04}");
    let body = format!("{{\"name\": \"{name}\"}}");
    let (status, text) = client.post_as(
        ADMIN,
        &format!("{url}/v1/tenants"),
        "application/json",
        &body,
        None,
    );
    if status != 201 {
        return Err(format!("create {name}: {status}: {text}").into());
    }
    let rows = &w.base[t * w.per_tenant * w.dim..(t + 1) * w.per_tenant * w.dim];
    let nodes: Vec<String> = rows
        .chunks(w.dim)
        .enumerate()
        .map(|(i, v)| format!("{{ id: \"v{i}\", embedding: {} }}", literal(v)))
        .collect();
    let text = format!(
        "CREATE COLLECTION docs WITH (dimension: {}); QUERY docs CREATE NODES [{}];",
        w.dim,
        nodes.join(",")
    );
    pql(client, url, &name, &text)
}

/// `--clients` threads querying random tenants for `seconds`, each query
/// sent to the node `target(tenant, random)` picks: QPS, p50, p99, errors.
fn query_phase(
    w: &Workload,
    urls: &[String],
    seconds: u64,
    target: impl Fn(usize, u64) -> usize + Sync,
) -> (f64, f64, f64, usize) {
    let stop = Instant::now() + Duration::from_secs(seconds);
    let results: Vec<(Vec<Duration>, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..w.clients)
            .map(|c| {
                let target = &target;
                scope.spawn(move || {
                    let client = Client::new();
                    let mut state = 0x9e37_79b9_7f4a_7c15 ^ c as u64;
                    let (mut took, mut errors) = (Vec::new(), 0);
                    let queries = w.queries.len() / w.dim;
                    while Instant::now() < stop {
                        let t = next_u64(&mut state) as usize % w.tenants;
                        let q = next_u64(&mut state) as usize % queries;
                        let url = &urls[target(t, next_u64(&mut state))];
                        let v = &w.queries[q * w.dim..(q + 1) * w.dim];
                        let text =
                            format!("QUERY docs SIMILAR TO {} TOP 10 RETURN id;", literal(v));
                        let sent = Instant::now();
                        match pql(&client, url, &format!("t{t:04}"), &text) {
                            Ok(()) => took.push(sent.elapsed()),
                            Err(_) => errors += 1,
                        }
                    }
                    (took, errors)
                })
            })
            .collect();
        workers.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut took: Vec<Duration> = results.iter().flat_map(|r| r.0.clone()).collect();
    let errors = results.iter().map(|r| r.1).sum();
    took.sort();
    let qps = took.len() as f64 / seconds as f64;
    (
        qps,
        percentile_us(&took, 0.5) / 1e3,
        percentile_us(&took, 0.99) / 1e3,
        errors,
    )
}

/// One layout: `nodes` cluster nodes (0: one server not in a cluster, for
/// reference), loaded, then both query phases.
fn layout(w: &Workload, pql_bin: &str, store: &str, nodes: usize) -> Res<()> {
    let dirs: Vec<tempfile::TempDir> = (0..nodes.max(1))
        .map(|_| tempfile::tempdir())
        .collect::<Result<_, _>>()?;
    let servers: Vec<Serve> = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| match nodes {
            0 => Serve::start(pql_bin, d.path(), ADMIN, &["--object-store", store]),
            _ => Serve::cluster(
                pql_bin,
                d.path(),
                ADMIN,
                SECRET,
                store,
                &format!("n{}", i + 1),
            ),
        })
        .collect::<Res<_>>()?;
    let label = match nodes {
        0 => "single server (no cluster)".to_string(),
        n => format!("{n} node(s)"),
    };
    let nodes = nodes.max(1);
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let started = Instant::now();
    std::thread::scope(|scope| -> Res<()> {
        let loaders: Vec<_> = (0..LOADERS)
            .map(|l| {
                let urls = &urls;
                scope.spawn(move || -> Res<()> {
                    let client = Client::new();
                    for t in (l..w.tenants).step_by(LOADERS) {
                        load_tenant(&client, w, &urls[t % nodes], t)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for l in loaders {
            l.join().map_err(|_| "a loader panicked")??;
        }
        Ok(())
    })?;
    println!(
        "{label}: loaded {} tenants x {} in {:.1} s (load {})",
        w.tenants,
        w.per_tenant,
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    // A warm-up pass, so that both phases find every tenant loaded.
    query_phase(w, &urls, 2, |t, _| t % nodes);
    for (mode, any) in [("any node", true), ("owner", false)] {
        let (qps, p50, p99, errors) = query_phase(w, &urls, w.seconds, |t, r| {
            if any {
                r as usize % nodes
            } else {
                t % nodes
            }
        });
        println!(
            "{label}, {mode}, {} clients: {qps:.0} QPS, p50 {p50:.2} ms, \
             p99 {p99:.2} ms, {errors} errors",
            w.clients
        );
    }
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> Res<usize> {
        Ok(arg(&args, name).map_or(Ok(default), |s| s.parse())?)
    };
    let store = arg(&args, "--store").ok_or("--store s3://bucket/prefix is required")?;
    let pql_bin = arg(&args, "--pql").unwrap_or_else(|| "target/release/pql".into());
    let (tenants, per_tenant, dim) = (
        num("--tenants", 1000)?,
        num("--per-tenant", 200)?,
        num("--dim", 50)?,
    );
    let (base, queries) = synthetic(tenants * per_tenant, 1000, dim);
    let w = Workload {
        tenants,
        per_tenant,
        dim,
        clients: num("--clients", 16)?,
        seconds: num("--seconds", 5)? as u64,
        base,
        queries,
    };
    println!("load before: {}", loadavg());
    for nodes in [0, 1, 3] {
        layout(&w, &pql_bin, &format!("{store}/{nodes}-nodes"), nodes)?;
    }
    println!("load after: {}", loadavg());
    Ok(())
}
