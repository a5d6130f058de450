//! EXPORT TENANT: one `.pqlt` file (`storage::tenant_file`) holding the
//! tenant's record, the files of its folder and, when asked, its usage rows
//! and API key hashes.
//!
//! Consistency: for a tenant on the local disk, every loaded collection is
//! flushed and read-locked for the copy, so writers wait and readers go on.
//! If some collection is not loaded, the tenant's collections lock is also
//! held for the copy (a load could otherwise open a file being copied), so
//! statements that would load a collection wait too. An archived tenant is
//! unpacked, and an offloaded one downloaded, into `tenants/.export-<t>`
//! and copied from there: neither changes state (the staging folder is
//! removed after, or at the next open after a crash).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parking_lot::RwLockWriteGuard;
use serde::{Deserialize, Serialize};

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::storage::atomic::AtomicFile;
use crate::storage::tenant_file::{Kind, Writer};
use crate::storage::{archive, keys as key_store, temporaries, usage_store};
use crate::tenant::record::TenantRecord;
use crate::tenant::status::{Access, Storage};
use crate::tenant::{Catalog, SharedCollection, Tenant};
use crate::value::Value;

/// The tenant as an export file states it (JSON; format 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportedRecord {
    pub(crate) name: String,
    /// Where the data was when exported (informational: an import is
    /// always `inactive`, its data local and not loaded).
    pub(crate) storage: Storage,
    pub(crate) access: Access,
    pub(crate) reason: Option<String>,
    pub(crate) options: BTreeMap<String, Value>,
    pub(crate) created_at_ms: i64,
    pub(crate) updated_at_ms: i64,
    pub(crate) pending_since_ms: Option<i64>,
}

/// One API key: its SHA-256 (hex) and record, without the tenant name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExportedKey {
    pub(crate) hash: String,
    pub(crate) id: String,
    pub(crate) created_at_ms: i64,
}

/// One usage bucket: resolution (s), start (Unix s), counts then storage.
pub(crate) type ExportedUsage = Vec<(u32, i64, Vec<u64>)>;

/// What to put in the file besides the data.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ExportWhat {
    /// The usage history.
    pub(crate) usage: bool,
    /// The API key hashes.
    pub(crate) keys: bool,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub(crate) struct ExportSummary {
    /// Files of the tenant's folder.
    pub(crate) files: usize,
    /// Bytes of the export file.
    pub(crate) bytes: u64,
}

fn json_err(e: serde_json::Error) -> Error {
    Error::corrupt("cannot encode the export", e)
}

impl From<&TenantRecord> for ExportedRecord {
    fn from(r: &TenantRecord) -> Self {
        ExportedRecord {
            name: r.name.clone(),
            storage: r.storage,
            access: r.access,
            reason: r.reason.clone(),
            options: r.options.clone(),
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
            pending_since_ms: r.pending_since_ms,
        }
    }
}

/// The regular files of `dir` to export (not the temporaries), opened
/// now, with their lengths.
fn open_files(dir: &Path) -> Result<Vec<(String, u64, File)>> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("cannot list {}", dir.display()), e)),
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().is_ok_and(|t| t.is_file()) || temporaries::is_temporary(&name) {
            continue;
        }
        let path = entry.path();
        let file = File::open(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        out.push((name, len, file));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Where an archived or offloaded tenant is unpacked for an export.
pub(super) fn staging(catalog: &Catalog, name: &str) -> PathBuf {
    catalog.layout.tenants_dir().join(format!(".export-{name}"))
}

impl Tenant {
    /// Runs `f` while the tenant's files on disk are a consistent snapshot
    /// (see the module docs); `Err` if the data left the local disk first.
    fn frozen<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let loaded = self.collections.lock();
        if !matches!(self.record().storage, Storage::Active | Storage::Inactive) {
            return Err(Error::io(
                format!("exporting tenant {}", self.name),
                "its data moved while the export started; run it again",
            ));
        }
        let arcs: Vec<SharedCollection> = loaded.values().cloned().collect();
        let mut guards = Vec::with_capacity(arcs.len());
        for c in &arcs {
            let mut w = c.write();
            w.flush()?;
            guards.push(RwLockWriteGuard::downgrade(w));
        }
        let all_loaded = self
            .collection_names()
            .iter()
            .all(|n| loaded.contains_key(n));
        let _held = if all_loaded {
            drop(loaded);
            None
        } else {
            Some(loaded)
        };
        f()
    }
}

