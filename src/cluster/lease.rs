//! Leases at `PREFIX/leases/<tenant>`: which node serves a tenant, until
//! when, and in which epoch.
//!
//! - acquire: create the record if absent (epoch 1);
//! - a lease lasts while its owner's node record heartbeats (`backed`):
//!   one write per node per heartbeat keeps all its leases, however many;
//! - renew: rewrite it conditional on the ETag this node last saw;
//! - take over: once it has expired (its owner silent past the lease time,
//!   or the lease released), rewrite it with the next epoch,
//!   conditional on the ETag just read, so of two nodes racing exactly one
//!   wins;
//! - release: rewrite it as expired (same epoch), so the next owner need not
//!   wait;
//! - hand over: after the owner put the tenant's data in the bucket, release
//!   it or grant it to another node, marked `in_bucket`, so the next owner
//!   knows to bring the data in from there.
//!
//! Expiry compares wall clocks of different machines: keep them in sync
//! (NTP) to well under the lease time. A lease alone never guards a write:
//! the log's fencing does (`fence`).

use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::node::Node;
use super::registry::NodeRecord;
use super::store::{decode, encode, Put};
use crate::clock::now_ms;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::object::Target;

/// Rounds of read-then-write before `acquire` gives up on a contended lease.
const ACQUIRE_ROUNDS: usize = 8;

/// A tenant's lease as the bucket records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The tenant.
    pub tenant: String,
    /// The owning node's name.
    pub owner: String,
    /// Where the owner serves requests.
    pub address: String,
    /// Grows by one at every change of owner.
    pub epoch: u64,
    /// When it ends at the latest if its owner stops heartbeating, in ms
    /// since the Unix epoch; 0 once released.
    pub expires_ms: i64,
    /// The owning process's random incarnation.
    pub incarnation: u64,
    /// True while the bucket holds the tenant's newest data: no node has
    /// served it since it was put there (by a hand-over), or no node ever
    /// held its lease. The owner clears it once it serves the tenant from
    /// its own disk; a new owner brings the tenant in from the bucket only
    /// while it is set (docs/cluster.md). Absent in older records: false.
    #[serde(default)]
    pub in_bucket: bool,
    /// The bucket's copy the tenant's log continues: set by the last
    /// hand-over, kept by every other change. `None` if the tenant was
    /// never handed over (or in older records).
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    /// True while the lease lasts as long as its owner's node record
    /// (`PREFIX/nodes/<owner>`, same incarnation) heartbeats within its
    /// lease time, past `expires_ms`; false once released or handed over
    /// without a new owner (and in older records, which last until
    /// `expires_ms` only).
    #[serde(default)]
    pub backed: bool,
}

/// A copy of a tenant in the bucket and how far its log it holds: the
/// manifest of generation `generation_id` holds every record of the log up
/// to sequence number `seq`, so a new owner brings that copy in and replays
/// the records after `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The manifest's `generation_id` (random per upload, never reused).
    pub generation_id: String,
    /// The last log sequence number the copy holds (0: none).
    pub seq: u64,
}

impl LeaseRecord {
    /// True if it is live given `owner`, the node record of its owner (if
    /// there is one): before `expires_ms`, or backed by a live node record
    /// of the same incarnation.
    pub fn is_live_with(&self, owner: Option<&NodeRecord>) -> bool {
        self.expires_ms > now_ms()
            || (self.backed
                && owner.is_some_and(|n| {
                    n.node == self.owner && n.incarnation == self.incarnation && n.is_live()
                }))
    }
}

/// A lease this node holds: the record and the version it wrote.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The record as written.
    pub record: LeaseRecord,
    /// The record [`Node::acquire`] replaced (this node's own for a
    /// renewal); `None` if the lease was created then.
    pub previous: Option<LeaseRecord>,
    version: UpdateVersion,
}

/// What [`Node::acquire`] found.
#[derive(Debug, Clone)]
pub enum Acquired {
    /// This node holds the lease (new, renewed or taken over).
    Held(Lease),
    /// Another node holds a live lease.
    Elsewhere(LeaseRecord),
}

