//! What a build without the optional features answers where one would be
//! needed: a clear `Unsupported` error, and nothing changed. Run with
//! `cargo test --release --no-default-features --test features`; a default
//! build has every feature, so these tests compile to nothing there.

#[cfg(not(feature = "hnsw-rs"))]
#[test]
fn the_hnsw_rs_index_is_unsupported_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let engine = pql::Engine::open(dir.path()).unwrap();
    engine.execute("CREATE TENANT t;").unwrap();
    let e = engine
        .execute("CREATE COLLECTION c TENANT t WITH (dimension: 4, index: 'hnsw_rs');")
        .unwrap_err();
    assert_eq!(e.kind(), &pql::ErrorKind::Unsupported);
    assert!(e.to_string().contains("`hnsw-rs` feature"), "{e}");
    // The name is still free: nothing was created.
    engine
        .execute("CREATE COLLECTION c TENANT t WITH (dimension: 4, index: 'graph');")
        .unwrap();
}

#[cfg(not(feature = "minilm"))]
#[test]
fn the_minilm_model_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let e = pql::Config::new(dir.path())
        .with_minilm(dir.path().join("model"))
        .unwrap_err();
    assert_eq!(e.kind(), &pql::ErrorKind::Unsupported);
    assert!(e.to_string().contains("`minilm` feature"), "{e}");
}
