//! A tenant's write-ahead log in the bucket, `PREFIX/wal/<tenant>/<seq>`,
//! fenced by the store itself (SlateDB's WAL fencing is the model).
//!
//! Every entry is created if absent (`If-None-Match: *`), so each sequence
//! number is written once, by one writer. A new owner writes a fence entry
//! with its epoch at a free number past the end of the log, fills any free
//! number below it, and only then reads what it must replay. A stale
//! owner's next append targets a number at or below the fence, which
//! exists: the store refuses it, and the append fails with `NotOwner`. Checking the lease's epoch before a write could not do this,
//! since the lease can change between the check and the write.

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::PutMode;
use serde::{Deserialize, Serialize};

use super::lease::Lease;
use super::node::Node;
use super::store::{ClusterStore, Put};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::object::Target;

/// Claims of a fence number before `open_wal` gives up (each lost claim
/// means the old owner appended meanwhile).
const FENCE_ROUNDS: usize = 32;

/// The largest jump between two claims, which bounds the free numbers
/// below the fence to fill.
const MAX_JUMP: u64 = 1024;

/// Log entries read or filled at once.
const READS_IN_FLIGHT: usize = 8;

/// The format version written in every entry: 2 added [`Body::Batch`];
/// entries of format 1 are read as before.
const FORMAT: u8 = 2;

/// One object of the log, as stored (postcard).
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    format: u8,
    /// The epoch of the lease its writer held.
    epoch: u64,
    body: Body,
}

#[derive(Debug, Serialize, Deserialize)]
enum Body {
    /// A new owner's claim: nothing to replay.
    Fence,
    /// A record to replay.
    Record(Vec<u8>),
    /// Several records to replay in order: a group commit.
    Batch(Vec<Vec<u8>>),
}

/// A record of the log, as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalEntry {
    /// Its sequence number.
    pub seq: u64,
    /// The epoch of the owner that wrote it.
    pub epoch: u64,
    /// The bytes appended.
    pub payload: Vec<u8>,
}

/// The log of one tenant, open for appends by its owner.
#[derive(Debug)]
pub struct Wal {
    store: Arc<ClusterStore>,
    tenant: String,
    epoch: u64,
    /// The next sequence number to write.
    next: u64,
    /// Set once an append found its number taken: every later append fails.
    fenced: bool,
}

impl Node {
    /// Opens `lease`'s tenant's log for appends: returns the records after
    /// sequence number `after` (the last one a checkpoint holds; 0 for
    /// none), in order, and the log, fenced so that no earlier owner can
    /// append again. `NotOwner` if an owner with a later epoch has written
    /// to the log already.
    ///
    /// The fence goes first and the reading after, so a stale owner that is
    /// still appending cannot starve the take-over: each lost claim jumps
    /// further ahead, then every free number below the fence is filled, and
    /// only then is the log read. A record acknowledged to the stale owner
    /// is below the fence, so it is replayed.
    pub async fn open_wal(&self, lease: &Lease, after: u64) -> Result<(Wal, Vec<WalEntry>)> {
        let tenant = &lease.record.tenant;
        let epoch = lease.record.epoch;
        let root = self.store.keys.key(tenant, Target::WalRoot)?;
        let listed = self.store.list(&root).await?;
        let last = match listed.last() {
            Some(key) => seq_of(key)?.max(after),
            None => after,
        };
        let fence = self.claim(tenant, epoch, last + 1).await?;
        self.fill_below(tenant, epoch, &root, after, fence).await?;
        let mut replay = Vec::new();
        for (seq, stored) in read_between(&self.store, &root, after, fence).await? {
            if stored.epoch > epoch {
                return Err(newer_owner(tenant, epoch, stored.epoch));
            }
            let payloads = match stored.body {
                Body::Fence => Vec::new(),
                Body::Record(payload) => vec![payload],
                Body::Batch(payloads) => payloads,
            };
            replay.extend(payloads.into_iter().map(|payload| WalEntry {
                seq,
                epoch: stored.epoch,
                payload,
            }));
        }
        let wal = Wal {
            store: self.store.clone(),
            tenant: tenant.clone(),
            epoch,
            next: fence + 1,
            fenced: false,
        };
        Ok((wal, replay))
    }

    /// Deletes the entries of `tenant`'s log numbered `through` or lower:
    /// those a checkpoint recorded in the tenant's lease holds. Call it only
    /// once the lease names that checkpoint: a take-over reads only the
    /// entries after it, and claims its fence above it even when no entry
    /// is left ([`Node::open_wal`]). Returns how many were deleted.
    pub async fn truncate_wal(&self, tenant: &str, through: u64) -> Result<usize> {
        let root = self.store.keys.key(tenant, Target::WalRoot)?;
        let mut doomed = Vec::new();
        for key in self.store.list(&root).await? {
            if seq_of(&key)? <= through {
                doomed.push(key);
            }
        }
        let count = doomed.len();
        let deletes = doomed.into_iter().map(|key| {
            let store = self.store.clone();
            async move { store.delete(&key).await }
        });
        futures::stream::iter(deletes)
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(count)
    }

