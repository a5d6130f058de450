//! Regression tests for the properties issue 16 found broken, end to end
//! through the public API: reserved names, extreme vectors, escaped table
//! headers, crash temporaries, and short parse errors for huge lines.

mod common;

use pql::output::{render, render_error, Format};
use pql::{Engine, ErrorKind, Value};

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = common::fast_tempdir();
    let engine = Engine::open(dir.path()).expect("open");
    (dir, engine)
}

#[test]
fn reserved_names_are_refused_as_the_vector_field_on_every_path() {
    let (_dir, engine) = engine();
    engine.execute("CREATE TENANT t;").unwrap();
    for name in ["_distance", "_id"] {
        let e = engine
            .execute(&format!(
                "CREATE COLLECTION c TENANT t WITH (vector_field: '{name}');"
            ))
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{e}");
        // Implicitly: a first node whose only embed(...) field is reserved.
        let e = engine
            .execute(&format!(
                r#"QUERY d TENANT t CREATE NODE {{ id: "a", {name}: embed("text") }};"#
            ))
            .unwrap_err();
        assert!(
            e.message().contains("reserved"),
            "{name}: {} {e}",
            e.kind().name()
        );
    }
    let shown = engine.execute("SHOW COLLECTIONS TENANT t;").unwrap();
    assert!(shown[0].rows.is_empty(), "{:?}", shown[0].rows);
}

/// The distance column of each row, in order.
fn distances(engine: &Engine, q: &str) -> Vec<(String, f64)> {
    let r = engine.execute(q).unwrap();
    r[0].rows
        .iter()
        .map(|row| {
            let id = match &row[0] {
                Value::Str(s) => s.clone(),
                other => panic!("id {other:?}"),
            };
            let d = match &row[1] {
                Value::Float(x) => *x,
                Value::Null => f64::INFINITY,
                other => panic!("distance {other:?}"),
            };
            (id, d)
        })
        .collect()
}

