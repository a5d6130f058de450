//! Tier templates: CREATE/ALTER/DROP TIER and SHOW TIERS; a tenant's
//! settings resolved override > tier > default, with DESCRIBE TENANT naming
//! the source; ALTER TIER reaching loaded tenants at once; durability; the
//! refusals; IMPORT of a tenant whose tier the folder lacks.

use std::collections::BTreeMap;

use pql::{Config, Engine, ErrorKind, QueryResult, Value};

mod common;
use common::fast_tempdir;

fn run(e: &Engine, text: &str) -> QueryResult {
    match e.execute(text) {
        Ok(mut r) => r.remove(0),
        Err(err) => panic!("{text}: {err}"),
    }
}

fn refused(e: &Engine, text: &str) -> pql::Error {
    match e.execute(text) {
        Ok(r) => panic!("not refused: {text}: {r:?}"),
        Err(err) => err,
    }
}

/// DESCRIBE TENANT as property → value.
fn describe(e: &Engine, t: &str) -> BTreeMap<String, Value> {
    run(e, &format!("DESCRIBE TENANT {t}"))
        .rows
        .into_iter()
        .map(|row| {
            (
                row[0].to_string().trim_matches('"').to_string(),
                row[1].clone(),
            )
        })
        .collect()
}

/// SHOW TIERS as tier → column → value.
fn tiers(e: &Engine) -> BTreeMap<String, BTreeMap<String, Value>> {
    let r = run(e, "SHOW TIERS");
    r.rows
        .iter()
        .map(|row| {
            let fields: BTreeMap<String, Value> =
                r.columns.iter().cloned().zip(row.iter().cloned()).collect();
            (
                fields["name"].to_string().trim_matches('"').to_string(),
                fields,
            )
        })
        .collect()
}

fn text(s: &str) -> Value {
    Value::Str(s.into())
}

fn insert(e: &Engine, t: &str, id: usize) -> pql::Result<()> {
    e.execute(&format!(
        "QUERY items TENANT {t} CREATE NODE {{ id: \"n{id}\", embedding: [{id}.0, 1.0] }}"
    ))
    .map(drop)
}

#[test]
fn settings_resolve_override_then_tier_then_default() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    run(
        &e,
        "CREATE TIER gold WITH (max_vectors: 1000, max_qps: 100, max_storage_bytes: 4096, \
         retention_days: 30, default_ef: 99)",
    );
    run(
        &e,
        "CREATE TENANT a WITH (tier: 'gold', max_qps: 50, max_storage_mb: 1)",
    );
    let d = describe(&e, "a");
    assert_eq!(d["limit_vectors"], Value::Int(1000));
    assert_eq!(d["limit_vectors_source"], text("tier"));
    assert_eq!(d["limit_qps"], Value::Float(50.0));
    assert_eq!(d["limit_qps_source"], text("override"));
    // The storage options are one setting: the tenant's MB wins over the
    // tier's bytes.
    assert_eq!(d["limit_storage_bytes"], Value::Int(1024 * 1024));
    assert_eq!(d["limit_storage_bytes_source"], text("override"));
    assert_eq!(d["limit_dimension"], Value::Null);
    assert_eq!(d["limit_dimension_source"], text("default"));
    assert_eq!(d["effective_retention_days"], Value::Int(30));
    assert_eq!(d["effective_retention_days_source"], text("tier"));
    assert_eq!(d["effective_default_ef"], Value::Int(99));
    assert_eq!(d["effective_default_ef_source"], text("tier"));
    // A tenant without a tier: its own options, else nothing.
    run(&e, "CREATE TENANT b WITH (max_vectors: 7)");
    let d = describe(&e, "b");
    assert_eq!(d["limit_vectors_source"], text("override"));
    assert_eq!(d["limit_qps"], Value::Null);
    assert_eq!(d["limit_qps_source"], text("default"));
    assert_eq!(d["effective_default_ef"], Value::Null);

    let shown = tiers(&e);
    assert_eq!(
        shown.keys().collect::<Vec<_>>(),
        ["free", "gold", "pro", "unlimited"]
    );
    let gold = &shown["gold"];
    assert_eq!(gold["builtin"], Value::Bool(false));
    assert_eq!(gold["tenants"], Value::Int(1));
    assert_eq!(gold["max_vectors"], Value::Int(1000));
    assert_eq!(gold["max_storage_bytes"], Value::Int(4096));
    assert_eq!(gold["max_qps"], Value::Float(100.0));
    assert_eq!(gold["max_dimension"], Value::Null);
    assert_eq!(gold["retention_days"], Value::Int(30));
    assert_eq!(gold["default_ef"], Value::Int(99));

    // In ALTER, one storage option replaces the others: the one given is
    // the one in force, in a tier and in a tenant.
    run(&e, "ALTER TIER gold SET max_storage_mb = 2");
    assert_eq!(tiers(&e)["gold"]["max_storage_bytes"], Value::Int(2 << 20));
    run(&e, "ALTER TENANT a SET max_storage_bytes = 10");
    let d = describe(&e, "a");
    assert_eq!(d["limit_storage_bytes"], Value::Int(10));
    assert!(!d.contains_key("max_storage_mb"), "{d:?}");
    run(&e, "ALTER TENANT a SET max_storage_bytes = null");
    let d = describe(&e, "a");
    assert_eq!(d["limit_storage_bytes"], Value::Int(2 << 20));
    assert_eq!(d["limit_storage_bytes_source"], text("tier"));
}

