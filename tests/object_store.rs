//! The object-storage tier against a real S3 server: SeaweedFS on loopback,
//! started by `eval "$(scripts/start-seaweedfs.sh)"` (`.ci/run` does this).
//! Without the server these tests say so and pass, unless `PQL_REQUIRE_S3=1`
//! (CI sets it), which makes a missing server a failure.
//!
//! Each test works under a prefix of its own in the bucket, so they run in
//! parallel on one server.

#![cfg(feature = "s3")]

mod common;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::proxy::Proxy;
use common::s3::{block_on, bucket, server, unique_prefix};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use pql::{ErrorKind, ObjectStoreConfig, ObjectTier};

fn config(prefix: &str, endpoint: &str) -> ObjectStoreConfig {
    let mut c = ObjectStoreConfig::parse(&format!("s3://{}/{prefix}", bucket())).unwrap();
    c.endpoint = Some(endpoint.to_string());
    c
}

/// The bucket itself, for what the tier does not do: tamper with objects,
/// list keys, and conditional writes.
fn raw_bucket(endpoint: &str) -> AmazonS3 {
    AmazonS3Builder::from_env()
        .with_endpoint(endpoint)
        .with_bucket_name(bucket())
        .build()
        .unwrap()
}

fn list(raw: &AmazonS3, prefix: &str) -> Vec<String> {
    use futures::TryStreamExt;
    let mut keys: Vec<String> =
        block_on(raw.list(Some(&Key::from(prefix))).try_collect::<Vec<_>>())
            .unwrap()
            .into_iter()
            .map(|m| m.location.to_string())
            .collect();
    keys.sort();
    keys
}

/// A tenant-like folder: `files` files of `size` bytes, seeded.
fn write_tenant(dir: &Path, files: usize, size: usize, seed: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = common::Rng(seed);
    for i in 0..files {
        let bytes: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        std::fs::write(dir.join(format!("c{i}.redb")), bytes).unwrap();
    }
}

fn assert_same_folder(a: &Path, b: &Path) {
    let mut names: Vec<_> = std::fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), std::fs::read_dir(b).unwrap().count());
    for n in names {
        assert!(
            std::fs::read(a.join(&n)).unwrap() == std::fs::read(b.join(&n)).unwrap(),
            "{n:?} differs"
        );
    }
}

#[test]
fn round_trip_is_byte_identical() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("roundtrip");
    let tier = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    // One file above the 16 MiB part size goes up as a multipart upload.
    write_tenant(&src, 3, 100_000, 1);
    std::fs::write(src.join("big.redb"), vec![5u8; (16 << 20) + 12_345]).unwrap();
    std::fs::write(src.join("empty.hnsw.graph"), b"").unwrap();
    let up = tier.upload_tenant("acme", &src, b"catalog record").unwrap();
    assert_eq!(up.objects.len(), 5);
    let staging = tmp.path().join("staging");
    let down = tier.download_tenant("acme", &staging).unwrap();
    assert_eq!(down, up);
    assert_eq!(down.record, b"catalog record");
    assert_same_folder(&src, &staging);
    assert!(list(&raw_bucket(&endpoint), &prefix)
        .iter()
        .all(|k| k.starts_with(&format!("{prefix}/tenants/acme/"))));
    tier.delete_tenant("acme").unwrap();
    assert!(list(&raw_bucket(&endpoint), &prefix).is_empty());
}

