//! The tier against `object_store`'s in-memory store: snapshots, checksums,
//! garbage collection, archives and the sync bridge.

use std::path::Path;
use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::ObjectTier;
use crate::error::ErrorKind;

fn tier() -> (ObjectTier, Arc<InMemory>) {
    let mem = Arc::new(InMemory::new());
    let tier = ObjectTier::with_store(mem.clone(), "pfx", "memory://test".into(), 4).unwrap();
    (tier, mem)
}

fn write_tenant(dir: &Path, seed: u8) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("docs.redb"), vec![seed; 10_000]).unwrap();
    std::fs::write(dir.join("docs.hnsw.graph"), b"graph bytes").unwrap();
    std::fs::write(dir.join("empty.redb"), b"").unwrap();
}

fn keys(mem: &InMemory, tier: &ObjectTier) -> Vec<String> {
    tier.block_on(async {
        let mut out: Vec<String> = futures::TryStreamExt::try_collect::<Vec<_>>(mem.list(None))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.location.to_string())
            .collect();
        out.sort();
        Ok(out)
    })
    .unwrap()
}

#[test]
fn upload_then_download_is_byte_identical() {
    let (tier, _mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 7);
    let up = tier.upload_tenant("acme", &src, b"record").unwrap();
    assert_eq!(up.generation, 1);
    assert_eq!(up.objects.len(), 3);
    assert_eq!(up.total_bytes(), 10_011);
    let staging = tmp.path().join("staging");
    let down = tier.download_tenant("acme", &staging).unwrap();
    assert_eq!(down, up);
    assert_eq!(down.record, b"record");
    for f in ["docs.redb", "docs.hnsw.graph", "empty.redb"] {
        assert_eq!(
            std::fs::read(staging.join(f)).unwrap(),
            std::fs::read(src.join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 3);
}

#[test]
fn a_corrupted_object_is_refused_and_staging_removed() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 1);
    let m = tier.upload_tenant("acme", &src, b"").unwrap();
    let victim = m.objects.iter().find(|o| o.file == "docs.redb").unwrap();
    let key = Key::from(victim.key.as_str());
    tier.block_on(async {
        mem.put(&key, PutPayload::from(vec![2u8; 10_000]))
            .await
            .unwrap();
        Ok(())
    })
    .unwrap();
    let live = tmp.path().join("live");
    std::fs::create_dir(&live).unwrap();
    std::fs::write(live.join("keep"), b"untouched").unwrap();
    let staging = tmp.path().join("staging");
    let e = tier.download_tenant("acme", &staging).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt);
    assert!(e.message().contains(&victim.key), "{e}");
    assert!(!staging.exists());
    assert_eq!(std::fs::read(live.join("keep")).unwrap(), b"untouched");

    // A missing object is as bad.
    tier.block_on(async {
        mem.delete(&key).await.unwrap();
        Ok(())
    })
    .unwrap();
    let e = tier.download_tenant("acme", &staging).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt);
    assert!(e.message().contains("missing"), "{e}");
    assert!(!staging.exists());
}

/// With `download_part` smaller than an object, it arrives in ranged GETs
/// (several in flight, written at their offsets): the same bytes, and a
/// changed, shorter or missing object is still `Corrupt`.
#[test]
fn ranged_downloads_are_byte_identical_and_checked() {
    let (mut tier, mem) = tier();
    tier.remote.download_part = 3_000;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    std::fs::create_dir_all(&src).unwrap();
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.join("docs.redb"), &bytes).unwrap();
    let m = tier.upload_tenant("acme", &src, b"").unwrap();
    let staging = tmp.path().join("staging");
    tier.download_tenant("acme", &staging).unwrap();
    assert_eq!(std::fs::read(staging.join("docs.redb")).unwrap(), bytes);
    std::fs::remove_dir_all(&staging).unwrap();

    let key = Key::from(m.objects[0].key.as_str());
    let mut swapped = bytes.clone();
    swapped.swap(100, 9_000);
    for (content, why) in [
        (Some(swapped), "fails its checksum"),
        (Some(bytes[..5_000].to_vec()), "fails its checksum"),
        (None, "missing"),
    ] {
        tier.block_on(async {
            match content {
                Some(c) => mem.put(&key, PutPayload::from(c)).await.map(drop),
                None => mem.delete(&key).await,
            }
            .unwrap();
            Ok(())
        })
        .unwrap();
        let e = tier.download_tenant("acme", &staging).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
        assert!(e.message().contains(why), "{e}");
        assert!(!staging.exists());
    }
}

