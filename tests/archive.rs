//! ARCHIVE / RESTORE TENANT through the public API: identical results after
//! a round trip, a damaged archive refused without losing the tenant, and
//! DROP removing the archive too.

use std::path::Path;

use pql::{Engine, ErrorKind, QueryResult};

fn setup(dir: &Path) -> Engine {
    let engine = Engine::open(dir).unwrap();
    engine.execute("CREATE TENANT acme;").unwrap();
    let nodes: Vec<String> = (0..300)
        .map(|i| {
            format!(
                "{{ id: \"n{i}\", kind: \"k{}\", embedding: [{}, {}, {}] }}",
                i % 3,
                (i as f32 * 0.37).sin(),
                (i as f32 * 0.11).cos(),
                i as f32 / 300.0
            )
        })
        .collect();
    engine
        .execute(&format!(
            "QUERY items TENANT acme CREATE NODES [{}];",
            nodes.join(", ")
        ))
        .unwrap();
    engine
}

const QUERY: &str =
    "QUERY items TENANT acme WHERE kind != \"k1\" SIMILAR TO [0.5, 0.5, 0.1] TOP 7;";

fn run(engine: &Engine, text: &str) -> QueryResult {
    engine.execute(text).unwrap().remove(0)
}

#[test]
fn round_trip_gives_identical_results_and_leaves_the_tenant_inactive() {
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(dir.path());
    let before = run(&engine, QUERY);
    assert_eq!(before.rows.len(), 7);

    engine.execute("ARCHIVE TENANT acme;").unwrap();
    assert!(dir.path().join("archive/acme.tar.zst").is_file());
    assert!(!dir.path().join("tenants/acme").exists());
    let e = engine.execute(QUERY).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TenantArchived);
    assert!(e.message().contains("Tenant is archived: acme"), "{e}");

    // The archived state survives a restart.
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(
        engine.execute(QUERY).unwrap_err().kind(),
        &ErrorKind::TenantArchived
    );

    engine.execute("RESTORE TENANT acme;").unwrap();
    assert!(!dir.path().join("archive/acme.tar.zst").exists());
    let status = run(&engine, "SHOW TENANTS WHERE name = 'acme';");
    assert_eq!(status.column_values("status")[0].as_str(), Some("inactive"));
    let after = run(&engine, QUERY);
    assert_eq!(before.rows, after.rows);
}

#[test]
fn a_damaged_archive_is_refused_and_the_tenant_stays_archived() {
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(dir.path());
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    let packed = dir.path().join("archive/acme.tar.zst");
    let mut bytes = std::fs::read(&packed).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    std::fs::write(&packed, &bytes).unwrap();

    let e = engine.execute("RESTORE TENANT acme;").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
    let status = run(&engine, "SHOW TENANTS WHERE name = 'acme';");
    assert_eq!(status.column_values("status")[0].as_str(), Some("archived"));
    assert!(packed.is_file(), "the archive must not be removed");
}

#[test]
fn drop_removes_the_archive_and_a_huge_top_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(dir.path());
    let all = run(
        &engine,
        "QUERY items TENANT acme SIMILAR TO [1, 0, 0] TOP 1000000000000 RETURN COUNT(*);",
    );
    assert_eq!(all.rows[0][0], pql::Value::Int(300));
    engine
        .execute("ARCHIVE TENANT acme; DROP TENANT acme;")
        .unwrap();
    assert!(!dir.path().join("archive/acme.tar.zst").exists());
    assert!(!dir.path().join("tenants/acme").exists());
}