#[test]
fn built_in_tiers_are_rows_that_may_be_altered_but_not_dropped() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    let shown = tiers(&e);
    let free = &shown["free"];
    assert_eq!(free["builtin"], Value::Bool(true));
    assert_eq!(free["max_vectors"], Value::Int(10_000));
    assert_eq!(free["max_storage_bytes"], Value::Int(100 * 1024 * 1024));
    assert_eq!(free["max_qps"], Value::Float(10.0));
    assert_eq!(free["max_batch_size"], Value::Int(100));
    assert_eq!(shown["pro"]["max_vectors"], Value::Int(1_000_000));
    assert_eq!(shown["unlimited"]["max_vectors"], Value::Null);

    // Tier names are case-insensitive, as the tier option always was.
    run(&e, "CREATE TENANT f WITH (tier: 'FREE')");
    assert_eq!(describe(&e, "f")["limit_batch_size"], Value::Int(100));
    run(&e, "ALTER TIER Free SET max_batch_size = 3");
    assert_eq!(describe(&e, "f")["limit_batch_size"], Value::Int(3));
    let err = refused(&e, "DROP TIER free");
    assert_eq!(err.kind(), &ErrorKind::Unsupported);
    assert!(err.message().contains("built in"), "{err}");
    assert!(tiers(&e).contains_key("free"));
}

#[test]
fn alter_tier_reaches_loaded_tenants_at_once_and_spares_overrides() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    run(&e, "CREATE TIER gold WITH (max_vectors: 2)");
    run(&e, "CREATE TENANT a WITH (tier: 'gold')");
    run(&e, "CREATE TENANT b WITH (tier: 'gold', max_vectors: 10)");
    run(&e, "CREATE TENANT c WITH (tier: 'pro')");
    insert(&e, "a", 0).unwrap();
    insert(&e, "a", 1).unwrap();
    let err = insert(&e, "a", 2).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 2 + 1 > 2");

    // a is loaded: the new limit applies to its next statement.
    let r = run(&e, "ALTER TIER gold SET max_vectors = 3");
    assert_eq!(
        r.message.as_deref(),
        Some("Tier gold altered (2 tenant(s) on it)")
    );
    insert(&e, "a", 2).unwrap();
    let err = insert(&e, "a", 3).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 3 + 1 > 3");
    assert_eq!(describe(&e, "b")["limit_vectors"], Value::Int(10));
    assert_eq!(describe(&e, "c")["limit_vectors"], Value::Int(1_000_000));

    // null removes a setting: the tier's from the tier, the tenant's
    // override from the tenant, which then inherits again.
    run(
        &e,
        "ALTER TIER gold SET max_vectors = null, max_batch_size = 5",
    );
    let d = describe(&e, "a");
    assert_eq!(d["limit_vectors"], Value::Null);
    assert_eq!(d["limit_vectors_source"], text("default"));
    insert(&e, "a", 3).unwrap();
    run(&e, "ALTER TENANT b SET max_vectors = null");
    let d = describe(&e, "b");
    assert_eq!(d["limit_batch_size"], Value::Int(5));
    assert_eq!(d["limit_batch_size_source"], text("tier"));
    assert_eq!(d["limit_vectors_source"], text("default"));
    assert!(
        !d.contains_key("max_vectors"),
        "the override is gone: {d:?}"
    );

    // Moving a tenant to another tier takes that tier's limits.
    run(&e, "ALTER TENANT a SET tier = 'free'");
    assert_eq!(describe(&e, "a")["limit_vectors"], Value::Int(10_000));
}

