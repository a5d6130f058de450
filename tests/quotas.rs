//! Tenant quotas through the public API: each limit at its boundary (n
//! allowed, n+1 refused with the numbers of the message), tiers and
//! overrides, ALTER of limits, rate-limit recovery, and concurrent writers
//! that never end above `max_vectors`.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use pql::{Engine, ErrorKind, Value};

mod common;
use common::fast_tempdir;

fn nodes(from: usize, n: usize) -> String {
    let items: Vec<String> = (from..from + n)
        .map(|i| format!("{{ id: \"n{i}\", embedding: [{}, 1.0] }}", i + 1))
        .collect();
    format!("[{}]", items.join(", "))
}

fn insert(e: &Engine, t: &str, from: usize, n: usize) -> pql::Result<()> {
    e.execute(&format!(
        "QUERY items TENANT {t} CREATE NODES {}",
        nodes(from, n)
    ))
    .map(|_| ())
}

fn count(e: &Engine, t: &str) -> i64 {
    let r = e
        .execute(&format!("QUERY items TENANT {t} RETURN COUNT(*)"))
        .unwrap();
    match &r[0].rows[0][0] {
        Value::Int(n) => *n,
        v => panic!("count {v:?}"),
    }
}

fn describe(e: &Engine, t: &str) -> BTreeMap<String, Value> {
    let r = e.execute(&format!("DESCRIBE TENANT {t}")).unwrap();
    r[0].rows
        .iter()
        .map(|row| {
            (
                row[0].to_string().trim_matches('"').to_string(),
                row[1].clone(),
            )
        })
        .collect()
}

fn quota(err: &pql::Error) -> (String, u64, u64) {
    match err.kind() {
        ErrorKind::QuotaExceeded {
            resource,
            current,
            limit,
        } => (resource.clone(), *current, *limit),
        k => panic!("expected QuotaExceeded, got {k:?}: {err}"),
    }
}

#[test]
fn max_vectors_at_the_boundary_and_batches_refused_whole() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_vectors: 5)").unwrap();
    insert(&e, "t", 0, 4).unwrap();
    let err = insert(&e, "t", 4, 2).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 4 + 2 > 5");
    assert_eq!(quota(&err), ("vectors".into(), 6, 5));
    assert_eq!(count(&e, "t"), 4, "a refused batch changes nothing");
    insert(&e, "t", 4, 1).unwrap();
    let err = insert(&e, "t", 5, 1).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 5 + 1 > 5");
    // Replacing an existing node does not grow the count.
    e.execute("QUERY items TENANT t UPSERT NODE { id: \"n0\", embedding: [9.0, 1.0] }")
        .unwrap();
    // A delete frees room, across collections of the tenant too.
    e.execute("QUERY items TENANT t WHERE id = \"n0\" DELETE")
        .unwrap();
    e.execute("QUERY other TENANT t CREATE NODE { id: \"x\", embedding: [1.0] }")
        .unwrap();
    let err = insert(&e, "t", 9, 1).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 5 + 1 > 5");
    let d = describe(&e, "t");
    assert_eq!(d["limit_vectors"], Value::Int(5));
    assert_eq!(d["utilization_vectors"], Value::Float(1.0));
    assert_eq!(d["near_quota"], Value::Bool(true));
}

#[test]
fn vector_count_survives_a_restart() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute("CREATE TENANT t WITH (max_vectors: 3)").unwrap();
        insert(&e, "t", 0, 3).unwrap();
    }
    let e = Engine::open(dir.path()).unwrap();
    let err = insert(&e, "t", 3, 1).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 3 + 1 > 3");
}

#[test]
fn vector_count_is_recounted_after_restore() {
    let dir = fast_tempdir();
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute("CREATE TENANT t WITH (max_vectors: 2)").unwrap();
        insert(&e, "t", 0, 2).unwrap();
        e.execute("ARCHIVE TENANT t").unwrap();
    }
    // First use after a restart is while archived: no files to count.
    let e = Engine::open(dir.path()).unwrap();
    // Refused as archived; the quota must not count the (absent) files as 0.
    assert_eq!(
        insert(&e, "t", 2, 1).unwrap_err().kind(),
        &ErrorKind::TenantArchived
    );
    e.execute("RESTORE TENANT t").unwrap();
    let err = insert(&e, "t", 2, 1).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 2 + 1 > 2");
}

