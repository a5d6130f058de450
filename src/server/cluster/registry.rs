//! The registry in cluster mode: the catalog's [`Registry`] over the
//! bucket's tenant records and tier templates (`crate::cluster`'s
//! `records`), so that every node lists every tenant and resolves every
//! tier the same way, and each node's own usage (summed by the reports).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::runtime::Handle;

use super::Membership;
use crate::cluster::{ClusterStore, Seen};
use crate::error::Result;
use crate::storage::tiers::TierRecord;
use crate::storage::usage_store::{Row, DAY};
use crate::tenant::record::TenantRecord;
use crate::tenant::registry::Registry;

/// The bucket's registry, waited for on the server's runtime from the
/// blocking pool (where statements run).
pub(crate) struct BucketRegistry {
    store: Arc<ClusterStore>,
    runtime: Handle,
    /// This node's name: its usage objects are its own.
    node: String,
    /// The usage last published, by day, so an unchanged day is not
    /// written again.
    published: Mutex<BTreeMap<i64, BTreeMap<String, Row>>>,
    /// The tenant records read so far, so a listing reads only changes.
    tenants: Mutex<Seen<TenantRecord>>,
    /// The same for the tiers.
    tiers: Mutex<Seen<TierRecord>>,
}

/// Makes `engine` keep tenant records and tiers in the registry of
/// `member`'s cluster (registering the built-in tiers and this node's
/// tenants if they are not), then, every third of the lease time for as
/// long as the runtime runs, adopts the registry's tiers and publishes the
/// usage this node counted today and yesterday. Call it on the
/// server's runtime.
pub(crate) async fn share(engine: &crate::Engine, member: &Membership) -> std::io::Result<()> {
    let registry = Arc::new(BucketRegistry {
        store: member.node().store().clone(),
        runtime: Handle::current(),
        node: member.node().id().to_string(),
        published: Mutex::new(BTreeMap::new()),
        tenants: Mutex::new(Seen::default()),
        tiers: Mutex::new(Seen::default()),
    });
    let shared = engine.clone();
    tokio::task::spawn_blocking(move || shared.set_registry(registry))
        .await
        .map_err(std::io::Error::other)?
        .map_err(|e| std::io::Error::other(e.message().to_string()))?;
    let engine = engine.clone();
    let period = member.node().lease_time() / 3;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            let syncing = engine.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || syncing.sync_tiers()).await {
                eprintln!("pql serve: tier sync failed: {}", e.message());
            }
            let publishing = engine.clone();
            if let Ok(Err(e)) =
                tokio::task::spawn_blocking(move || publishing.publish_usage()).await
            {
                eprintln!("pql serve: usage publishing failed: {}", e.message());
            }
        }
    });
    Ok(())
}

impl Registry for BucketRegistry {
    fn claim(&self, record: &TenantRecord) -> Result<bool> {
        self.runtime.block_on(self.store.register(record))
    }

    fn publish(&self, record: &TenantRecord) -> Result<()> {
        self.runtime
            .block_on(self.store.change::<TenantRecord>(&record.name, |stored| {
                let id = stored.map_or(record.id, |s| s.id);
                Ok(Some(TenantRecord {
                    id,
                    ..record.clone()
                }))
            }))
            .map(drop)
    }

    fn withdraw(&self, name: &str) -> Result<()> {
        self.runtime
            .block_on(self.store.unregister::<TenantRecord>(name))
    }

    fn tenants(&self) -> Result<Vec<TenantRecord>> {
        let mut seen = self.tenants.lock();
        self.runtime.block_on(self.store.all_registered(&mut seen))
    }

    fn create_tier(&self, record: &TierRecord) -> Result<bool> {
        self.runtime.block_on(self.store.register(record))
    }

    fn alter_tier(
        &self,
        name: &str,
        change: &mut dyn FnMut(&mut TierRecord) -> Result<()>,
    ) -> Result<Option<TierRecord>> {
        self.runtime
            .block_on(self.store.change::<TierRecord>(name, |stored| {
                stored
                    .map(|mut record| change(&mut record).map(|()| record))
                    .transpose()
            }))
    }

    fn drop_tier(&self, name: &str) -> Result<()> {
        self.runtime
            .block_on(self.store.unregister::<TierRecord>(name))
    }

    fn tiers(&self) -> Result<Vec<TierRecord>> {
        let mut seen = self.tiers.lock();
        self.runtime.block_on(self.store.all_registered(&mut seen))
    }

    fn publish_usage(&self, day: i64, usage: &BTreeMap<String, Row>) -> Result<()> {
        let mut published = self.published.lock();
        if published.get(&day) == Some(usage) {
            return Ok(());
        }
        self.runtime
            .block_on(self.store.publish_usage(&self.node, day, usage))?;
        // Only the last two days change.
        published.retain(|d, _| *d >= day - i64::from(DAY));
        published.insert(day, usage.clone());
        Ok(())
    }

    fn others_usage(&self, from: i64, to: i64) -> Result<Vec<(i64, BTreeMap<String, Row>)>> {
        let all = self.runtime.block_on(self.store.all_usage(from, to))?;
        Ok(all
            .into_iter()
            .filter(|(node, _, _)| *node != self.node)
            .map(|(_, day, usage)| (day, usage))
            .collect())
    }
}
