//! Crash durability: a writer in a child process is killed with SIGKILL in
//! the middle of a stream of statements; the data folder is then opened again
//! and must hold exactly the effect of every acknowledged statement, plus at
//! most the one statement in flight — applied whole or not at all (a batch of
//! ten is never half there).
//!
//! The child is this test binary run again (`current_exe`) with
//! `PQL_DURABILITY_WRITER` set, filtered to [`writer_process`]. It prints
//! `ACK <n>` after statement `n` returned `Ok`, so an acknowledgement is only
//! ever printed for a statement the engine reported durable.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pql::{Config, Engine, Value};

mod common;
use common::Rng;

const ENV_DIR: &str = "PQL_DURABILITY_WRITER";
const ENV_PHASE: &str = "PQL_DURABILITY_PHASE";
const TENANT: &str = "dur";
/// Statements the writer runs at most (the parent kills it long before).
const MAX_STATEMENTS: u64 = 5_000;

/// What one statement does.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `CREATE NODE` of `s<n>`.
    Single(u64),
    /// `CREATE NODES` of `b<n>_0` .. `b<n>_9`.
    Batch(u64),
    /// `UPDATE SET updated = n, embedding = ...` of single `s<target>`.
    Update { n: u64, target: u64 },
    /// `DELETE` of single `s<target>`.
    Delete { target: u64 },
}

/// The writer's statements: singles and batches of ten, with updates and
/// deletes of earlier singles mixed in.
fn script(seed: u64, len: u64) -> Vec<Step> {
    let mut rng = Rng(seed);
    let mut singles: Vec<u64> = Vec::new();
    let mut steps = Vec::new();
    for n in 0..len {
        let r = rng.next() % 10;
        let step = if r < 4 || singles.is_empty() {
            singles.push(n);
            Step::Single(n)
        } else if r < 7 {
            Step::Batch(n)
        } else {
            let i = (rng.next() % singles.len() as u64) as usize;
            if r < 9 {
                Step::Update {
                    n,
                    target: singles[i],
                }
            } else {
                Step::Delete {
                    target: singles.swap_remove(i),
                }
            }
        };
        steps.push(step);
    }
    steps
}

/// The vector of a node created by statement `n` (index `j` in a batch),
/// or rewritten by update `n`: distinct for distinct (n, j).
fn vector(n: u64, j: u64) -> [f64; 4] {
    [
        1.0 + n as f64,
        1.0 + j as f64,
        ((n * 7 + j) % 13) as f64,
        0.5,
    ]
}

fn literal(v: [f64; 4]) -> String {
    format!("[{}, {}, {}, {}]", v[0], v[1], v[2], v[3])
}

fn node(id: &str, n: u64, j: u64) -> String {
    format!(
        "{{ id: \"{id}\", stmt: {n}, grp: {}, embedding: {} }}",
        (n + j) % 7,
        literal(vector(n, j))
    )
}

fn pql(collection: &str, step: &Step) -> String {
    let q = format!("QUERY {collection} TENANT {TENANT}");
    match step {
        Step::Single(n) => format!("{q} CREATE NODE {}", node(&format!("s{n}"), *n, 0)),
        Step::Batch(n) => {
            let nodes: Vec<String> = (0..10).map(|j| node(&format!("b{n}_{j}"), *n, j)).collect();
            format!("{q} CREATE NODES [{}]", nodes.join(", "))
        }
        Step::Update { n, target } => format!(
            "{q} WHERE id = \"s{target}\" UPDATE SET updated = {n}, embedding = {}",
            literal(vector(*n, 99))
        ),
        Step::Delete { target } => format!("{q} WHERE id = \"s{target}\" DELETE"),
    }
}

/// A stored node as the checks see it: stmt, grp, updated, vector.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    stmt: i64,
    grp: i64,
    updated: Option<i64>,
    vector: [f64; 4],
}

/// The collection after `steps` have all been applied.
fn model(steps: &[Step]) -> BTreeMap<String, Row> {
    let mut m = BTreeMap::new();
    let row = |n: u64, j: u64| Row {
        stmt: n as i64,
        grp: ((n + j) % 7) as i64,
        updated: None,
        vector: vector(n, j),
    };
    for step in steps {
        match step {
            Step::Single(n) => {
                m.insert(format!("s{n}"), row(*n, 0));
            }
            Step::Batch(n) => {
                for j in 0..10 {
                    m.insert(format!("b{n}_{j}"), row(*n, j));
                }
            }
            Step::Update { n, target } => {
                if let Some(r) = m.get_mut(&format!("s{target}")) {
                    r.updated = Some(*n as i64);
                    r.vector = vector(*n, 99);
                }
            }
            Step::Delete { target } => {
                m.remove(&format!("s{target}"));
            }
        }
    }
    m
}