    /// Writes a fence entry at `from` or after: the first number won, each
    /// lost one doubling the jump. Returns the number.
    async fn claim(&self, tenant: &str, epoch: u64, from: u64) -> Result<u64> {
        let mut seq = from;
        let mut jump = 1;
        for _ in 0..FENCE_ROUNDS {
            let key = self.store.keys.key(tenant, Target::WalEntry(seq))?;
            let fence = encode(epoch, Body::Fence);
            if let Put::Done(_) = self.store.put(&key, fence, PutMode::Create).await? {
                return Ok(seq);
            }
            seq += jump;
            jump = (jump * 2).min(MAX_JUMP);
        }
        Err(Error::new(
            ErrorKind::StorageUnavailable,
            format!(
                "the log of tenant {tenant:?} grew during {FENCE_ROUNDS} attempts to fence it; try again"
            ),
        ))
    }

    /// Fills every free number in `(after, fence)` with a fence entry, so
    /// nothing can be written below the fence any more.
    async fn fill_below(
        &self,
        tenant: &str,
        epoch: u64,
        root: &Key,
        after: u64,
        fence: u64,
    ) -> Result<()> {
        let mut taken = std::collections::HashSet::new();
        for key in self.store.list(root).await? {
            taken.insert(seq_of(&key)?);
        }
        let free: Vec<u64> = (after + 1..fence).filter(|s| !taken.contains(s)).collect();
        futures::stream::iter(free)
            .map(|seq| async move {
                let key = self.store.keys.key(tenant, Target::WalEntry(seq))?;
                // A conflict means the slot got written meanwhile: as good.
                self.store
                    .put(&key, encode(epoch, Body::Fence), PutMode::Create)
                    .await
                    .map(|_| ())
            })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }
}

impl Wal {
    /// Appends `payload` as the next record and returns its sequence
    /// number; when this returns Ok the record is in the bucket. `NotOwner`
    /// if a newer owner has fenced the log (then and for every later call).
    pub async fn append(&mut self, payload: Vec<u8>) -> Result<u64> {
        self.append_all(vec![payload]).await
    }

    /// Appends `payloads` (at least one) as one entry, replayed as that
    /// many records in order (a group commit), and returns its sequence
    /// number; as [`Wal::append`] otherwise.
    pub async fn append_all(&mut self, mut payloads: Vec<Vec<u8>>) -> Result<u64> {
        if self.fenced {
            return Err(self.not_owner());
        }
        let seq = self.next;
        let key = self.store.keys.key(&self.tenant, Target::WalEntry(seq))?;
        let body = match payloads.len() {
            1 => Body::Record(payloads.remove(0)),
            _ => Body::Batch(payloads),
        };
        let bytes = encode(self.epoch, body);
        match self.store.put(&key, bytes, PutMode::Create).await? {
            Put::Done(_) => {
                self.next += 1;
                Ok(seq)
            }
            Put::Conflict => {
                self.fenced = true;
                Err(self.not_owner())
            }
        }
    }

    /// The last sequence number this log wrote (a record, or the fence of
    /// its opening): a copy of the tenant taken now holds every record up
    /// to it.
    pub fn last(&self) -> u64 {
        self.next - 1
    }

    /// The tenant whose log this is.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The epoch it appends with.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    fn not_owner(&self) -> Error {
        Error::new(
            ErrorKind::NotOwner,
            format!(
                "this node no longer owns tenant {:?}: another node took its lease over and \
                 fenced its log at entry {}, so the write (epoch {}) was refused; retry it, \
                 the tenant's new owner serves it",
                self.tenant, self.next, self.epoch
            ),
        )
    }
}

fn newer_owner(tenant: &str, epoch: u64, newer: u64) -> Error {
    Error::new(
        ErrorKind::NotOwner,
        format!(
            "this node no longer owns tenant {tenant:?}: its log holds writes of epoch {newer}, \
             after this node's epoch {epoch}"
        ),
    )
}

fn encode(epoch: u64, body: Body) -> Vec<u8> {
    let stored = Stored {
        format: FORMAT,
        epoch,
        body,
    };
    // postcard cannot fail on a struct of integers and bytes.
    postcard::to_allocvec(&stored).unwrap_or_default()
}

/// The entries numbered in `(after, before)`, in order.
async fn read_between(
    store: &ClusterStore,
    root: &Key,
    after: u64,
    before: u64,
) -> Result<Vec<(u64, Stored)>> {
    let mut wanted = Vec::new();
    for key in store.list(root).await? {
        let seq = seq_of(&key)?;
        if seq > after && seq < before {
            wanted.push((seq, key));
        }
    }
    futures::stream::iter(wanted)
        .map(|(seq, key)| async move { Ok((seq, read(store, &key).await?)) })
        .buffered(READS_IN_FLIGHT)
        .try_collect()
        .await
}

/// The entry at `key`.
async fn read(store: &ClusterStore, key: &Key) -> Result<Stored> {
    let Some((bytes, _)) = store.get(key).await? else {
        return Err(Error::corrupt(
            format!("object {key}"),
            "a log entry below the fence disappeared",
        ));
    };
    let stored: Stored =
        postcard::from_bytes(&bytes).map_err(|e| Error::corrupt(format!("object {key}"), e))?;
    if !(1..=FORMAT).contains(&stored.format) {
        return Err(Error::corrupt(
            format!("object {key}"),
            format!("unknown log format {}", stored.format),
        ));
    }
    Ok(stored)
}

/// The sequence number a log key ends with.
fn seq_of(key: &Key) -> Result<u64> {
    key.filename()
        .and_then(|name| name.parse().ok())
        .ok_or_else(|| Error::corrupt(format!("object {key}"), "not a log entry name"))
}
