//! Crash safety of IMPORT TENANT: the real `pql` binary runs an import and
//! is killed with SIGKILL at spread-out moments, 20 times. Each time the
//! data folder, opened again, must hold either no imported tenant or the
//! complete one (every node, the same answers), and with `REPLACE` either
//! the old tenant or the complete new one; no staging folder survives.

#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pql::{Engine, ErrorKind, Value};

mod common;

const NODES: usize = 4_000;
const DIM: usize = 48;
const CYCLES: u32 = 20;

fn items(tenant: &str, n: usize) -> Vec<String> {
    let mut rng = common::Rng(7);
    (0..n)
        .collect::<Vec<_>>()
        .chunks(500)
        .map(|chunk| {
            let nodes: Vec<String> = chunk
                .iter()
                .map(|i| {
                    let v: Vec<f32> = (0..DIM).map(|_| rng.gauss()).collect();
                    format!(
                        "{{ id: \"n{i}\", tag: \"t{}\", embedding: {} }}",
                        i % 5,
                        common::vector_literal(&v)
                    )
                })
                .collect();
            format!(
                "QUERY items TENANT {tenant} CREATE NODES [{}];",
                nodes.join(", ")
            )
        })
        .collect()
}

/// What `tenant` answers: its node count and the probe's rows; `None` if
/// it does not exist.
fn state(engine: &Engine, tenant: &str) -> Option<(Value, Vec<Vec<Value>>)> {
    let q: Vec<f32> = (0..DIM).map(|i| (i as f32 * 0.7).sin()).collect();
    let probe = format!(
        "QUERY items TENANT {tenant} WHERE tag != \"t1\" SIMILAR TO {} TOP 10;",
        common::vector_literal(&q)
    );
    let count = match engine.execute(&format!("QUERY items TENANT {tenant} RETURN COUNT(*);")) {
        Ok(mut r) => r.remove(0).rows[0][0].clone(),
        Err(e) if e.kind() == &ErrorKind::TenantNotFound => return None,
        Err(e) => panic!("{tenant}: {e}"),
    };
    let rows = engine.execute(&probe).unwrap().remove(0).rows;
    Some((count, rows))
}

/// Runs `pql -e statement` on `dir`, killing it after `after` (if it has
/// not finished); returns whether it was killed.
fn run_killed(dir: &Path, statement: &str, after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(dir)
        .arg("-e")
        .arg(statement)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn staging_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("tenants"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn sigkill_during_import_leaves_no_tenant_or_the_complete_one() {
    let dir = tempfile::tempdir().unwrap();
    let (full, small) = {
        let engine = Engine::open(dir.path()).unwrap();
        engine
            .execute("CREATE TENANT src; CREATE TENANT old;")
            .unwrap();
        for s in items("src", NODES) {
            engine.execute(&s).unwrap();
        }
        for s in items("old", NODES / 10) {
            engine.execute(&s).unwrap();
        }
        engine.execute("EXPORT TENANT src TO 'full.pqlt';").unwrap();
        engine
            .execute("EXPORT TENANT old TO 'small.pqlt';")
            .unwrap();
        (
            state(&engine, "src").unwrap(),
            state(&engine, "old").unwrap(),
        )
    };
    // How long one whole import takes here (the kill moments spread over it).
    let started = Instant::now();
    assert!(!run_killed(
        dir.path(),
        "IMPORT TENANT FROM 'full.pqlt' AS probe;",
        Duration::from_secs(120)
    ));
    let whole = started.elapsed();
    {
        let engine = Engine::open(dir.path()).unwrap();
        assert_eq!(state(&engine, "probe").as_ref(), Some(&full));
        engine.execute("DROP TENANT probe;").unwrap();
    }
    let (mut absent, mut complete, mut old_kept, mut replaced) = (0, 0, 0, 0);
    for cycle in 0..CYCLES {
        // From early in the run to past its end, so some cycles commit.
        let after = whole.mul_f64(1.5 * f64::from(cycle + 1) / f64::from(CYCLES));
        let replace = cycle % 2 == 1;
        let statement = if replace {
            "IMPORT TENANT FROM 'full.pqlt' AS old REPLACE;"
        } else {
            "IMPORT TENANT FROM 'full.pqlt' AS copy;"
        };
        run_killed(dir.path(), statement, after);
        let engine = Engine::open(dir.path()).unwrap();
        assert!(staging_left(dir.path()).is_empty(), "cycle {cycle}");
        if replace {
            let now = state(&engine, "old").expect("REPLACE lost the old tenant");
            if now == full {
                replaced += 1;
                engine
                    .execute("IMPORT TENANT FROM 'small.pqlt' AS old REPLACE;")
                    .unwrap();
            } else {
                assert_eq!(now, small, "cycle {cycle}: half a replacement");
                old_kept += 1;
            }
        } else {
            match state(&engine, "copy") {
                None => absent += 1,
                Some(s) => {
                    assert_eq!(s, full, "cycle {cycle}: half a tenant");
                    complete += 1;
                    engine.execute("DROP TENANT copy;").unwrap();
                }
            }
        }
        assert_eq!(state(&engine, "src").as_ref(), Some(&full));
    }
    eprintln!(
        "import {whole:?}: absent {absent}, complete {complete}, old kept {old_kept}, \
         replaced {replaced}"
    );
}
