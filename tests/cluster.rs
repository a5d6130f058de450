//! Cluster mode's leases, node registry and fenced log (src/cluster/)
//! against the shared S3 server (SeaweedFS on loopback, see
//! tests/common/s3.rs). Without the server these tests say so and pass,
//! unless `PQL_REQUIRE_S3=1`.
//!
//! Each test works under a prefix of its own. Nodes are separate handles,
//! each with its own connection to the store, driven from separate threads.

#![cfg(feature = "s3")]

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::s3::{block_on, bucket, server, unique_prefix};
use pql::cluster::{Acquired, ClusterStore, Node};
use pql::{ErrorKind, ObjectStoreConfig};

/// Lease time of the tests that wait for expiry.
const SHORT: Duration = Duration::from_millis(300);

/// A store of its own (its own client and connections) under `prefix`.
fn store(prefix: &str, endpoint: &str) -> Arc<ClusterStore> {
    let mut c = ObjectStoreConfig::parse(&format!("s3://{}/{prefix}", bucket())).unwrap();
    c.endpoint = Some(endpoint.to_string());
    Arc::new(ClusterStore::open(&c).unwrap())
}

fn node(prefix: &str, endpoint: &str, id: &str, lease: Duration) -> Node {
    let address = format!("http://127.0.0.1:1/{id}");
    Node::new(store(prefix, endpoint), id, &address, lease).unwrap()
}

fn held(a: Acquired) -> pql::cluster::Lease {
    match a {
        Acquired::Held(lease) => lease,
        Acquired::Elsewhere(r) => panic!("held by {} (epoch {})", r.owner, r.epoch),
    }
}

fn tenants(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("t{i:02}")).collect()
}

#[test]
fn two_nodes_race_for_expired_leases_and_each_has_one_winner() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("race");
    let names = tenants(50);
    // A node that takes all 50 leases, then stops renewing them.
    let gone = node(&prefix, &endpoint, "n0", SHORT);
    block_on(async {
        for t in &names {
            assert_eq!(held(gone.acquire(t).await.unwrap()).record.epoch, 1);
        }
    });
    thread::sleep(SHORT + Duration::from_millis(100));

    let start = Arc::new(Barrier::new(2));
    let racers: Vec<_> = ["n1", "n2"]
        .into_iter()
        .enumerate()
        .map(|(i, id)| {
            let n = node(&prefix, &endpoint, id, Duration::from_secs(30));
            let (names, start) = (names.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                block_on(async {
                    let mut won = Vec::new();
                    // One racer walks forwards, the other backwards, so they
                    // meet in the middle and contend on every lease there.
                    let order: Vec<&String> = if i == 0 {
                        names.iter().collect()
                    } else {
                        names.iter().rev().collect()
                    };
                    for t in order {
                        match n.acquire(t).await.unwrap() {
                            Acquired::Held(lease) => {
                                assert_eq!(lease.record.epoch, 2, "{t}");
                                won.push(t.clone());
                            }
                            Acquired::Elsewhere(r) => assert_ne!(r.owner, id),
                        }
                    }
                    won
                })
            })
        })
        .collect();
    let won: Vec<Vec<String>> = racers.into_iter().map(|h| h.join().unwrap()).collect();
    for t in &names {
        let winners = won.iter().filter(|w| w.contains(t)).count();
        assert_eq!(winners, 1, "tenant {t}: {winners} winners");
    }
    // The bucket agrees with what each racer was told.
    let records = block_on(gone.leases()).unwrap();
    assert_eq!(records.len(), 50);
    for r in records {
        let owner = if won[0].contains(&r.tenant) {
            "n1"
        } else {
            "n2"
        };
        assert_eq!((r.owner.as_str(), r.epoch), (owner, 2), "{}", r.tenant);
        assert!(block_on(gone.lease_is_live(&r)).unwrap());
    }
    // The node that stopped finds every lease held elsewhere now.
    match block_on(gone.acquire("t00")).unwrap() {
        Acquired::Elsewhere(r) => assert_eq!(r.epoch, 2),
        Acquired::Held(_) => panic!("a stopped node got its lease back while it is live"),
    }
}

