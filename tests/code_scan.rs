//! The scan codes (`index/codes.rs`) stay right as the collection changes:
//! a filtered query answered by a code scan gives the same rows as the
//! exact scan (`WITH (exact: true)`) after inserts, updates, deletes, and
//! after the collection has grown enough for the codes to be fitted again.
//! Also after the engine is reopened (the codes live in memory only). The
//! filter matches half the nodes (1,500 and more), so from its second scan
//! on the query reads the packed copy of their codes (`codes/packs.rs`),
//! which every write must drop.

use pql::{Config, Engine};

mod common;
use common::{clustered, ids, normalise, vector_literal as literal, Rng};

const DIM: usize = 12;

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir);
    config.flat_threshold = 500;
    config.quantized_scan_min = 1;
    config
}

fn insert(engine: &Engine, vectors: &[Vec<f32>], first: usize, verb: &str) {
    for (c, rows) in vectors.chunks(500).enumerate() {
        let nodes: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let i = first + c * 500 + j;
                format!(
                    "{{ id: \"n{i}\", g: {}, embedding: {} }}",
                    i % 2,
                    literal(v)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY items TENANT t {verb} NODES [{}];",
                nodes.join(", ")
            ))
            .unwrap();
    }
}

/// The filtered query through the planner (a code scan, checked) and
/// exactly: the same rows, distances included.
fn same_as_exact(engine: &Engine, q: &[f32]) -> Vec<String> {
    let text = format!(
        "QUERY items TENANT t WHERE g = 1 SIMILAR TO {} TOP 10",
        literal(q)
    );
    let plan = &engine.execute(&format!("EXPLAIN {text}")).unwrap()[0];
    let plan: Vec<&str> = plan
        .column_values("plan")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        plan.iter().any(|l| l.starts_with("strategy: code scan")),
        "{plan:?}"
    );
    let coded = engine.execute(&text).unwrap().remove(0);
    let exact = engine
        .execute(&format!("{text} WITH (exact: true)"))
        .unwrap()
        .remove(0);
    assert_eq!(coded.rows, exact.rows);
    ids(&coded)
}

#[test]
fn code_scans_follow_every_write_and_a_refit() {
    let mut rng = Rng(7);
    let vectors = clustered(&mut rng, 3_000, DIM, 12, 2.0, |_, rng| rng.next() as usize);
    let queries: Vec<Vec<f32>> = (0..20)
        .map(|_| {
            let mut q: Vec<f32> = (0..DIM).map(|_| rng.gauss()).collect();
            normalise(&mut q);
            q
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open_with(config(dir.path())).unwrap();
    engine
        .execute("CREATE TENANT t; CREATE COLLECTION items TENANT t WITH (metric: 'l2')")
        .unwrap();
    insert(&engine, &vectors, 0, "CREATE");
    for q in &queries {
        same_as_exact(&engine, q);
    }

    // A node written after the codes were built: found, at distance 0.
    let q = &queries[0];
    engine
        .execute(&format!(
            "QUERY items TENANT t CREATE NODE {{ id: \"new\", g: 1, embedding: {} }}",
            literal(q)
        ))
        .unwrap();
    assert_eq!(same_as_exact(&engine, q)[0], "new");

    // Moved away by an update: no longer first, and never twice.
    let far: Vec<f32> = q.iter().map(|x| -x).collect();
    engine
        .execute(&format!(
            "QUERY items TENANT t WHERE id = \"new\" UPDATE SET embedding = {}",
            literal(&far)
        ))
        .unwrap();
    let got = same_as_exact(&engine, q);
    assert!(!got.contains(&"new".to_string()), "{got:?}");
    assert_eq!(same_as_exact(&engine, &far)[0], "new");

    // Deleted: gone from the answer, which the next match fills.
    let before = same_as_exact(&engine, q);
    engine
        .execute(&format!(
            "QUERY items TENANT t WHERE id = \"{}\" DELETE",
            before[0]
        ))
        .unwrap();
    let after = same_as_exact(&engine, q);
    assert!(!after.contains(&before[0]), "{after:?}");
    assert_eq!(after[..9], before[1..]);

    // Grown past twice the fitted slots, with vectors of a wider range:
    // the codes are fitted again and still agree with the exact scan.
    let wide: Vec<Vec<f32>> =
        clustered(&mut rng, 7_000, DIM, 12, 2.0, |_, rng| rng.next() as usize)
            .into_iter()
            .map(|v| v.iter().map(|x| x * 3.0).collect())
            .collect();
    insert(&engine, &wide, 10_000, "UPSERT");
    for q in &queries {
        same_as_exact(&engine, q);
    }
    drop(engine);

    // Reopened: the codes are built again from the stored vectors.
    let engine = Engine::open_with(config(dir.path())).unwrap();
    for q in &queries {
        same_as_exact(&engine, q);
    }
}
