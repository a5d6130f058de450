//! A tenant moving between cluster nodes through the bucket
//! (docs/cluster.md): the node giving it up puts its data there (OFFLOAD's
//! path), the node taking it over brings it in (ATTACH's and ONLOAD's
//! paths). The leases that decide who does which are the server's
//! (`server::cluster`).

use crate::cancel::CancelToken;
use crate::error::{Error, ErrorKind, Result};
use crate::tenant::record::TenantRecord;
use crate::tenant::status::Storage;
use crate::tenant::{lifecycle, Catalog, Tenant};

impl Catalog {
    /// The tenant `name`, if this node has it (no name check, no error).
    fn local(&self, name: &str) -> Option<std::sync::Arc<Tenant>> {
        self.tenants.read().get(name).cloned()
    }

    /// True if this node has tenant `name` with its data on its own disk
    /// (any state but offloaded).
    pub(crate) fn has_on_disk(&self, name: &str) -> bool {
        self.local(name)
            .is_some_and(|t| t.record().storage != Storage::Offloaded)
    }

    /// Puts tenant `name`'s data in the bucket before this node gives it up:
    /// a tenant on the local disk is offloaded (uploaded, its manifest
    /// written and checked, the local folder removed); an offloaded one is
    /// there already; one this node does not have has nothing to move. A
    /// tenant in another state (archived, pending deletion) cannot be
    /// handed over: `InvalidTransition`. Returns the `generation_id` of the
    /// bucket's manifest of the tenant: `None` if the bucket has none, or
    /// if this node does not have the tenant (a manifest in the bucket is
    /// then not known to hold its latest data).
    pub(crate) fn put_in_bucket(&self, name: &str) -> Result<Option<String>> {
        let Some(tenant) = self.local(name) else {
            return Ok(None);
        };
        self.offload_for_hand_over(name, &tenant)?;
        self.bucket_generation(name)
    }

    /// A checkpoint of tenant `name` that leaves it on this node: a copy
    /// of its data put in the bucket as OFFLOAD puts it. The tenant is
    /// unloaded only while its files are copied to a staging folder on the
    /// local disk (its statements wait for that, not for the upload), then
    /// the copy is uploaded from there. Returns the `generation_id` of that
    /// copy's manifest: `None` if this node does not have the tenant's data
    /// on its disk. The caller keeps the tenant's writes out meanwhile (its
    /// order lock), so the copy holds exactly what the log holds.
    pub(crate) fn copy_to_bucket(&self, name: &str) -> Result<Option<String>> {
        let Some(tenant) = self.local(name) else {
            return Ok(None);
        };
        if !matches!(tenant.record().storage, Storage::Active | Storage::Inactive) {
            return Ok(None);
        }
        let now = crate::clock::now_ms();
        let staged = super::offload::checkpoint_staging(&self.layout, name);
        let copied = tenant.while_unloaded(|| copy_files(&tenant.dir, &staged));
        // A checkpoint must finish: nothing cancels it.
        let uploaded =
            copied.and_then(|()| self.upload_copy(&tenant, &staged, &CancelToken::new(), now));
        // Uploaded or not, the staging folder has served.
        let _ = std::fs::remove_dir_all(&staged);
        uploaded?;
        self.bucket_generation(name)
    }

    /// Deletes the bucket's generations of `name` older than its manifest's
    /// (after a checkpoint names the newest).
    pub(crate) fn collect_generations(&self, name: &str) -> Result<usize> {
        self.tier()?.gc_tenant(name)
    }

