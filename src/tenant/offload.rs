//! OFFLOAD TENANT, onload (ONLOAD TENANT and lazy, on any statement) and
//! ATTACH TENANT ... FROM OBJECT STORE, and the recovery that makes them
//! crash-safe (docs/object-storage.md).
//!
//! Order of offload: upload the tenant folder with its record (the tier
//! writes the manifest last, reads it back and checks it), then record
//! `offloaded` in the catalog, then remove the local folder, then delete
//! older generations from the bucket. Order of onload: download and check
//! every object into `tenants/.onload-<t>`, rename it into place, then
//! record `active`. The catalog's storage state is the commit point of
//! each; `recover` (run when the catalog opens) removes whatever a crash
//! left on the other side of it, so a tenant is always live locally or
//! fully offloaded, never neither. Neither moves the access restriction.

use std::fs;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::storage::Layout;
use crate::tenant::record::TenantRecord;
use crate::tenant::status::Storage;
use crate::tenant::Catalog;
#[cfg(feature = "s3")]
use crate::tenant::{lifecycle, names, Tenant};

/// Where an onload downloads the tenant before renaming it into place
/// (tenant names hold no `.`, so this is never a tenant's folder).
fn staging(layout: &Layout, name: &str) -> PathBuf {
    layout.tenants_dir().join(format!(".onload-{name}"))
}

/// Cleans up after a crash in the middle of an offload or an onload.
pub(super) fn recover(layout: &Layout, records: &[TenantRecord]) -> Result<()> {
    let fail = |name: &str, e| Error::io(format!("recovering tenant {name}"), e);
    for r in records {
        let half = staging(layout, &r.name);
        if half.exists() {
            fs::remove_dir_all(&half).map_err(|e| fail(&r.name, e))?;
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

#[cfg(feature = "s3")]
impl Catalog {
    /// The object store, or the error for a data folder without one.
    fn tier(&self) -> Result<&crate::storage::object::ObjectTier> {
        self.tier.as_deref().ok_or_else(|| {
            Error::unsupported(
                "no object store is configured: start with --object-store URL \
                 (or PQL_OBJECT_STORE, Config::with_object_store)",
            )
        })
    }

    /// `OFFLOAD TENANT`: moves the tenant's data to the object store.
    pub(crate) fn offload(&self, tenant: &Tenant) -> Result<()> {
        let tier = self.tier()?;
        lifecycle::may_offload(&tenant.name, tenant.record().storage)?;
        tenant.while_unloaded(|| {
            fs::create_dir_all(&tenant.dir)
                .map_err(|e| Error::io(format!("cannot create {}", tenant.dir.display()), e))?;
            let now = crate::clock::now_ms();
            let mut offloaded = tenant.record();
            lifecycle::move_storage(&mut offloaded, Storage::Offloaded, now);
            let record = crate::storage::codec::encode(&offloaded)?;
            tier.upload_tenant(&tenant.name, &tenant.dir, &record)?;
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

    /// Onload (ONLOAD TENANT, or lazily on any statement): downloads and
    /// checks the tenant's latest snapshot; its data becomes `active`. A
    /// damaged object is `Corrupt` and nothing local is touched.
    pub(crate) fn onload(&self, tenant: &Tenant) -> Result<()> {
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
            tier.download_tenant(&tenant.name, &half)?;
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
    /// latest snapshot's record (options, status, incarnation), offloaded;
    /// the next statement onloads it.
    pub(crate) fn attach(&self, name: &str) -> Result<()> {
        names::validate("tenant", name)?;
        let tier = self.tier()?;
        let manifest = tier.read_manifest(name)?.ok_or_else(|| {
            Error::new(
                crate::error::ErrorKind::TenantNotFound,
                format!("Tenant not found in the object store: {name}"),
            )
        })?;
        let mut record: TenantRecord =
            crate::storage::codec::decode(&manifest.record, "tenant record in the manifest")?;
        if record.name != name {
            return Err(Error::corrupt(
                format!("the manifest of tenant {name}"),
                format!("its record names tenant {}", record.name),
            ));
        }
        lifecycle::move_storage(&mut record, Storage::Offloaded, crate::clock::now_ms());
        self.create(record, false).map(drop)
    }

    /// Downloads and checks the latest snapshot of offloaded `name` into
    /// `dest` (EXPORT TENANT), leaving the tenant offloaded.
    pub(super) fn download_for_export(&self, name: &str, dest: &std::path::Path) -> Result<()> {
        self.tier()?.download_tenant(name, dest).map(drop)
    }

    /// Deletes a dropped tenant's objects (after the catalog committed the
    /// drop); nothing to do without an object store.
    pub(super) fn delete_objects(&self, name: &str) -> Result<()> {
        match self.tier.as_deref() {
            Some(tier) => tier.delete_tenant(name).map(drop),
            None => Ok(()),
        }
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
    pub(crate) fn offload(&self, _tenant: &super::Tenant) -> Result<()> {
        Self::without_s3()
    }

    /// Onload: needs the `s3` feature.
    pub(crate) fn onload(&self, _tenant: &super::Tenant) -> Result<()> {
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
}
