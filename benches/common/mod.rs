//! Data shared by the benchmarks and `examples/scale.rs`: a seeded vector
//! generator and a batched loader.
#![allow(dead_code)]

use pql::Engine;

/// splitmix64 uniform in [-1, 1): the same data on every run.
pub fn next(state: &mut u64) -> f32 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// A `dim`-dimensional PQL vector literal.
pub fn vector(state: &mut u64, dim: usize) -> String {
    let v: Vec<String> = (0..dim).map(|_| format!("{:.4}", next(state))).collect();
    format!("[{}]", v.join(", "))
}

/// Inserts `n` nodes `n0..` (with a `tenth` attribute) into
/// `tenant.collection`, 1,000 per statement.
pub fn load(engine: &Engine, tenant: &str, collection: &str, n: usize, dim: usize, seed: u64) {
    let mut state = seed;
    for start in (0..n).step_by(1000) {
        let nodes: Vec<String> = (start..n.min(start + 1000))
            .map(|id| {
                format!(
                    "{{ id: \"n{id}\", tenth: {}, embedding: {} }}",
                    id % 10,
                    vector(&mut state, dim)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY {collection} TENANT {tenant} CREATE NODES [{}];",
                nodes.join(", ")
            ))
            .expect("insert batch");
    }
}

/// Benchmarks `engine.execute` on `texts`, one statement per iteration, in
/// turn (so a cache never sees the same query twice in a row).
pub fn bench_statements(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    engine: &Engine,
    texts: &[String],
) {
    let mut i = 0;
    group.bench_function(name, |b| {
        b.iter(|| {
            i = (i + 1) % texts.len();
            engine.execute(&texts[i]).expect("query")
        })
    });
}
