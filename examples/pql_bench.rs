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
//! cargo run --release --example pql_bench -- --threads 1    # ingest on one thread
//! cargo run --release --example pql_bench -- --rows 100000 --efs 64,80,96,128   # first 100k rows, chosen ef values
//! ```
//! Each unfiltered query runs twice in turn, as PQL text and straight on the
//! collection's graph index (`pql::bench_support::RawIndex`), so the PQL
//! overhead is measured under the same load.
//! GloVe mode reads `data/glove50.{base,queries}.f32` and `data/glove50.gt.u32`
//! (normalised rows, 1,000 held-out queries, exact top-10), which `ann_bench`
//! writes on its first run.

use std::fs;
use std::time::Instant;

use pql::bench_support::RawIndex;
use pql::{Config, Engine};

mod glove_files;
use glove_files::{
    arg, exact_top_k, hits, literal, loadavg, peak_rss_mb, read_f32, rows_of, synthetic, Stats,
};

const K: usize = 10;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A filter: its PQL text, the share of rows it admits, and which rows.
type FilterCase = (&'static str, &'static str, fn(usize) -> bool);

/// A filter's statements (as written, and with `exact: true`) and the
/// exact answers.
type FilterRun = (Vec<String>, Vec<String>, Vec<Vec<u32>>);

/// The strategy `EXPLAIN` reports for `text` (e.g. `graph`, `exact scan`).
fn strategy(engine: &Engine, text: &str) -> Res<String> {
    let plan = engine.execute(&format!("EXPLAIN {text}"))?;
    Ok(plan
        .first()
        .map(|p| p.column_values("plan"))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str())
        .find_map(|l| l.strip_prefix("strategy: "))
        .unwrap_or("?")
        .split(" (")
        .next()
        .unwrap_or("?")
        .to_string())
}

/// Runs `texts` through PQL.
fn measure(engine: &Engine, texts: &[String], truths: &[Vec<u32>]) -> Res<Stats> {
    let mut lat = Vec::with_capacity(texts.len());
    let (mut hit, mut total) = (0, 0);
    for (text, want) in texts.iter().zip(truths) {
        let t = Instant::now();
        let r = engine.execute(text)?;
        lat.push(t.elapsed());
        total += want.len();
        hit += hits(want, &rows_of(&r, 'n'));
    }
    Ok(Stats::new(lat, hit, total))
}