#[test]
fn drop_tier_is_refused_while_in_use_and_allowed_after() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    run(&e, "CREATE TIER gold WITH (max_qps: 5)");
    run(&e, "CREATE TENANT a WITH (tier: 'gold')");
    run(&e, "CREATE TENANT b WITH (tier: 'gold')");
    run(&e, "ARCHIVE TENANT b");
    let err = refused(&e, "DROP TIER gold");
    assert_eq!(err.kind(), &ErrorKind::TierInUse);
    assert!(
        err.message()
            .starts_with("Tier gold is in use by 2 tenant(s): a, b;"),
        "{err}"
    );
    assert!(tiers(&e).contains_key("gold"));
    run(&e, "ALTER TENANT a SET tier = 'pro'");
    run(&e, "ALTER TENANT b SET tier = null");
    run(&e, "DROP TIER gold");
    assert!(!tiers(&e).contains_key("gold"));
    let err = refused(&e, "DROP TIER gold");
    assert_eq!(err.kind(), &ErrorKind::TierNotFound);
    let r = run(&e, "DROP TIER IF EXISTS gold");
    assert_eq!(
        r.message.as_deref(),
        Some("Tier gold does not exist, skipped")
    );
    // The name may be used again.
    run(&e, "CREATE TIER gold");
    assert_eq!(tiers(&e)["gold"]["max_qps"], Value::Null);
}

#[test]
fn tiers_and_their_changes_survive_a_reopen() {
    let dir = fast_tempdir();
    let before;
    {
        let e = Engine::open(dir.path()).unwrap();
        run(&e, "CREATE TIER gold WITH (max_vectors: 2, default_ef: 40)");
        run(&e, "CREATE TIER silver WITH (max_qps: 1)");
        run(&e, "ALTER TIER gold SET max_vectors = 3");
        run(&e, "ALTER TIER pro SET max_batch_size = 7");
        run(&e, "DROP TIER silver");
        run(&e, "CREATE TENANT a WITH (tier: 'gold', max_qps: 9)");
        before = (tiers(&e), describe(&e, "a"));
    }
    let e = Engine::open(dir.path()).unwrap();
    let after = (tiers(&e), describe(&e, "a"));
    assert_eq!(before.0, after.0);
    for k in ["limit_vectors", "limit_vectors_source", "limit_qps_source"] {
        assert_eq!(before.1[k], after.1[k], "{k}");
    }
    assert_eq!(after.0["pro"]["max_batch_size"], Value::Int(7));
    assert!(!after.0.contains_key("silver"));
    for i in 0..3 {
        insert(&e, "a", i).unwrap();
    }
    assert!(insert(&e, "a", 3).is_err(), "the tier's limit after reopen");
}

