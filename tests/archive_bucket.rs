//! ARCHIVE / RESTORE with an object store configured: the archive goes to
//! `PREFIX/archive/<t>.tar.zst` in the bucket instead of the local folder,
//! comes back with the same answers, and a damaged archive in the bucket is
//! refused as `Corrupt` before anything local changes. Against a `file://`
//! store (always) and the S3 server (when it runs; see `common::s3`).

#![cfg(feature = "s3")]

mod common;

use std::path::Path;

use common::s3;
use pql::{Config, Engine, ErrorKind, Value};

fn open(dir: &Path, store: &str) -> Engine {
    Engine::open_with(Config::new(dir).with_object_store(store).unwrap()).unwrap()
}

const QUERIES: [&str; 2] = [
    "QUERY items TENANT acme WHERE kind != \"k1\" SIMILAR TO [0.5, 0.5, 0.1] TOP 7;",
    "QUERY items TENANT acme WHERE kind = \"k2\" LIMIT 20 RETURN id, kind, embedding;",
];

fn answers(engine: &Engine) -> Vec<Vec<Vec<Value>>> {
    QUERIES
        .iter()
        .map(|q| engine.execute(q).unwrap().remove(0).rows)
        .collect()
}

/// `property` of `DESCRIBE TENANT acme`.
fn describe(engine: &Engine, property: &str) -> Value {
    common::describe(engine, "acme", property)
}

fn filled(dir: &Path, store: &str) -> Engine {
    let engine = open(dir, store);
    engine.execute("CREATE TENANT acme;").unwrap();
    engine.execute(&common::acme_items(0..300)).unwrap();
    engine
}

fn round_trip(store: &str, bucket_folder: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = filled(dir.path(), store);
    let before = answers(&engine);
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    let local = dir.path().join("archive/acme.tar.zst");
    assert!(!local.exists(), "the archive is in the bucket, not local");
    assert!(!dir.path().join("tenants/acme").exists());
    let in_bucket = bucket_folder.map(|b| b.join("archive/acme.tar.zst"));
    if let Some(p) = &in_bucket {
        assert!(p.exists(), "{}", p.display());
    }
    assert_eq!(describe(&engine, "status"), Value::Str("archived".into()));
    assert!(
        matches!(describe(&engine, "location"), Value::Str(l) if l.contains("archive/acme.tar.zst")),
        "{store}"
    );
    assert!(matches!(describe(&engine, "object_store_bytes"), Value::Int(n) if n > 0));

    // EXPORT reads the archive from the bucket and leaves it archived; the
    // file imports elsewhere and answers as the tenant did.
    engine
        .execute("EXPORT TENANT acme TO 'acme.pqlt';")
        .unwrap();
    assert_eq!(describe(&engine, "status"), Value::Str("archived".into()));
    assert!(!local.exists(), "the fetched copy was a temporary");
    let elsewhere = tempfile::tempdir().unwrap();
    let imported = Engine::open_with(
        Config::new(elsewhere.path()).with_export_dir(dir.path().join("exports")),
    )
    .unwrap();
    let file = dir.path().join("exports/acme.pqlt");
    imported
        .execute(&format!("IMPORT TENANT FROM '{}';", file.display()))
        .unwrap();
    assert_eq!(answers(&imported), before, "{store}: the export's answers");
    drop(imported);

    // A new engine over the same folder: the bucket is where the archive is.
    drop(engine);
    let engine = open(dir.path(), store);
    engine.execute("RESTORE TENANT acme;").unwrap();
    assert_eq!(answers(&engine), before, "{store}");
    assert!(!local.exists());
    if let Some(p) = &in_bucket {
        assert!(!p.exists(), "the bucket's copy goes after the restore");
    }
    assert_eq!(describe(&engine, "object_store_bytes"), Value::Null);
}

#[test]
fn archive_and_restore_go_through_the_bucket() {
    let bucket = tempfile::tempdir().unwrap();
    round_trip(
        &format!("file://{}", bucket.path().display()),
        Some(bucket.path()),
    );
    if s3::server().is_some() {
        let store = format!("s3://{}/{}", s3::bucket(), s3::unique_prefix("archive"));
        round_trip(&store, None);
    }
}

/// A damaged archive in the bucket: RESTORE is refused as `Corrupt` and
/// nothing local changes; the tenant stays archived.
#[test]
fn a_damaged_archive_in_the_bucket_is_refused_before_anything_local_changes() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let engine = filled(dir.path(), &format!("file://{}", bucket.path().display()));
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    let object = bucket.path().join("archive/acme.tar.zst");
    let mut bytes = std::fs::read(&object).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&object, &bytes).unwrap();
    let e = engine.execute("RESTORE TENANT acme;").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
    assert!(e.message().contains("archive/acme.tar.zst"), "{e}");
    assert_eq!(describe(&engine, "status"), Value::Str("archived".into()));
    assert!(!dir.path().join("tenants/acme").exists());
    let archive_dir: Vec<_> = std::fs::read_dir(dir.path().join("archive"))
        .unwrap()
        .collect();
    assert!(archive_dir.is_empty(), "{archive_dir:?}");
}

/// Without an object store, ARCHIVE keeps the archive in the local folder
/// (the behaviour the bucket replaces).
#[test]
fn without_an_object_store_the_archive_stays_local() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    engine.execute("CREATE TENANT acme;").unwrap();
    engine.execute(&common::acme_items(0..50)).unwrap();
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    assert!(dir.path().join("archive/acme.tar.zst").exists());
    assert_eq!(
        describe(&engine, "location"),
        Value::Str("local archive".into())
    );
    engine.execute("RESTORE TENANT acme;").unwrap();
    assert_eq!(
        describe(&engine, "location"),
        Value::Str("local disk".into())
    );
}
