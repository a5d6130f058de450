//! OFFLOAD TENANT, onload (ONLOAD TENANT and lazy, on any statement) and
//! ATTACH TENANT ... FROM OBJECT STORE, and the recovery that makes them
//! crash-safe (docs/object-storage.md).
//!
//! Order of offload: compact the large collection files, upload the tenant
//! folder with its record and usage history (the tier
//! writes the manifest last, reads it back and checks it), then record
//! `offloaded` in the catalog, then remove the local folder, then delete
//! older generations from the bucket. Order of onload: download and check
//! every object into `tenants/.onload-<t>`, rename it into place, then
//! record `active`. The catalog's storage state is the commit point of
//! each; `recover` (run when the catalog opens) removes whatever a crash
//! left on the other side of it, so a tenant is always live locally or
//! fully offloaded, never neither. Neither moves the access restriction.
//!
//! Cancel requests: an offload checks before its upload (the tier uploads
//! the objects as one unit); an onload checks after its download, before
//! the rename, and removes its staging folder if cancelled.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
#[cfg(feature = "s3")]
use crate::storage::usage_store;
use crate::storage::Layout;
use crate::tenant::record::TenantRecord;
use crate::tenant::status::Storage;
use crate::tenant::Catalog;
#[cfg(feature = "s3")]
use crate::tenant::{lifecycle, names, Tenant};

/// OFFLOAD compacts collection files larger than this first: on a
/// 100k × 384 tenant it cut the upload and every onload from 205 to 158 MB
/// (BENCHMARKS.md), while on a small file its fsyncs cost more than the
/// bytes it saves.
#[cfg(feature = "s3")]
const COMPACT_ABOVE: u64 = 8 << 20;

/// Where an onload downloads the tenant before renaming it into place
/// (tenant names hold no `.`, so this is never a tenant's folder).
fn staging(layout: &Layout, name: &str) -> PathBuf {
    layout.tenants_dir().join(format!(".onload-{name}"))
}

/// Where an offload writes the tenant's quick objects before uploading
/// them beside its files (`storage::object::quick`).
fn quick_staging(layout: &Layout, name: &str) -> PathBuf {
    layout.tenants_dir().join(format!(".quick-{name}"))
}

/// Where a cluster checkpoint copies a tenant's files, so that the tenant
/// is served again while the copy uploads.
pub(super) fn checkpoint_staging(layout: &Layout, name: &str) -> PathBuf {
    layout.tenants_dir().join(format!(".checkpoint-{name}"))
}

/// Cleans up after a crash in the middle of an offload or an onload.
pub(super) fn recover(layout: &Layout, records: &[TenantRecord]) -> Result<()> {
    let fail = |name: &str, e| Error::io(format!("recovering tenant {name}"), e);
    for r in records {
        for half in [
            staging(layout, &r.name),
            quick_staging(layout, &r.name),
            checkpoint_staging(layout, &r.name),
        ] {
            if half.exists() {
                fs::remove_dir_all(&half).map_err(|e| fail(&r.name, e))?;
            }
        }
        let live = layout.tenant_dir(&r.name);
        // Offloaded: the bucket holds the data (verified before the commit);
        // a local folder is an offload's leftover or an unrecorded onload.
        if r.storage == Storage::Offloaded && live.exists() {
            fs::remove_dir_all(&live).map_err(|e| fail(&r.name, e))?;
        }
    }
    Ok(())
}

/// Writes the quick object of each of `tenant`'s collections whose file
/// has at least `min_bytes` and that has one
/// (`storage::object::quick::write`) into the fresh folder `out`.
#[cfg(feature = "s3")]
fn write_quick_objects(tenant: &Tenant, dir: &Path, out: &Path, min_bytes: u64) -> Result<()> {
    if out.exists() {
        fs::remove_dir_all(out)
            .map_err(|e| Error::io(format!("cannot clear {}", out.display()), e))?;
    }
    fs::create_dir_all(out)
        .map_err(|e| Error::io(format!("cannot create {}", out.display()), e))?;
    for name in tenant.collection_names() {
        let file = dir.join(crate::collection::file_name(&name));
        if fs::metadata(&file).map_or(0, |m| m.len()) >= min_bytes {
            crate::storage::object::quick::write(&file, out)?;
        }
    }
    Ok(())
}