#[test]
fn bad_tier_statements_are_refused_and_change_nothing() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    run(&e, "CREATE TIER gold WITH (max_vectors: 2)");
    run(&e, "CREATE TENANT a WITH (tier: 'gold')");
    let before = (tiers(&e), describe(&e, "a"));
    for (stmt, kind) in [
        ("CREATE TIER gold", ErrorKind::TierExists),
        ("CREATE TIER GOLD WITH (max_qps: 1)", ErrorKind::TierExists),
        (
            "CREATE TIER x WITH (display_name: 'x')",
            ErrorKind::InvalidOption,
        ),
        (
            "CREATE TIER x WITH (max_vectors: -1)",
            ErrorKind::InvalidOption,
        ),
        (
            "CREATE TIER x WITH (default_ef: 0)",
            ErrorKind::InvalidOption,
        ),
        (
            "CREATE TIER x WITH (tier: 'gold')",
            ErrorKind::InvalidOption,
        ),
        ("CREATE TIER \"../x\"", ErrorKind::InvalidName),
        ("ALTER TIER ghost SET max_qps = 1", ErrorKind::TierNotFound),
        (
            "ALTER TIER gold SET max_qps = 'fast'",
            ErrorKind::InvalidOption,
        ),
        ("ALTER TIER gold SET colour = 1", ErrorKind::InvalidOption),
        ("DROP TIER ghost", ErrorKind::TierNotFound),
        ("DROP TIER gold", ErrorKind::TierInUse),
        (
            "CREATE TENANT b WITH (tier: 'platinum')",
            ErrorKind::TierNotFound,
        ),
        (
            "CREATE TENANT b WITH (tier: '../x')",
            ErrorKind::InvalidName,
        ),
        (
            "ALTER TENANT a SET tier = 'platinum'",
            ErrorKind::TierNotFound,
        ),
        ("ALTER TENANT a SET tier = 5", ErrorKind::InvalidOption),
    ] {
        let err = refused(&e, stmt);
        assert_eq!(err.kind(), &kind, "{stmt}: {err}");
        assert_eq!((tiers(&e), describe(&e, "a")), before, "changed by {stmt}");
    }
    assert_eq!(e.tenant_names(), ["a"]);
    let err = refused(&e, "CREATE TENANT b WITH (tier: 'platinum')");
    assert_eq!(
        err.message(),
        "Tier not found: platinum (tiers: free, gold, pro, unlimited; CREATE TIER platinum \
         WITH (...) makes it)"
    );
    // The errors point at the tier's name, or at the tier option.
    let err = refused(&e, "SHOW TIERS;\nDROP TIER   gold");
    let p = err.position().expect("a position");
    assert_eq!((p.line, p.column), (2, 13), "{err}");
    let err = refused(&e, "CREATE TIER \"a/b\"");
    assert_eq!(err.position().map(|p| p.column), Some(13), "{err}");
    let err = refused(&e, "CREATE TENANT b\n  WITH (max_qps: 1, tier: 'platinum')");
    let p = err.position().expect("a position");
    assert_eq!((p.line, p.column), (2, 21), "{err}");
}

#[test]
fn retention_days_inherited_from_the_tier_purges() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        run(&e, "CREATE TIER brief WITH (retention_days: 0)");
        run(&e, "CREATE TENANT gone WITH (tier: 'brief')");
        run(
            &e,
            "CREATE TENANT kept WITH (tier: 'brief', retention_days: 3650)",
        );
        run(&e, "ALTER TENANT gone SET status = 'pending_deletion'");
        run(&e, "ALTER TENANT kept SET status = 'pending_deletion'");
        assert_ne!(describe(&e, "gone")["purge_at"], Value::Null);
    }
    // The purge runs when the engine opens.
    let e = Engine::open(dir.path()).unwrap();
    assert_eq!(e.tenant_names(), ["kept"]);
}