#[test]
fn a_paused_owner_gets_not_owner_on_its_next_append() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("paused");
    let old = node(&prefix, &endpoint, "n1", SHORT);
    let new = node(&prefix, &endpoint, "n2", SHORT);
    block_on(async {
        let mut old_lease = held(old.acquire("acme").await.unwrap());
        let (mut old_wal, replay) = old.open_wal(&old_lease, 0).await.unwrap();
        assert!(replay.is_empty());
        let first = old_wal.append(b"one".to_vec()).await.unwrap();
        let second = old_wal.append(b"two".to_vec()).await.unwrap();
        assert_eq!(second, first + 1);

        // The old owner pauses past its lease; the new one takes over.
        tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
        let new_lease = held(new.acquire("acme").await.unwrap());
        assert_eq!(new_lease.record.epoch, old_lease.record.epoch + 1);
        let (mut new_wal, replay) = new.open_wal(&new_lease, 0).await.unwrap();
        let payloads: Vec<&[u8]> = replay.iter().map(|e| &e.payload[..]).collect();
        assert_eq!(payloads, [&b"one"[..], &b"two"[..]]);
        assert_eq!(replay[0].seq, first);

        // The old owner resumes: its append, renewal and re-fencing fail.
        let e = old_wal.append(b"three".to_vec()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
        assert!(e.message().contains("acme"), "{e}");
        let e = old_wal.append(b"four".to_vec()).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
        let e = old.renew(&mut old_lease).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
        let new_seq = new_wal.append(b"five".to_vec()).await.unwrap();
        let e = old.open_wal(&old_lease, 0).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");

        // What the next owner replays: every acknowledged record, nothing
        // the stale owner was refused.
        tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
        let third = held(old.acquire("acme").await.unwrap());
        assert_eq!(third.record.epoch, 3);
        let (_, replay) = old.open_wal(&third, 0).await.unwrap();
        let payloads: Vec<&[u8]> = replay.iter().map(|e| &e.payload[..]).collect();
        assert_eq!(payloads, [&b"one"[..], &b"two"[..], &b"five"[..]]);
        assert_eq!(replay[2].seq, new_seq);
        // Replaying past a checkpoint skips what it holds.
        let (_, replay) = old.open_wal(&third, second).await.unwrap();
        let payloads: Vec<&[u8]> = replay.iter().map(|e| &e.payload[..]).collect();
        assert_eq!(payloads, [&b"five"[..]]);
    });
}

#[test]
fn every_append_acknowledged_before_the_fence_is_replayed() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("fence-race");
    let old = node(&prefix, &endpoint, "n1", SHORT);
    let lease = held(block_on(old.acquire("acme")).unwrap());
    let (mut wal, _) = block_on(old.open_wal(&lease, 0)).unwrap();
    thread::sleep(SHORT + Duration::from_millis(100));
    // The stale owner keeps appending while the new owner takes over.
    let writer = thread::spawn(move || {
        block_on(async {
            let mut acked = Vec::new();
            for i in 0..200u32 {
                match wal.append(i.to_le_bytes().to_vec()).await {
                    Ok(seq) => acked.push((seq, i)),
                    Err(e) => {
                        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
                        return (acked, true);
                    }
                }
            }
            (acked, false)
        })
    });
    let new = node(&prefix, &endpoint, "n2", SHORT);
    let replay = block_on(async {
        let lease = held(new.acquire("acme").await.unwrap());
        new.open_wal(&lease, 0).await.unwrap().1
    });
    let (acked, refused) = writer.join().unwrap();
    // Unless the writer finished all 200 before the take-over, it was
    // fenced; either way the replay is exactly what it was told was written.
    let replayed: Vec<(u64, u32)> = replay
        .iter()
        .map(|e| {
            (
                e.seq,
                u32::from_le_bytes(e.payload[..4].try_into().unwrap()),
            )
        })
        .collect();
    assert_eq!(replayed, acked, "fenced: {refused}");
    assert!(refused || acked.len() == 200);
}

