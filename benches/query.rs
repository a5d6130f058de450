//! What does a statement cost, and where does the time go? Parsing typical
//! statements (per statement and in bytes/s); a similarity read's route
//! (tenant lookup, status check, pool), its plan (filter bitmaps and the
//! strategy) and its search alone, through `pql::bench_support`; the whole
//! statement through `Engine::execute` (PQL text in, rows out) on a
//! one-vector collection, where nearly all of it is overhead; and top-10
//! similarity queries through `Engine::execute` on 1,000 and 10,000 vectors
//! of 50 dimensions: exact scan, the native graph, the hnsw_rs graph, and a
//! filtered query. Run with `cargo bench --bench query`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use pql::bench_support::QueryProbe;
use pql::Engine;

mod common;

const N: usize = 10_000;
const DIM: usize = 50;

fn load(engine: &Engine, collection: &str, index: &str, n: usize) {
    engine
        .execute(&format!(
            "CREATE COLLECTION {collection} TENANT t WITH (dimension: {DIM}, index: '{index}');"
        ))
        .expect("create collection");
    common::load(engine, "t", collection, n, DIM, 1);
}

/// The statements whose parsing is timed: (name, text).
fn statements() -> Vec<(&'static str, String)> {
    let mut state = 7u64;
    let nodes: Vec<String> = (0..100)
        .map(|i| {
            format!(
                "{{ id: \"doc-{i}\", category: \"tools\", price: {}.5, embedding: {} }}",
                i % 40,
                common::vector(&mut state, DIM)
            )
        })
        .collect();
    vec![
        (
            "filtered_similarity_embed",
            r#"QUERY products TENANT acme_corp WHERE category = "tools" AND price < 20
        SIMILAR TO embed("hardware tool") TOP 10 RETURN name, price;"#
                .to_string(),
        ),
        (
            "similarity_vector_50",
            format!(
                "QUERY t TENANT x SIMILAR TO {} TOP 10 WITH (ef: 128);",
                common::vector(&mut state, DIM)
            ),
        ),
        (
            "similarity_vector_384",
            format!(
                "QUERY t TENANT x SIMILAR TO {} TOP 10 WITH (ef: 128);",
                common::vector(&mut state, 384)
            ),
        ),
        (
            "create_nodes_100",
            format!(
                "QUERY products TENANT acme_corp CREATE NODES [{}];",
                nodes.join(", ")
            ),
        ),
        (
            "create_tenant",
            "CREATE TENANT IF NOT EXISTS acme_corp WITH (tier: 'pro', max_qps: 50);".to_string(),
        ),
    ]
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, text) in statements() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| pql::parse(&text).expect("parses")));
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path()).expect("open");
    engine.execute("CREATE TENANT t;").expect("tenant");
    load(&engine, "flat1k", "flat", 1_000);
    load(&engine, "flat", "flat", N);
    load(&engine, "graph", "graph", N);
    load(&engine, "hnswrs", "hnsw_rs", N);
    load(&engine, "one", "graph", 1);
    let mut state = 99u64;
    let queries: Vec<String> = (0..64).map(|_| common::vector(&mut state, DIM)).collect();

    // The stages of one query, apart.
    let mut group = c.benchmark_group("query_path_10k_x_50d");
    for (name, text) in [
        ("graph_ef64", "QUERY graph TENANT t SIMILAR TO {q} TOP 10;"),
        (
            "graph_filter_10pct",
            "QUERY graph TENANT t WHERE tenth = 3 SIMILAR TO {q} TOP 10;",
        ),
        (
            "graph_filter_in_and_not",
            "QUERY graph TENANT t WHERE tenth IN [1, 2, 3] AND NOT tenth = 2 \
             SIMILAR TO {q} TOP 10;",
        ),
    ] {
        let probe = QueryProbe::new(&engine, &text.replace("{q}", &queries[0])).expect("probe");
        group.bench_function(format!("plan/{name}"), |b| {
            b.iter(|| black_box(probe.plan().expect("plan")))
        });
        if name == "graph_ef64" {
            group.bench_function("route", |b| b.iter(|| probe.route().expect("route")));
            group.bench_function("search_only/graph_ef64", |b| {
                b.iter(|| black_box(probe.search()))
            });
        }
    }
    // The whole statement where the search costs next to nothing.
    let texts: Vec<String> = queries
        .iter()
        .map(|q| format!("QUERY one TENANT t SIMILAR TO {q} TOP 10 WITH (ef: 128);"))
        .collect();
    common::bench_statements(&mut group, "execute_one_vector", &engine, &texts);
    group.finish();

    let mut group = c.benchmark_group("execute_top10_x_50d");
    for (name, text) in [
        (
            "exact_scan_1k",
            "QUERY flat1k TENANT t SIMILAR TO {q} TOP 10;",
        ),
        (
            "exact_scan_10k",
            "QUERY flat TENANT t SIMILAR TO {q} TOP 10;",
        ),
        (
            "graph_ef64_10k",
            "QUERY graph TENANT t SIMILAR TO {q} TOP 10;",
        ),
        (
            "hnsw_rs_ef64_10k",
            "QUERY hnswrs TENANT t SIMILAR TO {q} TOP 10;",
        ),
        (
            "graph_filter_10pct_10k",
            "QUERY graph TENANT t WHERE tenth = 3 SIMILAR TO {q} TOP 10;",
        ),
    ] {
        let texts: Vec<String> = queries.iter().map(|q| text.replace("{q}", q)).collect();
        common::bench_statements(&mut group, name, &engine, &texts);
    }
    group.finish();
}

criterion_group!(benches, parse, bench);
criterion_main!(benches);