impl Catalog {
    /// Unpacks the archive of tenant `name` into `stage` for EXPORT, leaving
    /// the tenant archived: the local archive, else a copy fetched from the
    /// bucket into the archive folder as a temporary (`.tmp`, which open
    /// cleans up after a crash) and removed afterwards.
    fn unpack_archive_for_export(&self, name: &str, crc: u32, stage: &Path) -> Result<()> {
        // EXPORT is not cancellable: it changes nothing that needs undoing.
        let cancel = CancelToken::new();
        let local = self.layout.archive(name);
        if local.exists() {
            return archive::unpack(&local, crc, stage, &cancel);
        }
        let fetched = self
            .layout
            .archive_dir()
            .join(format!("{name}.export.tar.zst.tmp"));
        fs::create_dir_all(self.layout.archive_dir())
            .map_err(|e| Error::io("cannot create the archive folder", e))?;
        let unpacked = match self.archive_from_bucket(name, &fetched, crc) {
            Ok(true) => archive::unpack(&fetched, crc, stage, &cancel),
            Ok(false) => Err(Error::corrupt(
                format!("tenant {name}"),
                format!("archived, but {} does not exist", local.display()),
            )),
            Err(e) => Err(e),
        };
        let _ = fs::remove_file(&fetched);
        unpacked
    }

    /// `EXPORT TENANT`: writes `tenant` to `dest` (through a temporary
    /// file renamed into place once complete and synced).
    pub(crate) fn export(
        &self,
        tenant: &Tenant,
        dest: &Path,
        what: ExportWhat,
    ) -> Result<ExportSummary> {
        let mut small: Vec<(Kind, &str, Vec<u8>)> = Vec::new();
        if what.keys {
            let keys: Vec<ExportedKey> = key_store::hashed_of(&self.db(), &tenant.name)?
                .into_iter()
                .map(|(hash, r)| ExportedKey {
                    hash: hash.iter().map(|b| format!("{b:02x}")).collect(),
                    id: r.id,
                    created_at_ms: r.created_at_ms,
                })
                .collect();
            small.push((
                Kind::Keys,
                "keys",
                serde_json::to_vec(&keys).map_err(json_err)?,
            ));
        }
        if what.usage {
            let rows: ExportedUsage = usage_store::rows_of(&self.db(), &tenant.usage_key)?
                .into_iter()
                .map(|(res, start, row)| (res, start, row.to_vec()))
                .collect();
            small.push((
                Kind::Usage,
                "usage",
                serde_json::to_vec(&rows).map_err(json_err)?,
            ));
        }
        let write = |dir: &Path| -> Result<ExportSummary> {
            let files = open_files(dir)?;
            // The record as of the snapshot.
            let record =
                serde_json::to_vec(&ExportedRecord::from(&tenant.record())).map_err(json_err)?;
            let out = AtomicFile::create(dest)
                .map_err(|e| Error::io(format!("cannot create {}", dest.display()), e))?;
            let mut w = Writer::new(out.file())?;
            w.small(Kind::Record, "tenant", &record)?;
            for (kind, name, data) in &small {
                w.small(*kind, name, data)?;
            }
            for (name, len, mut file) in files.iter().map(|(n, l, f)| (n, *l, f)) {
                w.section(Kind::File, name, len, &mut file)?;
            }
            w.finish()?;
            let bytes = out
                .file()
                .metadata()
                .map_err(|e| Error::io(format!("cannot read {}", dest.display()), e))?
                .len();
            out.commit()
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
            Ok(ExportSummary {
                files: files.len(),
                bytes,
            })
        };
        match tenant.record().storage {
            Storage::Active | Storage::Inactive => tenant.frozen(|| write(&tenant.dir)),
            Storage::Archived | Storage::Offloaded => tenant.while_unloaded(|| {
                let stage = staging(self, &tenant.name);
                if stage.exists() {
                    fs::remove_dir_all(&stage)
                        .map_err(|e| Error::io(format!("cannot clear {}", stage.display()), e))?;
                }
                let record = tenant.record();
                let unpacked = match (record.storage, record.archive_crc) {
                    (Storage::Archived, Some(crc)) => {
                        self.unpack_archive_for_export(&tenant.name, crc, &stage)
                    }
                    (Storage::Archived, None) => Err(Error::corrupt(
                        format!("tenant {}", tenant.name),
                        "archived without an archive checksum",
                    )),
                    (Storage::Offloaded, _) => self.download_for_export(&tenant.name, &stage),
                    // Restored or onloaded meanwhile: everything is
                    // unloaded now, so the folder is a snapshot.
                    _ => return write(&tenant.dir),
                };
                let written = unpacked.and_then(|()| write(&stage));
                if stage.exists() {
                    fs::remove_dir_all(&stage)
                        .map_err(|e| Error::io(format!("cannot remove {}", stage.display()), e))?;
                }
                written
            }),
        }
    }
}