#[test]
fn renewing_with_a_stale_etag_fails_and_release_hands_over() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("renew");
    let n1 = node(&prefix, &endpoint, "n1", Duration::from_secs(30));
    let n2 = node(&prefix, &endpoint, "n2", Duration::from_secs(30));
    block_on(async {
        let mut lease = held(n1.acquire("acme").await.unwrap());
        let mut stale = lease.clone();
        n1.renew(&mut lease).await.unwrap();
        let e = n1.renew(&mut stale).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
        // Acquiring a lease this process holds renews it, same epoch.
        let again = held(n1.acquire("acme").await.unwrap());
        assert_eq!(again.record.epoch, 1);
        // A live lease is someone else's: n2 learns the owner and address.
        match n2.acquire("acme").await.unwrap() {
            Acquired::Elsewhere(r) => {
                assert_eq!((r.owner.as_str(), r.address.as_str()), ("n1", n1.address()));
            }
            Acquired::Held(_) => panic!("two owners"),
        }
        // A clean hand-over: released, n2 takes it at once with epoch 2,
        // and the old version can neither renew nor release again.
        n1.release(again).await.unwrap();
        let taken = held(n2.acquire("acme").await.unwrap());
        assert_eq!((taken.record.owner.as_str(), taken.record.epoch), ("n2", 2));
        let e = n1.release(lease).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
    });
}

#[test]
fn a_lease_handed_over_says_the_bucket_has_the_tenant_until_settled() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("handover");
    let n1 = node(&prefix, &endpoint, "n1", Duration::from_secs(30));
    let n2 = node(&prefix, &endpoint, "n2", Duration::from_secs(30));
    let n3 = node(&prefix, &endpoint, "n3", Duration::from_secs(30));
    block_on(async {
        n2.join().await.unwrap();
        // A new lease: no node served the tenant yet, so the bucket's copy
        // (if any) is the newest; the owner clears that once it serves it.
        let mut lease = held(n1.acquire("acme").await.unwrap());
        assert!(lease.record.in_bucket);
        assert!(lease.previous.is_none());
        n1.settle(&mut lease).await.unwrap();
        assert!(!lease.record.in_bucket);
        let renewed = held(n1.acquire("acme").await.unwrap());
        assert!(!renewed.record.in_bucket);
        assert_eq!(
            renewed.previous.as_ref().map(|r| r.owner.as_str()),
            Some("n1")
        );

        // Granted to n2: its owner at once, next epoch, marked in_bucket;
        // n3 cannot take it in between; n1's old version is dead.
        let to = n1.nodes().await.unwrap();
        let to = to.iter().find(|r| r.node == "n2").unwrap();
        n1.hand_over(renewed, Some(to), None).await.unwrap();
        match n3.acquire("acme").await.unwrap() {
            Acquired::Elsewhere(r) => assert_eq!((r.owner.as_str(), r.epoch), ("n2", 2)),
            Acquired::Held(_) => panic!("n3 took a granted lease"),
        }
        let mut granted = held(n2.acquire("acme").await.unwrap());
        assert_eq!(granted.record.epoch, 2);
        assert!(granted.record.in_bucket);
        assert_eq!(
            granted.previous.as_ref().map(|r| r.owner.as_str()),
            Some("n2")
        );
        let e = n1.renew(&mut lease).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");

        // Released by n2 after serving it (settled): n3 takes it over and
        // learns that n2 had the newest data.
        n2.settle(&mut granted).await.unwrap();
        n2.release(granted).await.unwrap();
        let taken = held(n3.acquire("acme").await.unwrap());
        assert_eq!(taken.record.epoch, 3);
        assert!(!taken.record.in_bucket);
        assert_eq!(
            taken.previous.as_ref().map(|r| r.owner.as_str()),
            Some("n2")
        );
        // n3 will not serve an older copy: it gives the lease back, still
        // naming n2, so the next node learns the same.
        n3.give_back(taken).await.unwrap();
        let taken = held(n3.acquire("acme").await.unwrap());
        assert_eq!(taken.record.epoch, 4);
        assert_eq!(
            taken.previous.as_ref().map(|r| r.owner.as_str()),
            Some("n2")
        );
        // Handed over (released) by n3: the next owner is told to bring it
        // in from the bucket.
        n3.hand_over(taken, None, None).await.unwrap();
        let back = held(n1.acquire("acme").await.unwrap());
        assert_eq!((back.record.epoch, back.record.in_bucket), (5, true));
        assert_eq!(back.previous.as_ref().map(|r| r.owner.as_str()), Some("n3"));
    });
}