#[test]
fn hundred_tenants_concurrently() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("hundred");
    let tier = Arc::new(ObjectTier::open(&config(&prefix, &endpoint)).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let tier = tier.clone();
            let root = root.clone();
            std::thread::spawn(move || {
                for i in (t..100).step_by(8) {
                    let name = format!("tenant{i}");
                    let src = root.join("src").join(&name);
                    write_tenant(&src, 2, 2_000 + i, i as u64);
                    tier.upload_tenant(&name, &src, name.as_bytes()).unwrap();
                }
                for i in (t..100).step_by(8) {
                    let name = format!("tenant{i}");
                    let staging = root.join("staging").join(&name);
                    let m = tier.download_tenant(&name, &staging).unwrap();
                    assert_eq!(m.record, name.as_bytes());
                    assert_same_folder(&root.join("src").join(&name), &staging);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(list(&raw_bucket(&endpoint), &prefix).len(), 300);
}

#[test]
fn corrupted_object_is_refused_naming_it() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("corrupt");
    let tier = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 3, 50_000, 2);
    let m = tier.upload_tenant("acme", &src, b"").unwrap();
    let victim = &m.objects[1];
    let raw = raw_bucket(&endpoint);
    let mut bytes = std::fs::read(src.join(&victim.file)).unwrap();
    bytes[100] ^= 0xff; // same size, one flipped byte
    block_on(raw.put(&Key::from(victim.key.as_str()), PutPayload::from(bytes))).unwrap();
    let before = list(&raw, &prefix);
    let staging = tmp.path().join("staging");
    let e = tier.download_tenant("acme", &staging).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
    assert!(e.message().contains(&victim.key), "{e}");
    assert!(!staging.exists(), "staging removed");
    assert_eq!(list(&raw, &prefix), before, "nothing in the bucket touched");
    assert_eq!(
        std::fs::read_dir(&src).unwrap().count(),
        3,
        "source untouched"
    );
}

#[test]
fn gc_removes_older_generations_only_after_the_new_manifest() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("gc");
    let tier = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let raw = raw_bucket(&endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 2, 1_000, 3);
    let g1 = tier.upload_tenant("acme", &src, b"1").unwrap();
    write_tenant(&src, 2, 1_000, 4);
    let g2 = tier.upload_tenant("acme", &src, b"2").unwrap();
    assert_eq!((g1.generation, g2.generation), (1, 2));
    let gen_keys = |g: &str| {
        list(&raw, &prefix)
            .into_iter()
            .filter(|k| k.contains(g))
            .count()
    };
    assert_eq!(gen_keys(&g1.generation_id), 2, "kept until gc");
    assert_eq!(tier.gc_tenant("acme").unwrap(), 2);
    assert_eq!(gen_keys(&g1.generation_id), 0);
    assert_eq!(gen_keys(&g2.generation_id), 2);
    let staging = tmp.path().join("s");
    assert_eq!(tier.download_tenant("acme", &staging).unwrap().record, b"2");
    assert_same_folder(&src, &staging);
}

#[test]
fn hostile_names_never_reach_the_bucket() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("hostile");
    let tier = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_tenant(tmp.path(), 1, 10, 5);
    let long = "x".repeat(65);
    for name in ["..", "a/b", "%2F", "", &long, "ａｃｍｅ", "../../etc"] {
        let e = tier.upload_tenant(name, tmp.path(), b"").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidName, "{name:?}");
    }
    assert!(list(&raw_bucket(&endpoint), &prefix).is_empty());
    assert!(list(&raw_bucket(&endpoint), "tenants").is_empty());
}

#[test]
fn missing_bucket_is_storage_unavailable() {
    let Some(endpoint) = server() else { return };
    let mut c = ObjectStoreConfig::parse("s3://pql-no-such-bucket/x").unwrap();
    c.endpoint = Some(endpoint.clone());
    c.retry_timeout = Duration::from_secs(2);
    let e = ObjectTier::open(&c).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");
    assert_eq!(e.kind().code(), "storage.unavailable");
    let msg = e.message();
    assert!(msg.contains("pql-no-such-bucket"), "{msg}");
    assert!(msg.contains(&endpoint), "{msg}");
    assert!(msg.contains("bucket does not exist"), "{msg}");
    if let Ok(secret) = std::env::var("AWS_SECRET_ACCESS_KEY") {
        assert!(!msg.contains(&secret), "the message leaks the secret");
    }
}

/// Credentials come from the environment, so the wrong ones are tried in a
/// child process (this test binary, running only this test).
#[test]
fn wrong_credentials_are_storage_unavailable() {
    let Some(endpoint) = server() else { return };
    const WRONG: &str = "not-the-secret";
    if std::env::var("PQL_TEST_WRONG_KEY_CHILD").is_ok() {
        let e = ObjectTier::open(&config("x", &endpoint)).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");
        assert!(e.message().contains("credentials were rejected"), "{e}");
        assert!(e.message().contains(&bucket()), "{e}");
        assert!(!e.message().contains(WRONG), "the message leaks the secret");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "wrong_credentials_are_storage_unavailable"])
        .env("AWS_SECRET_ACCESS_KEY", WRONG)
        .env("PQL_TEST_WRONG_KEY_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unreachable_endpoint_is_storage_unavailable() {
    let Some(_endpoint) = server() else { return };
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut c = config("x", &endpoint);
    c.retry_timeout = Duration::from_secs(1);
    let e = ObjectTier::open(&c).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");
    assert!(e.message().contains(&endpoint), "{e}");
}

