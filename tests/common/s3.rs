//! The S3 server the object-store tests use: SeaweedFS on loopback, started
//! by `eval "$(scripts/start-seaweedfs.sh)"` (`.ci/run` does this). Without
//! it the tests say so and pass, unless `PQL_REQUIRE_S3=1` (CI sets it).

use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The server's endpoint, or `None` (with a note) when it is not running.
pub fn server() -> Option<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let reachable = endpoint.as_deref().is_some_and(|e| {
        let addr = e.trim_start_matches("http://").trim_end_matches('/');
        addr.parse()
            .ok()
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
    });
    if reachable {
        return endpoint;
    }
    assert!(
        std::env::var("PQL_REQUIRE_S3").as_deref() != Ok("1"),
        "PQL_REQUIRE_S3=1 but no S3 server answers at AWS_ENDPOINT_URL={endpoint:?} \
         (run: eval \"$(scripts/start-seaweedfs.sh)\")"
    );
    eprintln!(
        "skipped: no S3 server at AWS_ENDPOINT_URL={endpoint:?}; \
         run eval \"$(scripts/start-seaweedfs.sh)\" first"
    );
    None
}

/// The test bucket (`PQL_TEST_BUCKET`, default `pql-test`).
pub fn bucket() -> String {
    std::env::var("PQL_TEST_BUCKET").unwrap_or_else(|_| "pql-test".into())
}

/// A prefix no other test (or earlier run) uses.
pub fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t-{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `f` to completion on a runtime of its own (the object store's API
/// is async; the tests are not).
#[cfg(feature = "s3")]
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Object-store URLs to test with: a fresh folder, and a fresh prefix of
/// the S3 bucket when the server runs. The folders live as long as `keep`.
pub fn stores(test: &str, keep: &mut Vec<tempfile::TempDir>) -> Vec<String> {
    let folder = tempfile::tempdir().unwrap();
    let mut urls = vec![format!("file://{}", folder.path().display())];
    keep.push(folder);
    if server().is_some() {
        urls.push(format!("s3://{}/{}", bucket(), unique_prefix(test)));
    }
    urls
}

/// An engine on `dir` with the object store `store`, where every collection
/// with vectors gets a quick object at OFFLOAD, however small.
#[cfg(feature = "s3")]
pub fn open_with_quick_objects(dir: &std::path::Path, store: &str) -> pql::Engine {
    let mut config = pql::Config::new(dir).with_object_store(store).unwrap();
    if let Some(store) = config.object_store.as_mut() {
        store.quick_object_min_bytes = 0;
    }
    pql::Engine::open_with(config).unwrap()
}
