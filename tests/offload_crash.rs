//! SIGKILL during OFFLOAD and during onload (that of a statement, and that
//! behind a cold query's answer): the real `pql` binary runs the
//! statement and is killed at a pseudo-random moment, then the data folder
//! is opened again. The tenant must be found either live locally or fully
//! offloaded, never neither, and answer exactly as before. Bounded: 24
//! cycles against a `file://` store, and 8 more against the S3 server when
//! it runs (`common::s3`).

#![cfg(feature = "s3")]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::s3::{self, open_with_quick_objects};
use pql::{Engine, Value};

const QUERY: &str = "QUERY items TENANT acme SIMILAR TO [0.5, 0.5, 0.1] TOP 9 RETURN id, kind;";
const COUNT: &str = "QUERY items TENANT acme RETURN COUNT(*);";

/// The rows of [`QUERY`] and [`COUNT`] (this onloads an offloaded tenant).
fn answers(engine: &Engine) -> Vec<Vec<Vec<Value>>> {
    [QUERY, COUNT]
        .iter()
        .map(|q| engine.execute(q).unwrap().remove(0).rows)
        .collect()
}

/// Where acme's data is, as DESCRIBE says (DESCRIBE does not onload).
fn storage(engine: &Engine) -> String {
    let d = engine.execute("DESCRIBE TENANT acme;").unwrap().remove(0);
    match d.rows.iter().find(|r| r[0] == Value::Str("storage".into())) {
        Some(r) => match &r[1] {
            Value::Str(s) => s.clone(),
            v => panic!("storage {v:?}"),
        },
        None => panic!("no storage row"),
    }
}

fn fill(engine: &Engine) {
    engine.execute("CREATE TENANT acme;").unwrap();
    // Flat, so OFFLOAD writes a quick object and a cold QUERY answers from it.
    engine
        .execute("CREATE COLLECTION items TENANT acme WITH (index: 'flat');")
        .unwrap();
    for batch in 0..4 {
        engine
            .execute(&common::acme_items(batch * 500..(batch + 1) * 500))
            .unwrap();
    }
}

/// Runs `statement` in the `pql` binary and kills it after `delay`.
fn run_and_kill(dir: &Path, store: &str, statement: &str, delay: Duration) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(dir)
        .arg("--object-store")
        .arg(store)
        .arg("-e")
        .arg(statement)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL; it may have finished already
    child.wait().unwrap();
}

/// Checks that acme is live or fully offloaded, with nothing half-done on
/// disk, and answers as `before`.
fn check(dir: &Path, store: &str, before: &[Vec<Vec<Value>>], when: &str) -> String {
    let engine = open_with_quick_objects(dir, store);
    let place = storage(&engine);
    let live = dir.join("tenants/acme");
    match place.as_str() {
        "offloaded" => assert!(!live.exists(), "{when}: offloaded with a local folder"),
        "active" | "inactive" => assert!(live.is_dir(), "{when}: {place} without its folder"),
        other => panic!("{when}: storage {other}"),
    }
    for staging in [".onload-acme", ".quick-acme"] {
        assert!(
            !dir.join("tenants").join(staging).exists(),
            "{when}: {staging} left"
        );
    }
    assert_eq!(answers(&engine), before, "{when}");
    place
}

fn crash_cycles(store: &str, cycles: u64) {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let engine = open_with_quick_objects(dir.path(), store);
        fill(&engine);
        answers(&engine)
    };
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..cycles {
        // Pseudo-random kill moments from 0 to ~250 ms (the binary's own
        // start takes a few of them).
        let delay = Duration::from_micros((i * 7_919_993) % 250_000);
        if i % 2 == 0 {
            run_and_kill(dir.path(), store, "OFFLOAD TENANT acme;", delay);
            let after = check(dir.path(), store, &before, &format!("offload {i}"));
            seen.insert(format!("offload:{after}"));
        } else {
            open_with_quick_objects(dir.path(), store)
                .execute("OFFLOAD TENANT acme;")
                .unwrap();
            // A statement that onloads first, or a cold query answered from
            // the quick object with the onload behind it.
            let statement = if i % 4 == 1 { COUNT } else { QUERY };
            run_and_kill(dir.path(), store, statement, delay);
            // check() onloads what the killed statement left offloaded.
            check(dir.path(), store, &before, &format!("onload {i}"));
        }
    }
    eprintln!("{store}: states seen after killed offloads: {seen:?}");
}

#[test]
fn sigkill_during_offload_and_onload_never_loses_the_tenant() {
    let bucket = tempfile::tempdir().unwrap();
    crash_cycles(&format!("file://{}", bucket.path().display()), 24);
    if s3::server().is_some() {
        let store = format!("s3://{}/{}", s3::bucket(), s3::unique_prefix("crash"));
        crash_cycles(&store, 8);
    }
}
