//! Tenants: the catalog (names → records, in memory and in `catalog.redb`),
//! name validation, and each tenant's lazily loaded collections.

mod archive;
pub(crate) mod billing;
pub(crate) mod export;
#[cfg(all(feature = "s3", feature = "server"))]
mod handover;
pub(crate) mod import;
mod key_cache;
pub(crate) mod keys;
pub(crate) mod lifecycle;
pub(crate) mod names;
mod offload;
pub(crate) mod pool;
pub(crate) mod quota;
mod rate;
pub(crate) mod record;
pub(crate) mod registry;
pub(crate) mod retention;
pub(crate) mod status;
pub(crate) mod tiers;
pub(crate) mod usage;

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::collection::meta::CollectionMeta;
use crate::collection::{self, Collection};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::catalog::{CatalogRecord, CatalogStore};
use crate::storage::{temporaries, Layout};
use pool::{Pool, Slot};
use record::TenantRecord;

/// How long an unload waits for running statements to release a collection.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl CatalogRecord for TenantRecord {
    type Legacy = record::legacy::TenantRecordV1;

    fn key(&self) -> &str {
        &self.name
    }
}

/// A loaded collection, shared by the statements using it: many readers or
/// one writer.
pub(crate) type SharedCollection = Arc<RwLock<Collection>>;

/// One tenant: its catalog record and its loaded collections.
pub(crate) struct Tenant {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    /// The key of this incarnation's usage rows ([`TenantRecord::usage_key`]).
    pub(crate) usage_key: String,
    record: RwLock<TenantRecord>,
    /// Collections loaded so far. Loading happens under this lock, so a
    /// collection is never loaded twice.
    collections: Mutex<HashMap<String, SharedCollection>>,
    /// Limits and the usage they are checked against.
    pub(crate) quota: quota::QuotaState,
    /// Its place in the pool of loaded tenants (last use, memory).
    pub(crate) slot: Slot,
    /// An onload started by a cold query's quick path is running
    /// (`Engine::onload_behind`), so another such query starts none.
    #[cfg(feature = "s3")]
    pub(crate) onloading_behind: std::sync::atomic::AtomicBool,
}