#[test]
fn nodes_register_heartbeat_and_cannot_share_an_id() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("registry");
    let n1 = node(&prefix, &endpoint, "n1", Duration::from_secs(30));
    let n2 = node(&prefix, &endpoint, "n2", Duration::from_secs(30));
    let twin = node(&prefix, &endpoint, "n1", Duration::from_secs(30));
    block_on(async {
        let e = n1.heartbeat().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{e}");
        n1.join().await.unwrap();
        n2.join().await.unwrap();
        n1.heartbeat().await.unwrap();
        let e = twin.join().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{e}");
        assert!(e.message().contains("in use"), "{e}");
        let nodes = n2.nodes().await.unwrap();
        let names: Vec<&str> = nodes.iter().map(|r| r.node.as_str()).collect();
        assert_eq!(names, ["n1", "n2"]);
        assert!(nodes.iter().all(|r| r.is_live()));
        assert_eq!(nodes[0].address, n1.address());
    });
    // A node silent past its lease time is replaced, and the old process's
    // next heartbeat is refused.
    let quiet = node(&prefix, &endpoint, "n3", SHORT);
    let successor = node(&prefix, &endpoint, "n3", SHORT);
    block_on(async {
        quiet.join().await.unwrap();
        tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
        successor.join().await.unwrap();
        let e = quiet.heartbeat().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
        successor.heartbeat().await.unwrap();
    });
}

#[test]
fn hostile_names_are_refused_before_they_become_keys() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("names");
    let store = store(&prefix, &endpoint);
    for bad in ["", "..", "a/b", "../x", "café", "a b"] {
        let e = Node::new(store.clone(), bad, "http://x", SHORT).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidName, "{bad:?}");
    }
    let n = Node::new(store, "n1", "http://x", SHORT).unwrap();
    for bad in ["", "..", "a/b", "../leases/x", "%2F"] {
        let e = block_on(n.acquire(bad)).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidName, "{bad:?}");
    }
}

/// A local folder cannot fence (no conditional update): refused, clearly.
#[test]
fn a_file_store_is_refused_for_cluster_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let c = ObjectStoreConfig::parse(&format!("file://{}", tmp.path().display())).unwrap();
    let e = ClusterStore::open(&c).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::InvalidOption);
    assert!(e.message().contains("PutMode::Update"), "{e}");
}

