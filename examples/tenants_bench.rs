//! Many tenants on real vectors (issue 5, point 4): N tenants of R GloVe rows
//! each (rows in order, tenant `t` gets rows `t*R..(t+1)*R`, wrapping round
//! the 399k rows when N*R is larger), then Q queries to random tenants (fixed
//! seed), with and without an attribute filter. Everything goes through
//! `Engine::execute` with PQL text. Recall is measured against an exact
//! search of the tenant's own rows.
//!
//! ```text
//! cargo run --release --example tenants_bench                      # 1,000 x 200
//! cargo run --release --example tenants_bench -- --tenants 10000   # larger variant
//! cargo run --release --example tenants_bench -- --tenants 10000 --budget-tenants 1000
//! cargo run --release --example tenants_bench -- --synthetic --tenants 40 --queries 100
//! ```
//! Options: `--rows R` (200), `--queries Q` (1,000), `--budget-tenants B`
//! (a pool memory budget that holds about B tenants; default unlimited),
//! `--synthetic` (seeded clustered vectors instead of GloVe, for CI;
//! `--dim D` sets their dimension, 32 by default),
//! `--script FILE` (write the same load and queries, unfiltered then
//! filtered, as one PQL script for `pql run` instead of running them;
//! 1,000 x 200 GloVe rows give a 94 MB script).

use std::time::Instant;

use pql::{Config, Engine};

