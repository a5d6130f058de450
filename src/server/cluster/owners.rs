//! Which tenants this node owns: the leases it holds, renewed by the
//! heartbeat, and the check every tenant request goes through.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use subtle::ConstantTimeEq;

use crate::clock::now_ms;
use crate::cluster::{Acquired, Lease, LeaseRecord, Node};
use crate::error::{ErrorKind, Result};

/// This server as a member of the cluster (`pql serve --node-id`): the
/// node, the secret the nodes share, and the leases it holds.
#[derive(Debug)]
pub struct Membership {
    pub(super) node: Arc<Node>,
    secret: String,
    held: Mutex<HashMap<String, Lease>>,
    pub(super) client: reqwest::Client,
}

/// Where a tenant's requests are served.
pub(super) enum Owner {
    /// Here: this node holds the lease.
    Here,
    /// At another live node.
    There(LeaseRecord),
}

impl Membership {
    /// Membership of `node`; requests between nodes carry `secret`
    /// (`--cluster-secret-file`, at least 16 characters).
    pub fn new(node: Arc<Node>, secret: String) -> Result<Membership> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| crate::Error::new(ErrorKind::InvalidOption, e.to_string()))?;
        Ok(Membership {
            node,
            secret,
            held: Mutex::new(HashMap::new()),
            client,
        })
    }

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    pub(super) fn secret(&self) -> &str {
        &self.secret
    }

    /// True if `given` is the cluster secret (compared in constant time).
    pub(super) fn is_secret(&self, given: &[u8]) -> bool {
        bool::from(self.secret.as_bytes().ct_eq(given))
    }

    /// Who serves `tenant`: here if this node holds a lease with more than
    /// half its time left, or acquires (or renews) it now; else the live
    /// owner.
    pub(super) async fn owner(&self, tenant: &str) -> Result<Owner> {
        let half = self.node.lease_time().as_millis() as i64 / 2;
        let fresh = self
            .held
            .lock()
            .get(tenant)
            .is_some_and(|l| l.record.expires_ms - now_ms() > half);
        if fresh {
            return Ok(Owner::Here);
        }
        match self.node.acquire(tenant).await? {
            Acquired::Held(lease) => {
                self.held.lock().insert(tenant.to_string(), lease);
                Ok(Owner::Here)
            }
            Acquired::Elsewhere(record) => {
                self.held.lock().remove(tenant);
                Ok(Owner::There(record))
            }
        }
    }

    /// The tenants whose leases this node holds.
    pub(super) fn held(&self) -> Vec<Lease> {
        self.held.lock().values().cloned().collect()
    }

    /// Renews every held lease; one taken over meanwhile is dropped.
    pub(super) async fn renew_all(&self) {
        for mut lease in self.held() {
            let tenant = lease.record.tenant.clone();
            match self.node.renew(&mut lease).await {
                Ok(()) => {
                    self.held.lock().insert(tenant, lease);
                }
                Err(e) if e.kind() == &ErrorKind::NotOwner => {
                    self.held.lock().remove(&tenant);
                }
                Err(e) => eprintln!(
                    "pql serve: cannot renew the lease of {tenant}: {}",
                    e.message()
                ),
            }
        }
    }
}
