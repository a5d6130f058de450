//! The pool of loaded tenants: LRU eviction under a memory budget with
//! concurrent queries, a tenant loaded once however many threads ask,
//! evicted tenants shown `inactive` and reloaded transparently, the idle
//! TTL, and statistics that count exactly what happened.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use pql::{Config, Engine, Value};

mod common;

fn count(engine: &Engine, tenant: &str) -> i64 {
    let q = format!("QUERY c TENANT {tenant} RETURN COUNT(*)");
    engine.execute(&q).unwrap()[0].rows[0][0].as_i64().unwrap()
}

/// The value of `property` in `DESCRIBE TENANT tenant`.
fn describe(engine: &Engine, tenant: &str, property: &str) -> Value {
    let r = engine
        .execute(&format!("DESCRIBE TENANT {tenant}"))
        .unwrap();
    let row = r[0]
        .rows
        .iter()
        .find(|row| row[0] == Value::Str(property.into()));
    row.map(|row| row[1].clone()).unwrap()
}

/// The value of `metric` in `SHOW STATS`.
fn stat(engine: &Engine, metric: &str) -> Value {
    let r = engine.execute("SHOW STATS").unwrap();
    let row = r[0]
        .rows
        .iter()
        .find(|row| row[0] == Value::Str(metric.into()));
    row.map(|row| row[1].clone()).unwrap()
}

/// Creates `tenants` tenants `t0..` with `nodes` 8-d nodes each.
fn populate(dir: &Path, tenants: usize, nodes: usize) {
    let engine = Engine::open(dir).unwrap();
    for t in 0..tenants {
        let mut batch = Vec::new();
        for i in 0..nodes {
            let v: Vec<String> = (0..8)
                .map(|d| ((i * 7 + d * 3 + t) % 11).to_string())
                .collect();
            batch.push(format!("{{ id: \"n{i}\", embedding: [{}] }}", v.join(", ")));
        }
        engine
            .execute(&format!(
                "CREATE TENANT t{t}; QUERY c TENANT t{t} CREATE NODES [{}]",
                batch.join(", ")
            ))
            .unwrap();
    }
}