impl Tenant {
    /// The tenant of `record`, its limits resolved against `tiers`.
    fn new(
        record: TenantRecord,
        tiers: &tiers::Tiers,
        layout: &Layout,
        pool: &Arc<Pool>,
    ) -> Arc<Self> {
        let tier = tiers::tier_of(&record.options).and_then(|t| tiers.get(t));
        let effective = tiers::effective(&record.options, tier);
        Arc::new_cyclic(|me| Tenant {
            name: record.name.clone(),
            dir: layout.tenant_dir(&record.name),
            usage_key: record.usage_key(),
            quota: quota::QuotaState::new(&effective),
            slot: Slot::new(pool, me.clone(), record.last_accessed_ms),
            record: RwLock::new(record),
            collections: Mutex::new(HashMap::new()),
            #[cfg(feature = "s3")]
            onloading_behind: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// A copy of the catalog record.
    pub(crate) fn record(&self) -> TenantRecord {
        self.record.read().clone()
    }

    /// The loaded collection `name`, loading it from disk on first use.
    pub(crate) fn collection(&self, name: &str, config: &Config) -> Result<SharedCollection> {
        names::validate("collection", name)?;
        let mut loaded = self.collections.lock();
        if let Some(c) = loaded.get(name) {
            self.slot.hit();
            return Ok(c.clone());
        }
        if !self.dir.join(collection::file_name(name)).exists() {
            return Err(self.collection_not_found(name));
        }
        let started = Instant::now();
        let c = Arc::new(RwLock::new(Collection::load(&self.dir, name, config)?));
        loaded.insert(name.to_string(), c.clone());
        self.slot.loaded(&self.name, started.elapsed());
        Ok(c)
    }

    /// The error for a missing collection `name`; when one whose name
    /// differs only in case exists, it names it ("did you mean Docs?").
    fn collection_not_found(&self, name: &str) -> Error {
        let names = self.collection_names();
        did_you_mean(
            collection::not_found(&self.name, name),
            names.iter().find(|n| n.eq_ignore_ascii_case(name)),
        )
    }

    /// Creates collection `meta.name`; `Ok(None)` if it exists and
    /// `if_not_exists` is set. With `deferred` (a collection made by its
    /// first insert) its file is only created by its first commit, holding
    /// that commit's nodes; until then it is only in memory, where a
    /// concurrent insert into it finds it.
    pub(crate) fn create_collection(
        &self,
        meta: CollectionMeta,
        if_not_exists: bool,
        deferred: bool,
    ) -> Result<Option<SharedCollection>> {
        names::validate("collection", &meta.name)?;
        let mut loaded = self.collections.lock();
        let mut existing = self.collection_names();
        existing.extend(loaded.keys().cloned());
        let clash = existing
            .into_iter()
            .find(|n| n.eq_ignore_ascii_case(&meta.name));
        if let Some(existing) = clash {
            if if_not_exists && existing == meta.name {
                return Ok(None);
            }
            let detail = if existing == meta.name {
                String::new()
            } else {
                format!(" (as {existing}; names differing only in case are not allowed)")
            };
            return Err(Error::new(
                ErrorKind::CollectionExists,
                format!(
                    "Collection already exists: {} in tenant {}{detail}",
                    meta.name, self.name
                ),
            ));
        }
        if !deferred {
            fs::create_dir_all(&self.dir)
                .map_err(|e| Error::io(format!("cannot create {}", self.dir.display()), e))?;
        }
        let name = meta.name.clone();
        let c = Arc::new(RwLock::new(Collection::create(&self.dir, meta, deferred)?));
        loaded.insert(name, c.clone());
        self.slot.changed(&self.name);
        Ok(Some(c))
    }

    /// Forgets collection `name` if it is still only in memory (created
    /// deferred, no commit yet) and `held` is the only holder besides this
    /// tenant: what a refused first insert leaves.
    pub(crate) fn forget_unwritten(&self, name: &str, held: &SharedCollection) {
        let mut loaded = self.collections.lock();
        let unwritten = !self.dir.join(collection::file_name(name)).exists();
        let sole = loaded
            .get(name)
            .is_some_and(|c| Arc::ptr_eq(c, held) && Arc::strong_count(c) == 2);
        if unwritten && sole {
            loaded.remove(name);
            self.slot.changed(&self.name);
        }
    }

    /// Drops collection `name` and its files; `Ok(false)` if it did not exist.
    pub(crate) fn drop_collection(&self, name: &str) -> Result<bool> {
        names::validate("collection", name)?;
        let mut loaded = self.collections.lock();
        let existed = loaded.remove(name).is_some();
        if existed {
            self.slot.changed(&self.name);
        }
        if !self.dir.join(collection::file_name(name)).exists() {
            return Ok(existed);
        }
        Collection::remove_files(&self.dir, name)?;
        drop(loaded);
        self.quota.invalidate();
        Ok(true)
    }

    /// Names of the tenant's collections, sorted.
    pub(crate) fn collection_names(&self) -> Vec<String> {
        let mut out: Vec<String> = fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| {
                        let f = e.file_name().to_string_lossy().into_owned();
                        let stem = f.strip_suffix(".redb")?.to_string();
                        names::validate("collection", &stem).ok().map(|_| stem)
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Meta and node count of every collection, from memory when loaded and
    /// from its file otherwise (without loading it).
    pub(crate) fn collection_infos(&self) -> Result<Vec<(CollectionMeta, u64)>> {
        let loaded = self.collections.lock();
        let mut out = Vec::new();
        for name in self.collection_names() {
            match loaded.get(&name) {
                Some(c) => {
                    let c = c.read();
                    out.push((c.meta.clone(), c.len()));
                }
                None => out.push(Collection::stored_count(&self.dir, &name)?),
            }
        }
        Ok(out)
    }

    /// Whether any collection is loaded, and the memory they hold.
    pub(crate) fn loaded_memory(&self) -> (usize, usize) {
        let loaded = self.collections.lock();
        let bytes = loaded.values().map(|c| c.read().memory_bytes()).sum();
        (loaded.len(), bytes)
    }

    /// Flushes and unloads every loaded collection (the tenant then holds
    /// only its catalog entry in memory).
    pub(crate) fn unload(&self) -> Result<()> {
        self.while_unloaded(|| Ok(()))
    }

    /// Flushes and unloads every collection, then runs `f` while holding the
    /// collections lock, so no statement can load one meanwhile.
    ///
    /// A statement that obtained a collection before the unload still holds
    /// it; its file is only closed when the last holder lets go. So this
    /// waits (up to [`RELEASE_WAIT`]) for running statements to finish
    /// first: otherwise a reload would find the file still open, and `f`
    /// (an archive) could miss a write that is still being committed.
    pub(crate) fn while_unloaded<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut loaded = self.collections.lock();
        for c in loaded.values() {
            c.write().flush()?;
        }
        let deadline = std::time::Instant::now() + RELEASE_WAIT;
        for (name, c) in loaded.drain() {
            while Arc::strong_count(&c) > 1 {
                if std::time::Instant::now() > deadline {
                    return Err(Error::io(
                        format!("tenant {}", self.name),
                        format!("collection {name} is still in use by a running statement"),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        // Files an eviction is still closing are closed before `f` runs.
        crate::storage::closer::wait_under(&self.dir);
        self.slot.unloaded(&self.name);
        f()
    }

    /// Persists every loaded collection's graph index.
    pub(crate) fn flush(&self) -> Result<()> {
        let loaded: Vec<SharedCollection> = self.collections.lock().values().cloned().collect();
        for c in loaded {
            c.write().flush()?;
        }
        Ok(())
    }
}

/// All tenants: the catalog file and the in-memory map read on every
/// statement (a read lock on a hash map: no disk on the query path).
pub(crate) struct Catalog {
    store: CatalogStore,
    pub(crate) layout: Layout,
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
    /// The tier templates (`tiers.rs`; taken before `tenants`).
    tiers: RwLock<tiers::Tiers>,
    pool: Arc<Pool>,
    /// The last incarnation id given out (see [`Catalog::new_incarnation`]).
    last_id: AtomicU64,
    /// Tenant keys verified once, answered without reading the catalog.
    key_cache: key_cache::KeyCache,
    /// Where keys are decided in cluster mode (`keys.rs`).
    key_directory: std::sync::OnceLock<Arc<dyn keys::KeyDirectory>>,
    /// Where tenant records and tiers are shared in cluster mode
    /// (`registry.rs`).
    registry: std::sync::OnceLock<Arc<dyn registry::Registry>>,
    /// The object store (OFFLOAD, onload, ATTACH), if configured.
    #[cfg(feature = "s3")]
    tier: Option<Arc<crate::storage::object::ObjectTier>>,
    /// Held by the offload policy's pass, so only one runs at a time.
    #[cfg(feature = "s3")]
    offloading: Mutex<()>,
}

/// `err` (a not-found error), naming `other`, the name that differs from
/// the one asked for only in case, when there is one.
fn did_you_mean(err: Error, other: Option<&String>) -> Error {
    match other {
        Some(other) => Error::new(
            err.kind().clone(),
            format!("{} (did you mean {other}?)", err.message()),
        ),
        None => err,
    }
}

/// Error for a missing tenant.
pub(crate) fn not_found(name: &str) -> Error {
    Error::new(
        ErrorKind::TenantNotFound,
        format!("Tenant not found: {name}"),
    )
}

impl Catalog {
    /// Opens the catalog of the data folder, and the object store when
    /// `object_store` is set (a missing bucket fails here).
    pub(crate) fn open(
        layout: Layout,
        pool: Arc<Pool>,
        object_store: Option<&crate::storage::object::ObjectStoreConfig>,
    ) -> Result<Self> {
        #[cfg(feature = "s3")]
        let tier = object_store
            .map(crate::storage::object::ObjectTier::open)
            .transpose()?
            .map(Arc::new);
        #[cfg(not(feature = "s3"))]
        if object_store.is_some() {
            return Err(Error::unsupported(
                "this build has no object-store support (cargo feature s3)",
            ));
        }
        fs::create_dir_all(layout.tenants_dir()).map_err(|e| {
            Error::io(
                format!("cannot create data folder {}", layout.root().display()),
                e,
            )
        })?;
        let store = CatalogStore::open(&layout.catalog())?;
        let records = store.load_all::<TenantRecord>()?;
        archive::recover(&layout, &records)?;
        offload::recover(&layout, &records)?;
        import::recover(&layout, &records)?;
        // After the catalog's lock is held: no other process writes here.
        temporaries::clean_temporaries(&layout)?;
        let last_id = AtomicU64::new(records.iter().map(|r| r.id).max().unwrap_or(0));
        let tiers: tiers::Tiers =
            crate::storage::tiers::load_seeded(&store.db(), &tiers::seeds(crate::clock::now_ms()))?
                .into_iter()
                .map(|t| (t.name.clone(), t))
                .collect();
        let tenants = records
            .into_iter()
            .map(|r| (r.name.clone(), Tenant::new(r, &tiers, &layout, &pool)))
            .collect();
        Ok(Catalog {
            store,
            layout,
            tenants: RwLock::new(tenants),
            tiers: RwLock::new(tiers),
            pool,
            last_id,
            key_cache: key_cache::KeyCache::default(),
            key_directory: std::sync::OnceLock::new(),
            registry: std::sync::OnceLock::new(),
            #[cfg(feature = "s3")]
            tier,
            #[cfg(feature = "s3")]
            offloading: Mutex::new(()),
        })
    }

    /// A new incarnation id: the time in microseconds, above every id
    /// given out before in this process and held by a tenant, so a tenant
    /// created again after a DROP never shares its predecessor's id.
    pub(crate) fn new_incarnation(&self) -> u64 {
        let now = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        let mut last = self.last_id.load(Ordering::Acquire);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .last_id
                .compare_exchange(last, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Writes the pool's deferred status flips now.
    pub(crate) fn write_deferred(&self) -> Result<()> {
        self.store.write_deferred()
    }

    /// The catalog database (usage metering shares it).
    pub(crate) fn db(&self) -> Arc<redb::Database> {
        self.store.db()
    }

    /// The tenant `name` (validated first). When only a tenant whose name
    /// differs in case exists, the error names it ("did you mean Acme?").
    pub(crate) fn get(&self, name: &str) -> Result<Arc<Tenant>> {
        names::validate("tenant", name)?;
        let tenants = self.tenants.read();
        if let Some(t) = tenants.get(name) {
            return Ok(t.clone());
        }
        Err(did_you_mean(
            not_found(name),
            tenants.keys().find(|k| k.eq_ignore_ascii_case(name)),
        ))
    }

    /// Creates a tenant from `record`; `Ok(false)` if it exists and
    /// `if_not_exists` is set. Names differing only in case are refused,
    /// so that no two tenants can share a folder on a case-insensitive disk;
    /// `IF NOT EXISTS` does not skip that case (a script would go on with a
    /// name that does not exist), it fails with `TenantExists` naming the
    /// existing tenant. A tier the record names must exist.
    pub(crate) fn create(&self, record: TenantRecord, if_not_exists: bool) -> Result<bool> {
        self.know_tier(tiers::tier_of(&record.options))?;
        self.insert(record, if_not_exists, true)
    }

    /// [`Catalog::create`]; with `known_tier` false, a tier this catalog
    /// lacks is kept as it is, and the name is not claimed in the registry
    /// (ATTACH: a tenant's data comes back whatever the catalog holds, and
    /// in a cluster it was registered when it was created).
    fn insert(&self, record: TenantRecord, if_not_exists: bool, known_tier: bool) -> Result<bool> {
        names::validate("tenant", &record.name)?;
        let tiers = self.tiers.read();
        if known_tier {
            tiers::check_known(&tiers, &record.options)?;
        }
        let mut tenants = self.tenants.write();
        if let Some(existing) = tenants
            .keys()
            .find(|k| k.eq_ignore_ascii_case(&record.name))
        {
            if if_not_exists && *existing == record.name {
                return Ok(false);
            }
            let message = if *existing == record.name {
                format!("Tenant already exists: {existing}")
            } else {
                format!(
                    "Tenant already exists: {} as {existing}; tenant names differing only \
                     in case are not allowed (use {existing}, or choose another name)",
                    record.name
                )
            };
            return Err(Error::new(ErrorKind::TenantExists, message));
        }
        // A new tenant (not ATTACH) claims its name in the cluster first.
        let registry = self.registry().filter(|_| known_tier);
        if let Some(registry) = registry {
            if !registry.claim(&record)? {
                if if_not_exists {
                    return Ok(false);
                }
                return Err(Error::new(
                    ErrorKind::TenantExists,
                    format!(
                        "Tenant already exists: {} (on another node of the cluster, perhaps \
                         in another case; SHOW TENANTS lists them all)",
                        record.name
                    ),
                ));
            }
        }
        // A folder left by a drop interrupted before its removal finished.
        let dir = self.layout.tenant_dir(&record.name);
        let created = if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot clear {}", dir.display()), e))
        } else {
            Ok(())
        }
        .and_then(|()| self.store.put(&record));
        if let (Err(_), Some(registry)) = (&created, registry) {
            // Not created here: the name is free again (if this fails too,
            // DROP TENANT frees it).
            let _ = registry.withdraw(&record.name);
        }
        created?;
        tenants.insert(
            record.name.clone(),
            Tenant::new(record, &tiers, &self.layout, &self.pool),
        );
        Ok(true)
    }

    /// Changes a tenant's record through `change`, durably. A tier the
    /// change names must exist (a tier kept as it was need not: a tenant
    /// stored with a tier this catalog lacks still works).
    /// In cluster mode the new record is published in the registry first.
    pub(crate) fn update<F>(&self, tenant: &Tenant, change: F) -> Result<TenantRecord>
    where
        F: FnOnce(&mut TenantRecord) -> Result<()>,
    {
        self.update_with(tenant, change, |store, r| {
            if let Some(registry) = self.registry() {
                registry.publish(r)?;
            }
            store.put(r)
        })
    }

    /// [`Catalog::update`] without publishing the record: for a node
    /// changing its own copy of a tenant another node serves (a copy
    /// discarded by a hand-over).
    #[cfg(all(feature = "s3", feature = "server"))]
    pub(crate) fn update_local<F>(&self, tenant: &Tenant, change: F) -> Result<TenantRecord>
    where
        F: FnOnce(&mut TenantRecord) -> Result<()>,
    {
        self.update_with(tenant, change, |store, r| store.put(r))
    }

    /// Changes a tenant's record through `change`, leaving the write to
    /// the catalog's next commit ([`CatalogStore::put_deferred`]): for the
    /// pool's status flips.
    pub(crate) fn update_deferred<F>(&self, tenant: &Tenant, change: F) -> Result<TenantRecord>
    where
        F: FnOnce(&mut TenantRecord) -> Result<()>,
    {
        self.update_with(tenant, change, |store, r| store.put_deferred(r))
    }

    fn update_with<F>(
        &self,
        tenant: &Tenant,
        change: F,
        put: impl FnOnce(&CatalogStore, &TenantRecord) -> Result<()>,
    ) -> Result<TenantRecord>
    where
        F: FnOnce(&mut TenantRecord) -> Result<()>,
    {
        let tiers = self.tiers.read();
        let mut record = tenant.record.write();
        let mut next = record.clone();
        change(&mut next)?;
        let tier = tiers::tier_of(&next.options);
        if tier != tiers::tier_of(&record.options) {
            tiers::check_known(&tiers, &next.options)?;
        }
        put(&self.store, &next)?;
        let effective = tiers::effective(&next.options, tier.and_then(|t| tiers.get(t)));
        tenant.quota.set_options(&effective);
        *record = next.clone();
        Ok(next)
    }

    /// Lazy activation: an inactive tenant becomes active. The flip reaches
    /// the disk with the next durable commit, like the pool's unloads.
    pub(crate) fn activate(&self, tenant: &Tenant) -> Result<()> {
        self.update_deferred(tenant, |r| {
            lifecycle::move_storage(r, lifecycle::activated(r.storage), crate::clock::now_ms());
            Ok(())
        })
        .map(drop)
    }

    /// Deletes tenant `name` and all its data; `Ok(false)` if it did not exist.
    pub(crate) fn drop_tenant(&self, name: &str) -> Result<bool> {
        names::validate("tenant", name)?;
        let mut tenants = self.tenants.write();
        let Some(tenant) = tenants.get(name).cloned() else {
            return Ok(false);
        };
        self.drop_keys_of(name)?;
        if let Some(registry) = self.registry() {
            registry.withdraw(name)?;
        }
        self.store.delete(name)?;
        tenants.remove(name);
        drop(tenants);
        tenant.collections.lock().clear();
        tenant.slot.unloaded(&tenant.name);
        if tenant.dir.exists() {
            fs::remove_dir_all(&tenant.dir)
                .map_err(|e| Error::io(format!("cannot remove {}", tenant.dir.display()), e))?;
        }
        let packed = self.layout.archive(name);
        if packed.exists() {
            fs::remove_file(&packed)
                .map_err(|e| Error::io(format!("cannot remove {}", packed.display()), e))?;
        }
        // After the drop is committed: a snapshot left in the object store
        // could otherwise be attached again.
        self.delete_objects(name).map_err(|e| {
            Error::new(
                e.kind().clone(),
                format!(
                    "Tenant {name} dropped, but its objects in the object store were not \
                     deleted: {}",
                    e.message()
                ),
            )
        })?;
        Ok(true)
    }

    /// All tenants, sorted by name.
    pub(crate) fn list(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<Arc<Tenant>> = self.tenants.read().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }
}
