//! EXPORT TENANT / IMPORT TENANT through the public API: a round trip into
//! a fresh data folder answers identically; archived and inactive tenants
//! export; existing names need REPLACE; damaged and hostile files are
//! refused without changing anything; paths are confined; the committed
//! fixture written by format 1 keeps importing.

use std::fs;
use std::path::Path;

use pql::{Config, Engine, ErrorKind, QueryResult, Value};

mod common;

const QUERIES: [&str; 3] = [
    "QUERY items TENANT acme WHERE kind != \"k1\" SIMILAR TO [0.5, 0.5, 0.1] TOP 7;",
    "QUERY items TENANT acme SIMILAR TO [0.1, -0.3, 0.9] TOP 20;",
    "QUERY items TENANT acme WHERE kind = \"k2\" RETURN COUNT(*);",
];

fn setup(dir: &Path) -> Engine {
    let engine = Engine::open(dir).unwrap();
    engine
        .execute("CREATE TENANT acme WITH (tier: 'pro', max_qps: 50, display_name: 'Acme');")
        .unwrap();
    engine.execute(&common::acme_items(0..300)).unwrap();
    engine
        .execute("QUERY notes TENANT acme CREATE NODE { id: \"x\", text: \"hello\", embedding: [1, 0] };")
        .unwrap();
    engine
}

fn run(engine: &Engine, text: &str) -> QueryResult {
    engine.execute(text).unwrap().remove(0)
}

/// What a query answered: its columns and rows (not its timing).
type Answer = (Vec<String>, Vec<Vec<Value>>);

fn answer(engine: &Engine, text: &str) -> Answer {
    let r = run(engine, text);
    (r.columns, r.rows)
}

fn answers(engine: &Engine) -> Vec<Answer> {
    QUERIES.iter().map(|q| answer(engine, q)).collect()
}

fn status(engine: &Engine, tenant: &str) -> String {
    let r = run(engine, &format!("SHOW TENANTS WHERE name = '{tenant}';"));
    match &r.column_values("status")[0] {
        Value::Str(s) => s.clone(),
        other => panic!("status {other:?}"),
    }
}

fn tenant_names(engine: &Engine) -> Vec<Value> {
    run(engine, "SHOW TENANTS;")
        .column_values("name")
        .into_iter()
        .cloned()
        .collect()
}

/// The metered counts of a usage report: every column but the storage
/// gauge and the cost.
fn counts(r: &QueryResult) -> Vec<Vec<Value>> {
    let keep: Vec<usize> = (0..r.columns.len())
        .filter(|&i| !r.columns[i].contains("storage") && !r.columns[i].contains("cost"))
        .collect();
    r.rows
        .iter()
        .map(|row| keep.iter().map(|&i| row[i].clone()).collect())
        .collect()
}

/// Copies an export of `from`'s data folder into `to`'s `exports/`.
fn carry(from: &Path, to: &Path, file: &str) {
    fs::create_dir_all(to.join("exports")).unwrap();
    fs::copy(
        from.join("exports").join(file),
        to.join("exports").join(file),
    )
    .unwrap();
}