#[test]
fn sizes_are_checked_before_running() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute(
        "CREATE TENANT t WITH (max_batch_size: 3, max_results_per_query: 4, max_dimension: 2)",
    )
    .unwrap();
    insert(&e, "t", 0, 3).unwrap();
    let err = insert(&e, "t", 3, 4).unwrap_err();
    assert_eq!(err.message(), "Batch size exceeds limit: 4 > 3");
    assert_eq!(quota(&err), ("batch_size".into(), 4, 3));
    e.execute("QUERY items TENANT t SIMILAR TO [1.0, 1.0] TOP 4")
        .unwrap();
    let err = e
        .execute("QUERY items TENANT t SIMILAR TO [1.0, 1.0] TOP 5")
        .unwrap_err();
    assert_eq!(err.message(), "Query limit exceeds maximum: 5 > 4");
    let err = e.execute("QUERY items TENANT t LIMIT 5").unwrap_err();
    assert_eq!(quota(&err), ("results".into(), 5, 4));
    let err = e
        .execute("QUERY wide TENANT t CREATE NODE { id: \"w\", embedding: [1.0, 2.0, 3.0] }")
        .unwrap_err();
    assert_eq!(err.message(), "Dimension exceeds maximum: 3 > 2");
    assert!(
        !e.collection_names("t").unwrap().contains(&"wide".into()) || {
            // The collection may exist (created empty), but holds nothing.
            e.execute("QUERY wide TENANT t RETURN COUNT(*)").unwrap()[0].rows[0][0] == Value::Int(0)
        }
    );
}

#[test]
fn tiers_and_overrides_and_alter() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT f WITH (tier: 'free')").unwrap();
    e.execute("CREATE TENANT p WITH (tier: 'pro', max_batch_size: 2)")
        .unwrap();
    e.execute("CREATE TENANT u WITH (tier: 'unlimited')")
        .unwrap();
    let f = describe(&e, "f");
    assert_eq!(f["limit_vectors"], Value::Int(10_000));
    assert_eq!(f["limit_storage_bytes"], Value::Int(100 * 1024 * 1024));
    assert_eq!(f["limit_qps"], Value::Float(10.0));
    assert_eq!(f["limit_concurrent_queries"], Value::Int(2));
    assert_eq!(f["limit_dimension"], Value::Int(1536));
    assert_eq!(f["limit_results_per_query"], Value::Int(100));
    assert_eq!(f["limit_batch_size"], Value::Int(100));
    let p = describe(&e, "p");
    assert_eq!(p["limit_vectors"], Value::Int(1_000_000));
    assert_eq!(p["limit_batch_size"], Value::Int(2), "explicit option wins");
    assert_eq!(describe(&e, "u")["limit_vectors"], Value::Null);
    let err = insert(&e, "f", 0, 101).unwrap_err();
    assert_eq!(err.message(), "Batch size exceeds limit: 101 > 100");
    insert(&e, "f", 0, 100).unwrap();
    insert(&e, "u", 0, 101).unwrap();
    // Lowering below usage is allowed and blocks growth.
    e.execute("ALTER TENANT f SET max_vectors = 50").unwrap();
    let err = insert(&e, "f", 100, 1).unwrap_err();
    assert_eq!(err.message(), "Vector quota exceeded: 100 + 1 > 50");
    assert_eq!(describe(&e, "f")["utilization_vectors"], Value::Float(2.0));
    e.execute("ALTER TENANT f SET tier = 'pro'").unwrap();
    let err = insert(&e, "f", 100, 1).unwrap_err();
    assert_eq!(
        quota(&err).2,
        50,
        "the explicit max_vectors still overrides"
    );
    e.execute("ALTER TENANT f SET max_vectors = 101").unwrap();
    insert(&e, "f", 100, 1).unwrap();
    assert_eq!(describe(&e, "f")["limit_batch_size"], Value::Int(1_000));
}

