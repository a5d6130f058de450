//! OFFLOAD / ONLOAD / ATTACH TENANT through the public API, against a
//! `file://` store (always) and the S3 server (when it runs; see
//! `common::s3`): identical answers after a round trip and after the local
//! data folder is lost, the access restriction kept, a damaged object
//! refused as `Corrupt` with nothing local touched, DROP deleting the
//! objects, and the usage history and DESCRIBE's location surviving the
//! loss of the data folder.

#![cfg(feature = "s3")]

mod common;

use std::path::Path;

use common::files;
use common::s3::stores;
use pql::{Config, Engine, ErrorKind, QueryResult, Value};

fn open(dir: &Path, store: &str) -> Engine {
    Engine::open_with(Config::new(dir).with_object_store(store).unwrap()).unwrap()
}

fn run(engine: &Engine, text: &str) -> QueryResult {
    engine.execute(text).unwrap().remove(0)
}

const QUERIES: [&str; 3] = [
    "QUERY items TENANT acme WHERE kind != \"k1\" SIMILAR TO [0.5, 0.5, 0.1] TOP 7;",
    "QUERY items TENANT acme RETURN COUNT(*);",
    "QUERY items TENANT acme WHERE kind = \"k2\" LIMIT 20 RETURN id, kind, embedding;",
];

/// The columns and rows of each of [`QUERIES`] (not their timings).
fn answers(engine: &Engine) -> Vec<(Vec<String>, Vec<Vec<Value>>)> {
    QUERIES
        .iter()
        .map(|q| {
            let r = run(engine, q);
            (r.columns, r.rows)
        })
        .collect()
}

fn fill(engine: &Engine) {
    engine
        .execute("CREATE TENANT acme WITH (tier: 'pro');")
        .unwrap();
    engine.execute(&common::acme_items(0..300)).unwrap();
}

/// `property` of `DESCRIBE TENANT acme`.
fn describe(engine: &Engine, property: &str) -> Value {
    common::describe(engine, "acme", property)
}

/// acme's row of `SHOW USAGE`, by column.
fn usage(engine: &Engine) -> std::collections::BTreeMap<String, Value> {
    let r = run(engine, "SHOW USAGE;");
    let row = r.rows.iter().find(|row| row[0] == str_("acme")).unwrap();
    r.columns.iter().cloned().zip(row.iter().cloned()).collect()
}

fn storage(engine: &Engine) -> Value {
    describe(engine, "storage")
}

fn str_(s: &str) -> Value {
    Value::Str(s.into())
}

#[test]
fn offload_and_onload_give_identical_answers_and_keep_the_restriction() {
    let mut keep = Vec::new();
    for store in stores("roundtrip", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path(), &store);
        fill(&engine);
        let before = answers(&engine);
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        assert!(!dir.path().join("tenants/acme").exists(), "{store}");
        assert_eq!(engine.tenant_status("acme").unwrap(), "offloaded");
        // Lazy onload: the first statement brings it back.
        assert_eq!(answers(&engine), before, "{store}");
        assert_eq!(storage(&engine), str_("active"));

        // Explicit ONLOAD, after a restart.
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        drop(engine);
        let engine = open(dir.path(), &store);
        assert_eq!(storage(&engine), str_("offloaded"));
        engine.execute("ONLOAD TENANT acme;").unwrap();
        assert!(dir.path().join("tenants/acme").is_dir());
        assert_eq!(answers(&engine), before, "{store}");
        let e = engine.execute("ONLOAD TENANT acme;").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidTransition);

        // A suspended tenant stays suspended, offloaded, and is not onloaded.
        engine
            .execute("ALTER TENANT acme SET status = 'suspended';")
            .unwrap();
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        assert_eq!(engine.tenant_status("acme").unwrap(), "suspended");
        let e = engine.execute(QUERIES[0]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TenantSuspended);
        assert_eq!(storage(&engine), str_("offloaded"));
        engine
            .execute("ALTER TENANT acme SET status = 'read_only';")
            .unwrap();
        assert_eq!(answers(&engine), before, "{store}");
        assert_eq!(engine.tenant_status("acme").unwrap(), "read_only");
        assert_eq!(storage(&engine), str_("active"));
    }
}

