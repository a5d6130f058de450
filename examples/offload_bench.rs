//! OFFLOAD, onload and the first query after onload (issue 13), beside
//! ARCHIVE / RESTORE through the bucket and on the local disk, for one
//! large tenant and for many small ones; and the stages of a cold query.
//! Synthetic clustered vectors (`glove_files::synthetic`).
//!
//! ```text
//! eval "$(scripts/start-seaweedfs.sh)"
//! cargo run --release --example offload_bench -- --store s3://pql-test/bench
//! cargo run --release --example offload_bench -- --vectors 20000 --tenants 100   # quicker
//! ```
//! Options: `--store URL` (default `$PQL_OBJECT_STORE`, else a `file://`
//! folder in a temporary directory), `--vectors N` (100,000) and `--dim D`
//! (384) for the large tenant, `--tenants T` (1,000) of `--rows R` (200)
//! vectors of `--small-dim` (100) for the small ones, `--index` (`flat`),
//! `--cold-rounds` (5) cold queries with and without the quick path.

use std::time::{Duration, Instant};

use pql::{Config, Engine, ObjectStoreConfig, ObjectTier, Value};

mod glove_files;
use glove_files::{arg, literal, loadavg, synthetic};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Fills `tenant` with `n` vectors of `dim` in batches of 1,000.
fn fill(engine: &Engine, tenant: &str, n: usize, dim: usize, index: &str) -> Res<Vec<f32>> {
    engine.execute(&format!("CREATE TENANT {tenant};"))?;
    engine.execute(&format!(
        "CREATE COLLECTION items TENANT {tenant} WITH (dimension: {dim}, index: '{index}');"
    ))?;
    let (base, queries) = synthetic(n, 1, dim);
    for (b, chunk) in base.chunks(1000 * dim).enumerate() {
        let nodes: Vec<String> = chunk
            .chunks(dim)
            .enumerate()
            .map(|(i, v)| format!("{{ id: \"v{}\", embedding: {} }}", b * 1000 + i, literal(v)))
            .collect();
        engine.execute(&format!(
            "QUERY items TENANT {tenant} CREATE NODES [{}];",
            nodes.join(",")
        ))?;
    }
    Ok(queries)
}

fn query(engine: &Engine, tenant: &str, q: &[f32]) -> Res<Duration> {
    similar(engine, tenant, &literal(q))
}

/// `QUERY items TENANT tenant SIMILAR TO {to} TOP 10 RETURN id`, timed.
fn similar(engine: &Engine, tenant: &str, to: &str) -> Res<Duration> {
    Ok(similar_rows(engine, tenant, to)?.0)
}

/// [`similar`], with the rows.
fn similar_rows(engine: &Engine, tenant: &str, to: &str) -> Res<(Duration, Vec<Vec<Value>>)> {
    let started = Instant::now();
    let mut r = engine.execute(&format!(
        "QUERY items TENANT {tenant} SIMILAR TO {to} TOP 10 RETURN id;"
    ))?;
    let took = started.elapsed();
    let rows = std::mem::take(&mut r[0].rows);
    if rows.len() != 10 {
        return Err(format!("{tenant}: {} rows", rows.len()).into());
    }
    Ok((took, rows))
}

fn timed(engine: &Engine, statement: &str) -> Res<Duration> {
    let started = Instant::now();
    engine.execute(statement)?;
    Ok(started.elapsed())
}

/// Sum and median of `times`.
fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let total: Duration = times.iter().sum();
    format!(
        "total {:.2} s, median {}",
        total.as_secs_f64(),
        ms(times[times.len() / 2])
    )
}

/// `{statement} TENANT t;` for each of `tenants`, each timed.
fn each(engine: &Engine, tenants: &[&str], statement: &str) -> Res<Vec<Duration>> {
    tenants
        .iter()
        .map(|t| timed(engine, &format!("{statement} TENANT {t};")))
        .collect()
}

/// The first query on each of `tenants` (with its query vector).
fn first(engine: &Engine, tenants: &[&str], queries: &[Vec<f32>]) -> Res<Vec<Duration>> {
    tenants
        .iter()
        .zip(queries)
        .map(|(t, q)| query(engine, t, q))
        .collect()
}

