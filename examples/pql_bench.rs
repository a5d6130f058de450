//! Recall and speed through PQL text (issue 5): every vector goes in through
//! `CREATE NODES`, every query is a `SIMILAR TO [..] TOP 10` statement through
//! `Engine::execute`, so parsing, planning, tenant routing, quotas and
//! metering are all counted. Compare with `examples/ann_bench.rs` (the graph
//! index alone, on the same data) to see the PQL overhead.
//!
//! ```text
//! scripts/fetch-glove.sh && cargo run --release --example ann_bench -- --runs 1
//! cargo run --release --example pql_bench                   # GloVe-50, 399k
//! cargo run --release --example pql_bench -- --synthetic 3000 --queries 50   # smoke run
//! ```
//! GloVe mode reads `data/glove50.{base,queries}.f32` and `data/glove50.gt.u32`
//! (normalised rows, 1,000 held-out queries, exact top-10), which `ann_bench`
//! writes on its first run.

use std::fs;
use std::time::{Duration, Instant};

use pql::{Config, Engine};

mod glove_files;
use glove_files::{loadavg, read_f32};

const K: usize = 10;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A filter: its PQL text, the share of rows it admits, and which rows.
type FilterCase = (&'static str, &'static str, fn(usize) -> bool);

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Seeded clustered unit vectors: `n` base rows and `q` queries.
fn synthetic(n: usize, q: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let mut s = 42u64;
    let mut next = move || {
        s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    };
    let centres: Vec<f32> = (0..32 * dim).map(|_| next() * 3.0).collect();
    let mut row = |i: usize| -> Vec<f32> {
        let c = &centres[(i % 32) * dim..][..dim];
        let mut v: Vec<f32> = c.iter().map(|x| x + next()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    };
    let base = (0..n).flat_map(&mut row).collect();
    let queries = (0..q).flat_map(|i| row(i * 7 + 3)).collect();
    (base, queries)
}

/// Exact top-10 ids by inner product among the rows `allow` admits.
fn truth(base: &[f32], query: &[f32], dim: usize, allow: &dyn Fn(usize) -> bool) -> Vec<u32> {
    let mut best: Vec<(f32, u32)> = base
        .chunks_exact(dim)
        .enumerate()
        .filter(|(i, _)| allow(*i))
        .map(|(i, v)| {
            (
                -v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>(),
                i as u32,
            )
        })
        .collect();
    best.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    best.into_iter().take(K).map(|(_, i)| i).collect()
}

fn literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(","))
}

