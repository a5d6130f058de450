//! Graph search against the exact scan (STYLE.md: recall as a test). Seeded
//! random vectors, a collection past the graph threshold, and for each query
//! the graph's TOP 10 compared with `WITH (exact: true)`: at least 90% of
//! the exact neighbours must be found, with and without a filter. EXPLAIN
//! proves which path each query took.

use pql::{Config, Engine, Value};

mod common;
use common::Rng;

const DIM: usize = 16;
const NODES: usize = 3_000;
const K: usize = 10;

fn vector(rng: &mut Rng) -> String {
    let xs: Vec<String> = (0..DIM)
        .map(|_| format!("{:.4}", rng.unit() * 2.0 - 1.0))
        .collect();
    format!("[{}]", xs.join(", "))
}

fn ids(engine: &Engine, q: &str) -> Vec<String> {
    engine.execute(q).unwrap()[0]
        .rows
        .iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect()
}

fn plan(engine: &Engine, q: &str) -> String {
    let r = engine.execute(&format!("EXPLAIN {q}")).unwrap();
    r[0].rows
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn graph_search_finds_the_exact_neighbours() {
    let dir = common::fast_tempdir();
    // A filter matching half the nodes should search the graph, not scan.
    // 3,000 nodes get a graph index only below the default threshold.
    let mut config = Config::new(dir.path());
    config.flat_threshold = 1_000;
    config.exact_filter_threshold = 100;
    // Walks costed as free: the cost model would scan every filter at this size.
    config.filter_walk_cost = 0.0;
    let engine = Engine::open_with(config).unwrap();
    engine
        .execute(&format!(
            "CREATE TENANT t; CREATE COLLECTION v TENANT t WITH (dimension: {DIM}, metric: 'l2')"
        ))
        .unwrap();
    let mut rng = Rng(7);
    for start in (0..NODES).step_by(500) {
        let nodes: Vec<String> = (start..start + 500)
            .map(|i| {
                format!(
                    "{{ id: \"n{i:04}\", part: {}, embedding: {} }}",
                    i % 2,
                    vector(&mut rng)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY v TENANT t CREATE NODES [{}]",
                nodes.join(", ")
            ))
            .unwrap();
    }
    let (mut found, mut wanted) = (0, 0);
    for (filter, label) in [("", "no filter"), ("WHERE part = 1 ", "half the nodes")] {
        for _ in 0..30 {
            let q = format!(
                "QUERY v TENANT t {filter}SIMILAR TO {} TOP {K}",
                vector(&mut rng)
            );
            let graph_plan = plan(&engine, &format!("{q} RETURN _id"));
            assert!(
                graph_plan.contains("hnsw graph search"),
                "{label}: {graph_plan}"
            );
            let exact_plan = plan(&engine, &format!("{q} WITH (exact: true) RETURN _id"));
            assert!(exact_plan.contains("exact scan"), "{label}: {exact_plan}");
            let graph = ids(&engine, &format!("{q} RETURN _id"));
            let exact = ids(&engine, &format!("{q} WITH (exact: true) RETURN _id"));
            assert_eq!(exact.len(), K, "{label}");
            assert_eq!(graph.len(), K, "{label}: graph search returned {graph:?}");
            if !filter.is_empty() {
                let r = engine
                    .execute(&format!(
                        "QUERY v TENANT t WHERE part != 1 AND id IN [{}] RETURN COUNT(*)",
                        graph
                            .iter()
                            .map(|id| format!("\"{id}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .unwrap();
                assert_eq!(
                    r[0].rows,
                    [vec![Value::Int(0)]],
                    "filter not applied: {graph:?}"
                );
            }
            found += graph.iter().filter(|id| exact.contains(id)).count();
            wanted += K;
        }
    }
    let recall = found as f64 / wanted as f64;
    assert!(recall >= 0.9, "recall {recall:.3} ({found} of {wanted})");
}