impl Node {
    fn lease_record(
        &self,
        tenant: &str,
        epoch: u64,
        in_bucket: bool,
        checkpoint: Option<Checkpoint>,
    ) -> LeaseRecord {
        LeaseRecord {
            tenant: tenant.to_string(),
            owner: self.id.clone(),
            address: self.address.clone(),
            epoch,
            expires_ms: now_ms().saturating_add(self.lease_ms()),
            incarnation: self.incarnation,
            in_bucket,
            checkpoint,
            backed: true,
        }
    }

    /// Whether `record` is live: before its expiry, or backed by its
    /// owner's heartbeat. This process's own heartbeat is known here; other
    /// owners' node records are read (at most every tenth of the lease
    /// time each).
    pub async fn lease_is_live(&self, record: &LeaseRecord) -> Result<bool> {
        if record.expires_ms > now_ms() {
            return Ok(true);
        }
        if !record.backed {
            return Ok(false);
        }
        if record.owner == self.id && record.incarnation == self.incarnation {
            return Ok(self.beat_age() < self.lease);
        }
        let owner = self.node_record(&record.owner).await?;
        Ok(record.is_live_with(owner.as_ref()))
    }

    /// Acquires `tenant`'s lease: creates it, renews it if this process
    /// holds it already, or takes it over with the next epoch once it has
    /// expired. A live lease of another node (or of another process with
    /// this node's id) is returned as [`Acquired::Elsewhere`].
    ///
    /// `in_bucket` is kept as it was (a new lease has it set): only the
    /// owner that serves the tenant from its disk clears it ([`Node::settle`]).
    pub async fn acquire(&self, tenant: &str) -> Result<Acquired> {
        let key = self.store.keys.key(tenant, Target::Lease)?;
        for _ in 0..ACQUIRE_ROUNDS {
            let (record, mode, previous) = match self.store.get(&key).await? {
                None => (
                    self.lease_record(tenant, 1, true, None),
                    PutMode::Create,
                    None,
                ),
                Some((bytes, version)) => {
                    let old: LeaseRecord = decode(&key, &bytes)?;
                    let mine = old.owner == self.id && old.incarnation == self.incarnation;
                    let live = self.lease_is_live(&old).await?;
                    if live && !mine {
                        return Ok(Acquired::Elsewhere(old));
                    }
                    if live && old.backed {
                        // Held already, and kept by this node's heartbeat.
                        return Ok(Acquired::Held(Lease {
                            record: old.clone(),
                            previous: Some(old),
                            version,
                        }));
                    }
                    let epoch = if live { old.epoch } else { old.epoch + 1 };
                    let record =
                        self.lease_record(tenant, epoch, old.in_bucket, old.checkpoint.clone());
                    (record, PutMode::Update(version), Some(old))
                }
            };
            // A conflict means another node wrote first: read again.
            if let Put::Done(version) = self.store.put(&key, encode(&record), mode).await? {
                return Ok(Acquired::Held(Lease {
                    record,
                    previous,
                    version,
                }));
            }
        }
        Err(Error::new(
            ErrorKind::StorageUnavailable,
            format!(
                "the lease of tenant {tenant:?} changed {ACQUIRE_ROUNDS} times while this node \
                 tried to acquire it; try again"
            ),
        ))
    }

    /// Extends `lease` by the lease time, conditional on the version this
    /// node last wrote. `NotOwner` if the lease changed since (taken over).
    pub async fn renew(&self, lease: &mut Lease) -> Result<()> {
        let record = self.lease_record(
            &lease.record.tenant,
            lease.record.epoch,
            lease.record.in_bucket,
            lease.record.checkpoint.clone(),
        );
        self.rewrite(lease, record).await
    }