/// How the writer of a phase sets up its collection.
struct Phase {
    name: &'static str,
    collection: &'static str,
    /// Run before the first statement (not acknowledged).
    setup: &'static str,
    /// The engine's `flat_threshold`: small means a graph index early.
    flat_threshold: usize,
    /// Call `Engine::flush` (persist graph indexes) every this many statements.
    flush_every: Option<u64>,
}

const PLAIN: Phase = Phase {
    name: "plain",
    collection: "items",
    setup: "CREATE TENANT IF NOT EXISTS dur; \
            CREATE COLLECTION IF NOT EXISTS items TENANT dur WITH (dimension: 4, metric: 'l2')",
    flat_threshold: 2_000,
    flush_every: None,
};

const GRAPH: Phase = Phase {
    name: "graph",
    collection: "graph",
    setup: "CREATE TENANT IF NOT EXISTS dur; \
            CREATE COLLECTION IF NOT EXISTS graph TENANT dur \
            WITH (dimension: 4, metric: 'l2', index: 'hnsw', m: 8, ef_construction: 32)",
    flat_threshold: 16,
    flush_every: Some(3),
};

/// Every statement creates a collection: explicitly, or by a first insert.
const DDL: Phase = Phase {
    name: "ddl",
    collection: "unused",
    setup: "CREATE TENANT IF NOT EXISTS dur",
    flat_threshold: 2_000,
    flush_every: None,
};

fn ddl_statement(n: u64) -> String {
    if n.is_multiple_of(2) {
        format!("CREATE COLLECTION c{n} TENANT {TENANT} WITH (dimension: 2, metric: 'l2')")
    } else {
        format!("QUERY c{n} TENANT {TENANT} CREATE NODE {{ id: \"x\", embedding: [{n}, 1] }}")
    }
}

fn phase(name: &str) -> &'static Phase {
    match name {
        "plain" => &PLAIN,
        "graph" => &GRAPH,
        "ddl" => &DDL,
        other => panic!("unknown phase {other}"),
    }
}

fn open(dir: &Path, phase: &Phase) -> Engine {
    let mut config = Config::new(dir);
    config.flat_threshold = phase.flat_threshold;
    Engine::open_with(config).unwrap()
}

/// The child: runs the phase's script and acknowledges each statement.
/// Does nothing unless started by [`run_and_kill`].
#[test]
fn writer_process() {
    let Ok(dir) = std::env::var(ENV_DIR) else {
        return;
    };
    let phase = phase(&std::env::var(ENV_PHASE).unwrap());
    let seed: u64 = std::env::var("PQL_DURABILITY_SEED")
        .unwrap()
        .parse()
        .unwrap();
    let engine = open(Path::new(&dir), phase);
    engine.execute(phase.setup).unwrap();
    use std::io::Write;
    let stdout = std::io::stdout();
    writeln!(stdout.lock(), "READY").unwrap();
    if phase.name == DDL.name {
        for n in 0..MAX_STATEMENTS {
            engine.execute(&ddl_statement(n)).unwrap();
            let mut out = stdout.lock();
            writeln!(out, "ACK {n}").unwrap();
            out.flush().unwrap();
        }
    }
    for (n, step) in script(seed, MAX_STATEMENTS).iter().enumerate() {
        engine.execute(&pql(phase.collection, step)).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ACK {n}").unwrap();
        out.flush().unwrap();
        if phase.flush_every.is_some_and(|k| n as u64 % k == k - 1) {
            engine.flush().unwrap();
        }
    }
    // The parent should have killed us long before.
    std::thread::sleep(Duration::from_secs(60));
}

/// Starts the writer on `dir`, waits for `kill_after` acknowledgements, kills
/// it with SIGKILL and returns the highest statement number acknowledged.
fn run_and_kill(dir: &Path, phase: &Phase, seed: u64, kill_after: u64) -> Option<u64> {
    run_and_kill_with_delay(dir, phase, seed, kill_after, (kill_after * 7919) % 3000)
}

/// [`run_and_kill`] waiting `delay_us` microseconds between the last
/// acknowledgement read and the kill.
fn run_and_kill_with_delay(
    dir: &Path,
    phase: &Phase,
    seed: u64,
    kill_after: u64,
    delay_us: u64,
) -> Option<u64> {
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_DIR, dir)
        .env(ENV_PHASE, phase.name)
        .env("PQL_DURABILITY_SEED", seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut last_ack = None;
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
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
            panic!("writer exited early after {last_ack:?}: {err}");
        }
        if let Some(n) = line.trim().strip_prefix("ACK ") {
            let n: u64 = n.parse().unwrap();
            last_ack = Some(n);
            if n + 1 >= kill_after {
                break;
            }
        }
        assert!(Instant::now() < deadline, "writer too slow: {last_ack:?}");
    }
    // Let the statement in flight get a little further (0-3 ms, varying with
    // the kill point) so that kills land at different points of a commit.
    std::thread::sleep(Duration::from_micros(delay_us));
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Acknowledgements already written before the kill count too.
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    for l in rest.lines() {
        if let Some(n) = l.trim().strip_prefix("ACK ") {
            last_ack = Some(n.parse().unwrap());
        }
    }
    last_ack
}