#[test]
fn gc_deletes_older_generations_only_after_a_newer_manifest() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("acme");
    write_tenant(&src, 1);
    let g1 = tier.upload_tenant("acme", &src, b"one").unwrap();
    assert_eq!(
        tier.gc_tenant("acme").unwrap(),
        0,
        "nothing older than gen 1"
    );
    write_tenant(&src, 2);
    let g2 = tier.upload_tenant("acme", &src, b"two").unwrap();
    assert_eq!(g2.generation, 2);
    // Both generations are there until GC.
    let before = keys(&mem, &tier);
    assert!(before.iter().any(|k| k.contains(&g1.generation_id)));
    assert_eq!(tier.gc_tenant("acme").unwrap(), 3);
    let after = keys(&mem, &tier);
    assert!(
        !after.iter().any(|k| k.contains(&g1.generation_id)),
        "{after:?}"
    );
    assert_eq!(
        after
            .iter()
            .filter(|k| k.contains(&g2.generation_id))
            .count(),
        3
    );
    let down = tier.download_tenant("acme", &tmp.path().join("s")).unwrap();
    assert_eq!(down.record, b"two");
    assert_eq!(
        std::fs::read(tmp.path().join("s/docs.redb")).unwrap(),
        vec![2u8; 10_000]
    );
}

#[test]
fn delete_tenant_removes_manifest_and_generations() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("a");
    write_tenant(&src, 1);
    tier.upload_tenant("a", &src, b"").unwrap();
    tier.upload_tenant("a", &src, b"").unwrap();
    tier.upload_tenant("ab", &src, b"").unwrap();
    assert_eq!(tier.delete_tenant("a").unwrap(), 7);
    assert!(tier.read_manifest("a").unwrap().is_none());
    // The tenant "ab" shares the prefix "a" as a string, not as a folder.
    assert!(tier.read_manifest("ab").unwrap().is_some());
    assert_eq!(keys(&mem, &tier).len(), 4);
    let e = tier
        .download_tenant("a", &tmp.path().join("s"))
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::TenantNotFound);
}

#[test]
fn hostile_tenant_names_write_nothing() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    write_tenant(tmp.path(), 1);
    let long = "x".repeat(65);
    for name in ["", "..", "a/b", "../x", "%2F", "ａｃｍｅ", "a b", &long] {
        let e = tier.upload_tenant(name, tmp.path(), b"").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidName, "{name:?}");
        assert_eq!(
            tier.download_tenant(name, &tmp.path().join("s"))
                .unwrap_err()
                .kind(),
            &ErrorKind::InvalidName
        );
        assert!(tier
            .put_archive(name, &tmp.path().join("docs.redb"))
            .is_err());
    }
    assert!(keys(&mem, &tier).is_empty());
}

#[test]
fn a_folder_with_a_subfolder_is_refused() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    write_tenant(tmp.path(), 1);
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let e = tier.upload_tenant("acme", tmp.path(), b"").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert!(keys(&mem, &tier).is_empty());
}

#[test]
fn archives_round_trip_and_are_checked() {
    let (tier, mem) = tier();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("acme.tar.zst");
    std::fs::write(&file, b"archive bytes").unwrap();
    let crc = tier.put_archive("acme", &file).unwrap();
    assert_eq!(crc, crc32fast::hash(b"archive bytes"));
    let dest = tmp.path().join("back.tar.zst");
    assert_eq!(tier.get_archive("acme", &dest).unwrap(), crc);
    assert_eq!(std::fs::read(&dest).unwrap(), b"archive bytes");
    tier.block_on(async {
        let key = Key::from("pfx/archive/acme.tar.zst");
        mem.put(&key, PutPayload::from_static(b"archive bytez"))
            .await
            .unwrap();
        Ok(())
    })
    .unwrap();
    let e = tier.get_archive("acme", &dest).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt);
    assert!(e.message().contains("pfx/archive/acme.tar.zst"), "{e}");
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        b"archive bytes",
        "the earlier good download is left as it was"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "no partial file"
    );
    tier.delete_archive("acme").unwrap();
    assert_eq!(
        tier.get_archive("acme", &dest).unwrap_err().kind(),
        &ErrorKind::TenantNotFound
    );
}

#[test]
fn calls_from_a_runtimes_blocking_pool_are_served() {
    // The server runs statements with spawn_blocking: a thread inside its
    // runtime, where the tier's own runtime cannot be entered.
    let (tier, _mem) = tier();
    let tier = Arc::new(tier);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let inside = tier.clone();
    let read = rt.block_on(async move {
        tokio::task::spawn_blocking(move || inside.read_manifest("acme"))
            .await
            .unwrap()
    });
    assert!(read.unwrap().is_none());
}
