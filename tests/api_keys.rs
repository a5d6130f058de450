//! Tenant API keys in the engine: `CREATE API KEY`, `SHOW API KEYS`,
//! `DROP API KEY`, and `Engine::key_scope`.

use pql::{Config, Engine, ErrorKind, KeyScope, Value};

fn engine(dir: &std::path::Path, admin: Option<&str>) -> Engine {
    let mut config = Config::new(dir);
    config.admin_key = admin.map(str::to_string);
    Engine::open_with(config).unwrap()
}

/// Creates a key for `tenant`; returns (id, key).
fn create_key(e: &Engine, tenant: &str) -> (String, String) {
    let r = e
        .execute(&format!("CREATE API KEY FOR TENANT {tenant};"))
        .unwrap()
        .remove(0);
    let get = |c: &str| match &r.rows[0][r.column(c).unwrap()] {
        Value::Str(s) => s.clone(),
        other => panic!("{c}: {other:?}"),
    };
    (get("id"), get("key"))
}

#[test]
fn keys_resolve_to_their_tenant_and_stop_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), Some("admin-key-0123456789"));
    e.execute("CREATE TENANT acme; CREATE TENANT globex;")
        .unwrap();
    let (id, key) = create_key(&e, "acme");
    assert!(key.starts_with("pql_") && key.len() == 68, "{key}");
    assert_eq!(
        e.key_scope(&key).unwrap(),
        Some(KeyScope::Tenant("acme".into()))
    );
    assert_eq!(
        e.key_scope("admin-key-0123456789").unwrap(),
        Some(KeyScope::Admin)
    );
    assert_eq!(e.key_scope("pql_nope").unwrap(), None);
    assert_eq!(e.key_scope(&key[..key.len() - 1]).unwrap(), None);

    let shown = e
        .execute("SHOW API KEYS FOR TENANT acme;")
        .unwrap()
        .remove(0);
    assert_eq!(shown.columns, ["id", "tenant", "created_at"]);
    assert_eq!(shown.rows.len(), 1);
    assert_eq!(shown.rows[0][0], Value::Str(id.clone()));
    assert!(e.execute("SHOW API KEYS FOR TENANT globex;").unwrap()[0]
        .rows
        .is_empty());
    assert_eq!(e.execute("SHOW API KEYS;").unwrap()[0].rows.len(), 1);

    // Another tenant's name does not revoke it.
    let err = e
        .execute(&format!("DROP API KEY '{id}' FOR TENANT globex;"))
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyNotFound);
    assert!(e.key_scope(&key).unwrap().is_some());

    e.execute(&format!("DROP API KEY '{id}' FOR TENANT acme;"))
        .unwrap();
    assert_eq!(e.key_scope(&key).unwrap(), None, "revoked key refused");
    let err = e
        .execute(&format!("DROP API KEY '{id}' FOR TENANT acme;"))
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::KeyNotFound);
}

#[test]
fn keys_are_never_stored_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let key = {
        let e = engine(dir.path(), None);
        e.execute("CREATE TENANT acme;").unwrap();
        create_key(&e, "acme").1
    };
    let mut found = Vec::new();
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        let secret = &key.as_bytes()[4..];
        if bytes.windows(secret.len()).any(|w| w == secret) {
            found.push(entry);
        }
    }
    assert!(found.is_empty(), "key in clear in {found:?}");
    // And it still works after a reopen: the hash is what is stored.
    let e = engine(dir.path(), None);
    assert_eq!(
        e.key_scope(&key).unwrap(),
        Some(KeyScope::Tenant("acme".into()))
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn dropping_a_tenant_removes_its_keys_and_a_new_tenant_of_that_name_is_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), None);
    e.execute("CREATE TENANT acme;").unwrap();
    let (_, key) = create_key(&e, "acme");
    e.execute("DROP TENANT acme;").unwrap();
    assert_eq!(e.key_scope(&key).unwrap(), None);
    assert!(e.execute("SHOW API KEYS;").unwrap()[0].rows.is_empty());
    e.execute("CREATE TENANT acme;").unwrap();
    assert_eq!(e.key_scope(&key).unwrap(), None);
}

