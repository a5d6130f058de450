//! Retention purge: a `pending_deletion` tenant is dropped once its
//! `retention_days` have passed — when the engine opens and periodically
//! while it runs — and no other tenant is touched. The clock is moved
//! forward through `Config::clock` instead of sleeping for days.

use std::sync::atomic::{AtomicI64, Ordering};

use pql::{Config, Engine};

mod common;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Days the clock of each test is ahead of the real one (a static each,
/// because `Config::clock` is a plain function and tests run in parallel).
static AT_OPEN: AtomicI64 = AtomicI64::new(0);
static WHILE_RUNNING: AtomicI64 = AtomicI64::new(0);

fn real_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn clock_at_open() -> i64 {
    real_ms() + AT_OPEN.load(Ordering::SeqCst) * DAY_MS
}

fn clock_while_running() -> i64 {
    real_ms() + WHILE_RUNNING.load(Ordering::SeqCst) * DAY_MS
}

fn tenants(engine: &Engine) -> Vec<String> {
    engine.tenant_names()
}

/// `keep` (active, retention set), `short` (pending, 7 days), `long`
/// (pending, 30 days), `forever` (pending, no retention).
fn setup(engine: &Engine) {
    engine
        .execute(
            "CREATE TENANT keep WITH (retention_days: 1); \
             CREATE TENANT short WITH (retention_days: 7); \
             CREATE TENANT long WITH (retention_days: 30); \
             CREATE TENANT forever; \
             QUERY c TENANT short CREATE NODE { id: \"a\", embedding: [1, 2] }; \
             ALTER TENANT short SET status = 'pending_deletion'; \
             ALTER TENANT long SET status = 'pending_deletion'; \
             ALTER TENANT forever SET status = 'pending_deletion'",
        )
        .unwrap();
}

#[test]
fn expired_tenants_are_purged_when_the_engine_opens() {
    let dir = common::fast_tempdir();
    let mut config = Config::new(dir.path());
    config.clock = clock_at_open;
    setup(&Engine::open_with(config.clone()).unwrap());
    AT_OPEN.store(6, Ordering::SeqCst);
    assert_eq!(
        tenants(&Engine::open_with(config.clone()).unwrap()).len(),
        4
    );
    AT_OPEN.store(8, Ordering::SeqCst);
    let engine = Engine::open_with(config.clone()).unwrap();
    assert_eq!(tenants(&engine), ["forever", "keep", "long"]);
    assert!(!dir.path().join("tenants").join("short").exists());
    drop(engine);
    AT_OPEN.store(10_000, Ordering::SeqCst);
    let engine = Engine::open_with(config).unwrap();
    assert_eq!(tenants(&engine), ["forever", "keep"]);
}

#[test]
fn expired_tenants_are_purged_while_the_engine_runs() {
    let dir = common::fast_tempdir();
    let mut config = Config::new(dir.path());
    config.clock = clock_while_running;
    let engine = Engine::open_with(config).unwrap();
    setup(&engine);
    engine.maintain().unwrap();
    assert_eq!(tenants(&engine).len(), 4);
    WHILE_RUNNING.store(5, Ordering::SeqCst);
    engine.maintain().unwrap();
    assert_eq!(tenants(&engine).len(), 4);
    WHILE_RUNNING.store(8, Ordering::SeqCst);
    engine.maintain().unwrap();
    assert_eq!(tenants(&engine), ["forever", "keep", "long"]);
    WHILE_RUNNING.store(31, Ordering::SeqCst);
    // The periodic pass also runs after statements, at most once a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    engine.execute("SHOW TENANTS").unwrap();
    assert_eq!(tenants(&engine), ["forever", "keep"]);
}
