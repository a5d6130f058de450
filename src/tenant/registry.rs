//! Tenant records and tier templates shared by several processes (the
//! nodes of a cluster, docs/cluster.md): a [`Registry`].
//!
//! With one set, the catalog writes there first and to its own file
//! second, so that a change the registry refuses (the tenant exists on
//! another node, the bucket cannot be reached) changes nothing:
//!
//! - `CREATE TENANT` claims the name (case-insensitively) in the
//!   registry; `DROP TENANT` withdraws it;
//! - a durable change of a tenant's record (`ALTER TENANT`, `ARCHIVE`,
//!   `RESTORE`, `OFFLOAD`, `ONLOAD`) is published there; the pool's
//!   active/inactive flips are not (they say whether the tenant is in
//!   memory on its node, not what it is);
//! - `CREATE`/`ALTER`/`DROP TIER` change the registry's tier, then this
//!   catalog's; other catalogs adopt the registry's tiers when they sync
//!   ([`Catalog::sync_tiers`]), and at once when a statement names a tier
//!   they lack;
//! - `SHOW TENANTS` and the tenant counts of tiers read the registry;
//! - each process publishes the usage it counted itself, per tenant name
//!   and day, and `SHOW USAGE` sums every process's.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::record::TenantRecord;
use super::tiers::{self, BUILTIN};
use super::Catalog;
use crate::error::Result;
use crate::storage::tiers::{self as store, TierRecord};
use crate::storage::usage_store::Row;

/// Tenant records and tier templates shared by several processes. Its
/// methods block: call them off any async runtime's worker threads.
pub(crate) trait Registry: Send + Sync {
    /// Registers the new tenant `record`: `Ok(false)` if a tenant of its
    /// name (in any case) is registered already.
    fn claim(&self, record: &TenantRecord) -> Result<bool>;
    /// Stores the changed `record` of a tenant (registering it if it is
    /// not), keeping the incarnation id registered (each node keys its
    /// own usage rows by its own).
    fn publish(&self, record: &TenantRecord) -> Result<()>;
    /// Removes the record of tenant `name`.
    fn withdraw(&self, name: &str) -> Result<()>;
    /// Every registered tenant, by name.
    fn tenants(&self) -> Result<Vec<TenantRecord>>;
    /// Registers the new tier `record`: `Ok(false)` if it exists.
    fn create_tier(&self, record: &TierRecord) -> Result<bool>;
    /// Changes tier `name` by `change`, conditionally on the version read
    /// (so a concurrent change elsewhere is never lost); `Ok(None)` if
    /// the registry has no such tier.
    fn alter_tier(
        &self,
        name: &str,
        change: &mut dyn FnMut(&mut TierRecord) -> Result<()>,
    ) -> Result<Option<TierRecord>>;
    /// Removes tier `name`.
    fn drop_tier(&self, name: &str) -> Result<()>;
    /// Every registered tier, by name.
    fn tiers(&self) -> Result<Vec<TierRecord>>;
    /// Publishes this process's own usage of the day starting at `day`
    /// (Unix seconds), per tenant name; unchanged since the last time, it
    /// is not written again.
    #[cfg(all(feature = "server", feature = "s3"))]
    fn publish_usage(&self, day: i64, usage: &BTreeMap<String, Row>) -> Result<()>;
    /// The usage the other processes published for the days starting in
    /// `[from, to)`: (day start, per tenant name).
    fn others_usage(&self, from: i64, to: i64) -> Result<Vec<(i64, BTreeMap<String, Row>)>>;
}

impl Catalog {
    /// Makes `registry` hold tenant records and tiers from now on (a
    /// cluster node); the first one set stays. The built-in tiers and the
    /// tenants whose data is on this node are registered if they are not
    /// (a node that served alone before joins with them), then the
    /// registry's tiers are adopted.
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn set_registry(&self, registry: Arc<dyn Registry>) -> Result<()> {
        let registry = self.registry.get_or_init(|| registry);
        for tier in self.tiers.read().values() {
            if BUILTIN.contains(&tier.name.as_str()) {
                registry.create_tier(tier)?;
            }
        }
        for tenant in self.list() {
            let record = tenant.record();
            if record.storage != super::status::Storage::Offloaded {
                registry.claim(&record)?;
            }
        }
        self.sync_tiers()
    }

    /// The registry, in cluster mode.
    pub(crate) fn registry(&self) -> Option<&Arc<dyn Registry>> {
        self.registry.get()
    }

    /// Adopts the registry's tiers (none without one): each is stored
    /// here if it differs, and the tenants naming it get its limits. A
    /// tier the registry lacks is removed here unless it is built in or a
    /// tenant on this node names it.
    pub(crate) fn sync_tiers(&self) -> Result<()> {
        let Some(registry) = self.registry() else {
            return Ok(());
        };
        let shared = registry.tiers()?;
        let mut tiers = self.tiers.write();
        for record in &shared {
            if tiers.get(&record.name) != Some(record) {
                store::put(&self.db(), record)?;
                self.refresh(record);
                tiers.insert(record.name.clone(), record.clone());
            }
        }
        let gone: Vec<String> = tiers
            .keys()
            .filter(|name| !BUILTIN.contains(&name.as_str()))
            .filter(|name| !shared.iter().any(|r| &r.name == *name))
            .filter(|name| self.local_users_of(name).is_empty())
            .cloned()
            .collect();
        for name in gone {
            store::delete(&self.db(), &name)?;
            tiers.remove(&name);
        }
        Ok(())
    }

    /// Before a statement gives a tenant tier `tier`: in cluster mode, a
    /// tier this node does not know yet (created on another node since the
    /// last sync) is fetched.
    pub(crate) fn know_tier(&self, tier: Option<&str>) -> Result<()> {
        match tier {
            Some(t) if self.registry().is_some() && !self.tiers.read().contains_key(t) => {
                self.sync_tiers()
            }
            _ => Ok(()),
        }
    }

    /// Every tenant record to list: the registry's in cluster mode (every
    /// node's tenants), else this catalog's; by name.
    pub(crate) fn listed_records(&self) -> Result<Vec<TenantRecord>> {
        match self.registry() {
            Some(registry) => registry.tenants(),
            None => Ok(self.list().iter().map(|t| t.record()).collect()),
        }
    }

    /// The tenants naming tier `name`, sorted: of the whole cluster in
    /// cluster mode.
    pub(crate) fn users_of(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .listed_records()?
            .into_iter()
            .filter(|r| tiers::tier_of(&r.options) == Some(name))
            .map(|r| r.name)
            .collect())
    }
}