#[test]
fn key_statements_need_an_existing_tenant_and_the_admin_access() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), None);
    let err = e.execute("CREATE API KEY FOR TENANT ghost;").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::TenantNotFound);
    let err = e.execute("CREATE API KEY FOR TENANT '../x';").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidName);
    let session = e.session();
    for text in [
        "CREATE API KEY FOR TENANT acme",
        "SHOW API KEYS",
        "SHOW API KEYS FOR TENANT acme",
        "DROP API KEY 'abc' FOR TENANT acme",
    ] {
        let script = pql::parse(text).unwrap();
        let plan = session.plan(&script.statements[0].statement).unwrap();
        assert_eq!(plan.access(), pql::Access::Admin, "{text}");
        // Printed and parsed again, the statement is the same.
        let printed = script.statements[0].statement.to_string();
        let again = pql::parse(&printed).unwrap();
        assert_eq!(
            again.statements[0].statement,
            script.statements[0].statement
        );
    }
}

#[test]
fn upsert_nodes_is_one_atomic_batch() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), None);
    e.execute(
        "CREATE TENANT t; CREATE COLLECTION c TENANT t WITH (dimension: 2);
         QUERY c TENANT t CREATE NODE { id: 'a', embedding: [1, 0], n: 1 };",
    )
    .unwrap();
    e.execute("QUERY c TENANT t UPSERT NODES [{ id: 'a', embedding: [0, 1], n: 2 }, { id: 'b', embedding: [1, 1], n: 3 }];")
        .unwrap();
    let r = e
        .execute("QUERY c TENANT t RETURN id, n;")
        .unwrap()
        .remove(0);
    assert_eq!(r.rows.len(), 2);
    // A bad vector anywhere in the batch changes nothing.
    let err = e
        .execute("QUERY c TENANT t UPSERT NODES [{ id: 'c', embedding: [1, 1], n: 4 }, { id: 'd', embedding: [1], n: 5 }];")
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DimensionMismatch);
    let r = e
        .execute("QUERY c TENANT t RETURN COUNT(*);")
        .unwrap()
        .remove(0);
    assert_eq!(r.rows[0][0], Value::Int(2));
}

#[test]
fn parse_filter_reads_a_filter_on_its_own() {
    let f = pql::parse_filter("category = 'tools' AND price < 10").unwrap();
    assert!(matches!(f, pql::ast::Expr::And(..)), "{f:?}");
    assert_eq!(pql::parse_filter(&f.to_string()).unwrap(), f);
    let err = pql::parse_filter("category = ").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ParseError);
    let err = pql::parse_filter("a = 1; DROP TENANT x").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ParseError);
}

#[test]
fn verified_keys_are_answered_from_memory_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), Some("admin-key-0123456789"));
    e.execute("CREATE TENANT acme;").unwrap();
    let acme = Some(KeyScope::Tenant("acme".into()));
    assert_eq!(
        e.cached_key_scope("admin-key-0123456789"),
        Some(KeyScope::Admin)
    );
    let (id, key) = create_key(&e, "acme");
    assert_eq!(e.cached_key_scope(&key), None, "not verified yet");
    assert_eq!(e.key_scope(&key).unwrap(), acme);
    assert_eq!(e.cached_key_scope(&key), acme, "verified once");
    assert_eq!(e.cached_key_scope("pql_nope"), None);

    e.execute(&format!("DROP API KEY '{id}' FOR TENANT acme;"))
        .unwrap();
    assert_eq!(e.cached_key_scope(&key), None, "revoked");
    assert_eq!(e.key_scope(&key).unwrap(), None);

    let (_, other) = create_key(&e, "acme");
    assert_eq!(e.key_scope(&other).unwrap(), acme);
    e.execute("DROP TENANT acme; CREATE TENANT acme;").unwrap();
    assert_eq!(e.cached_key_scope(&other), None, "its tenant was dropped");
    assert_eq!(e.key_scope(&other).unwrap(), None);
}