#[test]
fn export_then_import_into_a_fresh_folder_answers_identically() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let one = setup(a.path());
    let key = run(&one, "CREATE API KEY FOR TENANT acme;");
    let key = match &key.rows[0][key.column("key").unwrap()] {
        Value::Str(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    let before = answers(&one);
    let collections_before = run(&one, "SHOW COLLECTIONS TENANT acme;");
    one.execute("ALTER TENANT acme SET status = 'read_only', reason = 'migrating';")
        .unwrap();
    one.execute("EXPORT TENANT acme TO 'acme.pqlt' WITH (usage: true, keys: true);")
        .unwrap();
    assert!(a.path().join("exports/acme.pqlt").is_file());
    assert!(!a.path().join("exports/acme.pqlt.tmp").exists());
    // The export flushed the usage counts still in memory.
    let usage_before = run(&one, "SHOW USAGE FOR TENANT acme;");

    carry(a.path(), b.path(), "acme.pqlt");
    let two = Engine::open(b.path()).unwrap();
    let r = run(&two, "IMPORT TENANT FROM 'acme.pqlt';");
    assert!(
        r.message.as_deref().unwrap_or("").contains("imported"),
        "{r:?}"
    );
    assert_eq!(status(&two, "acme"), "read_only");
    // The metered counts came along (the storage gauge and the cost
    // derived from it are measured again on the new disk).
    assert_eq!(
        counts(&run(&two, "SHOW USAGE FOR TENANT acme;")),
        counts(&usage_before)
    );
    // Reads go on in read_only; the answers are the same, distances too.
    assert_eq!(answers(&two), before);
    assert_eq!(
        run(&two, "SHOW COLLECTIONS TENANT acme;").rows,
        collections_before.rows
    );
    let scope = two.key_scope(&key).unwrap();
    assert!(format!("{scope:?}").contains("acme"), "{scope:?}");
    let described = run(&two, "DESCRIBE TENANT acme;");
    let text = format!("{:?}", described.rows);
    assert!(text.contains("Acme") && text.contains("pro"), "{text}");

    // Survives a restart.
    drop(two);
    let two = Engine::open(b.path()).unwrap();
    assert_eq!(answers(&two), before);

    // Without usage and keys: neither reaches the copy.
    one.execute("EXPORT TENANT acme TO 'bare.pqlt';").unwrap();
    carry(a.path(), b.path(), "bare.pqlt");
    two.execute(
        "IMPORT TENANT FROM 'bare.pqlt' AS staging WITH (status: 'inactive', tier: 'free');",
    )
    .unwrap();
    assert_eq!(status(&two, "staging"), "inactive");
    let described = format!("{:?}", run(&two, "DESCRIBE TENANT staging;").rows);
    assert!(described.contains("free"), "{described}");
    let u = run(&two, "SHOW USAGE FOR TENANT staging;");
    assert!(
        u.rows
            .iter()
            .all(|row| !format!("{row:?}").contains("Int(3")),
        "{u:?}"
    );
    let q = QUERIES[1].replace("acme", "staging");
    assert_eq!(answer(&two, &q), before[1]);
}

#[test]
fn archived_and_inactive_tenants_export_without_changing_state() {
    let a = tempfile::tempdir().unwrap();
    let one = setup(a.path());
    let before = answers(&one);
    one.execute("ARCHIVE TENANT acme;").unwrap();
    one.execute("EXPORT TENANT acme TO 'archived.pqlt';")
        .unwrap();
    assert_eq!(status(&one, "acme"), "archived");
    assert!(!a.path().join("tenants/.export-acme").exists());
    one.execute("IMPORT TENANT FROM 'archived.pqlt' AS copy;")
        .unwrap();
    let copy: Vec<Answer> = QUERIES
        .iter()
        .map(|q| answer(&one, &q.replace("acme", "copy")))
        .collect();
    assert_eq!(copy, before);

    // Inactive (after a restart, nothing loaded).
    one.execute("RESTORE TENANT acme;").unwrap();
    drop(one);
    let one = Engine::open(a.path()).unwrap();
    one.execute("EXPORT TENANT acme TO 'inactive.pqlt';")
        .unwrap();
    assert_eq!(status(&one, "acme"), "inactive");
    one.execute("IMPORT TENANT FROM 'inactive.pqlt' AS copy2;")
        .unwrap();
    assert_eq!(
        answer(&one, &QUERIES[0].replace("acme", "copy2")),
        before[0]
    );
}

#[test]
fn an_existing_name_needs_replace_and_replace_swaps_the_data() {
    let a = tempfile::tempdir().unwrap();
    let one = setup(a.path());
    let before = answers(&one);
    one.execute("EXPORT TENANT acme TO 'acme.pqlt';").unwrap();
    one.execute("QUERY items TENANT acme WHERE kind = \"k0\" DELETE;")
        .unwrap();
    let changed = answers(&one);
    assert_ne!(changed, before);

    let e = one.execute("IMPORT TENANT FROM 'acme.pqlt';").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TenantExists);
    let e = one
        .execute("IMPORT TENANT FROM 'acme.pqlt' AS ACME;")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TenantExists);
    assert_eq!(answers(&one), changed);

    one.execute("IMPORT TENANT FROM 'acme.pqlt' AS acme REPLACE;")
        .unwrap();
    assert_eq!(answers(&one), before);
    drop(one);
    let one = Engine::open(a.path()).unwrap();
    assert_eq!(answers(&one), before);
    let leftovers: Vec<_> = fs::read_dir(a.path().join("tenants"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A format-1 file built by hand: header, then `(kind, name, data)`
/// sections, then the end frame.
fn craft(sections: &[(u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = b"PQLT\0\r\n\x1a".to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&5u16.to_le_bytes());
    out.extend_from_slice(b"0.0.0");
    for (kind, name, data) in sections {
        let mut frame = vec![*kind];
        frame.extend_from_slice(&(name.len() as u16).to_le_bytes());
        frame.extend_from_slice(name.as_bytes());
        frame.extend_from_slice(&(data.len() as u64).to_le_bytes());
        frame.extend_from_slice(data);
        let crc = crc32fast::hash(&frame);
        out.extend_from_slice(&frame);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    let whole = crc32fast::hash(&out);
    let mut end = vec![0xFF, 0, 0];
    end.extend_from_slice(&12u64.to_le_bytes());
    end.extend_from_slice(&(sections.len() as u64).to_le_bytes());
    end.extend_from_slice(&whole.to_le_bytes());
    let crc = crc32fast::hash(&end);
    out.extend_from_slice(&end);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn record_json(name: &str) -> Vec<u8> {
    format!(
        "{{\"name\":{name:?},\"storage\":\"Active\",\"access\":\"Normal\",\"reason\":null,\
         \"options\":{{}},\"created_at_ms\":1,\"updated_at_ms\":1,\"pending_since_ms\":null}}"
    )
    .into_bytes()
}

#[test]
fn damaged_and_hostile_files_are_refused_and_change_nothing() {
    let a = tempfile::tempdir().unwrap();
    let one = setup(a.path());
    one.execute("EXPORT TENANT acme TO 'good.pqlt';").unwrap();
    let good = fs::read(a.path().join("exports/good.pqlt")).unwrap();
    let exports = a.path().join("exports");
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    cases.push(("truncated", good[..good.len() / 2].to_vec()));
    cases.push(("no end frame", good[..good.len() - 10].to_vec()));
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    cases.push(("flipped byte", flipped));
    let mut magic = good.clone();
    magic[0] = b'X';
    cases.push(("bad magic", magic));
    let mut version = good.clone();
    version[8] = 99;
    cases.push(("future version", version));
    let rec = record_json("hostile");
    cases.push((
        "dotdot file",
        craft(&[(1, "tenant", &rec), (2, "../../evil.redb", b"x")]),
    ));
    cases.push((
        "absolute file",
        craft(&[(1, "tenant", &rec), (2, "/tmp/evil.redb", b"x")]),
    ));
    cases.push((
        "temp file",
        craft(&[(1, "tenant", &rec), (2, "items.redb.tmp", b"x")]),
    ));
    cases.push((
        "twice",
        craft(&[
            (1, "tenant", &rec),
            (2, "a.graph", b"x"),
            (2, "a.graph", b"y"),
        ]),
    ));
    cases.push((
        "not a redb",
        craft(&[(1, "tenant", &rec), (2, "items.redb", b"garbage")]),
    ));
    let bad_name = record_json("../etc");
    cases.push(("bad tenant name", craft(&[(1, "tenant", &bad_name)])));
    cases.push(("no record", craft(&[(2, "items.redb", b"x")])));
    let bad_opts = b"{\"name\":\"h\",\"storage\":\"Active\",\"access\":\"Normal\",\"reason\":null,\
\"options\":{\"max_vectors\":{\"Str\":\"lots\"}},\"created_at_ms\":1,\"updated_at_ms\":1,\
\"pending_since_ms\":null}";
    cases.push(("bad options", craft(&[(1, "tenant", bad_opts)])));
    // A section claiming an absurd length: refused before any allocation.
    let mut absurd = craft(&[(1, "tenant", &rec)]);
    let len_at = 8 + 2 + 2 + 5 + 1 + 2 + "tenant".len();
    absurd[len_at..len_at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("absurd length", absurd));
    let mut absurd_small = craft(&[(1, "tenant", &rec)]);
    absurd_small[len_at..len_at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    cases.push(("absurd record", absurd_small));

    let tenants_before = tenant_names(&one);
    let answers_before = answers(&one);
    for (what, bytes) in cases {
        fs::write(exports.join("bad.pqlt"), &bytes).unwrap();
        for stmt in [
            "IMPORT TENANT FROM 'bad.pqlt';",
            "IMPORT TENANT FROM 'bad.pqlt' AS acme REPLACE;",
            "IMPORT TENANT FROM 'bad.pqlt' AS other;",
        ] {
            let Err(e) = one.execute(stmt) else {
                panic!("{what}: {stmt} was accepted");
            };
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Corrupt | ErrorKind::InvalidName | ErrorKind::Io
                ),
                "{what}: {stmt}: {e}"
            );
        }
        assert_eq!(tenant_names(&one), tenants_before, "{what}");
        assert_eq!(answers(&one), answers_before, "{what}");
        assert!(!a.path().join("evil.redb").exists());
        assert!(!Path::new("/tmp/evil.redb").exists());
        let staged = fs::read_dir(a.path().join("tenants"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(staged, 0, "{what}");
    }
}

#[test]
fn quotas_and_options_are_checked_before_anything_changes() {
    let a = tempfile::tempdir().unwrap();
    let one = setup(a.path());
    one.execute("EXPORT TENANT acme TO 'acme.pqlt';").unwrap();
    let e = one
        .execute("IMPORT TENANT FROM 'acme.pqlt' AS small WITH (max_vectors: 10);")
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::QuotaExceeded { .. }), "{e}");
    let e = one
        .execute("IMPORT TENANT FROM 'acme.pqlt' AS small WITH (colour: 'red');")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidOption);
    let e = one
        .execute("IMPORT TENANT FROM 'acme.pqlt' AS small WITH (status: 'archived');")
        .unwrap_err();
    assert!(e.message().contains("status"), "{e}");
    let e = one
        .execute("EXPORT TENANT acme TO 'x.pqlt' WITH (usage: 'yes');")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TypeError);
    assert_eq!(tenant_names(&one), vec![Value::Str("acme".into())]);
}

#[test]
fn paths_are_confined_to_the_export_folders() {
    let a = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let allowed = tempfile::tempdir().unwrap();
    let one = Engine::open_with(Config::new(a.path()).with_export_dir(allowed.path())).unwrap();
    one.execute("CREATE TENANT acme;").unwrap();
    one.execute(&common::acme_items(0..20)).unwrap();
    let out = outside.path().join("t.pqlt");
    fs::create_dir_all(a.path().join("exports")).unwrap();
    std::os::unix::fs::symlink(outside.path(), a.path().join("exports/link")).unwrap();
    for bad in [
        "../t.pqlt".to_string(),
        "sub/../../t.pqlt".to_string(),
        out.display().to_string(),
        "/etc/passwd".to_string(),
        "link/t.pqlt".to_string(),
        String::new(),
    ] {
        let e = one
            .execute(&format!("EXPORT TENANT acme TO '{bad}';"))
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{bad}: {e}");
        let e = one
            .execute(&format!("IMPORT TENANT FROM '{bad}' AS b;"))
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidOption | ErrorKind::Io),
            "{bad}: {e}"
        );
    }
    assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
    let ok = allowed.path().join("t.pqlt");
    one.execute(&format!("EXPORT TENANT acme TO '{}';", ok.display()))
        .unwrap();
    one.execute(&format!("IMPORT TENANT FROM '{}' AS b;", ok.display()))
        .unwrap();
    // A symlink as the file itself is refused too.
    std::os::unix::fs::symlink(&ok, a.path().join("exports/alias.pqlt")).unwrap();
    let e = one
        .execute("IMPORT TENANT FROM 'alias.pqlt' AS c;")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidOption);
}