#[cfg(feature = "s3")]
impl Catalog {
    /// The object store, or the error for a data folder without one.
    pub(crate) fn tier(&self) -> Result<&crate::storage::object::ObjectTier> {
        self.tier.as_deref().ok_or_else(|| {
            Error::unsupported(
                "no object store is configured: start with --object-store URL \
                 (or PQL_OBJECT_STORE, Config::with_object_store)",
            )
        })
    }

    /// `OFFLOAD TENANT`: moves the tenant's data to the object store.
    pub(crate) fn offload(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        let tier = self.tier()?;
        lifecycle::may_offload(&tenant.name, tenant.record().storage)?;
        // Before unloading, which saves graph files.
        cancel.check()?;
        tenant.while_unloaded(|| {
            let now = crate::clock::now_ms();
            self.upload_copy(tenant, &tenant.dir, cancel, now)?;
            self.update(tenant, |r| {
                lifecycle::move_storage(r, Storage::Offloaded, now);
                Ok(())
            })?;
            fs::remove_dir_all(&tenant.dir)
                .map_err(|e| Error::io(format!("cannot remove {}", tenant.dir.display()), e))?;
            // Older generations are garbage now; one left behind by a failure
            // here is collected by the next offload.
            tier.gc_tenant(&tenant.name).map(drop)
        })
    }

    /// Uploads a copy of `tenant`'s data in folder `dir` (its own folder,
    /// unloaded: the caller holds [`Tenant::while_unloaded`]; or a copy of
    /// it) as the bucket's newest generation, with its record saying
    /// `offloaded` at `now` (what a node that brings it in expects) and its
    /// usage history: OFFLOAD's upload, and a cluster node's checkpoint.
    pub(crate) fn upload_copy(
        &self,
        tenant: &Tenant,
        dir: &Path,
        cancel: &CancelToken,
        now: i64,
    ) -> Result<()> {
        let tier = self.tier()?;
        fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        // Freed pages would be downloaded by every onload; a small
        // file is not worth compaction's commits.
        for name in tenant.collection_names() {
            let file = dir.join(crate::collection::file_name(&name));
            let len = fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            if len > COMPACT_ABOVE {
                crate::storage::collection::compact_file(&file)?;
            }
        }
        let mut offloaded = tenant.record();
        lifecycle::move_storage(&mut offloaded, Storage::Offloaded, now);
        let record = crate::storage::codec::encode(&offloaded)?;
        let usage = usage_store::rows_of(&self.db(), &offloaded.usage_key())?;
        let usage = crate::storage::codec::encode(&usage)?;
        cancel.check()?;
        let quick = quick_staging(&self.layout, &tenant.name);
        let uploaded =
            write_quick_objects(tenant, dir, &quick, tier.quick_min_bytes).and_then(|()| {
                tier.upload_tenant_with_usage(&tenant.name, &[dir, &quick], &record, &usage)
            });
        // Uploaded or not, the staging folder has served.
        let _ = fs::remove_dir_all(&quick);
        uploaded.map(drop)
    }

    /// Onload (ONLOAD TENANT, or lazily on any statement): downloads and
    /// checks the tenant's latest snapshot; its data becomes `active`. A
    /// damaged object is `Corrupt` and nothing local is touched.
    pub(crate) fn onload(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        let tier = self.tier()?;
        lifecycle::may_onload(&tenant.name, tenant.record().storage)?;
        let onloaded = tenant.while_unloaded(|| {
            // Checked again under the lock: a concurrent statement may have
            // onloaded it meanwhile.
            if tenant.record().storage != Storage::Offloaded {
                return Ok(());
            }
            let half = staging(&self.layout, &tenant.name);
            if half.exists() {
                fs::remove_dir_all(&half)
                    .map_err(|e| Error::io(format!("cannot clear {}", half.display()), e))?;
            }
            let downloaded = tier
                .download_tenant(&tenant.name, &half)
                .and_then(|_| cancel.check());
            if downloaded.is_err() && half.exists() {
                let _ = fs::remove_dir_all(&half);
            }
            downloaded?;
            fs::rename(&half, &tenant.dir)
                .map_err(|e| Error::io(format!("cannot move {} into place", half.display()), e))?;
            self.update(tenant, |r| {
                lifecycle::move_storage(r, Storage::Active, crate::clock::now_ms());
                Ok(())
            })
            .map(drop)
        });
        tenant.quota.invalidate();
        onloaded
    }

