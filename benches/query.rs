//! What does a statement cost end to end? Parse alone, and top-10
//! similarity queries through `Engine::execute` (PQL text in, rows out) on
//! 10,000 vectors of 50 dimensions: exact scan, the native graph, the
//! hnsw_rs graph, and a filtered query. Run with `cargo bench --bench query`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use pql::Engine;

mod common;

const N: usize = 10_000;
const DIM: usize = 50;

fn load(engine: &Engine, collection: &str, index: &str) {
    engine
        .execute(&format!(
            "CREATE COLLECTION {collection} TENANT t WITH (dimension: {DIM}, index: '{index}');"
        ))
        .expect("create collection");
    common::load(engine, "t", collection, N, DIM, 1);
}

fn bench(c: &mut Criterion) {
    let statement = r#"QUERY products TENANT acme_corp WHERE category = "tools" AND price < 20
        SIMILAR TO embed("hardware tool") TOP 10 RETURN name, price;"#;
    c.bench_function("parse/filtered_similarity_statement", |b| {
        b.iter(|| pql::parse(statement).expect("parses"))
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path()).expect("open");
    engine.execute("CREATE TENANT t;").expect("tenant");
    load(&engine, "flat", "flat");
    load(&engine, "graph", "graph");
    load(&engine, "hnswrs", "hnsw_rs");
    let mut state = 99u64;
    let queries: Vec<String> = (0..64).map(|_| common::vector(&mut state, DIM)).collect();
    let mut group = c.benchmark_group("execute_top10_10k_x_50d");
    for (name, text) in [
        ("exact_scan", "QUERY flat TENANT t SIMILAR TO {q} TOP 10;"),
        ("graph_ef64", "QUERY graph TENANT t SIMILAR TO {q} TOP 10;"),
        (
            "hnsw_rs_ef64",
            "QUERY hnswrs TENANT t SIMILAR TO {q} TOP 10;",
        ),
        (
            "graph_filter_10pct",
            "QUERY graph TENANT t WHERE tenth = 3 SIMILAR TO {q} TOP 10;",
        ),
    ] {
        let texts: Vec<String> = queries.iter().map(|q| text.replace("{q}", q)).collect();
        common::bench_statements(&mut group, name, &engine, &texts);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
