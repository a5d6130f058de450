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
//! vectors of `--small-dim` (100) for the small ones, `--index` (`flat`).

use std::time::{Duration, Instant};

use pql::{Config, Engine, ObjectStoreConfig, ObjectTier};

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
    let started = Instant::now();
    let r = engine.execute(&format!(
        "QUERY items TENANT {tenant} SIMILAR TO {} TOP 10 RETURN id;",
        literal(q)
    ))?;
    if r[0].rows.len() != 10 {
        return Err(format!("{tenant}: {} rows", r[0].rows.len()).into());
    }
    Ok(started.elapsed())
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
    let mb = manifest.total_bytes() as f64 / 1e6;
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
    println!(
        "  cold query (lazy onload + load + search) {}",
        ms(query(&engine, "big", &q)?)
    );
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
