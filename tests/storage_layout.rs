//! Collection files written by earlier versions still open: a data folder
//! written with layout 1 (one redb record per node and per vector, as
//! written before chunked storage) is converted when first opened and then
//! answers every query exactly as a folder built by this version from the
//! same statements, before and after further writes and a restart.
//!
//! `tests/fixtures/layout1.tar.zst` holds the folder `pql run
//! tests/fixtures/layout1.pql` wrote with the layout-1 build (catalog and
//! tenant folder, tar + zstd).

use std::path::Path;

use pql::Engine;

mod common;

/// Unpacks the layout-1 fixture into `dir`.
fn unpack_fixture(dir: &Path) {
    let packed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layout1.tar.zst"))
            .unwrap();
    let tar = zstd::decode_all(packed.as_slice()).unwrap();
    tar::Archive::new(tar.as_slice()).unpack(dir).unwrap();
}

/// Statements whose answers must agree between the two folders.
const QUERIES: &[&str] = &[
    "SHOW COLLECTIONS TENANT t",
    "QUERY docs TENANT t RETURN COUNT(*)",
    "QUERY docs TENANT t RETURN id, n, half, color, score, tags, note, meta, extra, embedding",
    "QUERY docs TENANT t WHERE color = \"black\" RETURN id",
    "QUERY docs TENANT t WHERE tags CONTAINS \"t1\" RETURN id",
    "QUERY docs TENANT t WHERE id > \"d5\" AND id < \"d53\" RETURN id",
    "QUERY docs TENANT t WHERE note IS NULL RETURN COUNT(*)",
    "QUERY docs TENANT t WHERE n < 50 AND half = 0 RETURN id, score",
    "QUERY docs TENANT t SIMILAR TO [0.1, 0.2, 0.3, 0.4] TOP 7 RETURN id, _distance",
    "QUERY docs TENANT t WHERE color = \"new\" SIMILAR TO [0, 0, 0, 0] TOP 3 RETURN id",
    "QUERY bare TENANT t RETURN id, a, b",
];

/// Writes applied to both folders after the first comparison: new nodes
/// in a fresh chunk and in existing ones, an update, replacements and
/// deletions.
const WRITES: &str = r#"
QUERY docs TENANT t CREATE NODES [
  { id: "z1", n: 1000, color: "red", embedding: [0.5, 0.5, 0.5, 0.5] },
  { id: "z2", n: 1001, embedding: [-0.5, 0.5, -0.5, 0.5] }
];
QUERY docs TENANT t WHERE n >= 300 AND n < 320 DELETE;
QUERY docs TENANT t WHERE color = "teal" UPDATE SET color = "cyan";
QUERY docs TENANT t UPSERT NODE { id: "d7", n: 7, embedding: [1, 1, 1, 1] };
QUERY bare TENANT t WHERE id = "x" DELETE;
"#;

/// Every query's rows as text, sorted (row order is not part of the answer
/// except for similarity queries, whose order is checked as given).
fn answers(engine: &Engine) -> Vec<String> {
    QUERIES
        .iter()
        .map(|q| {
            let r = engine.execute(q).unwrap_or_else(|e| panic!("{q}: {e}"));
            let mut rows: Vec<String> = r[0].rows.iter().map(|row| format!("{row:?}")).collect();
            if !q.contains("SIMILAR") {
                rows.sort();
            }
            format!("{q}\n  {}", rows.join("\n  "))
        })
        .collect()
}

fn assert_same(old: &[String], fresh: &[String], when: &str) {
    assert_eq!(old.len(), fresh.len());
    for (o, f) in old.iter().zip(fresh) {
        assert_eq!(o, f, "{when}: answers differ");
    }
}

/// Names of the tables in a collection file.
fn tables(file: &Path) -> Vec<String> {
    use redb::{ReadableDatabase, TableHandle};
    let db = redb::Database::open(file).unwrap();
    let tx = db.begin_read().unwrap();
    tx.list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect()
}

/// Names of the tables in a collection file written by redb 2 (the fixture
/// predates the move to redb 4).
fn tables_redb2(file: &Path) -> Vec<String> {
    use redb2::TableHandle;
    let db = redb2::Database::open(file).unwrap();
    let tx = db.begin_read().unwrap();
    tx.list_tables()
        .unwrap()
        .map(|t| t.name().to_string())
        .collect()
}

