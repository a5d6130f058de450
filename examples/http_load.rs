//! Load generator for `pql serve` on loopback: QPS and p50/p99 at
//! concurrency 1, 16 and 64, for
//!
//! 1. 1,000 tenants × 200 vectors, each query on a random tenant (with
//!    that tenant's key);
//! 2. one tenant with 100k vectors (GloVe-50 from `scripts/fetch-glove.sh`
//!    when `data/glove50.f32` exists, else synthetic clustered vectors),
//!    top-10 at ef 64, with recall against exact search;
//! 3. batch upserts of 1,000 vectors;
//!
//! and the HTTP overhead over embedded `execute` at p50 (one client).
//!
//! ```sh
//! cargo run --release --example http_load                      # full size
//! cargo run --release --example http_load -- --tenants 100 --big 20000 --seconds 2
//! cargo run --release --example http_load -- --tenants 10 --overhead-only
//! cargo run --release --example http_load -- --tenants-only    # workload 1 and the overhead
//! ```
//!
//! The server runs in this process (`pql::server::serve` on its own tokio
//! runtime) and the clients are blocking `ureq` agents on their own
//! threads: both share the machine, as a co-located client would.

mod glove_files;

use std::sync::Arc;
use std::time::{Duration, Instant};

use glove_files::{
    arg, exact_top_k, literal, loadavg, next_u64, percentile_us, read_f32, synthetic,
};
use pql::server::{serve, ServerOptions};
use pql::{Config, Engine, Value};
use serde_json::json;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const DIM: usize = 50;
const ADMIN: &str = "bench-admin-key-0123456789";
/// A run of 4 clients whose numbers are not printed: the first run of a
/// workload loads its tenants and warms the caches.
const WARM_UP: usize = 0;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> usize {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let tenants = num("--tenants", 1000);
    let per_tenant = num("--per-tenant", 200);
    // Only the HTTP overhead (small setup, no workloads): for profiling.
    let overhead_only = args.iter().any(|a| a == "--overhead-only");
    // Only workload 1 (then the overhead): for profiling the many-tenant path.
    let tenants_only = args.iter().any(|a| a == "--tenants-only");
    let big = if overhead_only || tenants_only {
        0
    } else {
        num("--big", 100_000)
    };
    let seconds = num("--seconds", 3) as u64;
    println!("load before: {}", loadavg());

    let dir = tempfile::tempdir()?;
    let mut config = Config::new(dir.path());
    config.admin_key = Some(ADMIN.into());
    let engine = Engine::open_with(config)?;

    // Workload 1's data: identical collection names in every tenant.
    let t0 = Instant::now();
    let mut seed = 7u64;
    let mut keys = Vec::with_capacity(tenants);
    for t in 0..tenants {
        let mut pql = format!(
            "CREATE TENANT t{t}; CREATE COLLECTION docs TENANT t{t} WITH (dimension: {DIM}); QUERY docs TENANT t{t} UPSERT NODES ["
        );
        for i in 0..per_tenant {
            let v = random_unit(&mut seed);
            pql.push_str(&format!(
                "{{ id: \"n{i}\", embedding: {}, n: {i} }},",
                literal(&v)
            ));
        }
        pql.push_str("]; CREATE API KEY FOR TENANT t");
        pql.push_str(&t.to_string());
        let out = engine.execute(&pql)?;
        keys.push(match &out[3].rows[0][2] {
            Value::Str(k) => k.clone(),
            other => return Err(format!("no key: {other:?}").into()),
        });
    }
    println!(
        "setup: {tenants} tenants x {per_tenant} vectors in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // Workload 2's data.
    let t0 = Instant::now();
    let (base, queries, source) = match read_f32("data/glove50.f32") {
        Ok((v, 50)) => {
            let n = big.min(v.len() / DIM - 1000);
            let unit = normalise(&v[..(n + 1000) * DIM]);
            (
                unit[..n * DIM].to_vec(),
                unit[n * DIM..].to_vec(),
                "GloVe-50",
            )
        }
        _ => {
            let (b, q) = synthetic(big, 1000, DIM);
            (b, q, "synthetic clustered")
        }
    };
    engine.execute(&format!(
        "CREATE TENANT big; CREATE COLLECTION docs TENANT big WITH (dimension: {DIM});"
    ))?;
    for (c, chunk) in base.chunks(1000 * DIM).enumerate() {
        let mut pql = String::from("QUERY docs TENANT big UPSERT NODES [");
        for (i, v) in chunk.chunks_exact(DIM).enumerate() {
            pql.push_str(&format!(
                "{{ id: \"r{}\", embedding: {} }},",
                c * 1000 + i,
                literal(v)
            ));
        }
        pql.push_str("];");
        engine.execute(&pql)?;
    }
    // One query builds the graph before timing.
    engine.execute(&format!(
        "QUERY docs TENANT big SIMILAR TO {} TOP 10;",
        literal(&queries[..DIM])
    ))?;
    println!(
        "setup: 1 tenant x {} {source} vectors in {:.1} s",
        base.len() / DIM,
        t0.elapsed().as_secs_f64()
    );
    engine
        .execute("CREATE TENANT bulk; CREATE COLLECTION docs TENANT bulk WITH (dimension: 50);")?;
    let big_key = key_of(&engine, "big")?;
    let bulk_key = key_of(&engine, "bulk")?;

    // The server, in this process.
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let served = engine.clone();
    let server = runtime.spawn(async move {
        let shutdown = async {
            let _ = stop_rx.await;
        };
        serve(served, listener, ServerOptions::default(), shutdown).await
    });
    let base_url = format!("http://{addr}");

    if !overhead_only {
        println!(
            "\n| workload | clients | QPS | p50 µs | p99 µs | note |\n|---|---|---|---|---|---|"
        );
        let keys = Arc::new(keys.clone());
        let queries = Arc::new(queries.clone());
        for clients in [WARM_UP, 1, 16, 64] {
            let (k, q, url) = (keys.clone(), queries.clone(), base_url.clone());
            let r = drive(clients, seconds, move |agent, rng| {
                let t = (next_u64(rng) % k.len() as u64) as usize;
                let qi = (next_u64(rng) % 1000) as usize;
                let body = json!({"vector": &q[qi * DIM..][..DIM], "top_k": 10});
                post(
                    agent,
                    &format!("{url}/v1/tenants/t{t}/collections/docs/search"),
                    &k[t],
                    &body,
                )
            })?;
            if clients == WARM_UP {
                continue;
            }
            println!("| {tenants} tenants x {per_tenant}, random tenant, top-10 | {clients} | {:.0} | {:.0} | {:.0} | |", r.qps, r.p50, r.p99);
        }
    }
    if !overhead_only && !tenants_only {
        let recall = recall_at_10(&base_url, &big_key, &base, &queries)?;
        for clients in [WARM_UP, 1, 16, 64] {
            let (key, q, url) = (big_key.clone(), queries.clone(), base_url.clone());
            let r = drive(clients, seconds, move |agent, rng| {
                let qi = (next_u64(rng) % 1000) as usize;
                let body = json!({"vector": &q[qi * DIM..][..DIM], "top_k": 10, "ef": 64});
                post(
                    agent,
                    &format!("{url}/v1/tenants/big/collections/docs/search"),
                    &key,
                    &body,
                )
            })?;
            if clients == WARM_UP {
                continue;
            }
            println!("| 1 tenant x {} {source}, top-10 ef 64 | {clients} | {:.0} | {:.0} | {:.0} | recall@10 {recall:.3} |", base.len() / DIM, r.qps, r.p50, r.p99);
        }
        for clients in [WARM_UP, 1, 16, 64] {
            let (key, url) = (bulk_key.clone(), base_url.clone());
            let r = drive(clients, seconds, move |agent, rng| {
                // 1,000 distinct ids from a random start: new and existing nodes.
                let start = next_u64(rng) % 100_000;
                let points: Vec<_> = (0..1000)
                    .map(|i| {
                        let id = (start + i) % 100_000;
                        json!({"id": format!("b{id}"), "vector": random_unit(rng)})
                    })
                    .collect();
                post(
                    agent,
                    &format!("{url}/v1/tenants/bulk/collections/docs/upsert"),
                    &key,
                    &json!({"points": points}),
                )
            })?;
            if clients == WARM_UP {
                continue;
            }
            println!("| batch upsert, 1,000 x {DIM}-d per request | {clients} | {:.1} | {:.0} | {:.0} | {:.0} vectors/s |", r.qps, r.p50, r.p99, r.qps * 1000.0);
        }
    }
    overhead(&engine, &base_url, &keys[0], &queries)?;
    println!("load after: {}", loadavg());

    let _ = stop_tx.send(());
    runtime.block_on(server)??;
    Ok(())
}

/// HTTP overhead over embedded `execute`: the same statement, one
/// client, the two alternating so that the machine's load weighs on both
/// alike; the difference of their medians.
fn overhead(engine: &Engine, base_url: &str, key: &str, queries: &[f32]) -> Res<()> {
    let text = format!(
        "QUERY docs TENANT t0 SIMILAR TO {} TOP 10;",
        literal(&queries[..DIM])
    );
    let agent = agent();
    let url = format!("{base_url}/v1/query");
    let health = format!("{base_url}/healthz");
    let (mut embedded, mut http, mut floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3000 {
        let t = Instant::now();
        engine.execute(&text)?;
        embedded.push(t.elapsed());
        let t = Instant::now();
        post_text(&agent, &url, key, &text)?;
        http.push(t.elapsed());
        let t = Instant::now();
        agent.get(&health).call()?.body_mut().read_to_string()?;
        floor.push(t.elapsed());
    }
    embedded.sort();
    http.sort();
    floor.sort();
    let p = |v: &[Duration], q| percentile_us(v, q);
    println!(
        "\nHTTP overhead (same statement, 1 client, alternating, 3,000 each):\n\
         embedded p50 {:.0} µs p90 {:.0} µs p99 {:.0} µs; HTTP p50 {:.0} µs p90 {:.0} µs p99 {:.0} µs; \
         overhead at p50 {:.0} µs; GET /healthz (no engine work) p50 {:.0} µs",
        p(&embedded, 0.5),
        p(&embedded, 0.9),
        p(&embedded, 0.99),
        p(&http, 0.5),
        p(&http, 0.9),
        p(&http, 0.99),
        p(&http, 0.5) - p(&embedded, 0.5),
        p(&floor, 0.5)
    );
    Ok(())
}

/// A latency summary of one run.
struct Run {
    qps: f64,
    p50: f64,
    p99: f64,
}

/// `clients` threads calling `request` for `seconds` seconds.
fn drive<F>(clients: usize, seconds: u64, request: F) -> Res<Run>
where
    F: Fn(&ureq::Agent, &mut u64) -> Res<()> + Send + Sync + 'static,
{
    let (clients, seconds) = match clients {
        WARM_UP => (4, 1),
        n => (n, seconds),
    };
    let request = Arc::new(request);
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let request = request.clone();
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let agent = agent();
                let mut rng = 1000 + c as u64;
                let mut lat = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    request(&agent, &mut rng).map_err(|e| e.to_string())?;
                    lat.push(t.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().map_err(|_| "client panicked")??);
    }
    let wall = start.elapsed().as_secs_f64();
    all.sort();
    Ok(Run {
        qps: all.len() as f64 / wall,
        p50: percentile_us(&all, 0.5),
        p99: percentile_us(&all, 0.99),
    })
}

/// A client agent (keep-alive, `TCP_NODELAY`). Its timeouts are on
/// sending and receiving only: with a global timeout, ureq resolves the
/// address on a new thread for every request, which costs more than the
/// whole server round trip.
fn agent() -> ureq::Agent {
    let limit = Some(Duration::from_secs(60));
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_send_request(limit)
        .timeout_send_body(limit)
        .timeout_recv_response(limit)
        .timeout_recv_body(limit)
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, key: &str, body: &serde_json::Value) -> Res<()> {
    send(agent, url, key, "application/json", &body.to_string())
}

fn post_text(agent: &ureq::Agent, url: &str, key: &str, body: &str) -> Res<()> {
    send(agent, url, key, "text/plain", body)
}

/// Posts `body` and reads the whole response (so the connection is reused).
fn send(agent: &ureq::Agent, url: &str, key: &str, content_type: &str, body: &str) -> Res<()> {
    let mut resp = agent
        .post(url)
        .header("Authorization", &format!("Bearer {key}"))
        .content_type(content_type)
        .send(body)?;
    let status = resp.status();
    let text = resp.body_mut().read_to_string()?;
    if status != 200 {
        return Err(format!("{url}: {status} {text}").into());
    }
    Ok(())
}

/// Recall@10 of the HTTP search against exact search, over 200 queries.
fn recall_at_10(url: &str, key: &str, base: &[f32], queries: &[f32]) -> Res<f64> {
    let agent = agent();
    let (mut hit, mut total) = (0, 0);
    for q in queries.chunks_exact(DIM).take(200) {
        let want = exact_top_k(base, q, DIM, 10, |_| true);
        let mut resp = agent
            .post(&format!("{url}/v1/tenants/big/collections/docs/search"))
            .header("Authorization", &format!("Bearer {key}"))
            .content_type("application/json")
            .send(
                json!({"vector": q, "top_k": 10, "ef": 64})
                    .to_string()
                    .as_str(),
            )?;
        let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let result = &body["results"][0];
        let col = result["columns"]
            .as_array()
            .and_then(|c| c.iter().position(|c| c == "_id" || c == "id"))
            .ok_or("no id column")?;
        let got: Vec<u32> = result["rows"]
            .as_array()
            .ok_or("no rows")?
            .iter()
            .filter_map(|r| r[col].as_str()?.strip_prefix('r')?.parse().ok())
            .collect();
        hit += want.iter().filter(|w| got.contains(w)).count();
        total += want.len();
    }
    Ok(hit as f64 / total.max(1) as f64)
}

fn key_of(engine: &Engine, tenant: &str) -> Res<String> {
    let out = engine.execute(&format!("CREATE API KEY FOR TENANT {tenant};"))?;
    match &out[0].rows[0][2] {
        Value::Str(k) => Ok(k.clone()),
        other => Err(format!("no key: {other:?}").into()),
    }
}

fn random_unit(seed: &mut u64) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM)
        .map(|_| (next_u64(seed) >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
        .collect();
    normalise(&v)
}

fn normalise(v: &[f32]) -> Vec<f32> {
    v.chunks_exact(DIM)
        .flat_map(|row| {
            let n = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            row.iter().map(move |x| x / n)
        })
        .collect()
}
