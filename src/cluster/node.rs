//! One node of the cluster: its name, advertised address, lease time and
//! random incarnation, over the shared store.

use std::sync::Arc;
use std::time::Duration;

use object_store::UpdateVersion;
use parking_lot::Mutex;

use super::store::ClusterStore;
use crate::error::{Error, Result};
use crate::tenant::names::validate;

/// A node of the cluster (`pql serve --node-id NAME --advertise URL`).
///
/// Its methods live beside what they touch: `join`, `heartbeat` and `nodes`
/// (the registry), `acquire`, `renew`, `release` and `leases` (leases),
/// `open_wal` (the fenced log).
#[derive(Debug)]
pub struct Node {
    pub(super) store: Arc<ClusterStore>,
    pub(super) id: String,
    pub(super) address: String,
    pub(super) lease: Duration,
    /// Random per process: tells this process from an earlier (or a
    /// paused) one with the same node id.
    pub(super) incarnation: u64,
    /// The version of this node's own record, once joined.
    pub(super) record_version: Mutex<Option<UpdateVersion>>,
}

impl Node {
    /// A node named `id` (validated like a tenant name), reachable by the
    /// other nodes at `address`, whose leases last `lease`.
    pub fn new(store: Arc<ClusterStore>, id: &str, address: &str, lease: Duration) -> Result<Node> {
        validate("node", id)?;
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|e| Error::io("random incarnation", e))?;
        Ok(Node {
            store,
            id: id.to_string(),
            address: address.to_string(),
            lease,
            incarnation: u64::from_le_bytes(bytes),
            record_version: Mutex::new(None),
        })
    }

    /// The node's name.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The address the other nodes reach it at.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The bucket it works on.
    pub(crate) fn store(&self) -> &Arc<ClusterStore> {
        &self.store
    }

    /// How long its leases last.
    pub fn lease_time(&self) -> Duration {
        self.lease
    }

    /// The lease time in milliseconds, as records hold it.
    pub(super) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}