#[test]
fn lru_eviction_under_a_budget_with_concurrent_queries() {
    let dir = common::fast_tempdir();
    let (tenants, nodes) = (8, 40);
    populate(dir.path(), tenants, nodes);
    let one = {
        let engine = Engine::open(dir.path()).unwrap();
        count(&engine, "t0");
        describe(&engine, "t0", "memory_bytes").as_i64().unwrap() as usize
    };
    let mut config = Config::new(dir.path());
    config.memory_budget_bytes = Some(one * 3 + one / 2);
    let engine = Engine::open_with(config).unwrap();
    let (threads, rounds) = (4, 24);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                for k in 0..rounds {
                    let t = (w * 3 + k) % tenants;
                    let id = format!("w{w}_{k}");
                    let v = format!("[{w}, {k}, 100, 0, 0, 0, 0, 1]");
                    let q = format!(
                        "QUERY c TENANT t{t} CREATE NODE {{ id: \"{id}\", embedding: {v} }}"
                    );
                    engine.execute(&q).unwrap();
                    let q = format!("QUERY c TENANT t{t} SIMILAR TO {v} TOP 1 RETURN id");
                    let r = engine.execute(&q).unwrap();
                    assert_eq!(r[0].rows[0][0], Value::Str(id), "tenant t{t}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut writes = vec![0; tenants];
    for w in 0..threads {
        for k in 0..rounds {
            writes[(w * 3 + k) % tenants] += 1;
        }
    }
    for (t, n) in writes.iter().enumerate() {
        assert_eq!(count(&engine, &format!("t{t}")), (nodes + n) as i64, "t{t}");
    }
    let stats = engine.pool_stats();
    assert!(stats.evictions > 0, "{stats:?}");
    assert_eq!(stats.misses, stats.loads);
    engine.maintain().unwrap();
    let stats = engine.pool_stats();
    assert!(stats.loaded_tenants <= 4, "{stats:?}");
    assert!(stats.memory_bytes <= one * 5, "{stats:?} one tenant {one}");
}

#[test]
fn a_tenant_is_loaded_once_however_many_threads_ask() {
    let dir = common::fast_tempdir();
    populate(dir.path(), 1, 50);
    let engine = Engine::open(dir.path()).unwrap();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                assert_eq!(count(&engine, "t0"), 50);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let stats = engine.pool_stats();
    assert_eq!(
        (stats.loads, stats.misses, stats.hits),
        (1, 1, 7),
        "{stats:?}"
    );
}

#[test]
fn evicted_tenants_are_inactive_and_come_back() {
    let dir = common::fast_tempdir();
    populate(dir.path(), 3, 20);
    let mut config = Config::new(dir.path());
    config.max_loaded_tenants = Some(1);
    let engine = Engine::open_with(config).unwrap();
    let query = |t: &str| {
        let q = format!("QUERY c TENANT {t} SIMILAR TO [1, 2, 3, 4, 5, 6, 7, 8] TOP 3 RETURN id");
        engine.execute(&q).unwrap()[0].rows.clone()
    };
    let before = query("t0");
    assert_eq!(describe(&engine, "t0", "loaded"), Value::Bool(true));
    query("t1");
    assert_eq!(
        describe(&engine, "t0", "status"),
        Value::Str("inactive".into())
    );
    assert_eq!(describe(&engine, "t0", "loaded"), Value::Bool(false));
    assert!(describe(&engine, "t0", "last_accessed").as_str().is_some());
    assert_eq!(query("t0"), before);
    assert_eq!(
        describe(&engine, "t0", "status"),
        Value::Str("active".into())
    );
    assert_eq!(
        describe(&engine, "t1", "status"),
        Value::Str("inactive".into())
    );
    let stats = engine.pool_stats();
    assert_eq!((stats.evictions, stats.loaded_tenants), (2, 1), "{stats:?}");
    // The last access and the statuses survive a clean restart (the pool
    // writes them without an fsync of their own; a later durable commit or
    // the close carries them to disk).
    let seen = describe(&engine, "t1", "last_accessed");
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(describe(&engine, "t1", "last_accessed"), seen);
    assert_eq!(
        describe(&engine, "t1", "status"),
        Value::Str("inactive".into())
    );
    assert_eq!(
        describe(&engine, "t0", "status"),
        Value::Str("active".into())
    );
}

#[test]
fn idle_tenants_are_unloaded_after_the_ttl() {
    let dir = common::fast_tempdir();
    populate(dir.path(), 2, 10);
    let mut config = Config::new(dir.path());
    config.idle_ttl = Some(Duration::from_millis(150));
    let engine = Engine::open_with(config).unwrap();
    count(&engine, "t0");
    assert_eq!(describe(&engine, "t0", "loaded"), Value::Bool(true));
    thread::sleep(Duration::from_millis(400));
    // Any statement runs the periodic pass when it is due.
    engine.execute("SHOW TENANTS").unwrap();
    assert_eq!(
        describe(&engine, "t0", "status"),
        Value::Str("inactive".into())
    );
    assert_eq!(describe(&engine, "t0", "loaded"), Value::Bool(false));
    assert_eq!(engine.pool_stats().idle_unloads, 1);
    assert_eq!(count(&engine, "t0"), 10);
}

#[test]
fn statistics_count_what_happened() {
    let dir = common::fast_tempdir();
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .execute("CREATE TENANT t; QUERY c TENANT t CREATE NODE { id: \"a\", embedding: [1, 2] }")
        .unwrap();
    assert_eq!(count(&engine, "t"), 1); // hit
    engine
        .execute("ALTER TENANT t SET status = 'inactive'")
        .unwrap();
    assert_eq!(stat(&engine, "loaded_tenants"), Value::Int(0));
    assert_eq!(count(&engine, "t"), 1); // miss: loads it
    assert_eq!(count(&engine, "t"), 1); // hit
    assert_eq!(stat(&engine, "pool_hits"), Value::Int(2));
    assert_eq!(stat(&engine, "pool_misses"), Value::Int(1));
    assert_eq!(stat(&engine, "pool_loads"), Value::Int(1));
    assert_eq!(stat(&engine, "pool_evictions"), Value::Int(0));
    assert_eq!(stat(&engine, "loaded_tenants"), Value::Int(1));
    assert_eq!(stat(&engine, "memory_budget_bytes"), Value::Null);
    assert!(stat(&engine, "memory_used_bytes").as_i64().unwrap() > 0);
    assert!(stat(&engine, "avg_load_ms").as_f64().unwrap() > 0.0);
}

/// An evicted tenant's files are closed off the statement path (the pool's
/// closer thread). Reloading, listing or archiving the tenant at once waits
/// for that close: every write is read back, and nothing fails with a file
/// still open.
#[test]
fn a_tenant_written_then_evicted_comes_back_at_once_with_every_write() {
    let dir = common::fast_tempdir();
    populate(dir.path(), 2, 10);
    let mut config = Config::new(dir.path());
    config.max_loaded_tenants = Some(1);
    let engine = Engine::open_with(config).unwrap();
    for k in 0..60 {
        // Each statement loads its tenant, writes (the file is open for
        // writing) and evicts the other one, also just written.
        let t = k % 2;
        let q = format!(
            "QUERY c TENANT t{t} CREATE NODE {{ id: \"k{k}\", embedding: [{k}, 1, 0, 0, 0, 0, 0, 1] }}"
        );
        engine.execute(&q).unwrap();
        let other = 1 - t;
        let listed = engine
            .execute(&format!("SHOW COLLECTIONS TENANT t{other}"))
            .unwrap();
        assert_eq!(listed[0].rows.len(), 1, "t{other} after write {k}");
    }
    assert_eq!(count(&engine, "t0"), 40);
    assert_eq!(count(&engine, "t1"), 40);
    assert!(engine.pool_stats().evictions >= 60);
    // t0 was just evicted by the count of t1: archive it and restore it.
    engine
        .execute("ARCHIVE TENANT t0; RESTORE TENANT t0")
        .unwrap();
    assert_eq!(count(&engine, "t0"), 40);
    drop(engine);
    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(count(&engine, "t0"), 40);
    assert_eq!(count(&engine, "t1"), 40);
}
