//! Tenant lifecycle costs (issue 3): CREATE TENANT, activation of an
//! inactive tenant holding 100,000 vectors of 50 dimensions (time from
//! `inactive` to the first query answered), deactivation (`SET status =
//! 'inactive'`: flush and unload), and the tenant lookup every statement
//! starts with, among 10,000 tenants. Run with `cargo bench --bench tenants`.
//! The 100k tenant is built once (a minute or two) and kept under
//! `target/bench-data/tenants-100k` for later runs.

// criterion_group! generates an undocumented function.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use pql::Engine;

mod common;

const BIG: usize = 100_000;
const DIM: usize = 50;

/// An engine whose tenant `big` holds `BIG` vectors in collection `c`.
fn big_tenant() -> Engine {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/tenants-100k");
    let engine = Engine::open(&dir).expect("open");
    let ready = engine
        .execute("QUERY c TENANT big RETURN COUNT(*)")
        .ok()
        .and_then(|r| r[0].rows[0][0].as_i64());
    if ready != Some(BIG as i64) {
        engine
            .execute("DROP TENANT IF EXISTS big; CREATE TENANT big")
            .expect("tenant");
        common::load(&engine, "big", "c", BIG, DIM, 7);
        engine.flush().expect("flush");
    }
    engine
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(dir.path()).expect("open");
    let mut i = 0u64;
    c.bench_function("tenant/create", |b| {
        b.iter(|| {
            i += 1;
            engine
                .execute(&format!("CREATE TENANT c{i}"))
                .expect("create")
        })
    });
    for n in i + 1..=10_000 {
        engine
            .execute(&format!("CREATE TENANT c{n}"))
            .expect("create");
    }
    c.bench_function("tenant/lookup_among_10k", |b| {
        b.iter(|| engine.tenant_status("c5000").expect("lookup"))
    });

    let engine = big_tenant();
    let mut state = 3u64;
    let query = format!(
        "QUERY c TENANT big SIMILAR TO {} TOP 10",
        common::vector(&mut state, DIM)
    );
    let mut group = c.benchmark_group("tenant_100k_x_50d");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("activate_to_first_answer", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                engine
                    .execute("ALTER TENANT big SET status = 'inactive'")
                    .expect("deactivate");
                let t = Instant::now();
                engine.execute(&query).expect("query");
                total += t.elapsed();
            }
            total
        })
    });
    group.bench_function("deactivate", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                engine.execute(&query).expect("query");
                let t = Instant::now();
                engine
                    .execute("ALTER TENANT big SET status = 'inactive'")
                    .expect("deactivate");
                total += t.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