/// Reads the whole collection back: id → row.
fn read_back(engine: &Engine, collection: &str) -> BTreeMap<String, Row> {
    let r = engine
        .execute(&format!(
            "QUERY {collection} TENANT {TENANT} RETURN id, stmt, grp, updated, embedding"
        ))
        .unwrap();
    r[0].rows
        .iter()
        .map(|row| {
            let v: Vec<f64> = match &row[4] {
                Value::Array(xs) => xs.iter().map(|x| x.as_f64().unwrap()).collect(),
                other => panic!("vector of {row:?} is {other}"),
            };
            (
                row[0].as_str().unwrap().to_string(),
                Row {
                    stmt: row[1].as_i64().unwrap(),
                    grp: row[2].as_i64().unwrap(),
                    updated: row[3].as_i64(),
                    vector: [v[0], v[1], v[2], v[3]],
                },
            )
        })
        .collect()
}

/// Kills a writer after `kill_after` acknowledgements, reopens and checks.
fn crash_and_check(phase: &Phase, seed: u64, kill_after: u64) {
    let dir = tempfile::tempdir().unwrap();
    let acked =
        run_and_kill(dir.path(), phase, seed, kill_after).expect("the writer acknowledged nothing");
    assert!(acked + 1 >= kill_after);
    let steps = script(seed, acked + 2);
    let engine = open(dir.path(), phase);
    let found = read_back(&engine, phase.collection);
    let without = model(&steps[..=acked as usize]);
    let with = model(&steps[..=acked as usize + 1]);
    let in_flight = &steps[acked as usize + 1];
    let context = format!(
        "phase {}, seed {seed}, acked 0..={acked}, in flight {in_flight:?}",
        phase.name
    );
    if found != without && found != with {
        let missing: Vec<&String> = without.keys().filter(|k| !found.contains_key(*k)).collect();
        let extra: Vec<&String> = found.keys().filter(|k| !with.contains_key(*k)).collect();
        let differing: Vec<&String> = found
            .iter()
            .filter(|(k, v)| without.get(*k).is_some_and(|w| w != *v) && with.get(*k) != Some(*v))
            .map(|(k, _)| k)
            .collect();
        panic!(
            "{context}: recovered state is neither 'acked' nor 'acked + in flight'\n\
             missing: {missing:?}\nextra: {extra:?}\ndiffering: {differing:?}"
        );
    }
    // No batch is half there (implied by the equality above; stated for the reader).
    for step in &steps {
        if let Step::Batch(n) = step {
            let present = (0..10)
                .filter(|j| found.contains_key(&format!("b{n}_{j}")))
                .count();
            assert!(
                present == 0 || present == 10,
                "{context}: batch {n} has {present}/10"
            );
        }
    }
    let model = if found == with { &with } else { &without };
    eprintln!(
        "{context}: recovered {} nodes, in-flight statement {}",
        found.len(),
        if found == with {
            "applied"
        } else {
            "not applied"
        }
    );

    // Queries work on the recovered data and agree with it.
    let q = format!("QUERY {} TENANT {TENANT}", phase.collection);
    let count = engine.execute(&format!("{q} RETURN COUNT(*)")).unwrap();
    assert_eq!(
        count[0].rows,
        [vec![Value::Int(model.len() as i64)]],
        "{context}"
    );
    for grp in 0..7 {
        let r = engine
            .execute(&format!("{q} WHERE grp = {grp} RETURN COUNT(*)"))
            .unwrap();
        let want = model.values().filter(|r| r.grp == grp).count() as i64;
        assert_eq!(r[0].rows, [vec![Value::Int(want)]], "{context}: grp {grp}");
    }
    for (id, row) in model.iter().step_by(7).take(20) {
        let r = engine
            .execute(&format!(
                "{q} SIMILAR TO {} TOP 3 RETURN id, _distance",
                literal(row.vector)
            ))
            .unwrap();
        assert_eq!(
            r[0].rows[0][0],
            Value::Str(id.clone()),
            "{context}: nearest to {id}"
        );
        assert!(
            r[0].rows[0][1].as_f64().unwrap() < 1e-4,
            "{context}: {:?}",
            r[0].rows
        );
    }
    // The data folder takes writes again, and they survive a clean reopen.
    engine
        .execute(&format!("{q} CREATE NODE {}", node("after", 0, 0)))
        .unwrap();
    drop(engine);
    let engine = open(dir.path(), phase);
    let again = read_back(&engine, phase.collection);
    assert_eq!(again.len(), model.len() + 1, "{context}");
    assert!(again.contains_key("after"), "{context}");
}