    /// The generation id of the manifest of `name` in the bucket, if any.
    pub(crate) fn bucket_generation(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .tier()?
            .read_manifest(name)?
            .map(|manifest| manifest.generation_id))
    }

    /// Offloads `tenant` unless it is offloaded already.
    fn offload_for_hand_over(&self, name: &str, tenant: &Tenant) -> Result<()> {
        match tenant.record().storage {
            Storage::Offloaded => Ok(()),
            storage => {
                lifecycle::may_offload(name, storage).map_err(|_| {
                    Error::new(
                        ErrorKind::InvalidTransition,
                        format!(
                            "Tenant is {storage}: {name}; only a tenant on the local disk or \
                             offloaded can move to another node"
                        ),
                    )
                })?;
                // A hand-over must finish: nothing cancels it.
                self.offload(tenant, &CancelToken::new())
            }
        }
    }

    /// Brings tenant `name` in from the bucket when this node takes it
    /// over: its record from the latest manifest (added, or replacing an
    /// offloaded tenant's older one), then its data (onloaded). A tenant
    /// whose data is on this node's disk is left as it is. Returns whether
    /// the tenant is on this node's disk now: false if neither this node
    /// nor the bucket has it.
    pub(crate) fn bring_in(&self, name: &str) -> Result<bool> {
        if self.has_on_disk(name) {
            return Ok(true);
        }
        let Some(manifest) = self.tier()?.read_manifest(name)? else {
            return Ok(self.local(name).is_some());
        };
        self.bring_in_manifest(name, &manifest)?;
        Ok(true)
    }

    /// Brings tenant `name` in from the bucket's copy of generation
    /// `generation_id`, the checkpoint its lease names, when this node
    /// takes the tenant over (its log after the checkpoint is then
    /// replayed on top). A copy on this node's disk is older than it (this
    /// node lost the tenant since: another node served it after) and is
    /// discarded first; it holds no acknowledged write the bucket's copy
    /// and the log lack, since every write is logged before its ack.
    /// Returns false, changing nothing, if the bucket's manifest is not
    /// that generation (another upload replaced it, or there is none).
    pub(crate) fn bring_in_generation(&self, name: &str, generation_id: &str) -> Result<bool> {
        let manifest = match self.tier()?.read_manifest(name)? {
            Some(manifest) if manifest.generation_id == generation_id => manifest,
            _ => return Ok(false),
        };
        if let Some(tenant) = self.local(name) {
            if tenant.record().storage != Storage::Offloaded {
                self.discard_local(&tenant)?;
            }
        }
        self.bring_in_manifest(name, &manifest)?;
        Ok(true)
    }

    /// Drops this node's copy of tenant `name` once another node has taken
    /// the tenant over from the bucket (this node was fenced): the copy is
    /// discarded as a take-in discards an older one (`discard_local`), if
    /// the bucket's manifest is still generation `generation_id`, the
    /// checkpoint the new owner's lease names. That copy and the log after
    /// it hold every acknowledged write of this node (each was in the log
    /// before its ack), and the new owner took the tenant over from them.
    /// Only a copy on the local disk (active or inactive) is dropped; an
    /// archived tenant, or one pending deletion, is left alone. Returns
    /// whether it was dropped.
    pub(crate) fn drop_stale(&self, name: &str, generation_id: &str) -> Result<bool> {
        let Some(tenant) = self.local(name) else {
            return Ok(false);
        };
        if !matches!(tenant.record().storage, Storage::Active | Storage::Inactive)
            || self.bucket_generation(name)?.as_deref() != Some(generation_id)
        {
            return Ok(false);
        }
        self.discard_local(&tenant)?;
        Ok(true)
    }

    /// Forgets this node's copy of `tenant`'s data: records it `offloaded`
    /// (the commit point: if the node crashes before the folder is gone,
    /// the catalog's recovery removes it at the next start), then removes
    /// the folder. Only for a copy older than the bucket's (a take-in, or
    /// [`Catalog::drop_stale`]).
    fn discard_local(&self, tenant: &Tenant) -> Result<()> {
        tenant.while_unloaded(|| {
            let now = crate::clock::now_ms();
            self.update_local(tenant, |r| {
                lifecycle::move_storage(r, Storage::Offloaded, now);
                Ok(())
            })?;
            std::fs::remove_dir_all(&tenant.dir)
                .map_err(|e| Error::io(format!("cannot remove {}", tenant.dir.display()), e))
        })
    }

    /// Brings tenant `name` in from `manifest` (record, then data).
    fn bring_in_manifest(
        &self,
        name: &str,
        manifest: &crate::storage::object::Manifest,
    ) -> Result<()> {
        let tenant = match self.local(name) {
            Some(tenant) => {
                // Offloaded here earlier: another node may have changed its
                // record since (options, access). The incarnation stays:
                // this node's usage rows are keyed by it.
                let newer = super::offload::record_of(name, manifest)?;
                self.update_local(&tenant, |r| {
                    *r = TenantRecord {
                        id: r.id,
                        storage: Storage::Offloaded,
                        ..newer
                    };
                    Ok(())
                })?;
                tenant
            }
            None => {
                self.attach(name)?;
                self.get(name)?
            }
        };
        self.onload(&tenant, &CancelToken::new())
    }
}

/// Copies the files of folder `from` (a tenant's: no subfolders; none
/// before its first collection) into a new folder `to`, replacing what a
/// failed checkpoint left there.
fn copy_files(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    let fail = |p: &std::path::Path, e| Error::io(format!("cannot copy to {}", p.display()), e);
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| fail(to, e))?;
    }
    std::fs::create_dir_all(to).map_err(|e| fail(to, e))?;
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fail(from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| fail(from, e))?;
        if entry.file_type().map_err(|e| fail(from, e))?.is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(entry.path(), &target).map_err(|e| fail(&target, e))?;
        }
    }
    Ok(())
}
