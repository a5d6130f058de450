//! Leases at `PREFIX/leases/<tenant>`: which node serves a tenant, until
//! when, and in which epoch.
//!
//! - acquire: create the record if absent (epoch 1);
//! - renew: rewrite it conditional on the ETag this node last saw;
//! - take over: once it has expired, rewrite it with the next epoch,
//!   conditional on the ETag just read, so of two nodes racing exactly one
//!   wins;
//! - release: rewrite it as expired (same epoch), so the next owner need not
//!   wait.
//!
//! Expiry compares wall clocks of different machines: keep them in sync
//! (NTP) to well under the lease time. A lease alone never guards a write:
//! the log's fencing does (`fence`).

use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};

use super::node::Node;
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
    /// When it ends, in ms since the Unix epoch; 0 once released.
    pub expires_ms: i64,
    /// The owning process's random incarnation.
    pub incarnation: u64,
}

impl LeaseRecord {
    /// True if it has not expired (nor been released).
    pub fn is_live(&self) -> bool {
        self.expires_ms > now_ms()
    }
}

/// A lease this node holds: the record and the version it wrote.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The record as written.
    pub record: LeaseRecord,
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
    fn lease_record(&self, tenant: &str, epoch: u64) -> LeaseRecord {
        LeaseRecord {
            tenant: tenant.to_string(),
            owner: self.id.clone(),
            address: self.address.clone(),
            epoch,
            expires_ms: now_ms().saturating_add(self.lease_ms()),
            incarnation: self.incarnation,
        }
    }

    /// Acquires `tenant`'s lease: creates it, renews it if this process
    /// holds it already, or takes it over with the next epoch once it has
    /// expired. A live lease of another node (or of another process with
    /// this node's id) is returned as [`Acquired::Elsewhere`].
    pub async fn acquire(&self, tenant: &str) -> Result<Acquired> {
        let key = self.store.keys.key(tenant, Target::Lease)?;
        for _ in 0..ACQUIRE_ROUNDS {
            let (record, mode) = match self.store.get(&key).await? {
                None => (self.lease_record(tenant, 1), PutMode::Create),
                Some((bytes, version)) => {
                    let old: LeaseRecord = decode(&key, &bytes)?;
                    let mine = old.owner == self.id && old.incarnation == self.incarnation;
                    if old.is_live() && !mine {
                        return Ok(Acquired::Elsewhere(old));
                    }
                    let epoch = if mine && old.is_live() {
                        old.epoch
                    } else {
                        old.epoch + 1
                    };
                    (self.lease_record(tenant, epoch), PutMode::Update(version))
                }
            };
            // A conflict means another node wrote first: read again.
            if let Put::Done(version) = self.store.put(&key, encode(&record), mode).await? {
                return Ok(Acquired::Held(Lease { record, version }));
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
        let record = self.lease_record(&lease.record.tenant, lease.record.epoch);
        self.rewrite(lease, record).await
    }

    /// Gives `lease` up (a clean hand-over): the record stays, marked
    /// expired, so the next owner takes it at once with the next epoch.
    pub async fn release(&self, mut lease: Lease) -> Result<()> {
        let record = LeaseRecord {
            expires_ms: 0,
            ..lease.record.clone()
        };
        self.rewrite(&mut lease, record).await
    }

    async fn rewrite(&self, lease: &mut Lease, record: LeaseRecord) -> Result<()> {
        let key = self.store.keys.key(&record.tenant, Target::Lease)?;
        let mode = PutMode::Update(lease.version.clone());
        match self.store.put(&key, encode(&record), mode).await? {
            Put::Done(version) => {
                *lease = Lease { record, version };
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

    /// Every lease record in the bucket (live, expired or released).
    pub async fn leases(&self) -> Result<Vec<LeaseRecord>> {
        let root = self.store.keys.folder("leases")?;
        self.store.read_all(&root).await
    }
}
