//! What the GloVe benchmarks (`ann_bench`, `pql_bench`, `tenants_bench`)
//! share: raw `u32 rows, u32 dim, f32...` vector files, exact ground truth,
//! recall and latency statistics, seeded numbers, peak RSS, command-line
//! options, and the load average to print next to every measurement.
#![allow(dead_code)]

use std::fs;
use std::time::Duration;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `/proc/loadavg` as one line (empty elsewhere).
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Reads a `u32 rows, u32 dim, f32...` file: the values and the dimension.
pub fn read_f32(path: &str) -> Res<(Vec<f32>, usize)> {
    let b = fs::read(path)?;
    if b.len() < 8 {
        return Err(format!("{path}: too short").into());
    }
    let rows = u32::from_le_bytes(b[0..4].try_into()?) as usize;
    let dim = u32::from_le_bytes(b[4..8].try_into()?) as usize;
    if b.len() != 8 + rows * dim * 4 {
        return Err(format!("{path}: size does not match {rows} x {dim}").into());
    }
    let v = b[8..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((v, dim))
}

/// Writes `v` (rows of `dim` values) in the format `read_f32` reads.
pub fn write_f32(path: &str, v: &[f32], dim: usize) -> Res<()> {
    let mut b = Vec::with_capacity(8 + v.len() * 4);
    b.extend_from_slice(&((v.len() / dim) as u32).to_le_bytes());
    b.extend_from_slice(&(dim as u32).to_le_bytes());
    v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
    fs::write(path, b)?;
    Ok(())
}

/// The value after `name` on the command line, if any.
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Peak resident memory of this process (VmHWM), in MB (0 off Linux).
pub fn peak_rss_mb() -> f64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The `p` (0..=1) percentile of sorted latencies, in µs.
pub fn percentile_us(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// `v` as a PQL vector literal, each number printed exactly (shortest
/// round-trip form).
pub fn literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    format!("[{}]", parts.join(","))
}

/// Exact top-`k` row numbers by inner product (the SIMD kernel the engine
/// uses) among the rows `allow` admits, best first (ties by row number).
pub fn exact_top_k(
    base: &[f32],
    query: &[f32],
    dim: usize,
    k: usize,
    allow: impl Fn(usize) -> bool,
) -> Vec<u32> {
    let dot = pql::bench_support::dot_kernel();
    let by_distance = |a: &(f32, u32), b: &(f32, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    let mut best: Vec<(f32, u32)> = base
        .chunks_exact(dim)
        .enumerate()
        .filter(|(i, _)| allow(*i))
        .map(|(i, v)| (-dot(query, v), i as u32))
        .collect();
    if best.len() > k {
        best.select_nth_unstable_by(k, by_distance);
        best.truncate(k);
    }
    best.sort_by(by_distance);
    best.into_iter().map(|(_, i)| i).collect()
}

/// Recall and latency of a run of queries.
pub struct Stats {
    /// Share of the wanted ids found.
    pub recall: f64,
    /// Queries over the summed latencies (one query at a time, one thread).
    pub qps: f64,
    /// Median latency, µs.
    pub p50: f64,
    /// 99th percentile latency, µs.
    pub p99: f64,
}

impl Stats {
    /// From per-query latencies and the hits among `total` wanted ids.
    pub fn new(mut lat: Vec<Duration>, hit: usize, total: usize) -> Stats {
        let secs: f64 = lat.iter().map(Duration::as_secs_f64).sum();
        lat.sort();
        Stats {
            recall: hit as f64 / total.max(1) as f64,
            qps: lat.len() as f64 / secs.max(1e-9),
            p50: percentile_us(&lat, 0.5),
            p99: percentile_us(&lat, 0.99),
        }
    }
}

/// How many of `want` are in `got`.
pub fn hits(want: &[u32], got: &[u32]) -> usize {
    want.iter().filter(|w| got.contains(w)).count()
}

/// Row numbers of the `_id`s (`<prefix><row>`) a query returned.
pub fn rows_of(result: &[pql::QueryResult], prefix: char) -> Vec<u32> {
    result
        .first()
        .map(|r| r.column_values("_id"))
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str()?.strip_prefix(prefix)?.parse().ok())
        .collect()
}

/// splitmix64's output for the state after `z`: one step, then the mix.
pub fn splitmix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The next number of the splitmix64 sequence at `state`.
pub fn next_u64(state: &mut u64) -> u64 {
    let out = splitmix(*state);
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    out
}

/// Seeded clustered unit vectors: `n` base rows and `q` queries.
pub fn synthetic(n: usize, q: usize, dim: usize) -> (Vec<f32>, Vec<f32>) {
    let mut s = 42u64;
    let mut next = move || (next_u64(&mut s) >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
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
