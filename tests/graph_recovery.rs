//! Recovery without a rebuild: a writer in a child process inserts vectors
//! into a collection with a graph index and is killed with SIGKILL after its
//! last acknowledged insert, so the graph is never saved at close. The
//! reopened engine must answer the first query like an exact search, from
//! the last checkpoint plus an exact scan of the vectors committed after it
//! (no read waits for them to be inserted), and `SHOW STATS` must
//! report no graph built from scratch (`graph_full_rebuilds` stays 0).
//!
//! No timing is asserted: the counters say which path ran.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pql::{Config, Engine, Value};

mod common;
use common::{ids, vector_literal as literal, Rng};

const ENV_DIR: &str = "PQL_GRAPH_RECOVERY_DIR";
const DIM: usize = 8;
/// Nodes per insert statement, and statements the writer runs.
const BATCH: usize = 50;
const BATCHES: usize = 25;
/// A checkpoint every 300 nodes: after 1,250 the last one holds 1,200, so
/// the load inserts 50 into it.
const CHECKPOINT_NODES: usize = 300;

fn config(dir: &Path) -> Config {
    let mut config = Config::new(dir);
    config.flat_threshold = 200;
    config.graph_checkpoint_nodes = CHECKPOINT_NODES;
    config.graph_checkpoint_fraction = 0.0;
    config
}

fn vector(rng: &mut Rng) -> Vec<f32> {
    (0..DIM).map(|_| rng.gauss()).collect()
}

fn insert_statement(rng: &mut Rng, batch: usize) -> String {
    let nodes: Vec<String> = (0..BATCH)
        .map(|j| {
            let i = batch * BATCH + j;
            format!(
                "{{ id: \"n{i}\", grp: {}, embedding: {} }}",
                i % 4,
                literal(&vector(rng))
            )
        })
        .collect();
    format!("QUERY items TENANT t CREATE NODES [{}];", nodes.join(", "))
}

/// The child: inserts every batch, acknowledging each, then waits to be
/// killed. Does nothing unless started by the test below.
#[test]
fn writer_process() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let engine = Engine::open_with(config(Path::new(&dir))).unwrap();
    engine.execute("CREATE TENANT t;").unwrap();
    let mut rng = Rng(11);
    use std::io::Write;
    for b in 0..BATCHES {
        engine.execute(&insert_statement(&mut rng, b)).unwrap();
        let mut out = std::io::stdout().lock();
        writeln!(out, "ACK {b}").unwrap();
        out.flush().unwrap();
    }
    std::thread::sleep(Duration::from_secs(60));
}

/// Runs the writer until it acknowledged every batch, then SIGKILLs it.
fn write_and_kill(dir: &Path) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer_process", "--nocapture"])
        .env(ENV_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("writer exited early: {err}");
        }
        if line.trim() == format!("ACK {}", BATCHES - 1) {
            break;
        }
        assert!(Instant::now() < deadline, "writer too slow: {line}");
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

fn stat(engine: &Engine, name: &str) -> i64 {
    let r = &engine.execute("SHOW STATS;").unwrap()[0];
    let names = r.column_values("metric");
    let values = r.column_values("value");
    let i = names
        .iter()
        .position(|v| v.as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in SHOW STATS"));
    match values[i] {
        Value::Int(n) => *n,
        other => panic!("{name} = {other:?}"),
    }
}

#[test]
fn a_crash_after_the_last_insert_reopens_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    write_and_kill(dir.path());
    let engine = Engine::open_with(config(dir.path())).unwrap();
    let mut rng = Rng(99);
    let mut hits = 0;
    let mut total = 0;
    for k in 0..20 {
        let q = literal(&vector(&mut rng));
        let filter = if k % 2 == 1 { "WHERE grp = 1" } else { "" };
        let text = format!("QUERY items TENANT t {filter} SIMILAR TO {q} TOP 10");
        let got = ids(&engine.execute(&text).unwrap()[0]);
        let exact = ids(&engine
            .execute(&format!("{text} WITH (exact: true)"))
            .unwrap()[0]);
        assert_eq!(exact.len(), 10);
        let found = exact.iter().filter(|e| got.contains(e)).count();
        if k == 0 {
            // The first query after the crash.
            assert!(found >= 9, "first query: {got:?} against exact {exact:?}");
        }
        hits += found;
        total += 10;
    }
    let recall = hits as f64 / total as f64;
    assert!(recall >= 0.98, "recall@10 after the crash: {recall:.3}");
    assert_eq!(stat(&engine, "graph_full_rebuilds"), 0);
    // The load found what was committed after the last checkpoint.
    assert_eq!(
        stat(&engine, "graph_caught_up_nodes"),
        (BATCH * BATCHES % CHECKPOINT_NODES) as i64
    );
    let plan = &engine
        .execute("EXPLAIN QUERY items TENANT t SIMILAR TO NODE \"n3\" TOP 10")
        .unwrap()[0];
    let lines: Vec<String> = plan
        .column_values("plan")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains(
            "graph: loaded from a checkpoint; 50 newer vectors scanned exactly beside it"
        )),
        "{lines:?}"
    );
    // Every node the writer acknowledged is there.
    let count = &engine
        .execute("QUERY items TENANT t RETURN COUNT(*)")
        .unwrap()[0];
    assert_eq!(
        count.rows[0][0],
        Value::Int((BATCH * BATCHES) as i64),
        "{count:?}"
    );
}