/// `tests/fixtures/tenant_v1.pqlt` was written by format 1 (see
/// `tests/fixtures/tenant_v1.pql` for the statements that built it); every
/// later build must import it and answer as recorded here.
#[test]
fn the_format_1_fixture_keeps_importing() {
    let a = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let engine = Engine::open_with(Config::new(a.path()).with_export_dir(&fixture)).unwrap();
    let path = fixture.join("tenant_v1.pqlt");
    engine
        .execute(&format!("IMPORT TENANT FROM '{}';", path.display()))
        .unwrap();
    let r = run(
        &engine,
        "QUERY docs TENANT fixture SIMILAR TO [1, 0, 0] TOP 3;",
    );
    assert_eq!(common::ids(&r), vec!["a", "b", "c"]);
    let titles: Vec<&Value> = r.column_values("title");
    assert_eq!(titles[0], &Value::Str("first".into()));
    let count = run(&engine, "QUERY docs TENANT fixture RETURN COUNT(*);");
    assert_eq!(count.rows[0][0], Value::Int(4));
    assert_eq!(status(&engine, "fixture"), "read_only");
}

/// Object stores to test with: a fresh folder, and a fresh prefix of the
/// S3 bucket when the server runs (`tests/common/s3.rs`).
fn stores(keep: &mut Vec<tempfile::TempDir>) -> Vec<String> {
    let folder = tempfile::tempdir().unwrap();
    let mut urls = vec![format!("file://{}", folder.path().display())];
    keep.push(folder);
    if common::s3::server().is_some() {
        let prefix = common::s3::unique_prefix("export");
        urls.push(format!("s3://{}/{prefix}", common::s3::bucket()));
    }
    urls
}

