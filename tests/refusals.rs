//! "A refused statement changes nothing", for every statement kind and every
//! refusal we can provoke (quotas, status, dimension, duplicate id, bad
//! option, reserved name, type error, invalid name, not found, exists): the
//! logical state (tenants, their descriptions, tiers, collections and their rows,
//! the usage counters, the files and folders of the data dir) is the same
//! before and after. Only the refusal counters and access times may move.

mod common;

use std::path::Path;

use pql::{Engine, Value};

/// Description rows that may move on a refused statement: access times,
/// what is loaded in memory, and the request counters (a refusal is a
/// request).
const MOVING: [&str; 6] = [
    "last_accessed",
    "loaded",
    "memory_bytes",
    "requests",
    "quota_utilization",
    "utilization_concurrent_queries",
];

/// Usage columns that may move: the refusal counters, and the compute time
/// spent on refusing.
const MOVING_USAGE: [&str; 5] = [
    "statements",
    "errors",
    "quota_exceeded",
    "rate_limited",
    "compute_us",
];

/// The rows of `stmt`, or its error kind, as text.
fn rows(e: &Engine, stmt: &str) -> String {
    match e.execute(stmt) {
        Ok(r) => format!("{:?} {:?}", r[0].columns, r[0].rows),
        Err(err) => format!("error {}", err.kind().name()),
    }
}

/// Every file and folder under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The logical state of the engine, as text lines.
fn snapshot(e: &Engine, dir: &Path) -> Vec<String> {
    let mut out = vec![rows(e, "SHOW TENANTS"), rows(e, "SHOW TIERS")];
    for t in e.tenant_names() {
        let described = e.execute(&format!("DESCRIBE TENANT \"{t}\"")).unwrap();
        for row in &described[0].rows {
            if !matches!(&row[0], Value::Str(k) if MOVING.contains(&k.as_str())) {
                out.push(format!("{t} {row:?}"));
            }
        }
        out.push(rows(e, &format!("SHOW COLLECTIONS TENANT \"{t}\"")));
        for c in e.collection_names(&t).unwrap() {
            out.push(rows(
                e,
                &format!("QUERY \"{c}\" TENANT \"{t}\" RETURN COUNT(*)"),
            ));
            out.push(rows(e, &format!("QUERY \"{c}\" TENANT \"{t}\"")));
        }
    }
    let usage = &e.execute("SHOW USAGE").unwrap()[0];
    for row in &usage.rows {
        for (col, v) in usage.columns.iter().zip(row) {
            if !MOVING_USAGE.contains(&col.as_str()) && col != "cost" {
                out.push(format!("usage {col} {v:?}"));
            }
        }
    }
    out.extend(files(dir));
    out
}