#[test]
fn server_stopped_mid_upload_leaves_no_partial_generation() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("stopped");
    let direct = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 2, 10_000, 6);
    let g1 = direct.upload_tenant("acme", &src, b"1").unwrap();

    // 12 files of 1 MB; the "server" goes away after 4 MB have reached it.
    write_tenant(&src, 12, 1_000_000, 7);
    let upstream = endpoint.trim_start_matches("http://").to_string();
    let proxy = Proxy::start(upstream, 4_000_000);
    let mut c = config(&prefix, &format!("http://127.0.0.1:{}", proxy.port));
    c.retry_timeout = Duration::from_secs(2);
    let tier = ObjectTier::open(&c).unwrap();
    let e = tier.upload_tenant("acme", &src, b"2").unwrap_err();
    assert!(proxy.stopped.load(Ordering::SeqCst), "the proxy stopped");
    assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");

    // The manifest still names generation 1, whole.
    let m = direct.read_manifest("acme").unwrap().unwrap();
    assert_eq!(m, g1);
    let keys = list(&raw_bucket(&endpoint), &prefix);
    for o in &m.objects {
        assert!(keys.contains(&o.key), "{} missing", o.key);
    }
    let staging = tmp.path().join("s");
    direct.download_tenant("acme", &staging).unwrap();
    // Whatever the failed upload left is garbage no manifest names; GC
    // (same generation number as the failed upload, or older) clears it
    // after the next good upload.
    let g2 = direct.upload_tenant("acme", &src, b"2").unwrap();
    direct.gc_tenant("acme").unwrap();
    let keys = list(&raw_bucket(&endpoint), &prefix);
    assert_eq!(keys.len(), 13, "{keys:?}");
    assert!(keys
        .iter()
        .all(|k| k.contains(&g2.generation_id) || k.ends_with("manifest.json")));
}

#[test]
fn archives_round_trip_through_the_bucket() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("archive");
    let tier = ObjectTier::open(&config(&prefix, &endpoint)).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("acme.tar.zst");
    std::fs::write(&file, vec![9u8; 300_000]).unwrap();
    let crc = tier.put_archive("acme", &file).unwrap();
    let dest = tmp.path().join("back");
    assert_eq!(tier.get_archive("acme", &dest).unwrap(), crc);
    assert_eq!(std::fs::read(&dest).unwrap(), vec![9u8; 300_000]);
    assert_eq!(
        list(&raw_bucket(&endpoint), &prefix),
        vec![
            format!("{prefix}/archive/acme.tar.zst"),
            format!("{prefix}/archive/acme.tar.zst.json")
        ]
    );
}

/// The cluster issue fences with conditional writes; SeaweedFS must honour
/// both modes.
#[test]
fn seaweedfs_honours_conditional_writes() {
    let Some(endpoint) = server() else { return };
    let raw = raw_bucket(&endpoint);
    let key = Key::from(format!("{}/lease", unique_prefix("cond")));
    let create = || PutOptions::from(PutMode::Create);
    block_on(async {
        let first = raw
            .put_opts(&key, PutPayload::from_static(b"a"), create())
            .await
            .unwrap();
        let again = raw
            .put_opts(&key, PutPayload::from_static(b"b"), create())
            .await
            .unwrap_err();
        assert!(
            matches!(again, object_store::Error::AlreadyExists { .. }),
            "{again}"
        );
        let stale = UpdateVersion::from(first.clone());
        let second = raw
            .put_opts(
                &key,
                PutPayload::from_static(b"c"),
                PutMode::Update(stale.clone()).into(),
            )
            .await
            .unwrap();
        assert_ne!(second.e_tag, first.e_tag);
        let refused = raw
            .put_opts(
                &key,
                PutPayload::from_static(b"d"),
                PutMode::Update(stale).into(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(refused, object_store::Error::Precondition { .. }),
            "{refused}"
        );
        let body = raw.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(&body[..], b"c");
    });
}

/// `file://` needs no server: the same snapshot API on a local folder.
#[test]
fn file_store_round_trip_and_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let url = format!("file://{}", store.display());
    let e = ObjectTier::open(&ObjectStoreConfig::parse(&url).unwrap()).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::StorageUnavailable, "{e}");
    assert!(e.message().contains("does not exist"), "{e}");
    std::fs::create_dir(&store).unwrap();
    let tier = ObjectTier::open(&ObjectStoreConfig::parse(&url).unwrap()).unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 2, 5_000, 8);
    std::fs::write(src.join("big.redb"), vec![3u8; (16 << 20) + 1]).unwrap();
    let g1 = tier.upload_tenant("acme", &src, b"r1").unwrap();
    let g2 = tier.upload_tenant("acme", &src, b"r2").unwrap();
    assert_eq!(tier.gc_tenant("acme").unwrap(), 3);
    assert!(!store.join("tenants/acme").join(&g1.generation_id).exists());
    let staging = tmp.path().join("staging");
    assert_eq!(tier.download_tenant("acme", &staging).unwrap(), g2);
    assert_same_folder(&src, &staging);
    tier.delete_tenant("acme").unwrap();
    assert!(tier.read_manifest("acme").unwrap().is_none());
}