    /// Gives `lease` up: the record stays, marked expired, so the next
    /// owner takes it at once with the next epoch. `in_bucket` as it was:
    /// set it first ([`Node::hand_over`]) if the bucket holds the data.
    pub async fn release(&self, mut lease: Lease) -> Result<()> {
        let record = LeaseRecord {
            expires_ms: 0,
            backed: false,
            ..lease.record.clone()
        };
        self.rewrite(&mut lease, record).await
    }

    /// Hands `lease` over once the tenant's data is in the bucket, as
    /// `checkpoint` (`None`: the bucket has no copy): marked `in_bucket`,
    /// and granted to `to` (its owner from now on, with the
    /// next epoch and a full lease time, so that no third node can take it
    /// meanwhile) or, with no `to`, released for any node to take.
    pub async fn hand_over(
        &self,
        mut lease: Lease,
        to: Option<&NodeRecord>,
        checkpoint: Option<Checkpoint>,
    ) -> Result<()> {
        let record = match to {
            Some(to) => LeaseRecord {
                owner: to.node.clone(),
                address: to.address.clone(),
                epoch: lease.record.epoch + 1,
                expires_ms: now_ms().saturating_add(to.lease_ms),
                incarnation: to.incarnation,
                in_bucket: true,
                checkpoint,
                tenant: lease.record.tenant.clone(),
                backed: true,
            },
            None => LeaseRecord {
                expires_ms: 0,
                in_bucket: true,
                checkpoint,
                backed: false,
                ..lease.record.clone()
            },
        };
        self.rewrite(&mut lease, record).await
    }

    /// Gives back a lease just taken over that this node will not serve:
    /// the record names the previous owner again, expired, with this
    /// epoch, so that the next node to take it learns who served the
    /// tenant last. A lease that was created (no previous owner) is
    /// released.
    pub async fn give_back(&self, mut lease: Lease) -> Result<()> {
        let record = match &lease.previous {
            Some(previous) => LeaseRecord {
                epoch: lease.record.epoch,
                expires_ms: 0,
                backed: false,
                ..previous.clone()
            },
            None => LeaseRecord {
                expires_ms: 0,
                backed: false,
                ..lease.record.clone()
            },
        };
        self.rewrite(&mut lease, record).await
    }

    /// Records `checkpoint` in `lease`: the copy in the bucket the
    /// tenant's log continues from now on.
    pub async fn set_checkpoint(&self, lease: &mut Lease, checkpoint: Checkpoint) -> Result<()> {
        let record = LeaseRecord {
            checkpoint: Some(checkpoint),
            ..lease.record.clone()
        };
        self.rewrite(lease, record).await
    }

    /// Clears `in_bucket` on `lease`: this node serves the tenant from its
    /// disk now, so the bucket's copy may be older than its data.
    pub async fn settle(&self, lease: &mut Lease) -> Result<()> {
        let record = LeaseRecord {
            in_bucket: false,
            ..lease.record.clone()
        };
        self.rewrite(lease, record).await
    }

    async fn rewrite(&self, lease: &mut Lease, record: LeaseRecord) -> Result<()> {
        let key = self.store.keys.key(&record.tenant, Target::Lease)?;
        let mode = PutMode::Update(lease.version.clone());
        match self.store.put(&key, encode(&record), mode).await? {
            Put::Done(version) => {
                lease.record = record;
                lease.version = version;
                Ok(())
            }
            Put::Conflict => Err(Error::new(
                ErrorKind::NotOwner,
                format!(
                    "node {:?} no longer owns tenant {:?}: its lease (epoch {}) was taken over",
                    self.id, lease.record.tenant, lease.record.epoch
                ),
            )),
        }
    }

    /// The lease record of `tenant` in the bucket (live, expired or
    /// released), if there is one.
    pub async fn lease(&self, tenant: &str) -> Result<Option<LeaseRecord>> {
        let key = self.store.keys.key(tenant, Target::Lease)?;
        match self.store.get(&key).await? {
            Some((bytes, _)) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every lease record in the bucket (live, expired or released).
    pub async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        let root = self.store.keys.folder("leases")?;
        self.store.read_all(&root).await
    }
}
