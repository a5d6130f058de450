//! Hand-over times of cluster mode (docs/cluster.md): two `pql serve`
//! nodes on one bucket, in this process (each on its own tokio runtime and
//! data folder), and blocking `ureq` clients.
//!
//! 1. a planned move (`POST /v1/cluster/tenants/acme/move`) of a tenant of
//!    `--vectors` × `--dim` from n1 to n2 while a client reads through
//!    both nodes: the move's own time, the first read served by n2 after
//!    it (its onload), and the reads' latencies during the move against
//!    before it (the time a client waits; no read may fail);
//! 2. the move back to n1 (which has the tenant offloaded: its record is
//!    refreshed, its data onloaded);
//! 3. a graceful shutdown of n1 (what SIGTERM does): the time from the
//!    signal to the first read n2 serves, with a client polling n2.
//!
//! ```sh
//! source /work/notes/s3env.sh   # or any S3 endpoint: AWS_* variables
//! cargo run --release --example cluster_handover_bench -- \
//!     --store s3://pql-test/bench-handover-$(date +%s) --vectors 20000 --dim 384
//! ```

mod admin_client;
mod glove_files;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use admin_client::Client;
use glove_files::{arg, literal, loadavg, percentile_us, synthetic};
use pql::cluster::{ClusterStore, Node};
use pql::server::{join_cluster, serve, Membership, ServerOptions};
use pql::{Config, Engine};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const ADMIN: &str = "bench-admin-key-0123456789";
const SECRET: &str = "bench-cluster-secret-0123456789";
const LEASE: Duration = Duration::from_millis(2000);

