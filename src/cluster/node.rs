//! One node of the cluster: its name, advertised address, lease time and
//! random incarnation, over the shared store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// When this node's record was last written (joined or heartbeat).
    pub(super) last_beat: Mutex<Option<Instant>>,
    /// Other nodes' records as last read, and when (see
    /// [`Node::node_record`]).
    pub(super) seen: Mutex<HashMap<String, (Option<super::NodeRecord>, Instant)>>,
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
            last_beat: Mutex::new(None),
            seen: Mutex::new(HashMap::new()),
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

    /// How long ago this node's record was last written (its heartbeat);
    /// `Duration::MAX` before it joined. The leases it holds last while
    /// this stays under the lease time.
    pub fn beat_age(&self) -> Duration {
        self.last_beat
            .lock()
            .map_or(Duration::MAX, |at| at.elapsed())
    }

    /// The lease time in milliseconds, as records hold it.
    pub(super) fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}