    /// `ATTACH TENANT name FROM OBJECT STORE`: adds the tenant from its
    /// latest snapshot's record (options, status, incarnation) and usage
    /// history, offloaded; the next statement onloads it.
    pub(crate) fn attach(&self, name: &str) -> Result<()> {
        names::validate("tenant", name)?;
        let tier = self.tier()?;
        let manifest = tier.read_manifest(name)?.ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::TenantNotFound,
                format!("Tenant not found in the object store: {name}"),
            )
        })?;
        let mut record = record_of(name, &manifest)?;
        let usage: Vec<(u32, i64, usage_store::Row)> = if manifest.usage.is_empty() {
            Vec::new()
        } else {
            crate::storage::codec::decode(&manifest.usage, "usage history in the manifest")?
        };
        lifecycle::move_storage(&mut record, Storage::Offloaded, crate::clock::now_ms());
        let key = record.usage_key();
        // A tier this catalog lacks is kept: the data comes back first.
        self.insert(record, false, false)?;
        usage_store::restore_history(&self.db(), &key, &usage)
    }

    /// The offload policy (`Config::offload_after`), run by the pool's
    /// periodic pass: offloads every tenant whose data is on the local disk
    /// and that was last used (else last changed) `after` or longer before
    /// `now_ms`. Access restrictions stay as they are. One pass at a time;
    /// a tenant that fails is left for the next pass, and the first error is
    /// returned after the others were tried. Returns how many it offloaded.
    pub(crate) fn offload_idle(&self, after: std::time::Duration, now_ms: i64) -> Result<usize> {
        let Some(_sweeping) = self.offloading.try_lock() else {
            return Ok(0);
        };
        if self.tier.is_none() {
            return Ok(0);
        }
        let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        let mut offloaded = 0;
        let mut first_error = None;
        for tenant in self.list() {
            let (storage, _) = tenant.state();
            if !matches!(storage, Storage::Active | Storage::Inactive) {
                continue;
            }
            let last = tenant
                .slot
                .last_accessed_ms()
                .unwrap_or_else(|| tenant.record().updated_at_ms);
            if now_ms.saturating_sub(last) < after_ms {
                continue;
            }
            // The policy's own offloads: no statement can cancel them.
            match self.offload(&tenant, &CancelToken::new()) {
                Ok(()) => offloaded += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(offloaded), Err)
    }

    /// Where `tenant`'s data lives, and its size in the object store if it
    /// is there (DESCRIBE TENANT): the offloaded snapshot's folder and the
    /// size its manifest gives, or the archive's key and size.
    pub(crate) fn placement(&self, tenant: &Tenant) -> Result<(String, Option<u64>)> {
        let record = tenant.record();
        let Some(tier) = self.tier.as_deref() else {
            return Ok((local_placement(record.storage), None));
        };
        match record.storage {
            Storage::Offloaded => {
                let manifest = tier.read_manifest(&tenant.name)?.ok_or_else(|| {
                    Error::corrupt(
                        format!("tenant {}", tenant.name),
                        format!(
                            "it is offloaded but {} holds no manifest of it",
                            tier.name()
                        ),
                    )
                })?;
                let folder = tier.snapshot_key(&manifest)?;
                Ok((
                    format!("object store: {folder} in {}", tier.name()),
                    Some(manifest.total_bytes()),
                ))
            }
            Storage::Archived if !self.layout.archive(&tenant.name).exists() => Ok((
                format!(
                    "object store: {} in {}",
                    tier.archive_key(&tenant.name)?,
                    tier.name()
                ),
                tier.archive_size(&tenant.name)?,
            )),
            other => Ok((local_placement(other), None)),
        }
    }

    /// Downloads and checks the latest snapshot of offloaded `name` into
    /// `dest` (EXPORT TENANT), leaving the tenant offloaded.
    pub(super) fn download_for_export(&self, name: &str, dest: &std::path::Path) -> Result<()> {
        self.tier()?.download_tenant(name, dest).map(drop)
    }

    /// Deletes a dropped tenant's objects, snapshots and archive (after the
    /// catalog committed the drop); nothing to do without an object store.
    pub(super) fn delete_objects(&self, name: &str) -> Result<()> {
        match self.tier.as_deref() {
            Some(tier) => {
                tier.delete_tenant(name)?;
                tier.delete_archive(name)
            }
            None => Ok(()),
        }
    }

    /// With an object store: uploads the archive file `packed` of tenant
    /// `name` to the bucket and checks it there (its CRC-32 must be `crc`).
    /// Returns whether it did; without a store the archive stays local.
    pub(super) fn archive_to_bucket(&self, name: &str, packed: &Path, crc: u32) -> Result<bool> {
        let Some(tier) = self.tier.as_deref() else {
            return Ok(false);
        };
        let sent = tier.put_archive(name, packed)?;
        if sent != crc {
            return Err(Error::corrupt(
                format!("the archive of tenant {name}"),
                format!(
                    "{sent:08x} was uploaded to {}, {crc:08x} packed",
                    tier.name()
                ),
            ));
        }
        Ok(true)
    }

    /// With an object store: downloads the archive of tenant `name` to
    /// `packed`, checked against its stored size and CRC-32 and against
    /// `crc` (the catalog's) before it is put in place. Returns whether it
    /// did; without a store there is nothing to fetch.
    pub(super) fn archive_from_bucket(&self, name: &str, packed: &Path, crc: u32) -> Result<bool> {
        let Some(tier) = self.tier.as_deref() else {
            return Ok(false);
        };
        let got = tier.get_archive(name, packed)?;
        if got != crc {
            let _ = fs::remove_file(packed);
            return Err(Error::corrupt(
                format!("the archive of tenant {name} in {}", tier.name()),
                format!("its CRC-32 is {got:08x}, the catalog recorded {crc:08x}"),
            ));
        }
        Ok(true)
    }

    /// Deletes the archive of tenant `name` from the bucket, if there is a
    /// store.
    pub(super) fn delete_bucket_archive(&self, name: &str) -> Result<()> {
        match self.tier.as_deref() {
            Some(tier) => tier.delete_archive(name),
            None => Ok(()),
        }
    }
}

