//! What does a statement cost, and where does the time go? Parsing typical
//! statements (per statement and in bytes/s); a similarity read's route
//! (tenant lookup, status check, pool), its plan (filter bitmaps and the
//! strategy) and its search alone, through `pql::bench_support`; the whole
//! statement through `Engine::execute` (PQL text in, rows out) on a
//! one-vector collection, where nearly all of it is overhead; and top-10
//! similarity queries through `Engine::execute` on 1,000 and 10,000 vectors
//! of 50 dimensions: exact scan, the native graph, the hnsw_rs graph, and a
//! filtered query. Run with `cargo bench --bench query`.
//!
//! With `PQL_BENCH_GLOVE=1` (and the GloVe files of `examples/pql_bench.rs`
//! in `data/`), also the 399,000 GloVe-50 vectors through `CREATE NODES`
//! and, on that one collection, pql_bench's `SIMILAR TO [..] TOP 10 WITH
//! (ef: 128)` statements through `Engine::execute` against the same
//! searches alone: the whole PQL overhead at ef 128 on the same graph.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use pql::bench_support::QueryProbe;
use pql::Engine;

mod common;
#[path = "../examples/glove_files/mod.rs"]
mod glove_files;

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

/// pql_bench's vector literal: every f32 in its shortest exact form.
fn literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(","))
}

fn glove(c: &mut Criterion) {
    if std::env::var_os("PQL_BENCH_GLOVE").is_none() {
        return;
    }
    let (base, dim) = glove_files::read_f32("data/glove50.base.f32").expect("GloVe base file");
    let (queries, _) = glove_files::read_f32("data/glove50.queries.f32").expect("GloVe queries");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path()).expect("open");
    engine
        .execute("CREATE TENANT b; CREATE COLLECTION v TENANT b WITH (metric: 'cosine')")
        .expect("collection");
    for (batch, rows) in base.chunks(1000 * dim).enumerate() {
        let nodes: Vec<String> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(j, v)| format!("{{id:\"n{}\",embedding:{}}}", batch * 1000 + j, literal(v)))
            .collect();
        engine
            .execute(&format!(
                "QUERY v TENANT b CREATE NODES [{}]",
                nodes.join(",")
            ))
            .expect("insert batch");
    }
    let texts: Vec<String> = queries
        .chunks_exact(dim)
        .map(|q| {
            format!(
                "QUERY v TENANT b SIMILAR TO {} TOP 10 WITH (ef: 128) RETURN _id",
                literal(q)
            )
        })
        .collect();
    let probes: Vec<QueryProbe> = texts
        .iter()
        .map(|t| QueryProbe::new(&engine, t).expect("probe"))
        .collect();
    interleaved(&engine, &texts, &probes);
    let mut group = c.benchmark_group("glove_399k_ef128");
    common::bench_statements(&mut group, "execute", &engine, &texts);
    let mut i = 0;
    group.bench_function("search_only", |b| {
        b.iter(|| {
            i = (i + 1) % probes.len();
            black_box(probes[i].search())
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| {
            i = (i + 1) % texts.len();
            pql::parse(&texts[i]).expect("parses")
        })
    });
    group.finish();
}

/// Each statement through `execute` and its search alone, one right after
/// the other (which one first alternates), for three rounds: both see the
/// same load, which on a shared machine drifts more between two criterion
/// runs than the overhead is large. Prints medians, means and their ratios.
fn interleaved(engine: &Engine, texts: &[String], probes: &[QueryProbe]) {
    let (mut exec, mut search) = (Vec::new(), Vec::new());
    let mut time_execute = |text: &String| {
        let t = Instant::now();
        black_box(engine.execute(text).expect("query"));
        exec.push(t.elapsed().as_secs_f64() * 1e6);
    };
    let mut time_search = |probe: &QueryProbe| {
        let t = Instant::now();
        black_box(probe.search());
        search.push(t.elapsed().as_secs_f64() * 1e6);
    };
    for round in 0..3 {
        for (i, (text, probe)) in texts.iter().zip(probes).enumerate() {
            if (i + round) % 2 == 0 {
                time_execute(text);
                time_search(probe);
            } else {
                time_search(probe);
                time_execute(text);
            }
        }
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v.iter().sum::<f64>() / v.len() as f64)
    };
    let ((e50, emean), (s50, smean)) = (stats(&mut exec), stats(&mut search));
    println!(
        "glove_399k_ef128/interleaved: {} pairs, load {}\n  \
         execute p50 {e50:.1} µs mean {emean:.1} µs; search alone p50 {s50:.1} µs mean \
         {smean:.1} µs\n  overhead p50 {:.1} µs ({:+.1}%), mean {:.1} µs ({:+.1}%)",
        exec.len(),
        glove_files::loadavg(),
        e50 - s50,
        100.0 * (e50 / s50 - 1.0),
        emean - smean,
        100.0 * (emean / smean - 1.0),
    );
}

criterion_group!(benches, parse, bench, glove);
criterion_main!(benches);
