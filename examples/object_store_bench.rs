//! Upload and download speed of a tenant-like folder through the
//! object-storage tier, against the S3 server the environment names:
//!
//! ```text
//! eval "$(scripts/start-seaweedfs.sh)"
//! cargo run --release --example object_store_bench -- --mb 150
//! scripts/stop-seaweedfs.sh
//! ```
//!
//! The folder holds one large collection file (most of the bytes), its
//! graph, and a few small collections, of pseudo-random bytes (vectors do
//! not compress). Each phase runs `--rounds` times; the best and the median
//! are printed in MB/s (MB = 10^6 bytes).

use std::path::Path;
use std::time::Instant;

mod glove_files;
use glove_files::{loadavg, next_u64};
use pql::{ObjectStoreConfig, ObjectTier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mb = 150usize;
    let mut rounds = 3usize;
    let mut url = format!(
        "s3://{}/bench",
        std::env::var("PQL_TEST_BUCKET").unwrap_or_else(|_| "pql-test".into())
    );
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--mb" => mb = value()?.parse()?,
            "--rounds" => rounds = value()?.parse()?,
            "--url" => url = value()?,
            _ => {
                return Err(format!("unknown argument {a}; use --mb N --rounds N --url URL").into())
            }
        }
    }
    let tier = ObjectTier::open(&ObjectStoreConfig::parse(&url)?)?;
    let tmp = tempfile::tempdir()?;
    let src = tmp.path().join("tenant");
    let bytes = write_tenant(&src, mb)?;
    println!(
        "{url}: tenant folder of {:.1} MB; {}",
        bytes as f64 / 1e6,
        loadavg()
    );
    let mut up = Vec::new();
    let mut down = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        tier.upload_tenant("bench", &src, b"record")?;
        up.push(bytes as f64 / 1e6 / t.elapsed().as_secs_f64());
        let staging = tmp.path().join(format!("staging{round}"));
        let t = Instant::now();
        tier.download_tenant("bench", &staging)?;
        down.push(bytes as f64 / 1e6 / t.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&staging)?;
        tier.gc_tenant("bench")?;
    }
    report("upload (files, manifest, read-back)", &mut up);
    report("download (verified, synced)", &mut down);
    tier.delete_tenant("bench")?;
    Ok(())
}

fn report(what: &str, speeds: &mut [f64]) {
    speeds.sort_by(f64::total_cmp);
    println!(
        "{what:<38} best {:>7.1} MB/s   median {:>7.1} MB/s",
        speeds[speeds.len() - 1],
        speeds[speeds.len() / 2]
    );
}

/// Writes the folder; returns its size in bytes.
fn write_tenant(dir: &Path, mb: usize) -> std::io::Result<u64> {
    std::fs::create_dir_all(dir)?;
    let total = mb * 1_000_000;
    let files = [
        ("docs.redb", total * 70 / 100),
        ("docs.hnsw.graph", total * 20 / 100),
        ("docs.hnsw.data", total * 6 / 100),
        ("notes.redb", total * 2 / 100),
        ("tags.redb", total * 2 / 100),
    ];
    let mut state = 42u64;
    let mut written = 0;
    for (name, size) in files {
        let bytes: Vec<u8> = (0..size / 8)
            .flat_map(|_| next_u64(&mut state).to_le_bytes())
            .collect();
        std::fs::write(dir.join(name), &bytes)?;
        written += bytes.len() as u64;
    }
    Ok(written)
}