fn peak_rss_mb() -> f64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Runs `queries` through PQL, returning (recall@10, QPS, p50 µs, p99 µs).
fn measure(engine: &Engine, texts: &[String], truths: &[Vec<u32>]) -> Res<(f64, f64, f64, f64)> {
    let mut lat = Vec::with_capacity(texts.len());
    let (mut hit, mut total) = (0usize, 0usize);
    let start = Instant::now();
    for (text, want) in texts.iter().zip(truths) {
        let t = Instant::now();
        let r = engine.execute(text)?;
        lat.push(t.elapsed());
        let got: Vec<u32> = r[0]
            .column_values("_id")
            .iter()
            .filter_map(|v| v.as_str()?.strip_prefix('n')?.parse().ok())
            .collect();
        total += want.len();
        hit += want.iter().filter(|w| got.contains(w)).count();
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    Ok((
        hit as f64 / total.max(1) as f64,
        texts.len() as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    ))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let nq: usize = arg(&args, "--queries").map_or(Ok(1000), |s| s.parse())?;
    let (base, queries, dim, gt) = match arg(&args, "--synthetic") {
        Some(n) => {
            let (b, q) = synthetic(n.parse()?, nq, 32);
            (b, q, 32, None)
        }
        None => {
            let (b, dim) = read_f32("data/glove50.base.f32")?;
            let (q, _) = read_f32("data/glove50.queries.f32")?;
            let gt: Vec<u32> = fs::read("data/glove50.gt.u32")?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (b, q, dim, Some(gt))
        }
    };
    let n = base.len() / dim;
    let nq = nq.min(queries.len() / dim);
    let queries = &queries[..nq * dim];
    let tmp = tempfile::tempdir()?;
    let config = || Config::new(tmp.path());
    println!("pql_bench: {n} x {dim}, {nq} queries, load {}", loadavg());

    let engine = Engine::open_with(config())?;
    engine.execute("CREATE TENANT b; CREATE COLLECTION v TENANT b WITH (metric: 'cosine')")?;
    let t = Instant::now();
    for (c, rows) in base.chunks(1000 * dim).enumerate() {
        let nodes: Vec<String> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(j, v)| {
                let i = c * 1000 + j;
                format!(
                    "{{id:\"n{i}\",half:{},tenth:{},m100:{},m1000:{},embedding:{}}}",
                    i % 2,
                    i % 10,
                    i % 100,
                    i % 1000,
                    literal(v)
                )
            })
            .collect();
        engine.execute(&format!(
            "QUERY v TENANT b CREATE NODES [{}]",
            nodes.join(",")
        ))?;
    }
    let ingest = t.elapsed().as_secs_f64();
    println!(
        "ingest: {:.1} s, {:.0} vectors/s (PQL text, batches of 1,000, graph built as it grows)",
        ingest,
        n as f64 / ingest
    );

    let truths: Vec<Vec<u32>> = match &gt {
        Some(gt) => gt.chunks_exact(K).map(<[u32]>::to_vec).collect(),
        None => queries
            .chunks_exact(dim)
            .map(|q| truth(&base, q, dim, &|_| true))
            .collect(),
    };
    println!("| ef | recall@10 | QPS | p50 µs | p99 µs |\n|---|---|---|---|---|");
    for ef in [16, 32, 64, 128, 256] {
        let texts: Vec<String> = queries
            .chunks_exact(dim)
            .map(|q| {
                format!(
                    "QUERY v TENANT b SIMILAR TO {} TOP 10 WITH (ef: {ef}) RETURN _id",
                    literal(q)
                )
            })
            .collect();
        let (r, qps, p50, p99) = measure(&engine, &texts, &truths)?;
        println!("| {ef} | {r:.4} | {qps:.0} | {p50:.0} | {p99:.0} |");
    }
    let sample = format!(
        "QUERY v TENANT b SIMILAR TO {} TOP 10 WITH (ef: 64)",
        literal(&queries[..dim])
    );
    let t = Instant::now();
    for _ in 0..200 {
        pql::parse(&sample)?;
    }
    println!(
        "parse of one query statement: {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / 200.0
    );

    println!("\n| filter | share | plan | recall@10 | QPS | p50 µs | p99 µs |\n|---|---|---|---|---|---|---|");
    let filtered_q = nq.min(200);
    let cases: [FilterCase; 4] = [
        ("half = 0", "50%", |i| i % 2 == 0),
        ("tenth = 3", "10%", |i| i % 10 == 3),
        ("m100 = 42", "1%", |i| i % 100 == 42),
        ("m1000 = 7", "0.1%", |i| i % 1000 == 7),
    ];
    for (filter, share, allow) in cases {
        let qs: Vec<&[f32]> = queries.chunks_exact(dim).take(filtered_q).collect();
        let truths: Vec<Vec<u32>> = qs.iter().map(|q| truth(&base, q, dim, &allow)).collect();
        let texts: Vec<String> = qs
            .iter()
            .map(|q| {
                format!(
                    "QUERY v TENANT b WHERE {filter} SIMILAR TO {} TOP 10 RETURN _id",
                    literal(q)
                )
            })
            .collect();
        let plan = engine.execute(&format!("EXPLAIN {}", texts[0]))?;
        let strategy = plan[0]
            .column_values("plan")
            .iter()
            .filter_map(|v| v.as_str())
            .find_map(|l| l.strip_prefix("strategy: "))
            .unwrap_or("?")
            .split(" (")
            .next()
            .unwrap_or("?")
            .to_string();
        let (r, qps, p50, p99) = measure(&engine, &texts, &truths)?;
        println!("| {filter} | {share} | {strategy} | {r:.4} | {qps:.0} | {p50:.0} | {p99:.0} |");
    }

    drop(engine);
    let t = Instant::now();
    let engine = Engine::open_with(config())?;
    engine.execute(&sample)?;
    println!(
        "\nreopen + first query: {:.0} ms; bytes on disk: {:.1} MB; peak RSS {:.0} MB",
        t.elapsed().as_secs_f64() * 1e3,
        dir_bytes(tmp.path()) as f64 / 1e6,
        peak_rss_mb()
    );
    Ok(())
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}