/// ARCHIVE, RESTORE and the first query after it, for each of `tenants`,
/// with the archive in `place` (the bucket when the engine has a store).
fn archive_round(engine: &Engine, place: &str, tenants: &[&str], queries: &[Vec<f32>]) -> Res<()> {
    let archive = summary(each(engine, tenants, "ARCHIVE")?);
    println!("  ARCHIVE ({place})  {archive}");
    let restore = summary(each(engine, tenants, "RESTORE")?);
    println!("  RESTORE ({place})  {restore}");
    println!(
        "  first query        {}",
        summary(first(engine, tenants, queries)?)
    );
    Ok(())
}

/// Where a cold query's time goes, stage by stage, for the offloaded tenant
/// `big`: the manifest read, the download with one GET per object and with
/// ranged GETs, and each stage of loading the downloaded collection.
fn cold_stages(store: &ObjectStoreConfig, scratch: &std::path::Path) -> Res<()> {
    let tier = ObjectTier::open(store)?;
    let started = Instant::now();
    let manifest = tier.read_manifest("big")?.ok_or("big has no manifest")?;
    println!("  stages of a cold query:");
    println!("    manifest read      {}", ms(started.elapsed()));
    for o in &manifest.objects {
        println!(
            "      object {:<28} {:>8.1} MB",
            o.file,
            o.size as f64 / 1e6
        );
    }
    // The onload leaves the quick objects in the bucket.
    let mb = manifest
        .objects
        .iter()
        .filter(|o| !o.file.ends_with(".quick"))
        .map(|o| o.size)
        .sum::<u64>() as f64
        / 1e6;
    let mut folder = None;
    for (label, part) in [
        ("one GET per object", 0),
        ("ranged GETs, 32 MiB", 32 << 20),
        ("ranged GETs, 8 MiB", 8 << 20),
    ] {
        let mut config = store.clone();
        config.download_part_bytes = part;
        let tier = ObjectTier::open(&config)?;
        let dir = scratch.join(format!("download-{part}"));
        let started = Instant::now();
        tier.download_tenant("big", &dir)?;
        let took = started.elapsed();
        println!(
            "    download, {label:<20} {} ({:.0} MB/s, with CRC-32 and fsync)",
            ms(took),
            mb / took.as_secs_f64()
        );
        if let Some(old) = folder.replace(dir) {
            std::fs::remove_dir_all(old)?;
        }
    }
    let dir = folder.ok_or("no download")?;
    let t = pql::bench_support::collection_load_stages(&dir, "items")?;
    println!("    redb open + meta   {}", ms(t.open));
    println!("    nodes + vectors    {}", ms(t.records));
    println!("    attributes + graph {}", ms(t.indexes));
    println!("    node table + rest  {}", ms(t.finish));
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// The stages of the quick path on the offloaded tenant `big`, `rounds`
/// times (no onload is started), each stage's median.
fn quick_stages(engine: &Engine, q: &[f32], rounds: usize) -> Res<()> {
    let statement = format!(
        "QUERY items TENANT big SIMILAR TO {} TOP 10 RETURN id;",
        literal(q)
    );
    let mut runs = Vec::new();
    for _ in 0..rounds {
        let (times, rows) = pql::bench_support::cold_query_stages(engine, &statement)?;
        if rows != 10 {
            return Err(format!("quick path: {rows} rows").into());
        }
        runs.push(times);
    }
    let median = |f: fn(&pql::bench_support::ColdTimes) -> Duration| {
        let mut t: Vec<Duration> = runs.iter().map(f).collect();
        t.sort();
        ms(t[t.len() / 2])
    };
    println!("  stages of the quick path (median of {rounds}):");
    println!("    manifest read      {}", median(|t| t.manifest));
    println!("    header + codes     {}", median(|t| t.codes));
    println!("    scan of the codes  {}", median(|t| t.scan));
    println!("    candidate rows     {}", median(|t| t.rows));
    println!("    re-rank + result   {}", median(|t| t.rerank));
    Ok(())
}

/// `rounds` cold queries on the offloaded tenant `big` with the quick path
/// (a literal vector: answered from the quick object, the onload behind
/// it), and as many without it (`SIMILAR TO NODE`, which the quick path
/// leaves to the ordinary lazy onload + load + search); OFFLOAD again
/// before each. Leaves `big` loaded.
fn cold_queries(engine: &Engine, q: &[f32], rounds: usize) -> Res<()> {
    quick_stages(engine, q, rounds)?;
    let (mut quick, mut full, mut offload) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (took, cold) = similar_rows(engine, "big", &literal(q))?;
        quick.push(took);
        // Waits for the onload behind the answer.
        timed(engine, "QUERY items TENANT big RETURN COUNT(*);")?;
        // The exact top 10 (for a graph collection the loaded search may
        // differ: it is approximate).
        let exact = engine.execute(&format!(
            "QUERY items TENANT big SIMILAR TO {} TOP 10 WITH (exact: true) RETURN id;",
            literal(q)
        ))?;
        if exact[0].rows != cold {
            return Err("the quick path's answer differs from the exact top 10".into());
        }
        offload.push(timed(engine, "OFFLOAD TENANT big;")?);
        full.push(similar(engine, "big", &format!("NODE \"v{round}\""))?);
        if round + 1 < rounds {
            offload.push(timed(engine, "OFFLOAD TENANT big;")?);
        }
    }
    let all = |t: &[Duration]| {
        let v: Vec<String> = t
            .iter()
            .map(|d| format!("{:.0}", d.as_secs_f64() * 1e3))
            .collect();
        v.join(", ")
    };
    println!(
        "  cold query, quick path          {} (ms: {})",
        summary(quick.clone()),
        all(&quick)
    );
    println!(
        "  cold query, onload + load + search {} (ms: {})",
        summary(full.clone()),
        all(&full)
    );
    println!("  OFFLOAD (with quick object)     {}", summary(offload));
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let num = |name: &str, default: usize| -> Res<usize> {
        Ok(arg(&args, name).map_or(Ok(default), |v| v.parse())?)
    };
    let (n, dim) = (num("--vectors", 100_000)?, num("--dim", 384)?);
    let (tenants, rows, small_dim) = (
        num("--tenants", 1_000)?,
        num("--rows", 200)?,
        num("--small-dim", 100)?,
    );
    let index = arg(&args, "--index").unwrap_or_else(|| "flat".into());
    let scratch = tempfile::tempdir()?;
    let store = arg(&args, "--store")
        .or_else(|| std::env::var("PQL_OBJECT_STORE").ok())
        .unwrap_or_else(|| {
            let folder = scratch.path().join("bucket");
            let _ = std::fs::create_dir_all(&folder);
            format!("file://{}", folder.display())
        });
    let data = scratch.path().join("data");
    let config = Config::new(&data).with_object_store(&store)?;
    let store_config = config.object_store.clone().ok_or("no object store")?;
    let engine = Engine::open_with(config)?;
    println!("store {store}; load {}", loadavg());

    // One large tenant.
    let started = Instant::now();
    let q = fill(&engine, "big", n, dim, &index)?;
    println!(
        "big: {n} x {dim} ({index}) loaded in {:.1} s, {:.1} MB on disk",
        started.elapsed().as_secs_f64(),
        pql::bench_support::dir_size(&data.join("tenants/big")) as f64 / 1e6
    );
    query(&engine, "big", &q)?;
    println!(
        "  OFFLOAD            {}",
        ms(timed(&engine, "OFFLOAD TENANT big;")?)
    );
    println!(
        "  ONLOAD             {}",
        ms(timed(&engine, "ONLOAD TENANT big;")?)
    );
    println!("  first query        {}", ms(query(&engine, "big", &q)?));
    timed(&engine, "OFFLOAD TENANT big;")?;
    cold_stages(&store_config, scratch.path())?;
    cold_queries(&engine, &q, num("--cold-rounds", 5)?)?;
    println!("  warm query         {}", ms(query(&engine, "big", &q)?));
    archive_round(&engine, "bucket", &["big"], std::slice::from_ref(&q))?;
    // The same data folder without the object store: a local archive.
    drop(engine);
    let engine = Engine::open(&data)?;
    archive_round(&engine, "local", &["big"], &[q])?;
    engine.execute("DROP TENANT big;")?;
    drop(engine);
    let engine = Engine::open_with(Config::new(&data).with_object_store(&store)?)?;

    // Many small tenants.
    let started = Instant::now();
    let mut queries = Vec::new();
    for t in 0..tenants {
        queries.push(fill(&engine, &format!("s{t}"), rows, small_dim, &index)?);
    }
    println!(
        "small: {tenants} x {rows} x {small_dim} loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let names: Vec<String> = (0..tenants).map(|t| format!("s{t}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    println!(
        "  OFFLOAD each       {}",
        summary(each(&engine, &names, "OFFLOAD")?)
    );
    println!(
        "  cold query each    {}",
        summary(first(&engine, &names, &queries)?)
    );
    archive_round(&engine, "bucket", &names, &queries)?;
    drop(engine);
    let engine = Engine::open(&data)?;
    archive_round(&engine, "local", &names, &queries)?;
    println!("load {}", loadavg());
    Ok(())
}
