//! Recall through the whole engine: PQL text in, results out, compared with
//! a brute-force oracle computed in the test. Seeded data, fixed allowance.
//! The collection is large enough to get a graph index, and EXPLAIN is
//! asserted so the test proves which path ran.

use pql::{Engine, Value};

mod common;
use common::{brute_force, clustered, ids, normalise, vector_literal, Rng};

const N: usize = 6_000;
const DIM: usize = 24;
const QUERIES: usize = 40;

/// Clustered data: 30 centres, points assigned to them in turn.
fn data(rng: &mut Rng) -> Vec<Vec<f32>> {
    clustered(rng, N, DIM, 30, 3.0, |i, _| i)
}

/// A filter case: name, PQL filter, and which rows it allows.
type Case = (&'static str, &'static str, fn(usize) -> bool);

/// Graph index from 1,000 vectors, exact scans only for tiny filters, and
/// the cost model told that walks are free (at 6,000 vectors it would scan
/// every filter), so that both paths run on this data.
fn config(dir: &std::path::Path) -> pql::Config {
    let mut config = pql::Config::new(dir);
    config.flat_threshold = 1_000;
    config.exact_filter_threshold = 100;
    config.exact_filter_fraction = 0.0;
    config.filter_walk_cost = 0.0;
    config
}

#[test]
fn filtered_and_unfiltered_recall_at_10() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(config(dir.path())).unwrap();
    engine.execute("CREATE TENANT t;").unwrap();
    let mut rng = Rng(7);
    let vectors = data(&mut rng);
    for chunk in vectors.chunks(500).enumerate() {
        let (c, rows) = chunk;
        let nodes: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let i = c * 500 + j;
                format!(
                    "{{ id: \"n{i}\", half: {}, tenth: {}, hundredth: {}, embedding: {} }}",
                    i % 2,
                    i % 10,
                    i % 100,
                    vector_literal(v)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY items TENANT t CREATE NODES [{}];",
                nodes.join(", ")
            ))
            .unwrap();
    }
    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|_| {
            let base = &vectors[(rng.next() % N as u64) as usize];
            let mut q: Vec<f32> = base.iter().map(|x| x + rng.gauss() * 0.1).collect();
            normalise(&mut q);
            q
        })
        .collect();

    let cases: [Case; 4] = [
        ("none", "", |_| true),
        ("50%", "WHERE half = 0", |i| i % 2 == 0),
        ("10%", "WHERE tenth = 3", |i| i % 10 == 3),
        ("1%", "WHERE hundredth = 42", |i| i % 100 == 42),
    ];
    for (name, filter, allowed) in cases {
        let mut hits = 0;
        let mut total = 0;
        for q in &queries {
            let text = format!(
                "QUERY items TENANT t {filter} SIMILAR TO {} TOP 10;",
                vector_literal(q)
            );
            let got = ids(&engine.execute(&text).unwrap()[0]);
            let want = brute_force(&vectors, q, allowed);
            total += want.len();
            hits += want.iter().filter(|w| got.contains(w)).count();
        }
        let recall = hits as f64 / total as f64;
        assert!(recall >= 0.95, "recall@10 with filter {name}: {recall:.3}");

        let plan = &engine
            .execute(&format!(
                "EXPLAIN QUERY items TENANT t {filter} SIMILAR TO {} TOP 10;",
                vector_literal(&queries[0])
            ))
            .unwrap()[0];
        let text: Vec<String> = plan
            .column_values("plan")
            .iter()
            .map(|v| v.to_string())
            .collect();
        let expect = if name == "1%" {
            "exact scan"
        } else {
            "hnsw graph search"
        };
        assert!(
            text.iter().any(|l| l.contains(expect)),
            "filter {name}: expected {expect} in plan {text:?}"
        );
    }

    // Reopening gives identical answers (graph reloaded or rebuilt).
    let q = vector_literal(&queries[1]);
    let text = format!("QUERY items TENANT t WHERE half = 1 SIMILAR TO {q} TOP 10;");
    let before = engine.execute(&text).unwrap();
    drop(engine);
    let engine = Engine::open_with(config(dir.path())).unwrap();
    let after = engine.execute(&text).unwrap();
    // The graph saved when the engine closed was reloaded, not rebuilt.
    let plan = engine.execute(&format!("EXPLAIN {text}")).unwrap();
    let lines: Vec<String> = plan[0]
        .column_values("plan")
        .iter()
        .map(|v| v.to_string())
        .collect();
    assert!(
        lines.iter().any(|l| l.contains("graph: loaded from disk")),
        "{lines:?}"
    );
    assert_eq!(ids(&before[0]), ids(&after[0]));
    let d0: Vec<&Value> = before[0].column_values("_distance");
    let d1: Vec<&Value> = after[0].column_values("_distance");
    assert_eq!(d0, d1);
}
