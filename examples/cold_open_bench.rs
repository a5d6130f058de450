//! What a cold read of a tenant pays to open and close its collection file
//! (issue 15): redb's writable open syncs the file when it opens it and
//! again when it closes it, the read-only open (what `CollectionStore::open`
//! does now, until a statement writes) does not. Both are timed side by
//! side, alternating, on the same files of 200 × 50-d vectors written
//! through PQL, each open reading the meta record as the load does.
//!
//! ```text
//! cargo run --release --example cold_open_bench -- --files 200 --rounds 5
//! ```

use std::path::PathBuf;
use std::time::Instant;

use pql::{Config, Engine};
use redb::{ReadableDatabase, TableDefinition};

mod glove_files;
use glove_files::{arg, literal, loadavg, percentile_us, synthetic};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

fn read_meta(tx: redb::ReadTransaction) -> Res<usize> {
    let t = tx.open_table(META)?;
    Ok(t.get("collection")?.map_or(0, |v| v.value().len()))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let files: usize = arg(&args, "--files").map_or(Ok(200), |s| s.parse())?;
    let rounds: usize = arg(&args, "--rounds").map_or(Ok(5), |s| s.parse())?;
    let tmp = tempfile::tempdir()?;
    let engine = Engine::open_with(Config::new(tmp.path()))?;
    let (base, _) = synthetic(200, 0, 50);
    let nodes: Vec<String> = base
        .chunks_exact(50)
        .enumerate()
        .map(|(i, v)| format!("{{id: \"v{i}\", embedding: {}}}", literal(v)))
        .collect();
    let insert = nodes.join(", ");
    for t in 0..files {
        engine.execute(&format!(
            "CREATE TENANT t{t}; QUERY v TENANT t{t} CREATE NODES [{insert}];"
        ))?;
    }
    drop(engine);
    let paths: Vec<PathBuf> = walk(tmp.path())?;
    println!(
        "cold_open_bench: {} collection files, {rounds} rounds; load average {}",
        paths.len(),
        loadavg()
    );
    let (mut writable, mut read_only) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for p in &paths {
            let t = Instant::now();
            let db = redb::Database::open(p)?;
            read_meta(db.begin_read()?)?;
            drop(db);
            writable.push(t.elapsed());
            let t = Instant::now();
            let db = redb::Database::builder().open_read_only(p)?;
            read_meta(db.begin_read()?)?;
            drop(db);
            read_only.push(t.elapsed());
        }
    }
    println!("\n| open + read meta + close | n | p50 µs | p99 µs |\n|---|---|---|---|");
    for (name, mut lat) in [
        ("writable (before)", writable),
        ("read-only (now)", read_only),
    ] {
        lat.sort();
        println!(
            "| {name} | {} | {:.0} | {:.0} |",
            lat.len(),
            percentile_us(&lat, 0.5),
            percentile_us(&lat, 0.99)
        );
    }
    println!("load average after: {}", loadavg());
    Ok(())
}

/// Every `*.redb` file under `dir` but the catalog.
fn walk(dir: &std::path::Path) -> Res<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(walk(&p)?);
        } else if p.extension().is_some_and(|x| x == "redb")
            && p.file_name()
                .is_some_and(|n| n != "catalog.redb" && n != "usage.redb")
        {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}
