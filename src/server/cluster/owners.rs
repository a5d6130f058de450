//! Which tenants this node owns: the leases it holds, renewed by the
//! heartbeat; the check every tenant request goes through, which brings a
//! tenant in from the bucket when this node takes it over; and the
//! hand-over that puts a tenant in the bucket before its lease goes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use parking_lot::Mutex;
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use super::group::GroupLog;
use crate::cluster::{Acquired, Checkpoint, Lease, LeaseRecord, Node, NodeRecord};
use crate::error::{Error, ErrorKind, Result};
use crate::server::errors::ApiError;
use crate::server::state::Shared;

/// The longest wait for a forwarded request's answer, and for its owner to
/// take it at all (the retries of `route`).
pub(super) const FORWARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Log entries between a tenant's periodic checkpoints, by default.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// This server as a member of the cluster (`pql serve --node-id`): the
/// node, the secret the nodes share, and the leases it holds.
#[derive(Debug)]
pub struct Membership {
    pub(super) node: Arc<Node>,
    secret: String,
    /// The leases held, by tenant.
    held: Mutex<HashMap<String, Held>>,
    /// The epochs of the leases this node forgot when it fell silent
    /// ([`Membership::forget_held`]): if another node holds one in a later
    /// epoch, this node was fenced and drops its copy (`fenced`).
    forgotten: Mutex<HashMap<String, u64>>,
    /// Per tenant: the hand-over gate and the take-in lock.
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// The owners other nodes' leases named, and when they were read: a
    /// request for such a tenant is forwarded without reading its lease
    /// again, for a tenth of the lease time.
    routes: Mutex<HashMap<String, (LeaseRecord, std::time::Instant)>>,
    pub(super) client: reqwest::Client,
    /// Log entries after which a tenant is checkpointed; 0: never (only
    /// hand-overs and OFFLOAD checkpoint).
    checkpoint_every: u64,
}

/// A lease this node holds.
#[derive(Debug, Clone)]
struct Held {
    lease: Lease,
    /// False until the tenant was taken in (brought in from the bucket if
    /// it had to be): requests are not served from it before.
    ready: bool,
    /// The tenant's log, opened (and fenced) when it was taken in.
    log: Option<Arc<GroupLog>>,
}

/// Where a tenant whose lease this node just took has its newest data, as
/// the lease says.
struct Source {
    in_bucket: bool,
    previous_owner: Option<String>,
    checkpoint: Option<Checkpoint>,
}