#[test]
fn a_layout1_folder_is_converted_and_answers_like_a_fresh_one() {
    let old_dir = common::fast_tempdir();
    let fresh_dir = common::fast_tempdir();
    unpack_fixture(old_dir.path());
    let docs = old_dir.path().join("tenants/t/docs.redb");
    assert!(
        tables_redb2(&docs).contains(&"nodes".to_string()),
        "fixture is layout 1, written by redb 2"
    );

    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layout1.pql"),
    )
    .unwrap();
    let fresh = Engine::open(fresh_dir.path()).unwrap();
    fresh.execute(&script).unwrap();
    // A collection keeps the ef_search it was created with: the fixture's
    // were created when the default was 64.
    fresh
        .execute(
            "ALTER COLLECTION docs TENANT t SET ef_search = 64; \
             ALTER COLLECTION bare TENANT t SET ef_search = 64;",
        )
        .unwrap();
    let old = Engine::open(old_dir.path()).unwrap();
    let first = answers(&old);
    assert!(first[1].contains("Int(560)"), "{}", first[1]);
    assert_same(&first, &answers(&fresh), "as opened");

    old.execute(WRITES).unwrap();
    fresh.execute(WRITES).unwrap();
    assert_same(&answers(&old), &answers(&fresh), "after writes");

    drop(old);
    drop(fresh);
    let names = tables(&docs);
    assert!(
        names.contains(&"node_chunks".to_string()) && !names.contains(&"nodes".to_string()),
        "converted: {names:?}"
    );
    let old = Engine::open(old_dir.path()).unwrap();
    let fresh = Engine::open(fresh_dir.path()).unwrap();
    assert_same(&answers(&old), &answers(&fresh), "after a restart");
}

/// Layout 1 of a tenant record (before the status had two parts), as
/// postcard encodes it: the fields in order, the status as its variant.
#[derive(serde::Serialize)]
struct TenantRecordV1 {
    name: String,
    status: u32,
    options: std::collections::BTreeMap<String, pql::Value>,
    created_at_ms: i64,
    updated_at_ms: i64,
    archive_crc: Option<u32>,
    pending_since_ms: Option<i64>,
    last_accessed_ms: Option<i64>,
}

/// DESCRIBE TENANT `tenant`: a property's value by its name.
fn described(engine: &Engine, tenant: &str) -> impl Fn(&str) -> pql::Value {
    let rows = engine
        .execute(&format!("DESCRIBE TENANT {tenant}"))
        .unwrap()
        .remove(0)
        .rows;
    move |k: &str| {
        rows.iter()
            .find(|r| r[0] == pql::Value::Str(k.into()))
            .map(|r| r[1].clone())
            .unwrap_or_else(|| panic!("no {k} in DESCRIBE TENANT"))
    }
}

/// Writes a catalog of layout-1 `records` into the data folder `dir`.
fn write_layout1(dir: &Path, records: impl IntoIterator<Item = TenantRecordV1>) {
    std::fs::create_dir_all(dir.join("tenants")).unwrap();
    let db = redb::Database::create(dir.join("catalog.redb")).unwrap();
    let tx = db.begin_write().unwrap();
    {
        let mut table = tx
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("tenants"))
            .unwrap();
        for record in records {
            let bytes = postcard::to_stdvec(&record).unwrap();
            table
                .insert(record.name.as_str(), bytes.as_slice())
                .unwrap();
        }
    }
    tx.commit().unwrap();
}