#[test]
fn default_ef_inherited_from_the_tier_sizes_the_search() {
    let dir = fast_tempdir();
    let mut config = Config::new(dir.path());
    config.flat_threshold = 0;
    let e = Engine::open_with(config).unwrap();
    run(&e, "CREATE TIER wide WITH (default_ef: 77)");
    run(&e, "CREATE TENANT a WITH (tier: 'wide')");
    for i in 0..20 {
        insert(&e, "a", i).unwrap();
    }
    let explain = |text: &str| {
        run(&e, text)
            .rows
            .iter()
            .map(|r| r[0].to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let plan = explain("EXPLAIN QUERY items TENANT a SIMILAR TO [1.0, 1.0] TOP 3");
    assert!(plan.contains("ef=77"), "{plan}");
    let plan = explain("EXPLAIN QUERY items TENANT a SIMILAR TO [1.0, 1.0] TOP 3 WITH (ef: 12)");
    assert!(plan.contains("ef=12"), "the statement's ef wins: {plan}");
    run(&e, "ALTER TIER wide SET default_ef = null");
    let plan = explain("EXPLAIN QUERY items TENANT a SIMILAR TO [1.0, 1.0] TOP 3");
    assert!(!plan.contains("ef=77"), "{plan}");
}

#[test]
fn import_needs_the_tier_of_the_tenant_to_exist() {
    let a = fast_tempdir();
    let b = fast_tempdir();
    let one = Engine::open(a.path()).unwrap();
    run(&one, "CREATE TIER gold WITH (max_vectors: 100)");
    run(&one, "CREATE TENANT acme WITH (tier: 'gold', max_qps: 5)");
    insert(&one, "acme", 0).unwrap();
    run(&one, "EXPORT TENANT acme TO 'acme.pqlt'");
    std::fs::create_dir_all(b.path().join("exports")).unwrap();
    std::fs::copy(
        a.path().join("exports/acme.pqlt"),
        b.path().join("exports/acme.pqlt"),
    )
    .unwrap();
    let two = Engine::open(b.path()).unwrap();
    let err = refused(&two, "IMPORT TENANT FROM 'acme.pqlt'");
    assert_eq!(err.kind(), &ErrorKind::TierNotFound);
    assert!(err.message().contains("Tier not found: gold"), "{err}");
    assert!(err.message().contains("WITH (tier:"), "{err}");
    let err = refused(
        &two,
        "IMPORT TENANT FROM 'acme.pqlt' WITH (tier: 'platinum')",
    );
    assert_eq!(err.kind(), &ErrorKind::TierNotFound);
    assert!(two.tenant_names().is_empty());
    // Another tier given, or the tier created first: imported.
    run(&two, "IMPORT TENANT FROM 'acme.pqlt' WITH (tier: 'pro')");
    let d = describe(&two, "acme");
    assert_eq!(d["limit_vectors"], Value::Int(1_000_000));
    assert_eq!(d["limit_qps"], Value::Float(5.0));
    run(&two, "CREATE TIER gold WITH (max_vectors: 50)");
    run(&two, "IMPORT TENANT FROM 'acme.pqlt' AS acme2");
    assert_eq!(describe(&two, "acme2")["limit_vectors"], Value::Int(50));
    assert_eq!(describe(&two, "acme2")["tier"], text("gold"));
}

/// DROP TIER, CREATE TENANT on the tier, ALTER TENANT onto it and ALTER
/// TIER racing, 40 rounds: no deadlock, never a tenant on a dropped tier,
/// and every tenant on the tier holds the tier's last limit.
#[test]
fn racing_tier_changes_keep_tenants_and_tiers_in_agreement() {
    use std::sync::{Arc, Barrier};

    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    run(&e, "CREATE TENANT mover WITH (tier: 'pro')");
    for round in 0..40 {
        run(&e, "CREATE TIER gold WITH (max_vectors: 1)");
        let barrier = Arc::new(Barrier::new(4));
        let statements = [
            "DROP TIER gold".to_string(),
            format!("CREATE TENANT new{round} WITH (tier: 'gold')"),
            "ALTER TENANT mover SET tier = 'gold'".to_string(),
            format!("ALTER TIER gold SET max_vectors = {}", round + 2),
        ];
        let threads: Vec<_> = statements
            .into_iter()
            .map(|stmt| {
                let (e, barrier) = (e.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    // Refusals are expected, depending on who wins.
                    let _ = e.execute(&stmt);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let shown = tiers(&e);
        let on_gold: Vec<String> = e
            .tenant_names()
            .into_iter()
            .filter(|t| describe(&e, t).get("tier") == Some(&text("gold")))
            .collect();
        match shown.get("gold") {
            None => assert!(
                on_gold.is_empty(),
                "round {round}: on a dropped tier: {on_gold:?}"
            ),
            Some(gold) => {
                assert_eq!(
                    gold["tenants"],
                    Value::Int(on_gold.len() as i64),
                    "round {round}"
                );
                for t in &on_gold {
                    let d = describe(&e, t);
                    assert_eq!(
                        d["limit_vectors"], gold["max_vectors"],
                        "round {round}: {t}"
                    );
                }
                for t in &on_gold {
                    run(&e, &format!("ALTER TENANT {t} SET tier = 'pro'"));
                }
                run(&e, "DROP TIER gold");
            }
        }
    }
}

/// A 3-dimensional embedder: the text's length, then two constants.
struct Length3;

impl pql::Embedder for Length3 {
    fn name(&self) -> &str {
        "length3"
    }
    fn dimension(&self) -> usize {
        3
    }
    fn embed(&self, text: &str) -> pql::Result<Vec<f32>> {
        Ok(vec![text.len() as f32, 1.0, 0.5])
    }
}

/// The dimension SHOW COLLECTIONS gives `collection` of tenant `t`.
fn dimension(e: &Engine, t: &str, collection: &str) -> Value {
    let r = run(e, &format!("SHOW COLLECTIONS TENANT {t}"));
    let name = r.columns.iter().position(|c| c == "name").unwrap();
    let dim = r.columns.iter().position(|c| c == "dimension").unwrap();
    r.rows
        .iter()
        .find(|row| row[name] == Value::Str(collection.into()))
        .map(|row| row[dim].clone())
        .unwrap()
}

#[test]
fn the_embedder_is_picked_per_tenant_inherited_from_the_tier_and_checked() {
    let dir = fast_tempdir();
    let config = Config::new(dir.path()).with_embedder(std::sync::Arc::new(Length3));
    let e = Engine::open_with(config).unwrap();
    run(&e, "CREATE TIER short WITH (embedder: 'length3')");
    run(&e, "CREATE TENANT a WITH (tier: 'short')");
    run(&e, "CREATE TENANT b");
    run(
        &e,
        "CREATE TENANT c WITH (tier: 'short', embedder: 'builtin-hash')",
    );
    for t in ["a", "b", "c"] {
        run(
            &e,
            &format!(
                "QUERY docs TENANT {t} CREATE NODE {{ id: \"x\", embedding: embed(\"hello\") }}"
            ),
        );
    }
    // The tier's embedder for a, the default for b, c's own override.
    assert_eq!(dimension(&e, "a", "docs"), Value::Int(3));
    assert_eq!(dimension(&e, "b", "docs"), Value::Int(384));
    assert_eq!(dimension(&e, "c", "docs"), Value::Int(384));
    let found = run(
        &e,
        "QUERY docs TENANT a SIMILAR TO embed(\"hello\") TOP 1 RETURN id",
    );
    assert_eq!(found.rows.len(), 1);
    let d = describe(&e, "a");
    assert_eq!(d["effective_embedder"], Value::Str("length3".into()));
    assert_eq!(d["effective_embedder_source"], Value::Str("tier".into()));
    let d = describe(&e, "b");
    assert_eq!(d["effective_embedder"], Value::Str("builtin-hash".into()));
    assert_eq!(d["effective_embedder_source"], Value::Str("default".into()));
    assert_eq!(
        describe(&e, "c")["effective_embedder_source"],
        Value::Str("override".into())
    );

    // An embedder this engine lacks is refused, and nothing changes.
    for text in [
        "CREATE TENANT d WITH (embedder: 'nope')",
        "ALTER TENANT b SET embedder = 'nope'",
        "CREATE TIER other WITH (embedder: 'nope')",
        "ALTER TIER short SET embedder = 'nope'",
    ] {
        let err = refused(&e, text);
        assert_eq!(err.kind(), &ErrorKind::InvalidOption, "{text}");
        assert!(
            err.message().contains("length3"),
            "names the known ones: {err}"
        );
    }
    assert!(!e.tenant_names().contains(&"d".to_string()));
    assert_eq!(
        describe(&e, "a")["effective_embedder"],
        Value::Str("length3".into())
    );

    // The tier drops its embedder: a's collection keeps the vectors of
    // length3, so embedding with the default into it is refused.
    run(&e, "ALTER TIER short SET embedder = null");
    let err = refused(&e, "QUERY docs TENANT a SIMILAR TO embed(\"hello\") TOP 1");
    assert_eq!(err.kind(), &ErrorKind::TypeError);
    assert!(err.message().contains("length3"), "{err}");
    drop(e);

    // A folder opened without that embedder: the tenant's use says so.
    let e = Engine::open(dir.path()).unwrap();
    run(&e, "ALTER TENANT b SET embedder = 'builtin-hash'");
    drop(e);
    let config = Config::new(dir.path()).with_embedder(std::sync::Arc::new(Length3));
    let e = Engine::open_with(config).unwrap();
    run(&e, "ALTER TIER short SET embedder = 'length3'");
    drop(e);
    let e = Engine::open(dir.path()).unwrap();
    let err = refused(&e, "QUERY docs TENANT a SIMILAR TO embed(\"hello\") TOP 1");
    assert_eq!(err.kind(), &ErrorKind::InvalidOption);
    assert!(
        err.message().contains("tenant a names embedder 'length3'"),
        "{err}"
    );
}