/// What requests for one tenant synchronise on.
#[derive(Debug, Default)]
struct Slot {
    /// Requests served here hold it shared; a hand-over holds it
    /// exclusively (it waits for those requests, and the requests that come
    /// meanwhile wait for it).
    gate: Arc<RwLock<()>>,
    /// One request at a time acquires the lease and takes the tenant in.
    taking: tokio::sync::Mutex<()>,
    /// True while a periodic checkpoint of the tenant is under way.
    checkpointing: std::sync::atomic::AtomicBool,
    /// Serialises this node's writes of the tenant's lease record (the
    /// heartbeat's renewals, acquisitions, hand-overs): each is conditional
    /// on the version the last one wrote. Per tenant, so that renewing many
    /// leases does not hold back the requests of other tenants.
    lease_writes: tokio::sync::Mutex<()>,
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
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|e| crate::Error::new(ErrorKind::InvalidOption, e.to_string()))?;
        Ok(Membership {
            node,
            secret,
            held: Mutex::new(HashMap::new()),
            forgotten: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
            client,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// This membership, checkpointing a tenant once its log has grown by
    /// `entries` since its last checkpoint (`pql serve --checkpoint-every`;
    /// default [`DEFAULT_CHECKPOINT_EVERY`]). 0 turns every automatic
    /// checkpoint off: the periodic ones, and those a tenant's creation,
    /// import or first lease take; only hand-overs and `OFFLOAD TENANT`
    /// record one then, and a tenant without one waits for its node.
    pub fn with_checkpoint_every(mut self, entries: u64) -> Membership {
        self.checkpoint_every = entries;
        self
    }

    /// Whether tenants are checkpointed automatically (see
    /// [`Membership::with_checkpoint_every`]).
    pub(crate) fn checkpoints(&self) -> bool {
        self.checkpoint_every > 0
    }

    /// Whether `tenant`, whose log reached entry `seq`, is due a periodic
    /// checkpoint and none is under way; if so, marks one under way (the
    /// caller runs it: [`Membership::periodic_checkpoint`]).
    pub(crate) fn checkpoint_due(&self, tenant: &str, seq: u64) -> bool {
        if self.checkpoint_every == 0 {
            return false;
        }
        let base = self
            .held
            .lock()
            .get(tenant)
            .map(|h| h.lease.record.checkpoint.as_ref().map_or(0, |c| c.seq));
        match base {
            Some(base) if seq.saturating_sub(base) >= self.checkpoint_every => !self
                .slot(tenant)
                .checkpointing
                .swap(true, std::sync::atomic::Ordering::SeqCst),
            _ => false,
        }
    }

    /// A periodic checkpoint of `tenant` (marked under way by
    /// [`Membership::checkpoint_due`]): no hand-over starts meanwhile (the
    /// gate) and no write commits (the order lock); once the records queued
    /// are in the bucket, a copy of the tenant goes there as OFFLOAD puts
    /// it, but the tenant stays here (it loads again from the local disk on
    /// its next statement); that copy with the last log number becomes the
    /// lease's checkpoint, the log up to it is deleted, and so are the
    /// bucket's older copies. Blocking: run it on the blocking pool. A
    /// failure is logged; the next entry tries again.
    pub(crate) fn periodic_checkpoint(&self, tenant: &str, engine: &crate::Engine) {
        let runtime = tokio::runtime::Handle::current();
        let gate = runtime.block_on(self.enter(tenant));
        if let Ok(log) = self.log(tenant) {
            let order = log.order();
            let seq = log.drained(&runtime);
            let catalog = &engine.inner().catalog;
            let copied = if runtime.block_on(self.still_holds(tenant)) {
                catalog.copy_to_bucket(tenant)
            } else {
                Ok(None)
            };
            match copied {
                Ok(Some(generation_id)) => {
                    let recorded = runtime.block_on(
                        self.record_checkpoint(tenant, Checkpoint { generation_id, seq }),
                    );
                    drop(order);
                    // Older copies go only once the lease names this one.
                    let collected = match recorded {
                        true => catalog.collect_generations(tenant).map(drop),
                        false => Ok(()),
                    };
                    if let Err(e) = collected {
                        eprintln!(
                            "pql serve: cannot delete older copies of {tenant}: {}",
                            e.message()
                        );
                    }
                }
                Ok(None) => {}
                Err(e) => eprintln!(
                    "pql serve: cannot checkpoint {tenant} in the bucket: {}",
                    e.message()
                ),
            }
        }
        drop(gate);
        self.slot(tenant)
            .checkpointing
            .store(false, std::sync::atomic::Ordering::SeqCst);
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

    fn slot(&self, tenant: &str) -> Arc<Slot> {
        self.slots
            .lock()
            .entry(tenant.to_string())
            .or_default()
            .clone()
    }

    /// Waits for the requests for `tenant` being served here to finish, and
    /// holds new ones back until the guard is dropped (a hand-over, or
    /// dropping a copy this node lost).
    pub(super) async fn close(&self, tenant: &str) -> OwnedRwLockWriteGuard<()> {
        self.slot(tenant).gate.clone().write_owned().await
    }

    /// After this node learnt it was fenced out of `tenant`'s lease of
    /// `epoch` (called inside [`close`](Self::close)): forgets that lease
    /// and returns true, or returns false if this node holds the tenant in
    /// a later epoch again.
    pub(super) fn forget_fenced(&self, tenant: &str, epoch: u64) -> bool {
        self.forgotten.lock().remove(tenant);
        let mut held = self.held.lock();
        if held
            .get(tenant)
            .is_some_and(|h| h.lease.record.epoch > epoch)
        {
            return false;
        }
        held.remove(tenant);
        true
    }

    /// Waits for no hand-over of `tenant` to be under way, and keeps it
    /// from starting until the guard is dropped.
    pub(super) async fn enter(&self, tenant: &str) -> OwnedRwLockReadGuard<()> {
        self.slot(tenant).gate.clone().read_owned().await
    }

    /// True if this node holds `tenant`'s lease, ready, and its own
    /// heartbeat (which keeps the lease) is younger than half the lease
    /// time.
    fn fresh(&self, tenant: &str) -> bool {
        self.node.beat_age() < self.node.lease_time() / 2
            && self.held.lock().get(tenant).is_some_and(|h| h.ready)
    }

    /// Who serves `tenant`: here if this node holds its lease (fresh, see
    /// [`fresh`](Self::fresh)), or acquires it now; else the live owner,
    /// remembered for a tenth of the lease time. Call it inside
    /// [`enter`](Self::enter).
    ///
    /// A tenant this node starts to hold is first taken in: brought in from
    /// the bucket if the lease says the bucket has its newest data. If the
    /// lease says the data is on the disk of a node that stopped without
    /// handing the tenant over, and this node does not have it, the lease
    /// is given back and the request refused (`cluster.tenant_unavailable`).
    pub(super) async fn owner(&self, state: &Shared, tenant: &str) -> Result<Owner, ApiError> {
        if self.fresh(tenant) {
            return Ok(Owner::Here);
        }
        if let Some(record) = self.known_route(tenant) {
            return Ok(Owner::There(record));
        }
        let slot = self.slot(tenant);
        let _taking = slot.taking.lock().await;
        if self.fresh(tenant) {
            return Ok(Owner::Here);
        }
        let writing = slot.lease_writes.lock().await;
        let lease = match self.node.acquire(tenant).await? {
            Acquired::Held(lease) => {
                self.forgotten.lock().remove(tenant);
                lease
            }
            Acquired::Elsewhere(record) => {
                let had = self
                    .held
                    .lock()
                    .remove(tenant)
                    .map(|h| h.lease.record.epoch);
                let had = had.or_else(|| self.forgotten.lock().remove(tenant));
                // Held here in an earlier epoch: another node took it over.
                if let (Some(epoch), Some(member)) = (had, &state.options.cluster) {
                    if record.epoch > epoch {
                        super::fenced::drop_later(member, &state.engine, tenant, epoch);
                    }
                }
                self.routes.lock().insert(
                    tenant.to_string(),
                    (record.clone(), std::time::Instant::now()),
                );
                return Ok(Owner::There(record));
            }
        };
        // What this node made of the tenant holds only in the same epoch:
        // a lease taken again with another one was someone else's between.
        let (ready, log) = match self.held.lock().get(tenant) {
            Some(h) if h.lease.record.epoch == lease.record.epoch => (h.ready, h.log.clone()),
            _ => (false, None),
        };
        let from = Source {
            in_bucket: lease.record.in_bucket,
            previous_owner: lease.previous.as_ref().map(|r| r.owner.clone()),
            checkpoint: lease.record.checkpoint.clone(),
        };
        self.held
            .lock()
            .insert(tenant.to_string(), Held { lease, ready, log });
        drop(writing);
        if !ready {
            if let Some(owner) = self.take_in(state, tenant, from).await? {
                return Ok(Owner::There(owner));
            }
        }
        Ok(Owner::Here)
    }

    /// Makes a tenant whose lease this node just took ready to serve. It
    /// opens the tenant's log first, which fences the previous owner, then:
    ///
    /// - the lease says the bucket has the newest data (a hand-over): bring
    ///   it in (the checkpoint's copy, replacing any older copy on this
    ///   node's disk);
    /// - it says the previous owner served it from its disk: if that was
    ///   this node (an earlier process with its id), what this node has (on
    ///   disk, offloaded by it, or nothing) is the newest: every record of
    ///   the log was committed here before it was appended. If it was
    ///   another node, which stopped without handing the tenant over, the
    ///   bucket's copy of the lease's checkpoint plus the log after it is
    ///   the newest: bring that copy in (replacing any older copy on this
    ///   node's disk) and replay the log on it. Without such a copy (no
    ///   checkpoint, or the tenant was uploaded again since), give the
    ///   lease back, and send the request to that
    ///   node if it is live again (returned), else refuse it with
    ///   `cluster.tenant_unavailable` rather than serve an older copy.
    async fn take_in(
        &self,
        state: &Shared,
        tenant: &str,
        from: Source,
    ) -> Result<Option<LeaseRecord>, ApiError> {
        let name = tenant.to_string();
        let me = self.node.id();
        let previous = from.previous_owner.as_deref().unwrap_or(me);
        let Some(lease) = self.held.lock().get(tenant).map(|h| h.lease.clone()) else {
            return Err(ApiError::from(self.not_owner(tenant)));
        };
        // Keys of the tenant this node remembered while another node
        // owned it may have been dropped there since: read them again.
        state.engine.inner().catalog.forget_cached_keys(tenant);
        let after = from.checkpoint.as_ref().map_or(0, |c| c.seq);
        let checkpointed = from.checkpoint.is_some();
        let (log, records) = self.node.open_wal(&lease, after).await?;
        if from.in_bucket {
            let generation = from.checkpoint.as_ref().map(|c| c.generation_id.clone());
            let on_disk = state
                .blocking(move |s| {
                    let catalog = &s.engine.inner().catalog;
                    if let Some(generation) = generation {
                        if catalog.bring_in_generation(&name, &generation)? {
                            return Ok(true);
                        }
                    }
                    catalog.bring_in(&name).map_err(ApiError::from)
                })
                .await?;
            if on_disk {
                self.settle_lease(tenant).await?;
            }
        } else if previous != me {
            let taken = match from.checkpoint {
                Some(checkpoint) => {
                    state
                        .blocking(move |s| {
                            let catalog = &s.engine.inner().catalog;
                            if !catalog.bring_in_generation(&name, &checkpoint.generation_id)? {
                                return Ok(false);
                            }
                            super::log::replay(s, &name, &records)?;
                            Ok(true)
                        })
                        .await?
                }
                None => false,
            };
            if !taken {
                return self.unavailable(tenant, previous).await;
            }
        }
        if !checkpointed && self.checkpoints() {
            self.first_checkpoint(state, tenant, log.last()).await;
        }
        if let Some(h) = self.held.lock().get_mut(tenant) {
            h.ready = true;
            h.log = Some(Arc::new(GroupLog::new(log)));
        }
        Ok(None)
    }

    /// Puts `tenant`, whose lease names no checkpoint (it was never handed
    /// over), in the bucket (OFFLOAD's path; its next statement onloads
    /// it) and records that copy in the lease as its checkpoint, holding
    /// the log up to `seq`, so that it can fail over from now on. Runs
    /// before the tenant serves any request here, so the copy holds every
    /// record. A tenant this node does not have is left alone; a failure
    /// is logged, and the tenant is served without a checkpoint (it then
    /// waits for this node if this node dies).
    async fn first_checkpoint(&self, state: &Shared, tenant: &str, seq: u64) {
        let name = tenant.to_string();
        let put = state
            .blocking(move |s| {
                let catalog = &s.engine.inner().catalog;
                catalog.put_in_bucket(&name).map_err(ApiError::from)
            })
            .await;
        let generation_id = match put {
            Ok(Some(generation_id)) => generation_id,
            Ok(None) => return,
            Err(e) => {
                eprintln!(
                    "pql serve: cannot put tenant {tenant} in the bucket as its first \
                     checkpoint: {}",
                    e.message()
                );
                return;
            }
        };
        self.record_checkpoint(tenant, Checkpoint { generation_id, seq })
            .await;
    }

    /// Records `checkpoint` (a copy of `tenant` in the bucket, and the last
    /// log number it holds) in the tenant's lease, so that a node taking
    /// the tenant over starts from it, then deletes the log up to it. A
    /// failure is logged: the lease keeps its older checkpoint. Returns
    /// whether it was recorded.
    pub(super) async fn record_checkpoint(&self, tenant: &str, checkpoint: Checkpoint) -> bool {
        let slot = self.slot(tenant);
        let _writing = slot.lease_writes.lock().await;
        let Some(mut lease) = self.held.lock().get(tenant).map(|h| h.lease.clone()) else {
            return false;
        };
        let seq = checkpoint.seq;
        match self.node.set_checkpoint(&mut lease, checkpoint).await {
            Ok(()) => {
                self.keep(tenant, lease);
                self.truncate_log(tenant, seq);
                true
            }
            Err(e) => {
                eprintln!(
                    "pql serve: cannot record the checkpoint of {tenant}: {}",
                    e.message()
                );
                false
            }
        }
    }

    /// Whether the bucket's lease of `tenant` is still the one this node
    /// holds (same owner and epoch): a node another one fenced (paused
    /// past its lease) must not put a copy in the bucket, which would
    /// replace the manifest the new owner's checkpoint names.
    async fn still_holds(&self, tenant: &str) -> bool {
        let Some(epoch) = self.held.lock().get(tenant).map(|h| h.lease.record.epoch) else {
            return false;
        };
        matches!(
            self.node.lease(tenant).await,
            Ok(Some(l)) if l.owner == self.node.id() && l.epoch == epoch
        )
    }

    /// Gives back the lease of `tenant`, whose newest data is on the disk
    /// of `previous` only: the request goes to `previous` if it is live
    /// again (returned), else it is refused with
    /// `cluster.tenant_unavailable`.
    async fn unavailable(
        &self,
        tenant: &str,
        previous: &str,
    ) -> Result<Option<LeaseRecord>, ApiError> {
        let slot = self.slot(tenant);
        let writing = slot.lease_writes.lock().await;
        let held = self.held.lock().remove(tenant);
        if let Some(held) = held {
            if let Err(e) = self.node.give_back(held.lease).await {
                eprintln!(
                    "pql serve: cannot give back the lease of {tenant}: {}",
                    e.message()
                );
            }
        }
        drop(writing);
        if let Some(back) = self.live_node(previous).await? {
            return Ok(Some(LeaseRecord {
                tenant: tenant.to_string(),
                owner: back.node,
                address: back.address,
                epoch: 0,
                expires_ms: 0,
                incarnation: back.incarnation,
                in_bucket: false,
                checkpoint: None,
                backed: false,
            }));
        }
        Err(ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            "TenantUnavailable",
            "cluster.tenant_unavailable",
            format!(
                "tenant {tenant:?} is on the disk of node {previous:?}, which served it last and \
                 stopped without handing it over, and the bucket has no copy its log continues; \
                 restart {previous:?} with its data folder and it serves the tenant again"
            ),
        ))
    }

    /// The log of `tenant`, which this node holds and has taken in;
    /// `NotOwner` otherwise.
    pub(crate) fn log(&self, tenant: &str) -> Result<Arc<GroupLog>> {
        self.held
            .lock()
            .get(tenant)
            .and_then(|h| h.log.clone())
            .ok_or_else(|| self.not_owner(tenant))
    }

    /// The record of node `id` if it is live.
    async fn live_node(&self, id: &str) -> Result<Option<NodeRecord>> {
        let nodes = self.node.nodes().await?;
        Ok(nodes.into_iter().find(|n| n.node == id && n.is_live()))
    }

    /// Clears `in_bucket` on the lease of `tenant`, held by this node.
    async fn settle_lease(&self, tenant: &str) -> Result<()> {
        let slot = self.slot(tenant);
        let _writing = slot.lease_writes.lock().await;
        let Some(mut lease) = self.held.lock().get(tenant).map(|h| h.lease.clone()) else {
            return Err(self.not_owner(tenant));
        };
        self.node.settle(&mut lease).await?;
        self.keep(tenant, lease);
        Ok(())
    }

    /// Records the new version of a held lease (its readiness unchanged).
    fn keep(&self, tenant: &str, lease: Lease) {
        if let Some(h) = self.held.lock().get_mut(tenant) {
            h.lease = lease;
        }
    }

    /// After a request served here: a tenant held with `in_bucket` set that
    /// is now on this node's disk (created by the request) gets the flag
    /// cleared, so that no later owner takes the bucket's copy for newer.
    pub(super) async fn settle(&self, state: &Shared, tenant: &str) {
        let pending = self
            .held
            .lock()
            .get(tenant)
            .is_some_and(|h| h.lease.record.in_bucket);
        if !pending || !state.engine.inner().catalog.has_on_disk(tenant) {
            return;
        }
        if let Err(e) = self.settle_lease(tenant).await {
            eprintln!(
                "pql serve: cannot settle the lease of {tenant}: {}",
                e.message()
            );
        }
    }

    /// Hands `tenant` over: waits for the requests being served here to
    /// finish and holds new ones back, puts the tenant's data in the bucket,
    /// then grants the lease to `to` (or, with no `to`, releases it). If the
    /// data cannot be put in the bucket, this node keeps the tenant and the
    /// error is returned. `NotOwner` if this node does not hold the lease.
    pub(super) async fn hand_over(
        &self,
        state: &Shared,
        tenant: &str,
        to: Option<&NodeRecord>,
    ) -> Result<(), ApiError> {
        let slot = self.slot(tenant);
        let _closed = self.close(tenant).await;
        if !self.held.lock().contains_key(tenant) {
            return Err(ApiError::from(self.not_owner(tenant)));
        }
        let name = tenant.to_string();
        let generation = state
            .blocking(move |s| {
                let catalog = &s.engine.inner().catalog;
                catalog.put_in_bucket(&name).map_err(ApiError::from)
            })
            .await?;
        let _writing = slot.lease_writes.lock().await;
        let Some(held) = self.held.lock().remove(tenant) else {
            return Err(ApiError::from(self.not_owner(tenant)));
        };
        // No request runs (the gate is closed): the copy holds every
        // record of the log.
        let checkpoint = match (generation, &held.log) {
            (Some(generation_id), Some(log)) => Some(Checkpoint {
                generation_id,
                seq: log.last(),
            }),
            _ => None,
        };
        let through = checkpoint.as_ref().map(|c| c.seq);
        self.node.hand_over(held.lease, to, checkpoint).await?;
        if let Some(through) = through {
            self.truncate_log(tenant, through);
        }
        Ok(())
    }

    /// Deletes, in the background, the entries of `tenant`'s log up to
    /// `through`, which the checkpoint the lease now names holds. A failure
    /// only leaves them for the next checkpoint to delete.
    fn truncate_log(&self, tenant: &str, through: u64) {
        let node = self.node.clone();
        let tenant = tenant.to_string();
        tokio::spawn(async move {
            if let Err(e) = node.truncate_wal(&tenant, through).await {
                eprintln!(
                    "pql serve: cannot delete the log of {tenant} up to {through}: {}",
                    e.message()
                );
            }
        });
    }

    /// At a graceful shutdown: hands every tenant this node holds over
    /// ([`hand_over`](Self::hand_over), released for any node to take). A
    /// tenant that fails keeps its lease until it expires; its error is
    /// logged.
    pub(crate) async fn hand_over_all(&self, state: &Shared) {
        for tenant in self.held() {
            match self.hand_over(state, &tenant, None).await {
                Ok(()) => eprintln!("pql serve: handed tenant {tenant} over through the bucket"),
                Err(e) => eprintln!(
                    "pql serve: cannot hand tenant {tenant} over: {}",
                    e.message()
                ),
            }
        }
    }

    /// The `NotOwner` error of a request for `tenant` that this node does
    /// not own.
    pub(super) fn not_owner(&self, tenant: &str) -> Error {
        Error::new(
            ErrorKind::NotOwner,
            format!(
                "node {:?} does not own tenant {tenant:?}; retry",
                self.node.id()
            ),
        )
    }

    /// The tenants whose leases this node holds.
    pub(super) fn held(&self) -> Vec<String> {
        self.held.lock().keys().cloned().collect()
    }

    /// The owner another node's lease named for `tenant`, read less than a
    /// tenth of the lease time ago.
    fn known_route(&self, tenant: &str) -> Option<LeaseRecord> {
        let routes = self.routes.lock();
        let (record, at) = routes.get(tenant)?;
        (at.elapsed() < self.node.lease_time() / 10).then(|| record.clone())
    }

    /// Forgets the owner remembered for `tenant` (its forward found the
    /// lease moved, or the owner not listening), so that the next route
    /// reads the lease.
    pub(super) fn forget_route(&self, tenant: &str) {
        self.routes.lock().remove(tenant);
    }

    /// Forgets every lease held, so that each is checked in the bucket
    /// again before this node serves its tenant: called when this node was
    /// silent for its lease time (paused, or the bucket unreachable), since
    /// another node may have taken any of them over meanwhile. Their epochs
    /// are kept, to tell a take-over when it is found.
    pub(super) fn forget_held(&self) {
        let held = std::mem::take(&mut *self.held.lock());
        self.forgotten
            .lock()
            .extend(held.into_iter().map(|(t, h)| (t, h.lease.record.epoch)));
    }
}
