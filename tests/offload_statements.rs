//! OFFLOAD through PQL statements under stress: the store going away in the
//! middle of an upload (a proxy cut, never the shared server), a hundred
//! tenants offloaded at once, and the policy that offloads idle tenants
//! (`Config::with_offload_after`), triggered by `Engine::maintain` with a
//! clock moved forward.

#![cfg(feature = "s3")]

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::proxy::Proxy;
use common::s3::{self, stores};
use pql::{Config, Engine, ErrorKind, Value};

/// Creates tenant `t` with 200 nodes of its own (seeded by `t`).
fn fill(engine: &Engine, t: &str) {
    engine.execute(&format!("CREATE TENANT {t};")).unwrap();
    let items = common::acme_items(0..200).replace("TENANT acme", &format!("TENANT {t}"));
    engine.execute(&items).unwrap();
}

/// The rows of a similarity query and a filtered read on tenant `t`.
fn answers(engine: &Engine, t: &str) -> Vec<Vec<Vec<Value>>> {
    [
        format!("QUERY items TENANT {t} SIMILAR TO [0.3, 0.9, 0.2] TOP 5;"),
        format!("QUERY items TENANT {t} WHERE kind = \"k1\" LIMIT 10 RETURN id, embedding;"),
    ]
    .iter()
    .map(|q| engine.execute(q).unwrap().remove(0).rows)
    .collect()
}

fn str_(s: &str) -> Value {
    Value::Str(s.into())
}

/// The store stops answering in the middle of OFFLOAD: the statement fails
/// with `StorageUnavailable`, and the tenant is still live, unchanged.
#[test]
fn the_store_stopped_mid_offload_leaves_the_tenant_live() {
    let Some(endpoint) = s3::server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let upstream = endpoint.trim_start_matches("http://").to_string();
    // Enough for opening the tier and reading the (missing) manifest, not
    // for the collection file.
    let proxy = Proxy::start(upstream, 4_000);
    let url = format!("s3://{}/{}", s3::bucket(), s3::unique_prefix("cut"));
    let mut config = Config::new(dir.path()).with_object_store(&url).unwrap();
    if let Some(store) = config.object_store.as_mut() {
        store.endpoint = Some(format!("http://127.0.0.1:{}", proxy.port));
        store.retry_timeout = Duration::from_secs(2);
    }
    let engine = Engine::open_with(config).unwrap();
    fill(&engine, "acme");
    engine
        .execute("ALTER TENANT acme SET status = 'read_only', reason = 'audit';")
        .unwrap();
    let before = answers(&engine, "acme");
    let storage_before = common::describe(&engine, "acme", "storage");
    let files_before = dir_listing(&dir.path().join("tenants/acme"));

    let e = engine.execute("OFFLOAD TENANT acme;").unwrap_err();
    assert!(proxy.stopped.load(Ordering::SeqCst), "the proxy was cut");
    assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");
    assert!(e.message().contains("object store"), "{e}");
    assert_eq!(common::describe(&engine, "acme", "storage"), storage_before);
    assert_eq!(engine.tenant_status("acme").unwrap(), "read_only");
    assert_eq!(dir_listing(&dir.path().join("tenants/acme")), files_before);
    assert_eq!(answers(&engine, "acme"), before);

    // The same folder without the broken store: nothing half-done remains.
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(answers(&engine, "acme"), before);
    assert_eq!(engine.tenant_status("acme").unwrap(), "read_only");
}

/// File names under `dir` (sizes change when an unload compacts a file).
fn dir_listing(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// A hundred tenants offloaded by concurrent OFFLOAD statements, then
/// queried concurrently (each query onloads its tenant): the answers are
/// the ones from before.
#[test]
fn a_hundred_tenants_offloaded_concurrently_answer_the_same() {
    let mut keep = Vec::new();
    for store in stores("hundred", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let engine =
            Engine::open_with(Config::new(dir.path()).with_object_store(&store).unwrap()).unwrap();
        let names: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        for t in &names {
            fill(&engine, t);
        }
        let before: Vec<_> = names.iter().map(|t| answers(&engine, t)).collect();
        std::thread::scope(|s| {
            for chunk in names.chunks(10) {
                let engine = engine.clone();
                s.spawn(move || {
                    for t in chunk {
                        engine.execute(&format!("OFFLOAD TENANT {t};")).unwrap();
                    }
                });
            }
        });
        for t in &names {
            assert_eq!(
                common::describe(&engine, t, "storage"),
                str_("offloaded"),
                "{t}"
            );
        }
        let after: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = names
                .chunks(10)
                .map(|chunk| {
                    let engine = engine.clone();
                    s.spawn(move || {
                        chunk
                            .iter()
                            .map(|t| answers(&engine, t))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(after, before, "{store}");
        for t in &names {
            assert_eq!(
                common::describe(&engine, t, "storage"),
                str_("active"),
                "{t}"
            );
        }
    }
}

/// A clock thirty days ahead: every tenant has been idle for a month.
fn a_month_later() -> i64 {
    chrono::Utc::now().timestamp_millis() + 30 * 86_400_000
}

/// `Config::with_offload_after`: the periodic pass offloads tenants idle
/// longer than the limit, keeps their restrictions, leaves recently used
/// and archived ones alone; a query brings an offloaded one back.
#[test]
fn idle_tenants_are_offloaded_by_the_policy() {
    let mut keep = Vec::new();
    for store in stores("policy", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let config = || {
            Config::new(dir.path())
                .with_object_store(&store)
                .unwrap()
                .with_offload_after(Duration::from_secs(3_600))
        };
        let engine = Engine::open_with(config()).unwrap();
        for t in ["busy", "quiet", "held", "cold"] {
            fill(&engine, t);
        }
        engine
            .execute("ALTER TENANT held SET status = 'suspended', reason = 'unpaid';")
            .unwrap();
        engine.execute("ARCHIVE TENANT cold;").unwrap();
        let quiet = answers(&engine, "quiet");
        // Used a moment ago: nothing is idle for an hour.
        engine.maintain().unwrap();
        for t in ["busy", "quiet", "held"] {
            assert_ne!(
                common::describe(&engine, t, "storage"),
                str_("offloaded"),
                "{t}"
            );
        }
        drop(engine);

        let engine = Engine::open_with(Config {
            clock: a_month_later,
            ..config()
        })
        .unwrap();
        engine.maintain().unwrap();
        for t in ["busy", "quiet", "held"] {
            assert_eq!(
                common::describe(&engine, t, "storage"),
                str_("offloaded"),
                "{t} {store}"
            );
        }
        assert_eq!(engine.tenant_status("held").unwrap(), "suspended");
        assert_eq!(common::describe(&engine, "held", "reason"), str_("unpaid"));
        assert_eq!(
            common::describe(&engine, "cold", "storage"),
            str_("archived")
        );
        assert_eq!(answers(&engine, "quiet"), quiet);
        assert_eq!(
            common::describe(&engine, "quiet", "storage"),
            str_("active")
        );
    }
}