/// A catalog from before tiers were templates gets the built-in tiers, and
/// a tenant stored with a tier the catalog lacks still opens and works:
/// its own options apply, the rest has no limit (as before), and only a
/// change of its tier must name one that exists.
#[test]
fn an_old_catalog_gets_the_built_in_tiers_and_keeps_an_unknown_tier() {
    let dir = tempfile::tempdir().unwrap();
    let options = [
        ("tier".to_string(), pql::Value::Str("platinum".into())),
        ("max_vectors".to_string(), pql::Value::Int(5)),
    ];
    write_layout1(
        dir.path(),
        [TenantRecordV1 {
            name: "old".into(),
            status: 0,
            options: options.into_iter().collect(),
            created_at_ms: 1_700_000_000_000,
            updated_at_ms: 1_700_000_000_000,
            archive_crc: None,
            pending_since_ms: None,
            last_accessed_ms: None,
        }],
    );
    for _ in 0..2 {
        let engine = Engine::open(dir.path()).unwrap();
        let tiers = engine.execute("SHOW TIERS").unwrap().remove(0);
        let names: Vec<String> = tiers.rows.iter().map(|r| r[0].to_string()).collect();
        assert_eq!(names, ["\"free\"", "\"pro\"", "\"unlimited\""]);
        let get = described(&engine, "old");
        assert_eq!(get("tier"), pql::Value::Str("platinum".into()));
        assert_eq!(get("limit_vectors"), pql::Value::Int(5));
        assert_eq!(get("limit_qps"), pql::Value::Null);
        assert_eq!(get("limit_qps_source"), pql::Value::Str("default".into()));
        engine
            .execute("QUERY c TENANT old CREATE NODE { id: \"a\" }")
            .unwrap();
        engine
            .execute("ALTER TENANT old SET max_vectors = 5, display_name = 'Old'")
            .unwrap();
        let e = engine
            .execute("ALTER TENANT old SET tier = 'gold'")
            .unwrap_err();
        assert_eq!(e.kind(), &pql::ErrorKind::TierNotFound);
        engine
            .execute("QUERY c TENANT old WHERE id = \"a\" DELETE")
            .unwrap();
    }
    // Once the tier exists, the tenant inherits from it at once.
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .execute("CREATE TIER platinum WITH (max_vectors: 1, max_batch_size: 3)")
        .unwrap();
    let get = described(&engine, "old");
    assert_eq!(get("limit_vectors"), pql::Value::Int(5));
    assert_eq!(get("limit_batch_size"), pql::Value::Int(3));
    assert_eq!(
        get("limit_batch_size_source"),
        pql::Value::Str("tier".into())
    );
    let e = engine
        .execute("QUERY c TENANT old CREATE NODES [{ id: \"a\" }, { id: \"b\" }, { id: \"c\" }, { id: \"d\" }]")
        .unwrap_err();
    assert!(
        matches!(e.kind(), pql::ErrorKind::QuotaExceeded { .. }),
        "{e}"
    );
}

/// A catalog whose records are of layout 1 opens with the same statuses,
/// the restriction apart from where the data is, and a pending deletion's
/// purge date kept; the conversion survives a restart.
#[test]
fn a_layout1_catalog_opens_with_the_same_statuses() {
    let dir = common::fast_tempdir();
    // Layout 1's status variants: active, inactive, archived, suspended,
    // read_only, pending_deletion.
    let tenants = [
        ("t0", 0, "active", "active", "normal"),
        ("t1", 1, "inactive", "inactive", "normal"),
        ("t2", 2, "archived", "archived", "normal"),
        ("t3", 3, "suspended", "inactive", "suspended"),
        ("t4", 4, "read_only", "inactive", "read_only"),
        ("t5", 5, "pending_deletion", "inactive", "pending_deletion"),
    ];
    write_layout1(
        dir.path(),
        tenants.iter().map(|&(name, status, ..)| {
            let options = [("retention_days".to_string(), pql::Value::Int(3650))];
            TenantRecordV1 {
                name: name.into(),
                status,
                options: options.into_iter().collect(),
                created_at_ms: 1_700_000_000_000,
                updated_at_ms: 1_700_000_000_000,
                archive_crc: (status == 2).then_some(7),
                pending_since_ms: (status == 5).then_some(1_700_000_000_000),
                last_accessed_ms: None,
            }
        }),
    );
    for _ in 0..2 {
        let engine = Engine::open(dir.path()).unwrap();
        for (name, _, shown, storage, access) in tenants {
            assert_eq!(engine.tenant_status(name).unwrap(), shown, "{name}");
            let get = described(&engine, name);
            assert_eq!(get("storage"), pql::Value::Str(storage.into()), "{name}");
            assert_eq!(get("access"), pql::Value::Str(access.into()), "{name}");
            let purge = get("purge_at");
            assert_eq!(purge != pql::Value::Null, name == "t5", "{name}");
        }
        assert_eq!(
            engine
                .execute("QUERY c TENANT t3 RETURN COUNT(*)")
                .unwrap_err()
                .kind(),
            &pql::ErrorKind::TenantSuspended
        );
    }
}
