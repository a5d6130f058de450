//! ARCHIVE TENANT and RESTORE TENANT, and the recovery that makes them
//! crash-safe.
//!
//! Order of archive: pack + verify the archive file, then record `archived`
//! (with the archive's CRC) in the catalog, then remove the live folder.
//! Order of restore: check the CRC and unpack into the live folder, then
//! record `inactive`, then remove the archive file. The catalog's status is
//! the commit point of each; `recover` (run when the catalog opens) removes
//! whatever a crash left on the other side of it, so a tenant is always
//! found archived or live, never neither.

use std::fs;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::storage::{archive, Layout};
use crate::tenant::record::TenantRecord;
use crate::tenant::status::Storage;
use crate::tenant::{lifecycle, Catalog, Tenant};

/// Cleans up after a crash in the middle of an archive or a restore.
pub(super) fn recover(layout: &Layout, records: &[TenantRecord]) -> Result<()> {
    for r in records {
        let live = layout.tenant_dir(&r.name);
        let packed = layout.archive(&r.name);
        // A restore's half-unpacked folder: never live data.
        let unpacking = layout.tenants_dir().join(format!(".restore-{}", r.name));
        if unpacking.exists() {
            fs::remove_dir_all(&unpacking)
                .map_err(|e| Error::io(format!("recovering tenant {}", r.name), e))?;
        }
        let result = if r.storage == Storage::Archived {
            // Archived: the archive is the data; a live folder is leftover.
            if packed.exists() && live.exists() {
                fs::remove_dir_all(&live)
            } else {
                Ok(())
            }
        } else if packed.exists() && r.archive_crc.is_none() {
            // Live: an archive file is leftover (restore finished, or an
            // archive that never reached the catalog).
            fs::remove_file(&packed)
        } else {
            Ok(())
        };
        result.map_err(|e| Error::io(format!("recovering tenant {}", r.name), e))?;
    }
    Ok(())
}

impl Catalog {
    /// `ARCHIVE TENANT`: packs the tenant into cold storage. A cancel
    /// request is honoured until the archive file is renamed into place.
    pub(crate) fn archive(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        lifecycle::may_archive(&tenant.name, tenant.record().storage)?;
        // Before unloading, which saves graph files.
        cancel.check()?;
        tenant.while_unloaded(|| {
            let dir = self.layout.archive_dir();
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            let crc = archive::pack(&tenant.dir, &self.layout.archive(&tenant.name), cancel)?;
            self.update(tenant, |r| {
                lifecycle::move_storage(r, Storage::Archived, crate::clock::now_ms());
                r.archive_crc = Some(crc);
                Ok(())
            })?;
            if tenant.dir.exists() {
                fs::remove_dir_all(&tenant.dir)
                    .map_err(|e| Error::io(format!("cannot remove {}", tenant.dir.display()), e))?;
            }
            Ok(())
        })
    }

    /// `RESTORE TENANT`: unpacks an archived tenant; its data becomes
    /// `inactive`, and a restriction stays as it was. A cancel request is
    /// honoured until the unpacked folder is moved into place.
    pub(crate) fn restore(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        let crc = lifecycle::may_restore(&tenant.record())?;
        cancel.check()?;
        let packed = self.layout.archive(&tenant.name);
        let restored = tenant.while_unloaded(|| {
            archive::unpack(&packed, crc, &tenant.dir, cancel)?;
            self.update(tenant, |r| {
                lifecycle::move_storage(r, lifecycle::RESTORED, crate::clock::now_ms());
                r.archive_crc = None;
                Ok(())
            })?;
            fs::remove_file(&packed)
                .map_err(|e| Error::io(format!("cannot remove {}", packed.display()), e))
        });
        // The nodes are back: count them again for `max_vectors` (outside
        // the collections lock, which counting takes).
        tenant.quota.invalidate();
        restored
    }
}
