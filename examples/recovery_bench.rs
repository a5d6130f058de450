//! First query after a crash against after a clean close (issue 15): a child
//! process loads `--n` synthetic `--dim`-d vectors through `CREATE NODES`
//! (batches of 1,000), is killed with SIGKILL after its last acknowledged
//! insert, and the parent times opening the folder plus the first query. It
//! then closes cleanly (the graph is saved), reopens and times the same
//! query again. Both are run twice in one go: with the default graph
//! checkpoints, and with checkpoints off (`graph_checkpoint_nodes =
//! usize::MAX`, the behaviour before them), so the figures share one load.
//!
//! ```text
//! cargo run --release --example recovery_bench -- --n 100000 --dim 50
//! cargo run --release --example recovery_bench -- --n 399000 --only-default
//! ```
//!
//! `--only-default` runs the default (checkpoints on) alone.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use pql::{Config, Engine, Value};

mod glove_files;
use glove_files::{arg, literal, loadavg, synthetic};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn config(dir: &Path, checkpoints: bool) -> Config {
    let mut c = Config::new(dir);
    if !checkpoints {
        c.graph_checkpoint_nodes = usize::MAX;
    }
    c
}

/// The child: loads every vector, prints `DONE` and waits to be killed.
fn writer(dir: &Path, n: usize, dim: usize, checkpoints: bool) -> Res<()> {
    let engine = Engine::open_with(config(dir, checkpoints))?;
    engine.execute("CREATE TENANT b;")?;
    let (base, _) = synthetic(n, 0, dim);
    for (c, rows) in base.chunks(1000 * dim).enumerate() {
        let nodes: Vec<String> = rows
            .chunks_exact(dim)
            .enumerate()
            .map(|(j, v)| format!("{{id: \"v{}\", embedding: {}}}", c * 1000 + j, literal(v)))
            .collect();
        engine.execute(&format!(
            "QUERY v TENANT b CREATE NODES [{}];",
            nodes.join(", ")
        ))?;
    }
    println!("DONE");
    std::io::stdout().flush()?;
    std::thread::sleep(std::time::Duration::from_secs(600));
    Ok(())
}

fn stat(engine: &Engine, name: &str) -> Res<i64> {
    let r = &engine.execute("SHOW STATS;")?[0];
    let i = r
        .column_values("metric")
        .iter()
        .position(|v| v.as_str() == Some(name))
        .ok_or("missing stat")?;
    match r.column_values("value")[i] {
        Value::Int(n) => Ok(*n),
        _ => Err("not an integer".into()),
    }
}

/// Opens `dir` and runs `query`: milliseconds, and the rebuild and
/// caught-up counters this open added.
fn open_and_query(dir: &Path, checkpoints: bool, query: &str) -> Res<(f64, i64, i64)> {
    let t = Instant::now();
    let engine = Engine::open_with(config(dir, checkpoints))?;
    engine.execute(query)?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    Ok((
        ms,
        stat(&engine, "graph_full_rebuilds")?,
        stat(&engine, "graph_caught_up_nodes")?,
    ))
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--n").map_or(Ok(100_000), |s| s.parse())?;
    let dim: usize = arg(&args, "--dim").map_or(Ok(50), |s| s.parse())?;
    if let Some(dir) = arg(&args, "--writer") {
        let checkpoints = arg(&args, "--checkpoints").as_deref() == Some("on");
        return writer(Path::new(&dir), n, dim, checkpoints);
    }
    let (_, queries) = synthetic(0, 1, dim);
    let query = format!("QUERY v TENANT b SIMILAR TO {} TOP 10", literal(&queries));
    println!(
        "recovery_bench: n = {n}, dim = {dim}; load average {}",
        loadavg()
    );
    println!("\n| checkpoints | after SIGKILL: open + first query | full rebuilds | nodes caught up | after clean close | ratio |\n|---|---|---|---|---|---|");
    let (mut last_rebuilds, mut last_caught) = (0, 0);
    let variants: &[bool] = if args.iter().any(|a| a == "--only-default") {
        &[true]
    } else {
        &[true, false]
    };
    for &checkpoints in variants {
        let tmp = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--writer", &tmp.path().to_string_lossy()])
            .args(["--n", &n.to_string(), "--dim", &dim.to_string()])
            .args(["--checkpoints", if checkpoints { "on" } else { "off" }])
            .stdout(Stdio::piped())
            .spawn()?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let done = BufReader::new(out)
            .lines()
            .any(|l| l.is_ok_and(|l| l == "DONE"));
        child.kill()?;
        child.wait()?;
        if !done {
            return Err("the writer did not finish".into());
        }
        let (crash_ms, rebuilds, caught) = open_and_query(tmp.path(), checkpoints, &query)?;
        let (clean_ms, ..) = open_and_query(tmp.path(), checkpoints, &query)?;
        println!(
            "| {} | {crash_ms:.0} ms | {} | {} | {clean_ms:.0} ms | {:.1}× |",
            if checkpoints {
                "on (default)"
            } else {
                "off (before)"
            },
            rebuilds - last_rebuilds,
            caught - last_caught,
            crash_ms / clean_ms
        );
        (last_rebuilds, last_caught) = (rebuilds, caught);
    }
    println!("load average after: {}", loadavg());
    Ok(())
}