#[test]
fn every_refused_statement_changes_nothing() {
    let dir = common::fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute(
        "CREATE TENANT t WITH (max_vectors: 2, max_dimension: 3, max_batch_size: 2, \
             max_results_per_query: 5);
         CREATE COLLECTION c TENANT t WITH (dimension: 2);
         QUERY c TENANT t CREATE NODE { id: \"a\", embedding: [1.0, 0.0], kind: \"x\" };
         CREATE TENANT ro; CREATE COLLECTION c TENANT ro;
         ALTER TENANT ro SET status = 'read_only';
         CREATE TENANT sus; ALTER TENANT sus SET status = 'suspended';",
    )
    .unwrap();
    let refused = [
        // First inserts into a new collection, refused by quotas and types.
        r#"QUERY fresh TENANT t CREATE NODE { id: "x", embedding: [1, 2, 3, 4] }"#,
        r#"QUERY fresh TENANT t CREATE NODES [{ id: "x", embedding: [1, 0] }, { id: "y", embedding: [0, 1] }]"#,
        r#"QUERY fresh TENANT t CREATE NODE { id: 5.5 }"#,
        r#"QUERY fresh TENANT t CREATE NODES [{ id: "x" }, { id: "x" }]"#,
        r#"QUERY fresh TENANT ro CREATE NODE { id: "x" }"#,
        // Writes and reads of an existing collection.
        r#"QUERY c TENANT t CREATE NODES [{ id: "p" }, { id: "q" }, { id: "r" }]"#,
        r#"QUERY c TENANT t CREATE NODE { id: "a", embedding: [0, 1] }"#,
        r#"QUERY c TENANT t CREATE NODE { id: "b", embedding: [0, 1, 1] }"#,
        r#"QUERY c TENANT t UPSERT NODE { id: "a", embedding: [0, 1, 1] }"#,
        r#"QUERY c TENANT t CREATE NODE { id: "b", _distance: 1 }"#,
        r#"QUERY c TENANT t WHERE kind = "x" UPDATE SET id = "z""#,
        r#"QUERY c TENANT t UPDATE SET embedding = [1, 2, 3]"#,
        r#"QUERY c TENANT t SIMILAR TO [1, 0] TOP 50"#,
        r#"QUERY c TENANT t SIMILAR TO [1, 0] TOP 1 WITH (ef: 0)"#,
        r#"QUERY c TENANT ro WHERE kind = "x" DELETE"#,
        r#"QUERY c TENANT sus RETURN COUNT(*)"#,
        r#"QUERY missing TENANT t WHERE kind = "x" DELETE"#,
        r#"EXPLAIN QUERY c TENANT sus SIMILAR TO [1, 0] TOP 1"#,
        // Collection DDL.
        "CREATE COLLECTION d TENANT t WITH (metric: 'manhattan')",
        "CREATE COLLECTION d TENANT t WITH (vector_field: '_distance')",
        "CREATE COLLECTION \"a/b\" TENANT t",
        "CREATE COLLECTION c TENANT t",
        "CREATE COLLECTION d TENANT ro",
        "ALTER COLLECTION c TENANT t SET ef_search = 0",
        "ALTER COLLECTION c TENANT t SET dimension = 3",
        "DROP COLLECTION ghost TENANT t",
        "DROP COLLECTION c TENANT ro",
        "SHOW COLLECTIONS TENANT ghost",
        // Tenant DDL and reports.
        "CREATE TENANT t",
        "CREATE TENANT \"../x\"",
        "CREATE TENANT z WITH (bogus: 1)",
        "CREATE TENANT z WITH (status: 'suspended')",
        "ALTER TENANT t SET max_vectors = 'many'",
        "ALTER TENANT t SET status = 'bogus'",
        "ALTER TENANT ghost SET max_vectors = 1",
        "ARCHIVE TENANT ghost",
        "RESTORE TENANT t",
        "DROP TENANT ghost",
        "DESCRIBE TENANT ghost",
        "USE TENANT ghost",
        "SHOW USAGE PERIOD '2026-13'",
        "SHOW USAGE FOR TENANT ghost",
        // Tiers.
        "CREATE TIER free",
        "CREATE TIER x WITH (colour: 1)",
        "ALTER TIER ghost SET max_qps = 1",
        "ALTER TIER free SET max_qps = -1",
        "DROP TIER free",
        "DROP TIER ghost",
        "CREATE TENANT z WITH (tier: 'ghost')",
        "ALTER TENANT t SET tier = 'ghost'",
    ];
    for stmt in refused {
        let before = snapshot(&e, dir.path());
        assert!(e.execute(stmt).is_err(), "not refused: {stmt}");
        let after = snapshot(&e, dir.path());
        let gone: Vec<_> = before.iter().filter(|l| !after.contains(l)).collect();
        let new: Vec<_> = after.iter().filter(|l| !before.contains(l)).collect();
        assert_eq!(
            before, after,
            "changed by the refused {stmt}: {gone:?} -> {new:?}"
        );
    }
    // An empty batch is a no-op: it creates nothing.
    let before = snapshot(&e, dir.path());
    e.execute("QUERY fresh TENANT t CREATE NODES []").unwrap();
    assert_eq!(before, snapshot(&e, dir.path()));
}

/// `n` nodes with 2-d literal vectors, as a batch literal.
fn batch(n: usize) -> String {
    let nodes: Vec<String> = (0..n)
        .map(|i| format!("{{ id: \"n{i}\", embedding: [{i}.0, 1.0] }}"))
        .collect();
    format!("[{}]", nodes.join(", "))
}

/// A statement cancelled before its commit point changes nothing, like a
/// refused one; the request is taken by that statement, so the next runs.
#[test]
fn every_cancelled_statement_changes_nothing() {
    let dir = common::fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute(
        "CREATE TENANT t;
         QUERY c TENANT t CREATE NODE { id: \"a\", embedding: [1.0, 0.0], kind: \"x\" };
         CREATE TENANT cold;
         QUERY c TENANT cold CREATE NODE { id: \"g\", embedding: [0.0, 1.0] };
         ARCHIVE TENANT cold;
         EXPORT TENANT t TO 't.pqlt';",
    )
    .unwrap();
    let big = batch(3_000);
    let statements = [
        format!("QUERY c TENANT t CREATE NODES {big}"),
        format!("QUERY fresh TENANT t CREATE NODES {big}"),
        format!("QUERY c TENANT t UPSERT NODES {big}"),
        "QUERY c TENANT t WHERE kind = \"x\" UPDATE SET kind = \"y\"".to_string(),
        "ARCHIVE TENANT t".to_string(),
        "RESTORE TENANT cold".to_string(),
        "IMPORT TENANT FROM 't.pqlt' AS copy".to_string(),
    ];
    let mut session = e.session();
    let cancel = session.cancel_token();
    for stmt in &statements {
        let before = snapshot(&e, dir.path());
        cancel.cancel();
        let err = session.execute(stmt).unwrap_err();
        assert_eq!(err.kind(), &pql::ErrorKind::Cancelled, "{stmt}: {err}");
        assert!(!cancel.is_cancelled(), "the request was taken");
        let after = snapshot(&e, dir.path());
        assert_eq!(before, after, "changed by the cancelled {stmt}");
    }
    for stmt in &statements {
        session.execute(stmt).unwrap();
    }
}

/// An embedder that cancels the session from another thread while the
/// statement embeds: the statement is past its first safe points and stops
/// at the last one, before its commit.
struct CancellingEmbedder {
    inner: pql::HashEmbedder,
    token: std::sync::Mutex<Option<pql::CancelToken>>,
}

impl pql::Embedder for CancellingEmbedder {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, text: &str) -> pql::Result<Vec<f32>> {
        if let Some(token) = self.token.lock().unwrap().take() {
            std::thread::spawn(move || token.cancel()).join().unwrap();
        }
        self.inner.embed(text)
    }
}

#[test]
fn a_statement_cancelled_from_another_thread_while_it_runs_changes_nothing() {
    let dir = common::fast_tempdir();
    let embedder = std::sync::Arc::new(CancellingEmbedder {
        inner: pql::HashEmbedder::default(),
        token: std::sync::Mutex::new(None),
    });
    let mut config = pql::Config::new(dir.path());
    config.embedder = embedder.clone();
    let e = Engine::open_with(config).unwrap();
    e.execute("CREATE TENANT t;").unwrap();
    let nodes: Vec<String> = (0..2_000)
        .map(|i| format!("{{ id: \"n{i}\", embedding: embed(\"text {i}\") }}"))
        .collect();
    let stmt = format!("QUERY docs TENANT t CREATE NODES [{}]", nodes.join(", "));
    let mut session = e.session();
    *embedder.token.lock().unwrap() = Some(session.cancel_token());
    let err = session.execute(&stmt).unwrap_err();
    assert_eq!(err.kind(), &pql::ErrorKind::Cancelled, "{err}");
    // Not even the collection its first insert would have made.
    assert!(e.collection_names("t").unwrap().is_empty());
    assert_eq!(
        e.execute("QUERY docs TENANT t RETURN COUNT(*)")
            .unwrap_err()
            .kind(),
        &pql::ErrorKind::CollectionNotFound
    );
    assert!(files(dir.path()).iter().all(|f| !f.contains("docs")));
    // The request was taken: the same statement now runs.
    session.execute(&stmt).unwrap();
    assert_eq!(e.collection_names("t").unwrap(), ["docs"]);
}
