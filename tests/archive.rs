//! ARCHIVE / RESTORE TENANT through the public API: identical results after
//! a round trip, a damaged archive refused without losing the tenant, and
//! DROP removing the archive too.

use std::path::Path;

use pql::{Engine, ErrorKind, QueryResult};

mod common;

fn setup(dir: &Path) -> Engine {
    let engine = Engine::open(dir).unwrap();
    engine.execute("CREATE TENANT acme;").unwrap();
    engine.execute(&common::acme_items(0..300)).unwrap();
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

/// Copies the regular files of `from` into `to` (a tenant folder is flat).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn status(engine: &Engine) -> String {
    let r = run(engine, "SHOW TENANTS WHERE name = 'acme';");
    r.column_values("status")[0].as_str().unwrap().to_string()
}

/// The on-disk states a crash can leave in the middle of ARCHIVE or RESTORE
/// (the catalog's status is the commit point of each), built by hand and
/// then reopened: the tenant is always found archived or live, with its data.
#[test]
fn every_crash_state_of_archive_and_restore_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let save = tempfile::tempdir().unwrap();
    let live = dir.path().join("tenants/acme");
    let packed = dir.path().join("archive/acme.tar.zst");
    let engine = setup(dir.path());
    let expected = run(&engine, QUERY).rows;

    // 1. Crash in ARCHIVE after the catalog said `archived`, before the live
    //    folder was removed: the folder is leftover and goes away at open.
    copy_dir(&live, save.path());
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    drop(engine);
    copy_dir(save.path(), &live);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(status(&engine), "archived");
    assert!(!live.exists(), "leftover live folder of an archived tenant");

    // 2. Crash in RESTORE after unpacking, before the catalog changed: still
    //    archived, the unpacked folder is dropped, RESTORE works again.
    drop(engine);
    copy_dir(save.path(), &live);
    std::fs::create_dir_all(dir.path().join("tenants/.restore-acme")).unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(status(&engine), "archived");
    assert!(!live.exists());
    assert!(!dir.path().join("tenants/.restore-acme").exists());

    // 3. Crash in RESTORE after the catalog said `inactive`, before the
    //    archive was removed: live, and the stale archive goes away.
    let archive_copy = save.path().join("acme.tar.zst");
    std::fs::copy(&packed, &archive_copy).unwrap();
    engine.execute("RESTORE TENANT acme;").unwrap();
    drop(engine);
    std::fs::copy(&archive_copy, &packed).unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(status(&engine), "inactive");
    assert!(!packed.exists(), "stale archive of a live tenant");
    assert_eq!(run(&engine, QUERY).rows, expected);

    // 4. Crash in ARCHIVE while packing: a partial temporary file, the
    //    tenant still live; the next ARCHIVE and RESTORE work.
    drop(engine);
    std::fs::write(dir.path().join("archive/acme.tar.zst.tmp"), b"partial").unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(run(&engine, QUERY).rows, expected);
    engine
        .execute("ARCHIVE TENANT acme; RESTORE TENANT acme;")
        .unwrap();
    assert_eq!(run(&engine, QUERY).rows, expected);
}

/// The value of `property` in `DESCRIBE TENANT acme`.
fn describe(engine: &Engine, property: &str) -> pql::Value {
    run(engine, "DESCRIBE TENANT acme;")
        .rows
        .into_iter()
        .find(|r| r[0] == pql::Value::Str(property.into()))
        .map(|mut r| r.remove(1))
        .unwrap_or_else(|| panic!("no {property} in DESCRIBE"))
}

/// The `status` column of acme in SHOW TENANTS.
fn shown_status(engine: &Engine) -> pql::Value {
    run(engine, "SHOW TENANTS;").rows[0][1].clone()
}

/// Issue 16 item 1: ARCHIVE then RESTORE keeps a restriction, its reason
/// and its purge date; the data comes back `inactive`, and only ALTER
/// lifts the restriction.
#[test]
fn archive_and_restore_keep_the_access_restriction() {
    for (status, refused) in [
        ("suspended", ErrorKind::TenantSuspended),
        ("read_only", ErrorKind::TenantReadOnly),
        ("pending_deletion", ErrorKind::TenantPendingDeletion),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let engine = setup(dir.path());
        let before = run(&engine, QUERY);
        engine
            .execute(&format!(
                "ALTER TENANT acme SET status = '{status}', reason = 'unpaid', \
                 retention_days = 30;"
            ))
            .unwrap();
        let purge_at = describe(&engine, "purge_at");
        assert_eq!(purge_at != pql::Value::Null, status == "pending_deletion");
        engine.execute("ARCHIVE TENANT acme;").unwrap();
        assert_eq!(shown_status(&engine), pql::Value::Str(status.into()));
        assert_eq!(
            describe(&engine, "storage"),
            pql::Value::Str("archived".into())
        );
        drop(engine);
        let engine = Engine::open(dir.path()).unwrap();
        engine.execute("RESTORE TENANT acme;").unwrap();
        assert_eq!(shown_status(&engine), pql::Value::Str(status.into()));
        assert_eq!(
            describe(&engine, "storage"),
            pql::Value::Str("inactive".into())
        );
        assert_eq!(describe(&engine, "access"), pql::Value::Str(status.into()));
        assert_eq!(
            describe(&engine, "reason"),
            pql::Value::Str("unpaid".into())
        );
        assert_eq!(describe(&engine, "purge_at"), purge_at);
        let write = "QUERY items TENANT acme CREATE NODE { id: \"x\" };";
        assert_eq!(engine.execute(write).unwrap_err().kind(), &refused);
        engine
            .execute("ALTER TENANT acme SET status = 'active';")
            .unwrap();
        assert_eq!(shown_status(&engine), pql::Value::Str("active".into()));
        assert_eq!(describe(&engine, "reason"), pql::Value::Null);
        assert_eq!(run(&engine, QUERY).rows, before.rows);
    }
}

/// A restriction can be set on an archived tenant; it stays archived, and
/// `reason` without a restriction is refused.
#[test]
fn an_archived_tenant_can_be_suspended() {
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(dir.path());
    let e = engine
        .execute("ALTER TENANT acme SET reason = 'x';")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidOption);
    engine.execute("ARCHIVE TENANT acme;").unwrap();
    engine
        .execute("ALTER TENANT acme SET status = 'suspended';")
        .unwrap();
    assert_eq!(
        describe(&engine, "storage"),
        pql::Value::Str("archived".into())
    );
    assert!(engine
        .execute("ALTER TENANT acme SET status = 'active';")
        .is_err());
    engine.execute("RESTORE TENANT acme;").unwrap();
    assert_eq!(shown_status(&engine), pql::Value::Str("suspended".into()));
}