mod glove_files;
use glove_files::{
    arg, exact_top_k, hits, literal, loadavg, next_u64, peak_rss_mb, percentile_us, read_f32,
    rows_of, synthetic, Stats,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const K: usize = 10;

/// The tenants' data: `rows` rows per tenant, taken in order from `base`.
struct Data {
    base: Vec<f32>,
    dim: usize,
    rows: usize,
}

impl Data {
    /// Row `j` (0-based, within the tenant) of tenant `t`.
    fn row(&self, t: usize, j: usize) -> &[f32] {
        let n = self.base.len() / self.dim;
        let i = (t * self.rows + j) % n;
        &self.base[i * self.dim..][..self.dim]
    }

    /// Tenant `t`'s rows, contiguous.
    fn tenant(&self, t: usize) -> Vec<f32> {
        (0..self.rows)
            .flat_map(|j| self.row(t, j))
            .copied()
            .collect()
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> Res<usize> {
        Ok(arg(&args, name).map_or(Ok(default), |s| s.parse())?)
    };
    let tenants = num("--tenants", 1000)?;
    let rows = num("--rows", 200)?;
    let nq = num("--queries", 1000)?;
    let budget = arg(&args, "--budget-tenants")
        .map(|s| s.parse::<usize>())
        .transpose()?;
    let (base, queries, dim) = if args.iter().any(|a| a == "--synthetic") {
        let dim = num("--dim", 32)?;
        let (b, q) = synthetic(tenants * rows, nq.min(1000), dim);
        (b, q, dim)
    } else {
        let (b, dim) = read_f32("data/glove50.base.f32")
            .map_err(|e| format!("{e} (run scripts/fetch-glove.sh, then ann_bench once)"))?;
        let (q, _) = read_f32("data/glove50.queries.f32")?;
        (b, q, dim)
    };
    let data = Data { base, dim, rows };
    let query_rows: Vec<&[f32]> = queries.chunks_exact(dim).collect();
    if let Some(path) = arg(&args, "--script") {
        return write_script(&path, &data, tenants, nq, &query_rows);
    }

    let tmp = tempfile::tempdir()?;
    let mut config = Config::new(tmp.path());
    if let Some(b) = budget {
        // One tenant's estimated memory, measured on a probe engine.
        let probe_dir = tempfile::tempdir()?;
        let probe = Engine::open(probe_dir.path())?;
        probe.execute(&create_statement(&data, 0))?;
        config.memory_budget_bytes = Some(probe.pool_stats().memory_bytes * b);
    }
    let engine = Engine::open_with(config)?;
    println!(
        "tenants_bench: {tenants} tenants x {rows} rows x {dim} dims, {nq} queries, \
         budget {}, load {}",
        budget.map_or("unlimited".to_string(), |b| format!("~{b} tenants")),
        loadavg()
    );

    let mut creates = Vec::with_capacity(tenants);
    let started = Instant::now();
    for t in 0..tenants {
        let text = create_statement(&data, t);
        let t0 = Instant::now();
        engine.execute(&text)?;
        creates.push(t0.elapsed());
    }
    let total = started.elapsed().as_secs_f64();
    creates.sort();
    println!(
        "create + ingest: {total:.1} s ({:.0} tenants/s, {:.0} vectors/s); per tenant p50 {:.2} ms, \
         p99 {:.2} ms",
        tenants as f64 / total,
        (tenants * rows) as f64 / total,
        percentile_us(&creates, 0.5) / 1e3,
        percentile_us(&creates, 0.99) / 1e3
    );

    println!("\n| queries | n | recall@10 | QPS | p50 µs | p99 µs |\n|---|---|---|---|---|---|");
    for (label, filter) in [
        ("unfiltered", None),
        ("filter `tenth = 3` (10%)", Some(3usize)),
    ] {
        let mut state = 7u64;
        let (mut lat, mut hit, mut total) = (Vec::with_capacity(nq), 0, 0);
        for i in 0..nq {
            let t = (next_u64(&mut state) % tenants as u64) as usize;
            let q = query_rows[i % query_rows.len()];
            let text = query_statement(t, filter, q);
            let t0 = Instant::now();
            let r = engine.execute(&text)?;
            lat.push(t0.elapsed());
            let want = exact_top_k(&data.tenant(t), q, dim, K, |j| {
                filter.is_none_or(|f| j % 10 == f)
            });
            total += want.len();
            hit += hits(&want, &rows_of(&r, 'r'));
        }
        let n = lat.len();
        let st = Stats::new(lat, hit, total);
        println!(
            "| {label} | {n} | {:.4} | {:.0} | {:.0} | {:.0} |",
            st.recall, st.qps, st.p50, st.p99
        );
    }
    let pool = engine.pool_stats();
    println!(
        "\npool: {} tenants loaded, estimated {:.1} MB, {} evictions; bytes on disk {:.1} MB; \
         peak RSS {:.0} MB",
        pool.loaded_tenants,
        pool.memory_bytes as f64 / 1e6,
        pool.evictions,
        pql::bench_support::dir_size(tmp.path()) as f64 / 1e6,
        peak_rss_mb()
    );
    Ok(())
}

/// The query of tenant `t` for vector `q`, with the `tenth = f` filter if
/// given.
fn query_statement(t: usize, filter: Option<usize>, q: &[f32]) -> String {
    match filter {
        None => format!(
            "QUERY v TENANT t{t} SIMILAR TO {} TOP 10 RETURN _id;",
            literal(q)
        ),
        Some(f) => format!(
            "QUERY v TENANT t{t} WHERE tenth = {f} SIMILAR TO {} TOP 10 RETURN _id;",
            literal(q)
        ),
    }
}

/// Writes the load and `nq` queries unfiltered then `nq` filtered, the
/// same statements the run makes, as one script at `path`.
fn write_script(
    path: &str,
    data: &Data,
    tenants: usize,
    nq: usize,
    query_rows: &[&[f32]],
) -> Res<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for t in 0..tenants {
        writeln!(out, "{}", create_statement(data, t))?;
    }
    for filter in [None, Some(3usize)] {
        let mut state = 7u64;
        for i in 0..nq {
            let t = (next_u64(&mut state) % tenants as u64) as usize;
            writeln!(
                out,
                "{}",
                query_statement(t, filter, query_rows[i % query_rows.len()])
            )?;
        }
    }
    out.flush()?;
    println!(
        "wrote {path}: {tenants} tenants x {} rows, {} queries, {:.1} MB",
        data.rows,
        2 * nq,
        std::fs::metadata(path)?.len() as f64 / 1e6
    );
    Ok(())
}

/// Creates tenant `t`, its collection, and its rows (ids `r<j>`, attribute
/// `tenth = j % 10`) in one script.
fn create_statement(data: &Data, t: usize) -> String {
    let nodes: Vec<String> = (0..data.rows)
        .map(|j| {
            format!(
                "{{id:\"r{j}\",tenth:{},embedding:{}}}",
                j % 10,
                literal(data.row(t, j))
            )
        })
        .collect();
    format!(
        "CREATE TENANT t{t}; CREATE COLLECTION v TENANT t{t} WITH (dimension: {}, metric: 'cosine'); \
         QUERY v TENANT t{t} CREATE NODES [{}];",
        data.dim,
        nodes.join(",")
    )
}