#[test]
fn a_log_truncated_through_a_checkpoint_still_fences_and_replays_the_rest() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("truncate");
    let n1 = node(&prefix, &endpoint, "n1", SHORT);
    let lease = held(block_on(n1.acquire("acme")).unwrap());
    let (mut wal, _) = block_on(n1.open_wal(&lease, 0)).unwrap();
    let seqs: Vec<u64> = (0..6u8)
        .map(|i| block_on(wal.append(vec![i])).unwrap())
        .collect();
    // A checkpoint holding the first four records: the log up to it goes
    // (the fence entry before them too).
    let through = seqs[3];
    assert_eq!(block_on(n1.truncate_wal("acme", through)).unwrap(), 5);
    assert_eq!(block_on(n1.truncate_wal("acme", through)).unwrap(), 0);
    thread::sleep(SHORT + Duration::from_millis(100));
    // A take-over from that checkpoint replays exactly the two after it,
    // and fences n1.
    let n2 = node(&prefix, &endpoint, "n2", SHORT);
    let lease2 = held(block_on(n2.acquire("acme")).unwrap());
    let (mut wal2, replay) = block_on(n2.open_wal(&lease2, through)).unwrap();
    let replayed: Vec<(u64, Vec<u8>)> = replay.into_iter().map(|e| (e.seq, e.payload)).collect();
    assert_eq!(replayed, vec![(seqs[4], vec![4]), (seqs[5], vec![5])]);
    let e = block_on(wal.append(vec![9])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
    // Truncated to nothing: the next owner still fences above the
    // checkpoint, so n2 cannot append again.
    let last = block_on(wal2.append(vec![7])).unwrap();
    assert_eq!(block_on(n2.truncate_wal("acme", last)).unwrap(), 4);
    thread::sleep(SHORT + Duration::from_millis(100));
    let n3 = node(&prefix, &endpoint, "n3", SHORT);
    let lease3 = held(block_on(n3.acquire("acme")).unwrap());
    let (_, replay) = block_on(n3.open_wal(&lease3, last)).unwrap();
    assert!(replay.is_empty());
    let e = block_on(wal2.append(vec![8])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
}

#[test]
fn a_batch_of_records_in_one_entry_is_replayed_as_each_record_in_order() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("batch");
    let n1 = node(&prefix, &endpoint, "n1", SHORT);
    let lease = held(block_on(n1.acquire("acme")).unwrap());
    let (mut wal, _) = block_on(n1.open_wal(&lease, 0)).unwrap();
    let first = block_on(wal.append(b"one".to_vec())).unwrap();
    let batch = block_on(wal.append_all(vec![b"two".to_vec(), b"three".to_vec()])).unwrap();
    let last = block_on(wal.append(b"four".to_vec())).unwrap();
    assert_eq!((batch, last), (first + 1, first + 2));
    thread::sleep(SHORT + Duration::from_millis(100));
    let n2 = node(&prefix, &endpoint, "n2", SHORT);
    let lease2 = held(block_on(n2.acquire("acme")).unwrap());
    let (_, replay) = block_on(n2.open_wal(&lease2, 0)).unwrap();
    let replayed: Vec<(u64, &[u8])> = replay
        .iter()
        .map(|e| (e.seq, e.payload.as_slice()))
        .collect();
    assert_eq!(
        replayed,
        vec![
            (first, &b"one"[..]),
            (batch, &b"two"[..]),
            (batch, &b"three"[..]),
            (last, &b"four"[..]),
        ]
    );
    // A fenced log refuses a batch as it refuses one record.
    let e = block_on(wal.append_all(vec![b"five".to_vec(), b"six".to_vec()])).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::NotOwner, "{e}");
}

#[test]
fn a_lease_lasts_as_long_as_its_owners_heartbeat_without_being_renewed() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("backed");
    let n1 = node(&prefix, &endpoint, "n1", SHORT);
    let n2 = node(&prefix, &endpoint, "n2", SHORT);
    block_on(n1.join()).unwrap();
    block_on(n2.join()).unwrap();
    let lease = held(block_on(n1.acquire("acme")).unwrap());
    // Three lease times with only n1's heartbeat: its lease record is
    // never rewritten, and still n1's.
    for _ in 0..9 {
        thread::sleep(SHORT / 3);
        block_on(n1.heartbeat()).unwrap();
    }
    match block_on(n2.acquire("acme")).unwrap() {
        Acquired::Elsewhere(r) => assert_eq!((r.owner.as_str(), r.epoch), ("n1", 1)),
        Acquired::Held(_) => panic!("n2 took a lease whose owner heartbeats"),
    }
    assert!(block_on(n2.lease_is_live(&lease.record)).unwrap());
    // n1 acquiring again writes nothing: same epoch, same record.
    let again = held(block_on(n1.acquire("acme")).unwrap());
    assert_eq!(again.record, lease.record);
    // n1 silent past the lease time: n2 takes it over with the next epoch.
    thread::sleep(SHORT + Duration::from_millis(100));
    assert!(!block_on(n1.lease_is_live(&lease.record)).unwrap());
    let taken = held(block_on(n2.acquire("acme")).unwrap());
    assert_eq!((taken.record.owner.as_str(), taken.record.epoch), ("n2", 2));
}