/// A node serving on its own thread and runtime until told to stop.
struct Running {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts node `id` of the cluster in `store` on the data folder `data`.
    fn start(store: &str, id: &str, data: &Path) -> Res<Running> {
        let mut config = Config::new(data).with_object_store(store)?;
        config.admin_key = Some(ADMIN.into());
        let bucket = config.object_store.clone().ok_or("no object store")?;
        let cluster = Arc::new(ClusterStore::open(&bucket)?);
        let engine = Engine::open_with(config)?;
        let (url_tx, url_rx) = std::sync::mpsc::channel::<Res<String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let id = id.to_string();
        let thread = std::thread::spawn(move || {
            let started = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build();
            let runtime = match started {
                Ok(rt) => rt,
                Err(e) => return drop(url_tx.send(Err(e.into()))),
            };
            runtime.block_on(async move {
                let up = async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let url = format!("http://{}", listener.local_addr()?);
                    let node = Node::new(cluster, &id, &url, LEASE)?;
                    let member = Arc::new(Membership::new(Arc::new(node), SECRET.into())?);
                    join_cluster(&member).await?;
                    Res::Ok((listener, url, member))
                };
                match up.await {
                    Ok((listener, url, member)) => {
                        let _ = url_tx.send(Ok(url));
                        let options = ServerOptions {
                            cluster: Some(member),
                            ..ServerOptions::default()
                        };
                        let until = async {
                            let _ = stopped.await;
                        };
                        if let Err(e) = serve(engine, listener, options, until).await {
                            eprintln!("serve: {e}");
                        }
                    }
                    Err(e) => drop(url_tx.send(Err(e))),
                }
            });
        });
        let url = url_rx.recv()??;
        Ok(Running {
            url,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Shuts the node down gracefully (as SIGTERM does) without waiting.
    fn signal_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for the node's shutdown (its hand-overs) to finish.
    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Client {
    /// POSTs `body` as `content_type` with the admin key.
    fn post(
        &self,
        url: &str,
        content_type: &str,
        body: &str,
        tenant: Option<&str>,
    ) -> (u16, String) {
        self.post_as(ADMIN, url, content_type, body, tenant)
    }

    /// Runs `pql` on tenant `acme` through `node`.
    fn query(&self, node: &str, pql: &str) -> (u16, String) {
        self.post(&format!("{node}/v1/query"), "text/plain", pql, Some("acme"))
    }

    fn must(&self, node: &str, pql: &str) -> Res<()> {
        match self.query(node, pql) {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status}: {body}").into()),
        }
    }

    fn move_to(&self, via: &str, node: &str) -> Res<Duration> {
        let t = Instant::now();
        let body = format!("{{\"node\": \"{node}\"}}");
        let url = format!("{via}/v1/cluster/tenants/acme/move");
        match self.post(&url, "application/json", &body, None) {
            (200, _) => Ok(t.elapsed()),
            (status, body) => Err(format!("move: {status}: {body}").into()),
        }
    }
}

const READ: &str = "QUERY docs RETURN COUNT(*);";

/// Reads through `nodes` in turn until `stop`: the latencies and the
/// failures.
fn reader(nodes: [String; 2], stop: Arc<AtomicBool>) -> JoinHandle<(Vec<Duration>, Vec<String>)> {
    std::thread::spawn(move || {
        let client = Client::new();
        let (mut took, mut failed) = (Vec::new(), Vec::new());
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let (status, body) = client.query(&nodes[i % 2], READ);
            took.push(t.elapsed());
            if status != 200 {
                failed.push(format!("{status}: {body}"));
            }
            i += 1;
        }
        (took, failed)
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn summary(label: &str, mut took: Vec<Duration>, failed: &[String]) {
    took.sort();
    let max = took.last().copied().unwrap_or_default();
    println!(
        "{label}: {} reads, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed",
        took.len(),
        percentile_us(&took, 0.5) / 1e3,
        percentile_us(&took, 0.99) / 1e3,
        ms(max),
        failed.len()
    );
    for f in failed.iter().take(3) {
        println!("  failed: {f}");
    }
}

/// Reads through both nodes for `for_how_long`, nothing else happening.
fn steady(nodes: [String; 2], for_how_long: Duration) -> (Vec<Duration>, Vec<String>) {
    let stop = Arc::new(AtomicBool::new(false));
    let handle = reader(nodes, stop.clone());
    std::thread::sleep(for_how_long);
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap_or_default()
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let store = arg(&args, "--store").ok_or("--store s3://BUCKET/PREFIX is required")?;
    let num = |name: &str, default: usize| -> usize {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (vectors, dim) = (num("--vectors", 20_000), num("--dim", 384));
    println!(
        "store {store}; {vectors} x {dim}; load before: {}",
        loadavg()
    );

    let tmp = tempfile::tempdir()?;
    let mut n1 = Running::start(&store, "n1", &tmp.path().join("n1"))?;
    let n2 = Running::start(&store, "n2", &tmp.path().join("n2"))?;
    let (u1, u2) = (n1.url.clone(), n2.url.clone());
    let client = Client::new();
    let t = Instant::now();
    let created = client.post(
        &format!("{u1}/v1/tenants"),
        "application/json",
        "{\"name\": \"acme\"}",
        None,
    );
    if created.0 != 201 {
        return Err(format!("create tenant: {created:?}").into());
    }
    client.must(
        &u1,
        &format!("CREATE COLLECTION docs WITH (dimension: {dim}, index: 'flat');"),
    )?;
    let (data, _) = synthetic(vectors, 0, dim);
    for (b, chunk) in data.chunks(500 * dim).enumerate() {
        let mut pql = String::from("QUERY docs UPSERT NODES [");
        for (i, v) in chunk.chunks(dim).enumerate() {
            pql.push_str(&format!(
                "{{ id: \"v{}\", embedding: {} }},",
                b * 500 + i,
                literal(v)
            ));
        }
        pql.pop();
        pql.push_str("];");
        client.must(&u1, &pql)?;
    }
    println!("loaded through n1 in {:.1} s", t.elapsed().as_secs_f64());

    let (took, failed) = steady([u1.clone(), u2.clone()], Duration::from_secs(3));
    summary("reads before the move (through n1 and n2)", took, &failed);

    // 1. n1 -> n2 under reads.
    let stop = Arc::new(AtomicBool::new(false));
    let handle = reader([u1.clone(), u2.clone()], stop.clone());
    std::thread::sleep(Duration::from_millis(500));
    let moved = client.move_to(&u2, "n2")?;
    let t = Instant::now();
    client.must(&u2, READ)?;
    let first = t.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (took, failed) = handle.join().unwrap_or_default();
    println!(
        "move n1 -> n2: the move {:.0} ms (offload + lease), then the first read through n2 {:.0} ms (onload)",
        ms(moved),
        ms(first)
    );
    summary("reads during the move", took, &failed);

    // 2. back to n1, which has it offloaded.
    let moved = client.move_to(&u1, "n1")?;
    let t = Instant::now();
    client.must(&u1, READ)?;
    println!(
        "move n2 -> n1: the move {:.0} ms, then the first read through n1 {:.0} ms",
        ms(moved),
        ms(t.elapsed())
    );

    // 3. n1 shuts down gracefully; a client polls n2.
    let t = Instant::now();
    n1.signal_stop();
    let exited = std::thread::spawn(move || {
        n1.join();
        t.elapsed()
    });
    let mut tries = 0;
    let first = loop {
        tries += 1;
        if client.query(&u2, READ).0 == 200 {
            break t.elapsed();
        }
        if t.elapsed() > Duration::from_secs(120) {
            return Err("n2 never served acme after n1's shutdown".into());
        }
    };
    let exited = exited.join().map_err(|_| "n1's thread panicked")?;
    println!(
        "graceful shutdown of n1: first read served by n2 {:.0} ms after the signal ({tries} \
         requests); n1's shutdown (drain, flush, hand-over) took {:.0} ms",
        ms(first),
        ms(exited)
    );
    println!("load after: {}", loadavg());
    Ok(())
}