/// The tenant record a manifest of tenant `name` holds, checked to name it.
#[cfg(feature = "s3")]
pub(super) fn record_of(
    name: &str,
    manifest: &crate::storage::object::Manifest,
) -> Result<TenantRecord> {
    let record: TenantRecord =
        crate::storage::codec::decode(&manifest.record, "tenant record in the manifest")?;
    if record.name != name {
        return Err(Error::corrupt(
            format!("the manifest of tenant {name}"),
            format!("its record names tenant {}", record.name),
        ));
    }
    Ok(record)
}

/// Where data in `storage` lives when it is not in the object store.
fn local_placement(storage: Storage) -> String {
    match storage {
        Storage::Archived => "local archive".into(),
        _ => "local disk".into(),
    }
}

#[cfg(not(feature = "s3"))]
impl Catalog {
    fn without_s3<T>() -> Result<T> {
        Err(Error::unsupported(
            "this build has no object-store support (cargo feature s3)",
        ))
    }

    /// `OFFLOAD TENANT`: needs the `s3` feature.
    pub(crate) fn offload(&self, _tenant: &super::Tenant, _cancel: &CancelToken) -> Result<()> {
        Self::without_s3()
    }

    /// Onload: needs the `s3` feature.
    pub(crate) fn onload(&self, _tenant: &super::Tenant, _cancel: &CancelToken) -> Result<()> {
        Self::without_s3()
    }

    /// `ATTACH TENANT`: needs the `s3` feature.
    pub(crate) fn attach(&self, _name: &str) -> Result<()> {
        Self::without_s3()
    }

    /// Export of an offloaded tenant: needs the `s3` feature.
    pub(super) fn download_for_export(&self, _name: &str, _dest: &std::path::Path) -> Result<()> {
        Self::without_s3()
    }

    /// Nothing to delete without an object store.
    pub(super) fn delete_objects(&self, _name: &str) -> Result<()> {
        Ok(())
    }

    /// Without an object store an archive stays local.
    pub(super) fn archive_to_bucket(&self, _name: &str, _packed: &Path, _crc: u32) -> Result<bool> {
        Ok(false)
    }

    /// Without an object store there is no archive to fetch.
    pub(super) fn archive_from_bucket(&self, _: &str, _: &Path, _: u32) -> Result<bool> {
        Ok(false)
    }

    /// Nothing to delete without an object store.
    pub(super) fn delete_bucket_archive(&self, _name: &str) -> Result<()> {
        Ok(())
    }

    /// Without an object store nothing is offloaded.
    pub(crate) fn offload_idle(&self, _after: std::time::Duration, _now_ms: i64) -> Result<usize> {
        Ok(0)
    }

    /// Without an object store, the data is on the local disk.
    pub(crate) fn placement(&self, tenant: &super::Tenant) -> Result<(String, Option<u64>)> {
        Ok((local_placement(tenant.record().storage), None))
    }
}
