//! Runs up to `--statements N` generated statements (default 1,000,000)
//! against a live engine for at most `--seconds S` (default 120), checking
//! the invariants of `tests/common/fuzz.rs` after each, and reports
//! statements per second and failures:
//!
//! ```sh
//! cargo run --release --example statement_fuzz -- --statements 1000000 --seconds 120
//! ```
//!
//! `--seed N` changes the statement stream. The data folder is a temporary
//! folder (on /dev/shm when there is one), removed at the end.

#[path = "../tests/common/fuzz.rs"]
mod fuzz;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use fuzz::{Generator, Harness};

fn arg(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn sandbox() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::Builder::new().prefix("pql-fuzz").tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().expect("temporary folder")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        Ok::<_, String>((
            arg(&args, "--statements", 1_000_000)?,
            arg(&args, "--seconds", 120)?,
            arg(&args, "--seed", fuzz::SEED)?,
        ))
    })();
    let (limit, seconds, seed) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("statement_fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let mut generator = Generator::new(seed);
    let mut harness = Harness::new(sandbox());
    let start = Instant::now();
    let cap = Duration::from_secs(seconds);
    let mut next_report = Duration::from_secs(10);
    for _ in 0..limit {
        let statement = generator.next_statement();
        harness.run(&statement);
        let elapsed = start.elapsed();
        if elapsed >= next_report {
            eprintln!(
                "{:>6.0} s: {} statements, {} failures",
                elapsed.as_secs_f64(),
                harness.statements,
                harness.failures.len()
            );
            next_report += Duration::from_secs(10);
        }
        if elapsed >= cap {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (run, ok) = (harness.statements, harness.ok);
    let failures = harness.finish();
    println!(
        "statements: {run} in {elapsed:.1} s ({:.0} statements/s), succeeded: {ok}, \
         refused: {}, failures: {}",
        run as f64 / elapsed,
        run - ok,
        failures.len()
    );
    for f in failures.iter().take(20) {
        println!("FAILURE: {f}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
