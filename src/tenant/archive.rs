//! ARCHIVE TENANT and RESTORE TENANT, and the recovery that makes them
//! crash-safe.
//!
//! Order of archive: pack + verify the archive file (with an object store:
//! upload it and read it back), then record `archived` (with the archive's
//! CRC) in the catalog, then remove the live folder (with an object store:
//! then the local archive file). Order of restore: (with the archive only
//! in the bucket: download it and check its size and CRC first), check the
//! CRC and unpack into the live folder, then record `inactive`, then remove
//! the archive file (and the bucket's copy). The catalog's status is
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
        // A restore's half-unpacked folder, or half-downloaded archive:
        // never live data.
        let unpacking = layout.tenants_dir().join(format!(".restore-{}", r.name));
        if unpacking.exists() {
            fs::remove_dir_all(&unpacking)
                .map_err(|e| Error::io(format!("recovering tenant {}", r.name), e))?;
        }
        let mut downloading = packed.clone().into_os_string();
        downloading.push(".download");
        let downloading = std::path::PathBuf::from(downloading);
        if downloading.exists() {
            remove(&downloading)?;
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

/// Removes the file at `path`.
fn remove(path: &std::path::Path) -> Result<()> {
    fs::remove_file(path).map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))
}

impl Catalog {
    /// `ARCHIVE TENANT`: packs the tenant into cold storage, in the bucket
    /// when an object store is configured. A cancel
    /// request is honoured until the archive file is renamed into place.
    pub(crate) fn archive(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        lifecycle::may_archive(&tenant.name, tenant.record().storage)?;
        // Before unloading, which saves graph files.
        cancel.check()?;
        tenant.while_unloaded(|| {
            let dir = self.layout.archive_dir();
            fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            let packed = self.layout.archive(&tenant.name);
            let crc = archive::pack(&tenant.dir, &packed, cancel)?;
            // Uploaded and read back before the commit; on failure the
            // packed file goes and the tenant stays as it was.
            let in_bucket = match self.archive_to_bucket(&tenant.name, &packed, crc) {
                Ok(b) => b,
                Err(e) => {
                    let _ = fs::remove_file(&packed);
                    return Err(e);
                }
            };
            self.update(tenant, |r| {
                lifecycle::move_storage(r, Storage::Archived, crate::clock::now_ms());
                r.archive_crc = Some(crc);
                Ok(())
            })?;
            if tenant.dir.exists() {
                fs::remove_dir_all(&tenant.dir)
                    .map_err(|e| Error::io(format!("cannot remove {}", tenant.dir.display()), e))?;
            }
            // Last: until the live folder is gone, the local archive is what
            // tells `recover` that the folder is a leftover.
            if in_bucket {
                remove(&packed)?;
            }
            Ok(())
        })
    }

    /// `RESTORE TENANT`: unpacks an archived tenant (fetched from the
    /// bucket first when it is there, and checked before anything local
    /// changes); its data becomes `inactive`, and a restriction stays as it
    /// was. A cancel request is honoured until the unpacked folder is moved
    /// into place.
    pub(crate) fn restore(&self, tenant: &Tenant, cancel: &CancelToken) -> Result<()> {
        let crc = lifecycle::may_restore(&tenant.record())?;
        cancel.check()?;
        let packed = self.layout.archive(&tenant.name);
        let restored = tenant.while_unloaded(|| {
            let fetched =
                !packed.exists() && self.archive_from_bucket(&tenant.name, &packed, crc)?;
            if let Err(e) = archive::unpack(&packed, crc, &tenant.dir, cancel) {
                if fetched {
                    let _ = fs::remove_file(&packed);
                }
                return Err(e);
            }
            self.update(tenant, |r| {
                lifecycle::move_storage(r, lifecycle::RESTORED, crate::clock::now_ms());
                r.archive_crc = None;
                Ok(())
            })?;
            remove(&packed)?;
            // The restore is committed: a copy left in the bucket is only
            // garbage, overwritten by the next ARCHIVE.
            let _ = self.delete_bucket_archive(&tenant.name);
            Ok(())
        });
        // The nodes are back: count them again for `max_vectors` (outside
        // the collections lock, which counting takes).
        tenant.quota.invalidate();
        restored
    }
}