#[test]
fn storage_quota_blocks_growth() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_storage_bytes: 1)")
        .unwrap();
    // The first write finds an empty folder; afterwards the folder has bytes.
    insert(&e, "t", 0, 1).unwrap();
    let err = insert(&e, "t", 1, 1).unwrap_err();
    let (resource, current, limit) = quota(&err);
    assert_eq!((resource.as_str(), limit), ("storage", 1));
    assert_eq!(
        err.message(),
        format!("Storage quota exceeded: {current} / 1 bytes")
    );
    // Reads and deletes still work.
    assert_eq!(count(&e, "t"), 1);
    e.execute("QUERY items TENANT t DELETE").unwrap();
}

#[test]
fn rate_limit_refuses_then_recovers_after_the_window() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_qps: 3)").unwrap();
    insert(&e, "t", 0, 1).unwrap();
    e.execute("QUERY items TENANT t RETURN COUNT(*)").unwrap();
    e.execute("QUERY items TENANT t RETURN COUNT(*)").unwrap();
    let err = e
        .execute("QUERY items TENANT t RETURN COUNT(*)")
        .unwrap_err();
    assert_eq!(err.message(), "Rate limit exceeded: 3 requests/second");
    let ErrorKind::RateLimited { retry_after } = err.kind() else {
        panic!("{err:?}")
    };
    assert!(*retry_after <= Duration::from_secs(1));
    thread::sleep(*retry_after + Duration::from_millis(20));
    e.execute("QUERY items TENANT t RETURN COUNT(*)").unwrap();
    // Other tenants are not affected.
    e.execute("CREATE TENANT other").unwrap();
    for _ in 0..10 {
        e.execute("QUERY items TENANT other RETURN COUNT(*)")
            .unwrap_err(); // CollectionNotFound, but never RateLimited
    }
}

#[test]
fn api_calls_per_minute() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_api_calls_per_minute: 2)")
        .unwrap();
    insert(&e, "t", 0, 1).unwrap();
    e.execute("QUERY items TENANT t RETURN COUNT(*)").unwrap();
    let err = e
        .execute("QUERY items TENANT t RETURN COUNT(*)")
        .unwrap_err();
    assert_eq!(err.message(), "Rate limit exceeded: 2 requests/minute");
}

#[test]
fn concurrent_queries_limit_zero_refuses_and_limit_one_admits() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_concurrent_queries: 1)")
        .unwrap();
    insert(&e, "t", 0, 1).unwrap();
    // Sequential statements each hold the one permit only while running.
    for _ in 0..3 {
        e.execute("QUERY items TENANT t RETURN COUNT(*)").unwrap();
    }
    e.execute("ALTER TENANT t SET max_concurrent_queries = 0")
        .unwrap();
    let err = e
        .execute("QUERY items TENANT t RETURN COUNT(*)")
        .unwrap_err();
    assert_eq!(err.message(), "Concurrent query limit exceeded: 0 / 0");
}

#[test]
fn concurrent_writers_never_end_above_max_vectors() {
    let dir = fast_tempdir();
    let e = Engine::open(dir.path()).unwrap();
    e.execute("CREATE TENANT t WITH (max_vectors: 50)").unwrap();
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let e = e.clone();
            thread::spawn(move || {
                let mut ok = 0;
                for i in 0..20 {
                    // Two collections, so writers do not share one lock.
                    let coll = if w % 2 == 0 { "items" } else { "more" };
                    let id = w * 1000 + i * 3;
                    let q = format!("QUERY {coll} TENANT t CREATE NODES {}", nodes(id, 3));
                    match e.execute(&q) {
                        Ok(_) => ok += 3,
                        Err(err) => assert_eq!(quota(&err).0, "vectors"),
                    }
                }
                ok
            })
        })
        .collect();
    let inserted: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let stored = describe(&e, "t")["vectors"].clone();
    assert_eq!(stored, Value::Int(inserted));
    assert_eq!(inserted, 48, "batches of 3 fill 48 of 50");
}