#[test]
fn kill_early_keeps_every_acknowledged_statement() {
    crash_and_check(&PLAIN, 1, 20);
}

#[test]
fn kill_after_200_statements_keeps_every_acknowledged_statement() {
    crash_and_check(&PLAIN, 2, 200);
}

#[test]
fn kill_at_a_random_point_keeps_every_acknowledged_statement() {
    // A different point on every run; printed so that a failure can be replayed.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let point = 30 + seed % 300;
    eprintln!("random kill point: seed {seed}, after {point} acknowledgements");
    crash_and_check(&PLAIN, seed, point);
}

#[test]
fn kill_while_the_graph_index_is_built_and_saved() {
    crash_and_check(&GRAPH, 3, 120);
}

/// A writer killed while it creates collections (explicitly, or by a first
/// insert) leaves a tenant whose every acknowledged collection is there and
/// usable, and whose in-flight collection is either absent or usable: never
/// a half-created file that breaks SHOW COLLECTIONS, DESCRIBE TENANT or the
/// collection's name.
#[test]
fn kill_while_creating_collections() {
    let mut problems = Vec::new();
    for (round, delay_us) in [0u64, 300, 800, 1500, 2500].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let kill_after = 3 + round as u64;
        let acked = run_and_kill_with_delay(dir.path(), &DDL, 0, kill_after, delay_us)
            .expect("the writer acknowledged nothing");
        let context = format!("round {round} (acked 0..={acked}, delay {delay_us} us)");
        let engine = open(dir.path(), &DDL);
        let mut check = |what: String, text: String| match engine.execute(&text) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(format!(
                    "{context}: {what}: {text} -> {}: {}",
                    e.kind().name(),
                    e.message()
                ));
                None
            }
        };
        let names: Vec<String> = check("list".into(), format!("SHOW COLLECTIONS TENANT {TENANT}"))
            .map(|r| {
                r[0].rows
                    .iter()
                    .map(|r| r[0].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        check("describe".into(), format!("DESCRIBE TENANT {TENANT}"));
        for n in 0..=acked {
            let want = if n % 2 == 0 { 0 } else { 1 };
            if let Some(r) = check(
                format!("acked c{n}"),
                format!("QUERY c{n} TENANT {TENANT} RETURN COUNT(*)"),
            ) {
                assert_eq!(r[0].rows, [vec![Value::Int(want)]], "{context}: c{n}");
            }
        }
        // The in-flight collection: absent, or there and usable.
        let c = format!("c{}", acked + 1);
        let usable = check(
            format!("in-flight {c}"),
            format!("QUERY {c} TENANT {TENANT} UPSERT NODE {{ id: \"y\", embedding: [1, 1] }}"),
        )
        .is_some();
        if !usable {
            check(
                format!("re-create {c}"),
                format!("CREATE COLLECTION IF NOT EXISTS {c} TENANT {TENANT}"),
            );
            check(
                format!("drop {c}"),
                format!("DROP COLLECTION {c} TENANT {TENANT}"),
            );
            check(
                "list after drop".into(),
                format!("SHOW COLLECTIONS TENANT {TENANT}"),
            );
        }
        if !names.is_empty() {
            for n in 0..=acked {
                assert!(
                    names.contains(&format!("c{n}")),
                    "{context}: c{n} not in {names:?}"
                );
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A process killed while it opens a brand-new data folder (creating
/// `catalog.redb`) must not leave a folder that can never be opened again.
#[test]
fn kill_during_the_first_open_of_a_folder() {
    let mut problems = Vec::new();
    // The window is a few milliseconds after the process starts; step through it.
    for delay_ms in 1u64..=25 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "writer_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_DIR, dir.path())
            .env(ENV_PHASE, DDL.name)
            .env("PQL_DURABILITY_SEED", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        match Engine::open(dir.path()) {
            Ok(engine) => {
                if let Err(e) = engine.execute("CREATE TENANT IF NOT EXISTS dur; SHOW TENANTS") {
                    problems.push(format!("killed after {delay_ms} ms: {e}"));
                }
            }
            Err(e) => problems.push(format!(
                "killed after {delay_ms} ms: Engine::open: {}: {}",
                e.kind().name(),
                e.message()
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
