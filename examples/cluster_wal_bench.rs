//! The cost and the benefit of the log in the bucket (docs/cluster.md,
//! "Durability"), with real `pql serve` processes:
//!
//! 1. write latency: `--writes` one-point writes (`UPSERT NODE`, one request
//!    each, one client) to a single node with the same object store (the
//!    local disk is the only durability) and to a one-node cluster (each
//!    write also appended to the tenant's log in the bucket before the
//!    answer): p50 / p99; then the same from `--clients` threads at once
//!    (16) on the one tenant: p50 / p99 and writes per second;
//! 2. failover: a tenant handed over to n2 once, `--writes` writes through
//!    n1 (forwarded to n2, logged), then n2 killed with SIGKILL: the time
//!    from the kill to the first read n1 serves (n1 waits for the lease to
//!    expire, takes it over, brings in the bucket's copy and replays the
//!    log), and whether every write is there.
//!
//! ```sh
//! cargo build --release
//! source /work/notes/s3env.sh   # or any S3 endpoint: AWS_* variables
//! cargo run --release --example cluster_wal_bench -- \
//!     --store s3://pql-test/bench-wal-$(date +%s) --writes 500
//! ```
//!
//! `--pql PATH` is the `pql` binary (default `target/release/pql`).

mod admin_client;
mod glove_files;
mod serve_process;

use std::time::{Duration, Instant};

use admin_client::Client;
use glove_files::{arg, loadavg, percentile_us};
use serve_process::Serve as Node;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ADMIN: &str = "bench-admin-key-0123456789";
const SECRET: &str = "bench-cluster-secret-0123456789";

impl Client {
    /// POSTs `body` to `url` with the admin key (JSON if it starts with
    /// `{`, else PQL).
    fn post(&self, url: &str, body: &str, tenant: Option<&str>) -> (u16, String) {
        let content_type = if body.starts_with('{') {
            "application/json"
        } else {
            "text/plain"
        };
        self.post_as(ADMIN, url, content_type, body, tenant)
    }

    /// Runs PQL as `tenant` on `node`; an error unless 200.
    fn pql(&self, node: &Node, tenant: &str, text: &str) -> Res<String> {
        let (status, body) = self.post(&format!("{}/v1/query", node.url), text, Some(tenant));
        if status != 200 {
            return Err(format!("{status}: {body}").into());
        }
        Ok(body)
    }

    /// Creates `tenant` with a collection `docs` of dimension 8 on `node`.
    fn tenant(&self, node: &Node, tenant: &str) -> Res<()> {
        let body = format!("{{\"name\": \"{tenant}\"}}");
        let (status, text) = self.post(&format!("{}/v1/tenants", node.url), &body, None);
        if status != 201 {
            return Err(format!("create tenant: {status}: {text}").into());
        }
        self.pql(node, tenant, "CREATE COLLECTION docs WITH (dimension: 8);")?;
        Ok(())
    }

    /// `n` one-point writes through `node`: their latencies, sorted.
    fn writes(&self, node: &Node, tenant: &str, n: usize) -> Res<Vec<Duration>> {
        let mut took = Vec::with_capacity(n);
        for i in 0..n {
            let text = format!(
                "QUERY docs UPSERT NODE {{ id: 'p{i}', embedding: [{i}, 1, 2, 3, 4, 5, 6, 7] }};"
            );
            let start = Instant::now();
            self.pql(node, tenant, &text)?;
            took.push(start.elapsed());
        }
        took.sort();
        Ok(took)
    }

