//! What do quotas and metering cost? The quota checks of one write
//! statement, recording one usage event, and a warm top-10 similarity query
//! on a tenant with every limit set against one without limits (same data,
//! same run). Run with `cargo bench --bench quota`.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pql::bench_support::{QuotaProbe, UsageProbe};
use pql::Engine;

mod common;
use common::vector;

const N: usize = 5_000;
const DIM: usize = 50;

fn load(engine: &Engine, tenant: &str) {
    let mut state = 1u64;
    for batch in 0..N / 500 {
        let nodes: Vec<String> = (0..500)
            .map(|i| {
                format!(
                    "{{ id: \"n{}\", embedding: {} }}",
                    batch * 500 + i,
                    vector(&mut state, DIM)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY items TENANT {tenant} CREATE NODES [{}];",
                nodes.join(", ")
            ))
            .expect("insert batch");
    }
}

fn bench(c: &mut Criterion) {
    let probe = QuotaProbe::new();
    c.bench_function("quota/check_write_statement", |b| {
        b.iter(|| probe.check().expect("admitted"))
    });
    let usage = UsageProbe::default();
    let mut group = c.benchmark_group("usage");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record_event", |b| b.iter(|| usage.record()));
    group.finish();

    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path()).expect("open");
    engine.execute("CREATE TENANT plain;").expect("tenant");
    engine
        .execute(
            "CREATE TENANT limited WITH (tier: 'pro', max_qps: 1000000000, \
             max_api_calls_per_minute: 1000000000000, max_concurrent_queries: 64);",
        )
        .expect("tenant");
    load(&engine, "plain");
    load(&engine, "limited");
    let mut state = 99u64;
    let queries: Vec<String> = (0..64).map(|_| vector(&mut state, DIM)).collect();
    let texts = |t: &str| -> Vec<String> {
        queries
            .iter()
            .map(|q| format!("QUERY items TENANT {t} SIMILAR TO {q} TOP 10;"))
            .collect()
    };
    let (plain, limited) = (texts("plain"), texts("limited"));
    let mut group = c.benchmark_group("top10_5k_x_50d");
    for (name, texts) in [("no_limits", &plain), ("all_limits", &limited)] {
        common::bench_statements(&mut group, name, &engine, texts);
    }
    group.finish();
    interleaved(&engine, &plain, &limited);
}

/// The two tenants' queries alternated in rounds, so that load from other
/// processes hits both alike; prints the median per-round ratio.
fn interleaved(engine: &Engine, plain: &[String], limited: &[String]) {
    let run = |texts: &[String]| {
        let start = Instant::now();
        for t in texts {
            engine.execute(t).expect("query");
        }
        start.elapsed()
    };
    let mut ratios = Vec::new();
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    for round in 0..200 {
        let (x, y) = if round % 2 == 0 {
            let x = run(plain);
            (x, run(limited))
        } else {
            let y = run(limited);
            (run(plain), y)
        };
        a += x;
        b += y;
        ratios.push(y.as_secs_f64() / x.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "interleaved top-10: no_limits {:.1} us/query, all_limits {:.1} us/query, \
         median ratio {:.4} (overhead {:+.2}%)",
        a.as_secs_f64() * 1e6 / (200 * plain.len()) as f64,
        b.as_secs_f64() * 1e6 / (200 * limited.len()) as f64,
        ratios[ratios.len() / 2],
        (ratios[ratios.len() / 2] - 1.0) * 100.0
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