#[test]
fn an_offloaded_tenant_exports_from_the_object_store_and_stays_offloaded() {
    let mut keep = Vec::new();
    for store in stores(&mut keep) {
        let a = tempfile::tempdir().unwrap();
        let config = Config::new(a.path()).with_object_store(&store).unwrap();
        let one = Engine::open_with(config).unwrap();
        one.execute("CREATE TENANT acme;").unwrap();
        one.execute(&common::acme_items(0..300)).unwrap();
        let before = answers(&one);
        one.execute("OFFLOAD TENANT acme;").unwrap();
        one.execute("EXPORT TENANT acme TO 'off.pqlt';").unwrap();
        assert_eq!(status(&one, "acme"), "offloaded", "{store}");
        assert!(!a.path().join("tenants/acme").exists(), "{store}");
        assert!(!a.path().join("tenants/.export-acme").exists(), "{store}");
        let b = tempfile::tempdir().unwrap();
        carry(a.path(), b.path(), "off.pqlt");
        let two = Engine::open(b.path()).unwrap();
        two.execute("IMPORT TENANT FROM 'off.pqlt';").unwrap();
        assert_eq!(answers(&two), before, "{store}");
    }
}

#[test]
fn open_removes_the_temporaries_a_crashed_export_left() {
    let dir = tempfile::tempdir().unwrap();
    let engine = setup(dir.path());
    run(&engine, "EXPORT TENANT acme TO 'acme.pqlt';");
    drop(engine);
    let exports = dir.path().join("exports");
    let archive = dir.path().join("archive");
    fs::create_dir_all(&archive).unwrap();
    // What a SIGKILL during EXPORT, an upload to `POST /v1/imports`, a
    // streamed HTTP export, or the EXPORT of a tenant archived in a bucket
    // leaves behind.
    let crashed = [
        exports.join("again.pqlt.tmp"),
        exports.join(".http-import-77-0.tmp"),
        exports.join(".http-export-77-1.tmp"),
        archive.join("acme.export.tar.zst.tmp"),
    ];
    for p in &crashed {
        fs::write(p, b"half").unwrap();
    }
    // The user's own files stay, whatever they are called.
    fs::write(exports.join("notes.tmp-keep.txt"), b"mine").unwrap();
    let kept = fs::read(exports.join("acme.pqlt")).unwrap();

    let engine = Engine::open(dir.path()).unwrap();
    for p in &crashed {
        assert!(!p.exists(), "{} left", p.display());
    }
    assert_eq!(fs::read(exports.join("acme.pqlt")).unwrap(), kept);
    assert_eq!(
        fs::read(exports.join("notes.tmp-keep.txt")).unwrap(),
        b"mine"
    );
    run(&engine, "IMPORT TENANT FROM 'acme.pqlt' AS copy;");
    let r = run(&engine, "QUERY items TENANT copy RETURN COUNT(*);");
    assert_eq!(r.rows[0][0], Value::Int(300));
}