    /// `n` one-point writes through `node` from `clients` threads at once
    /// (ids `c<client>-<i>`): their latencies, sorted, and the wall time.
    fn concurrent_writes(
        &self,
        node: &Node,
        tenant: &str,
        n: usize,
        clients: usize,
    ) -> Res<(Vec<Duration>, Duration)> {
        let start = Instant::now();
        let per_client: Vec<Res<Vec<Duration>>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..clients)
                .map(|c| {
                    scope.spawn(move || -> Res<Vec<Duration>> {
                        let mut took = Vec::new();
                        for i in (c..n).step_by(clients) {
                            let text = format!(
                                "QUERY docs UPSERT NODE {{ id: 'c{c}-{i}',                                  embedding: [{i}, 1, 2, 3, 4, 5, 6, 7] }};"
                            );
                            let sent = Instant::now();
                            self.pql(node, tenant, &text)?;
                            took.push(sent.elapsed());
                        }
                        Ok(took)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err("a client panicked".into())))
                .collect()
        });
        let wall = start.elapsed();
        let mut took = Vec::with_capacity(n);
        for one in per_client {
            took.extend(one?);
        }
        took.sort();
        Ok((took, wall))
    }

    /// The number of points of `tenant` through `node`, if it answers 200.
    fn count(&self, node: &Node, tenant: &str) -> Option<i64> {
        let body = self.pql(node, tenant, "QUERY docs RETURN COUNT(*);").ok()?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        json["results"][0]["rows"][0][0].as_i64()
    }
}

fn report(what: &str, took: &[Duration]) {
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} writes)",
        percentile_us(took, 0.5) / 1e3,
        percentile_us(took, 0.99) / 1e3,
        percentile_us(took, 1.0) / 1e3,
        took.len()
    );
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let store = arg(&args, "--store").ok_or("--store s3://bucket/prefix is required")?;
    let writes: usize = arg(&args, "--writes").map_or(Ok(500), |s| s.parse())?;
    let pql = arg(&args, "--pql").unwrap_or_else(|| "target/release/pql".into());
    let clients: usize = arg(&args, "--clients").map_or(Ok(16), |s| s.parse())?;
    println!("load before: {}", loadavg());
    let client = Client::new();

    // 1. Write latency: the same writes with and without the log.
    let single_dir = tempfile::tempdir()?;
    let single_store = format!("{store}/single");
    let single = Node::start(
        &pql,
        single_dir.path(),
        ADMIN,
        &["--object-store", &single_store],
    )?;
    client.tenant(&single, "acme")?;
    report(
        "single node (local disk)",
        &client.writes(&single, "acme", writes)?,
    );
    let concurrent = |what: &str, node: &Node| -> Res<()> {
        let (took, wall) = client.concurrent_writes(node, "acme", writes, clients)?;
        report(&format!("{what}, {clients} clients on one tenant"), &took);
        println!("  {:.0} writes/s", took.len() as f64 / wall.as_secs_f64());
        Ok(())
    };
    concurrent("single node (local disk)", &single)?;
    drop(single);
    let one_dir = tempfile::tempdir()?;
    let one = Node::cluster(
        &pql,
        one_dir.path(),
        ADMIN,
        SECRET,
        &format!("{store}/one"),
        "n1",
    )?;
    client.tenant(&one, "acme")?;
    report(
        "cluster node (log in the bucket)",
        &client.writes(&one, "acme", writes)?,
    );
    concurrent("cluster node (log in the bucket)", &one)?;
    drop(one);

    // 2. Failover after a SIGKILL.
    let store = format!("{store}/failover");
    let (d1, d2) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let n1 = Node::cluster(&pql, d1.path(), ADMIN, SECRET, &store, "n1")?;
    let mut n2 = Node::cluster(&pql, d2.path(), ADMIN, SECRET, &store, "n2")?;
    client.tenant(&n1, "acme")?;
    let (status, text) = client.post(
        &format!("{}/v1/cluster/tenants/acme/move", n1.url),
        "{\"node\": \"n2\"}",
        None,
    );
    if status != 200 {
        return Err(format!("move: {status}: {text}").into());
    }
    report(
        "writes through n1, owned by n2",
        &client.writes(&n1, "acme", writes)?,
    );
    let killed = Instant::now();
    n2.child.kill()?;
    n2.child.wait()?;
    let mut tries = 0;
    let n = loop {
        tries += 1;
        if let Some(n) = client.count(&n1, "acme") {
            break n;
        }
        if killed.elapsed() > Duration::from_secs(120) {
            return Err("no failover in 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    println!(
        "SIGKILL of the owner -> first read served by n1: {:.0} ms ({tries} requests), \
         {n} of {writes} points there (lease 2000 ms)",
        killed.elapsed().as_secs_f64() * 1e3
    );
    println!("load after: {}", loadavg());
    Ok(())
}