#[test]
fn a_huge_vector_never_wins_and_cosine_stays_in_range() {
    let (_dir, engine) = engine();
    engine.execute("CREATE TENANT t;").unwrap();
    for metric in ["cosine", "l2", "dot"] {
        for index in ["flat", "graph", "hnsw_rs"] {
            let c = format!("{metric}_{index}");
            engine
                .execute(&format!(
                    "CREATE COLLECTION {c} TENANT t WITH (metric: '{metric}', index: '{index}');
                     QUERY {c} TENANT t CREATE NODES [
                       {{ id: \"huge\", embedding: [3.4e38, -3.4e38, 0.0, 0.0] }},
                       {{ id: \"near\", embedding: [1.0, 0.0, 0.0, 0.0] }},
                       {{ id: \"far\", embedding: [0.0, 0.0, 1.0, 0.0] }}
                     ];"
                ))
                .unwrap();
            let rows = distances(
                &engine,
                &format!("QUERY {c} TENANT t SIMILAR TO [2.0, 2.0, 0.0, 0.0] TOP 3;"),
            );
            assert_eq!(rows.len(), 3, "{c}: {rows:?}");
            assert_eq!(rows[0].0, "near", "{c}: {rows:?}");
            for w in rows.windows(2) {
                assert!(w[0].1 <= w[1].1, "{c}: not nearest first: {rows:?}");
            }
            if metric == "cosine" {
                assert!(
                    rows.iter().all(|(_, d)| (0.0..=2.0).contains(d)),
                    "{c}: {rows:?}"
                );
            }
        }
    }
    // Non-finite input is refused, not stored.
    let e = engine
        .execute(
            "QUERY cosine_flat TENANT t CREATE NODE { id: \"x\", embedding: [1e39, 0, 0, 0] };",
        )
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TypeError, "{e}");
}

#[test]
fn table_headers_escape_terminal_controls() {
    let (_dir, engine) = engine();
    engine
        .execute(
            "CREATE TENANT t;
             QUERY c TENANT t CREATE NODE { id: \"a\", \"h\\u{1b}[2Jx\": 1 };",
        )
        .unwrap();
    let r = engine.execute("QUERY c TENANT t LIMIT 5;").unwrap();
    let shown = render(&r[0], Format::Table);
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
    assert!(shown.contains("h\\u{1b}[2Jx"), "{shown:?}");
}

#[test]
fn open_removes_the_temporaries_a_crash_left() {
    let dir = common::fast_tempdir();
    {
        let engine = Engine::open(dir.path()).unwrap();
        engine
            .execute(
                "CREATE TENANT t; QUERY c TENANT t CREATE NODE { id: \"a\", embedding: [1, 2] };",
            )
            .unwrap();
    }
    let archive = dir.path().join("archive");
    std::fs::create_dir_all(&archive).unwrap();
    let left = [
        archive.join("t.tar.zst.tmp"),
        dir.path().join("tenants/t/c.redb.tmp"),
        dir.path().join("tenants/t/c.graph.tmp"),
    ];
    for p in &left {
        std::fs::write(p, b"half written").unwrap();
    }
    let engine = Engine::open(dir.path()).unwrap();
    for p in &left {
        assert!(!p.exists(), "{} survived open", p.display());
    }
    let r = engine.execute("QUERY c TENANT t LIMIT 5;").unwrap();
    assert_eq!(r[0].rows.len(), 1);
}

#[test]
fn a_parse_error_on_a_12_mb_line_is_short() {
    let (_dir, engine) = engine();
    let numbers = "0.5, ".repeat(2_400_000);
    let text = format!("CREATE TENANT t; QUERY c TENANT t CREATE NODE {{ id: \"a\", embedding: [{numbers}] }} TOPP;");
    assert!(text.len() > 12_000_000);
    let e = engine.execute(&text).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::ParseError);
    let shown = e.to_string();
    assert!(shown.len() < 1_000, "{} bytes", shown.len());
    assert!(shown.contains("TOPP"), "{shown}");
    assert!(render_error(&e, Format::Json).len() < 1_000);
}

/// The `property | value` rows of one DESCRIBE result, as a map.
fn properties(result: &pql::QueryResult) -> std::collections::BTreeMap<String, Value> {
    result
        .rows
        .iter()
        .map(|r| match &r[0] {
            Value::Str(k) => (k.clone(), r[1].clone()),
            other => panic!("property name {other:?}"),
        })
        .collect()
}

#[test]
fn describe_collection_shows_options_contents_and_graph_state() {
    let (_dir, engine) = engine();
    engine
        .execute(
            "CREATE TENANT t; CREATE COLLECTION docs TENANT t WITH (metric: 'l2', m: 8, \
             ef_construction: 40, ef_search: 20, index: 'graph');",
        )
        .unwrap();
    engine
        .execute(
            r#"QUERY docs TENANT t CREATE NODES [
                 { id: "a", price: 3, tags: ["x"], embedding: [1, 0, 0] },
                 { id: "b", price: 2.5, name: "bee", embedding: [0, 1, 0] },
                 { id: "c", price: null, meta: { k: 1 } }
               ];"#,
        )
        .unwrap();
    let mut session = engine.session();
    session.execute("USE TENANT t;").unwrap();
    // Without TENANT, the session's tenant; with it, the same rows.
    let bare = session.execute("DESCRIBE COLLECTION docs;").unwrap();
    let named = engine
        .execute("DESCRIBE COLLECTION docs TENANT t;")
        .unwrap();
    assert_eq!(bare[0].rows, named[0].rows);
    let p = properties(&named[0]);
    let s = |v: &str| Value::Str(v.into());
    assert_eq!(p["name"], s("docs"));
    assert_eq!(p["tenant"], s("t"));
    assert_eq!(p["dimension"], Value::Int(3));
    assert_eq!(p["metric"], s("l2"));
    assert_eq!(p["index"], s("graph"));
    assert_eq!(p["m"], Value::Int(8));
    assert_eq!(p["ef_construction"], Value::Int(40));
    assert_eq!(p["ef_search"], Value::Int(20));
    assert_eq!(p["vector_field"], s("embedding"));
    assert_eq!(p["nodes"], Value::Int(3));
    assert_eq!(p["vectors"], Value::Int(2));
    assert_eq!(
        p["attributes"],
        s("meta: object, name: string, price: null|number, tags: array")
    );
    assert!(
        matches!(p["storage_bytes"], Value::Int(n) if n > 0),
        "{p:?}"
    );
    assert_eq!(p["graph"], s("built in this process"));
    assert_eq!(p["graph_saved"], Value::Bool(false));
    assert_eq!(p["graph_pending"], Value::Int(0));
    // After a flush the graph is saved as of the last write.
    engine.flush().unwrap();
    let p = properties(
        &engine
            .execute("DESCRIBE COLLECTION docs TENANT t;")
            .unwrap()[0],
    );
    assert_eq!(p["graph_saved"], Value::Bool(true));
}

#[test]
fn describe_of_a_missing_collection_names_it_and_hints_at_the_case() {
    let (_dir, engine) = engine();
    engine
        .execute("CREATE TENANT t; CREATE COLLECTION Docs TENANT t;")
        .unwrap();
    let e = engine
        .execute("DESCRIBE COLLECTION nope TENANT t;")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::CollectionNotFound);
    assert!(e.message().contains("nope"), "{e}");
    let e = engine
        .execute("DESCRIBE COLLECTION docs TENANT t;")
        .unwrap_err();
    assert!(e.message().contains("did you mean Docs?"), "{e}");
    // No tenant given and none in use.
    let e = engine.execute("DESCRIBE COLLECTION Docs;").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NoTenant);
    // An invalid name is refused before it reaches a path.
    let e = engine
        .execute(r#"DESCRIBE COLLECTION "../x" TENANT t;"#)
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidName);
}