#[test]
fn a_lost_data_folder_is_attached_from_the_object_store() {
    let mut keep = Vec::new();
    for store in stores("attach", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let engine = open(dir.path(), &store);
            fill(&engine);
            engine
                .execute("ALTER TENANT acme SET status = 'read_only', reason = 'audit';")
                .unwrap();
            let before = answers(&engine);
            let usage = usage(&engine);
            engine.execute("OFFLOAD TENANT acme;").unwrap();
            assert!(
                matches!(describe(&engine, "location"), Value::Str(l) if l.starts_with("object store: ")),
                "{store}"
            );
            assert!(
                matches!(describe(&engine, "object_store_bytes"), Value::Int(n) if n > 0),
                "{store}"
            );
            (before, usage)
        };
        let (before, usage_before) = before;
        std::fs::remove_dir_all(dir.path()).unwrap();
        let engine = open(dir.path(), &store);
        assert_eq!(
            engine.execute(QUERIES[0]).unwrap_err().kind(),
            &ErrorKind::TenantNotFound
        );
        engine
            .execute("ATTACH TENANT acme FROM OBJECT STORE;")
            .unwrap();
        // The usage history came back with the tenant (before any statement
        // on it is counted again).
        let usage_after = usage(&engine);
        for metric in ["inserts", "searches", "statements"] {
            assert!(
                matches!(usage_before[metric], Value::Int(n) if n > 0),
                "{metric}: {usage_before:?}"
            );
            assert_eq!(
                usage_after[metric], usage_before[metric],
                "{metric} {store}"
            );
        }
        assert_eq!(engine.tenant_status("acme").unwrap(), "read_only");
        assert_eq!(describe(&engine, "reason"), str_("audit"));
        assert_eq!(describe(&engine, "tier"), str_("pro"));
        assert_eq!(answers(&engine), before, "{store}");
        let e = engine
            .execute("ATTACH TENANT acme FROM OBJECT STORE;")
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TenantExists);
        let e = engine
            .execute("ATTACH TENANT ghost FROM OBJECT STORE;")
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TenantNotFound);
    }
}

/// ATTACH into a fresh catalog that lacks the tenant's tier: the tenant
/// comes back naming it (its data first), without the tier's limits until
/// a tier of that name is created.
#[test]
fn a_tenant_attaches_into_a_catalog_that_lacks_its_tier() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let store = format!("file://{}", bucket.path().display());
    {
        let engine = open(dir.path(), &store);
        run(&engine, "CREATE TIER gold WITH (max_batch_size: 2);");
        run(&engine, "CREATE TENANT acme WITH (tier: 'gold');");
        run(
            &engine,
            "QUERY items TENANT acme CREATE NODE { id: \"a\", embedding: [1.0, 0.0] };",
        );
        run(&engine, "OFFLOAD TENANT acme;");
    }
    std::fs::remove_dir_all(dir.path()).unwrap();
    let engine = open(dir.path(), &store);
    run(&engine, "ATTACH TENANT acme FROM OBJECT STORE;");
    assert_eq!(describe(&engine, "tier"), str_("gold"));
    assert_eq!(describe(&engine, "limit_batch_size"), Value::Null);
    let count = run(&engine, "QUERY items TENANT acme RETURN COUNT(*);");
    assert_eq!(count.rows[0][0], Value::Int(1));
    run(&engine, "CREATE TIER gold WITH (max_batch_size: 3);");
    assert_eq!(describe(&engine, "limit_batch_size"), Value::Int(3));
    assert_eq!(describe(&engine, "limit_batch_size_source"), str_("tier"));
}

/// A data folder and a `file://` store folder, with acme filled and
/// offloaded.
fn offloaded_to_a_folder() -> (tempfile::TempDir, tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let engine = open(dir.path(), &format!("file://{}", bucket.path().display()));
    fill(&engine);
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    (dir, bucket, engine)
}

/// A damaged object in the store: the onload is refused as `Corrupt`,
/// naming the object, and the tenant stays offloaded with nothing local.
#[test]
fn a_corrupted_object_is_refused_and_nothing_local_is_touched() {
    let (dir, bucket, engine) = offloaded_to_a_folder();
    let object = files(bucket.path())
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "items.redb"))
        .unwrap();
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let tenants = dir.path().join("tenants");
    let local_before = files(&tenants);
    for statement in [QUERIES[0], "ONLOAD TENANT acme;"] {
        let e = engine.execute(statement).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
        assert!(e.message().contains("items.redb"), "{e}");
        assert_eq!(storage(&engine), str_("offloaded"));
        assert_eq!(files(&tenants), local_before);
        assert!(std::fs::read_dir(&tenants).unwrap().next().is_none());
    }
}

#[test]
fn without_an_object_store_offload_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    fill(&engine);
    let before = answers(&engine);
    let e = engine.execute("OFFLOAD TENANT acme;").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Unsupported);
    assert!(e.message().contains("no object store is configured"), "{e}");
    assert_eq!(storage(&engine), str_("active"));
    assert_eq!(answers(&engine), before);
}

/// DROP TENANT of an offloaded tenant deletes its objects once the drop is
/// committed; a later ATTACH finds nothing.
#[test]
fn drop_deletes_the_objects() {
    let (_dir, bucket, engine) = offloaded_to_a_folder();
    assert!(!files(bucket.path()).is_empty());
    engine.execute("DROP TENANT acme;").unwrap();
    assert!(
        files(bucket.path()).is_empty(),
        "{:?}",
        files(bucket.path())
    );
    let e = engine
        .execute("ATTACH TENANT acme FROM OBJECT STORE;")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TenantNotFound);
}
