//! Node records at `PREFIX/nodes/<node>`: how nodes find each other. A node
//! creates its record when it joins and rewrites it, conditional on its
//! ETag, at every heartbeat; so two live processes cannot share a node id.

use std::time::Instant;

use object_store::PutMode;
use serde::{Deserialize, Serialize};

use super::node::Node;
use super::store::{decode, encode, Put};
use crate::clock::now_ms;
use crate::error::{Error, ErrorKind, Result};

/// A node as the bucket records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node's name (`--node-id`).
    pub node: String,
    /// Where the other nodes reach it (`--advertise`).
    pub address: String,
    /// The time of its last heartbeat, in ms since the Unix epoch.
    pub heartbeat_ms: i64,
    /// Its lease time in ms: a node silent for longer is taken as gone.
    pub lease_ms: i64,
    /// Random per process.
    pub incarnation: u64,
}

impl NodeRecord {
    /// Milliseconds since the last heartbeat (by this machine's clock).
    pub fn heartbeat_age_ms(&self) -> i64 {
        now_ms().saturating_sub(self.heartbeat_ms).max(0)
    }

    /// True if it heartbeat within its lease time.
    pub fn is_live(&self) -> bool {
        self.heartbeat_age_ms() <= self.lease_ms
    }
}

impl Node {
    fn record(&self) -> NodeRecord {
        NodeRecord {
            node: self.id.clone(),
            address: self.address.clone(),
            heartbeat_ms: now_ms(),
            lease_ms: self.lease_ms(),
            incarnation: self.incarnation,
        }
    }

    /// Registers the node. Refused with `InvalidOption` while another live
    /// process holds the same node id; a record older than its lease time
    /// (a node that stopped) is taken over.
    pub async fn join(&self) -> Result<()> {
        let key = self.store.keys.node(&self.id)?;
        let mode = match self.store.get(&key).await? {
            None => PutMode::Create,
            Some((bytes, version)) => {
                let old: NodeRecord = decode(&key, &bytes)?;
                if old.incarnation != self.incarnation && old.is_live() {
                    return Err(Error::new(
                        ErrorKind::InvalidOption,
                        format!(
                            "node id {:?} is in use by a live node at {} (heartbeat {} ms ago); \
                             choose another --node-id or wait {} ms",
                            self.id,
                            old.address,
                            old.heartbeat_age_ms(),
                            old.lease_ms
                        ),
                    ));
                }
                PutMode::Update(version)
            }
        };
        self.write_record(mode, || {
            Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "node id {:?} was registered by another process at the same time",
                    self.id
                ),
            )
        })
        .await
    }

    /// Rewrites the node's record with the current time. Fails with
    /// `NotOwner` if another process took the node id over (this one was
    /// silent past its lease time), and with `InvalidOption` before `join`.
    pub async fn heartbeat(&self) -> Result<()> {
        let Some(version) = self.record_version.lock().clone() else {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                "the node has not joined the cluster",
            ));
        };
        self.write_record(PutMode::Update(version), || {
            Error::new(
                ErrorKind::NotOwner,
                format!(
                    "node id {:?} was taken over by another process while this one was silent",
                    self.id
                ),
            )
        })
        .await
    }

    /// Writes the node's record with `mode`, keeping the new version; a
    /// failed condition is `conflict()`.
    async fn write_record(&self, mode: PutMode, conflict: impl FnOnce() -> Error) -> Result<()> {
        let key = self.store.keys.node(&self.id)?;
        // Timed from before the write: the record says at least this.
        let started = Instant::now();
        match self.store.put(&key, encode(&self.record()), mode).await? {
            Put::Done(version) => {
                *self.record_version.lock() = Some(version);
                *self.last_beat.lock() = Some(started);
                Ok(())
            }
            Put::Conflict => Err(conflict()),
        }
    }

    /// The record of node `name`, if there is one, read from the bucket at
    /// most every tenth of the lease time (leases backed by that node's
    /// heartbeat are checked against it).
    pub(crate) async fn node_record(&self, name: &str) -> Result<Option<NodeRecord>> {
        let fresh_for = self.lease / 10;
        if let Some((record, at)) = self.seen.lock().get(name) {
            if at.elapsed() < fresh_for {
                return Ok(record.clone());
            }
        }
        let key = self.store.keys.node(name)?;
        let record = match self.store.get(&key).await? {
            Some((bytes, _)) => Some(decode::<NodeRecord>(&key, &bytes)?),
            None => None,
        };
        self.seen
            .lock()
            .insert(name.to_string(), (record.clone(), Instant::now()));
        Ok(record)
    }

    /// Every node record in the bucket, live or not, by name.
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>> {
        let root = self.store.keys.folder("nodes")?;
        self.store.read_all(&root).await
    }
}