/// The same queries through PQL text and straight on the graph index,
/// alternating so machine load hits both alike. The raw search at step `i`
/// takes the query half a run away, not query `i`: right after the PQL run
/// of a query its graph nodes are in cache, which would flatter the raw
/// search.
fn measure_pair(
    engine: &Engine,
    raw: &RawIndex,
    texts: &[String],
    vectors: &[&[f32]],
    truths: &[Vec<u32>],
    ef: usize,
) -> Res<(Stats, Stats)> {
    let (mut lat_pql, mut lat_raw) = (Vec::new(), Vec::new());
    let (mut hit_pql, mut hit_raw, mut total) = (0, 0, 0);
    let n = texts.len();
    for (i, (text, want)) in texts.iter().zip(truths).enumerate() {
        let t = Instant::now();
        let r = engine.execute(text)?;
        lat_pql.push(t.elapsed());
        let j = (i + n / 2) % n;
        let t = Instant::now();
        let got = raw.search(vectors[j], K, ef);
        lat_raw.push(t.elapsed());
        total += want.len();
        hit_pql += hits(want, &rows_of(&r, 'n'));
        hit_raw += hits(&truths[j], &got);
    }
    Ok((
        Stats::new(lat_pql, hit_pql, total),
        Stats::new(lat_raw, hit_raw, total),
    ))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let nq: usize = arg(&args, "--queries").map_or(Ok(1000), |s| s.parse())?;
    if let Some(threads) = arg(&args, "--threads") {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads.parse()?)
            .build_global()?;
    }
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
    // `--rows N` keeps the first N base rows; the exact answers are then
    // computed for that subset, not read from the 399k ground truth.
    let (base, gt) = match arg(&args, "--rows") {
        Some(rows) => {
            let rows: usize = rows.parse()?;
            let keep = (rows * dim).min(base.len());
            (base[..keep].to_vec(), None)
        }
        None => (base, gt),
    };
    let efs: Vec<usize> = match arg(&args, "--efs") {
        Some(list) => list.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![16, 32, 64, 128, 256, 512],
    };
    let n = base.len() / dim;
    let nq = nq.min(queries.len() / dim);
    let queries = &queries[..nq * dim];
    let tmp = tempfile::tempdir()?;
    let config = || Config::new(tmp.path());
    println!(
        "pql_bench: {n} x {dim}, {nq} queries, {} threads, load {}",
        rayon::current_num_threads(),
        loadavg()
    );

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
                    "{{id:\"n{i}\",half:{},fifth:{},tenth:{},m20:{},m50:{},m100:{},m1000:{},embedding:{}}}",
                    i % 2,
                    i % 5,
                    i % 10,
                    i % 20,
                    i % 50,
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
            .map(|q| exact_top_k(&base, q, dim, K, |_| true))
            .collect(),
    };
    println!(
        "| ef | recall@10 | QPS | p50 µs | p99 µs | raw index recall | raw QPS | raw p50 µs | PQL p50 overhead |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let raw = RawIndex::open(&engine, "b", "v")?;
    let vectors: Vec<&[f32]> = queries.chunks_exact(dim).collect();
    for &ef in &efs {
        let texts: Vec<String> = vectors
            .iter()
            .map(|q| {
                format!(
                    "QUERY v TENANT b SIMILAR TO {} TOP 10 WITH (ef: {ef}) RETURN _id",
                    literal(q)
                )
            })
            .collect();
        let (p, r) = measure_pair(&engine, &raw, &texts, &vectors, &truths, ef)?;
        println!(
            "| {ef} | {:.4} | {:.0} | {:.0} | {:.0} | {:.4} | {:.0} | {:.0} | {:+.0}% ({:+.1} µs) |",
            p.recall,
            p.qps,
            p.p50,
            p.p99,
            r.recall,
            r.qps,
            r.p50,
            (p.p50 / r.p50.max(1e-9) - 1.0) * 100.0,
            p.p50 - r.p50
        );
    }
    drop(raw);
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

    let filtered_q = nq.min(200);
    let cases: [FilterCase; 7] = [
        ("half = 0", "50%", |i| i % 2 == 0),
        ("fifth = 1", "20%", |i| i % 5 == 1),
        ("tenth = 3", "10%", |i| i % 10 == 3),
        ("m20 = 5", "5%", |i| i % 20 == 5),
        ("m50 = 9", "2%", |i| i % 50 == 9),
        ("m100 = 42", "1%", |i| i % 100 == 42),
        ("m1000 = 7", "0.1%", |i| i % 1000 == 7),
    ];
    let qs: Vec<&[f32]> = queries.chunks_exact(dim).take(filtered_q).collect();
    let runs: Vec<FilterRun> = cases
        .iter()
        .map(|(filter, _, allow)| {
            let text = |q: &&[f32], with: &str| {
                format!(
                    "QUERY v TENANT b WHERE {filter} SIMILAR TO {} TOP 10{with} RETURN _id",
                    literal(q)
                )
            };
            (
                qs.iter().map(|q| text(q, "")).collect(),
                qs.iter().map(|q| text(q, " WITH (exact: true)")).collect(),
                qs.iter()
                    .map(|q| exact_top_k(&base, q, dim, K, allow))
                    .collect(),
            )
        })
        .collect();
    let mut planned = Vec::new();
    for (texts, exact_texts, truths) in &runs {
        let plan = strategy(&engine, &texts[0])?;
        // Warm: a first code scan builds the codes (timed below).
        engine.execute(&texts[0])?;
        let chosen = measure(&engine, texts, truths)?;
        let exact = measure(&engine, exact_texts, truths)?;
        planned.push((plan, chosen, exact));
    }

    drop(engine);
    let t = Instant::now();
    let engine = Engine::open_with(config())?;
    engine.execute(&sample)?;
    println!(
        "\nreopen + first query: {:.0} ms; bytes on disk: {:.1} MB; peak RSS {:.0} MB",
        t.elapsed().as_secs_f64() * 1e3,
        pql::bench_support::dir_size(tmp.path()) as f64 / 1e6,
        peak_rss_mb()
    );
    drop(engine);

    // The same filtered queries with the planner told to scan the codes
    // wherever they beat the exact scan (from 251 matches), then told never
    // to scan, so the cost of each path is known at every share. The first
    // code scan of the reopened engine builds the codes: timed apart.
    let mut codes_only = config();
    codes_only.exact_filter_threshold = usize::MAX;
    codes_only.quantized_scan_min = 1;
    let engine = Engine::open_with(codes_only)?;
    engine.execute(&sample)?;
    let t = Instant::now();
    engine.execute(&runs[0].0[0])?;
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let coded: Vec<Stats> = runs
        .iter()
        .map(|(texts, _, truths)| measure(&engine, texts, truths))
        .collect::<Res<_>>()?;
    drop(engine);
    let mut graph_only = config();
    graph_only.exact_filter_threshold = 0;
    graph_only.exact_filter_fraction = 0.0;
    graph_only.filter_walk_cost = 0.0;
    let engine = Engine::open_with(graph_only)?;
    println!(
        "\n| filter | share | planner's plan | recall@10 | QPS | p50 µs | p99 µs \
         | exact scan p50 µs | code scan p50 µs (recall) | graph p50 µs (recall) |\n\
         |---|---|---|---|---|---|---|---|---|---|"
    );
    for ((filter, share, _), ((texts, _, truths), ((plan, chosen, exact), code))) in cases
        .iter()
        .zip(runs.iter().zip(planned.iter().zip(&coded)))
    {
        let graph = measure(&engine, texts, truths)?;
        println!(
            "| `{filter}` | {share} | {plan} | {:.4} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} ({:.4}) | {:.0} ({:.4}) |",
            chosen.recall,
            chosen.qps,
            chosen.p50,
            chosen.p99,
            exact.p50,
            code.p50,
            code.recall,
            graph.p50,
            graph.recall
        );
    }
    println!("first code scan of a loaded collection (builds the codes): {build_ms:.0} ms");
    Ok(())
}
