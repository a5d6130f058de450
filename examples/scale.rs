//! The scale run of issue 3: N tenants of M vectors, created and queried
//! round-robin under a memory budget that holds only some of them.
//!
//! ```text
//! cargo run --release --example scale -- --tenants 10000 --vectors 100 --budget-tenants 1000
//! ```
//!
//! Options: `--dim D` (default 50), `--dir PATH` (default a temporary
//! folder under `target/`), `--create-only` (stop after creating them). Reports create latency, catalog memory per idle
//! tenant (RSS growth while creating them empty), load time, throughput,
//! p50/p99 of cold (first, the tenant had been evicted) and warm queries,
//! evictions, and peak RSS (VmHWM).

use std::time::{Duration, Instant};

use pql::{Config, Engine};

#[path = "../benches/common/mod.rs"]
mod common;

/// A `/proc/self/status` field in bytes (Linux; 0 elsewhere).
fn proc_status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// `p` (0..=1) percentile of `v`, in milliseconds.
fn pct(v: &mut [Duration], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i].as_secs_f64() * 1000.0
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let tenants = arg(&args, "--tenants", 10_000);
    let vectors = arg(&args, "--vectors", 100);
    let budget_tenants = arg(&args, "--budget-tenants", tenants / 10);
    let dim = arg(&args, "--dim", 50);
    let base = args
        .iter()
        .position(|a| a == "--dir")
        .and_then(|i| args.get(i + 1))
        .map_or_else(
            || concat!(env!("CARGO_MANIFEST_DIR"), "/target").to_string(),
            |d| d.clone(),
        );
    let probe_dir = tempfile::tempdir_in(&base)?;
    let dir = tempfile::tempdir_in(&base)?;

    // The memory of one loaded tenant, to size the budget.
    let probe = Engine::open(probe_dir.path())?;
    probe.execute("CREATE TENANT p")?;
    common::load(&probe, "p", "c", vectors, dim, 1);
    let per_tenant = probe.pool_stats().memory_bytes;
    drop(probe);
    let mut config = Config::new(dir.path());
    config.memory_budget_bytes = Some(per_tenant * budget_tenants);
    let engine = Engine::open_with(config)?;
    println!(
        "{tenants} tenants x {vectors} vectors x {dim} dims; one tenant ~{per_tenant} B; \
         budget {} B (~{budget_tenants} tenants); data in {}",
        per_tenant * budget_tenants,
        dir.path().display()
    );

    let rss_before = proc_status_bytes("VmRSS:");
    let mut creates = Vec::with_capacity(tenants);
    for t in 0..tenants {
        let started = Instant::now();
        engine.execute(&format!("CREATE TENANT t{t}"))?;
        creates.push(started.elapsed());
    }
    let rss_idle = proc_status_bytes("VmRSS:");
    let per_idle = rss_idle.saturating_sub(rss_before) as f64 / tenants as f64;
    println!(
        "create: p50 {:.3} ms, p99 {:.3} ms; RSS +{} KB for {tenants} idle tenants = {per_idle:.0} B each",
        pct(&mut creates, 0.5),
        pct(&mut creates, 0.99),
        rss_idle.saturating_sub(rss_before) / 1024
    );

    if args.iter().any(|a| a == "--create-only") {
        return Ok(());
    }
    let started = Instant::now();
    for t in 0..tenants {
        common::load(&engine, &format!("t{t}"), "c", vectors, dim, t as u64);
    }
    let load_time = started.elapsed();
    println!(
        "load: {:.1} s ({:.0} tenants/s); evictions so far {}",
        load_time.as_secs_f64(),
        tenants as f64 / load_time.as_secs_f64(),
        engine.pool_stats().evictions
    );

    let mut state = 42u64;
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let before = engine.pool_stats();
    let started = Instant::now();
    for t in 0..tenants {
        let q = format!(
            "QUERY c TENANT t{t} SIMILAR TO {} TOP 10",
            common::vector(&mut state, dim)
        );
        for _ in 0..2 {
            let misses = engine.pool_stats().misses;
            let t0 = Instant::now();
            let r = engine.execute(&q)?;
            let took = t0.elapsed();
            if r[0].rows.len() != 10.min(vectors) {
                return Err(format!("t{t}: {} rows", r[0].rows.len()).into());
            }
            if engine.pool_stats().misses > misses {
                cold.push(took);
            } else {
                warm.push(took);
            }
        }
    }
    let elapsed = started.elapsed();
    let after = engine.pool_stats();
    println!(
        "query: {} queries in {:.1} s = {:.0} q/s; cold {} p50 {:.3} ms p99 {:.3} ms; \
         warm {} p50 {:.3} ms p99 {:.3} ms",
        2 * tenants,
        elapsed.as_secs_f64(),
        2.0 * tenants as f64 / elapsed.as_secs_f64(),
        cold.len(),
        pct(&mut cold, 0.5),
        pct(&mut cold, 0.99),
        warm.len(),
        pct(&mut warm, 0.5),
        pct(&mut warm, 0.99),
    );
    println!(
        "pool: evictions {} (during queries {}), loaded {}, memory {} B, avg load {:.3} ms; \
         peak RSS (VmHWM) {} MB",
        after.evictions,
        after.evictions - before.evictions,
        after.loaded_tenants,
        after.memory_bytes,
        after.avg_load_ms(),
        proc_status_bytes("VmHWM:") / (1024 * 1024)
    );
    Ok(())
}
