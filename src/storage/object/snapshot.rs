//! Tenant snapshots in the object store: upload a tenant folder as a new
//! generation, download the latest one into a staging folder, and delete
//! what no manifest names any more.
//!
//! Crash safety comes from the order of writes: every object of a
//! generation is written (to a folder no one else uses) before the manifest
//! that names it, and the manifest is one atomic PUT. A reader therefore
//! sees the old snapshot or the new one, never a part of one.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};

use super::keys::{check_file_name, Target};
use super::manifest::{Manifest, ManifestObject};
use super::quick;
use super::tier::ObjectTier;
use super::transfer::Checked;
use crate::error::{Error, ErrorKind, Result};

impl ObjectTier {
    /// Uploads every file of the tenant folder `local_dir` as generation
    /// *n + 1* (n from the current manifest, 0 if none), up to
    /// `concurrency` objects at once, each with its size and CRC-32; then
    /// writes the manifest, carrying `record` (the tenant's catalog record),
    /// reads it back and checks it and every object's size. Only then does it
    /// return the manifest.
    ///
    /// The folder must hold regular files only and must not change during
    /// the upload (the caller holds the tenant). On failure the new
    /// generation's objects are deleted as far as the store allows, and the
    /// previous manifest stays in place. Older generations stay too, for
    /// readers that still use them, until [`ObjectTier::gc_tenant`].
    pub fn upload_tenant(&self, tenant: &str, local_dir: &Path, record: &[u8]) -> Result<Manifest> {
        self.upload_tenant_with_usage(tenant, &[local_dir], record, &[])
    }

    /// [`ObjectTier::upload_tenant`] of the files of every folder of `dirs`
    /// (the tenant folder, and the one its quick objects were written to;
    /// no name twice), with the tenant's usage history (opaque bytes)
    /// carried in the manifest beside its record.
    pub fn upload_tenant_with_usage(
        &self,
        tenant: &str,
        dirs: &[&Path],
        record: &[u8],
        usage: &[u8],
    ) -> Result<Manifest> {
        let manifest_key = self.keys.key(tenant, Target::Manifest)?;
        let mut files = Vec::new();
        for dir in dirs {
            files.extend(tenant_files(dir)?);
        }
        files.sort();
        if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::io(
                format!("cannot upload tenant {tenant}"),
                format!("two files named {}", w[0].0),
            ));
        }
        let previous = self.read_manifest(tenant)?;
        let generation = previous.map_or(1, |m| m.generation + 1);
        let mut manifest = Manifest::new(tenant, generation, record, usage);
        let mut uploads = Vec::with_capacity(files.len());
        for (file, path) in files {
            let key = self.keys.key(
                tenant,
                Target::Object {
                    generation: &manifest.generation_id,
                    file: &file,
                },
            )?;
            uploads.push((file, path, key));
        }
        let folder = self
            .keys
            .key(tenant, Target::Generation(&manifest.generation_id))?;
        let remote = self.remote.clone();
        let concurrency = self.concurrency;
        let sent = self.block_on(async move {
            let sent: Result<Vec<ManifestObject>> = futures::stream::iter(uploads)
                .map(|(file, path, key)| {
                    let remote = remote.clone();
                    async move {
                        let c = remote.put_file(&key, &path).await?;
                        Ok(ManifestObject {
                            file,
                            key: key.to_string(),
                            size: c.size,
                            crc32: c.crc32,
                        })
                    }
                })
                .buffer_unordered(concurrency)
                .try_collect()
                .await;
            if sent.is_err() {
                // Best effort: no manifest names these, so they are only garbage.
                if let Ok(keys) = remote.list(&folder).await {
                    let _ = remote.delete_all(keys).await;
                }
            }
            sent
        })?;
        manifest.objects = sent;
        manifest.objects.sort_by(|a, b| a.file.cmp(&b.file));
        let bytes = manifest.encode()?;
        let remote = self.remote.clone();
        self.block_on(async move { remote.put_bytes(&manifest_key, bytes).await })?;
        self.verify_uploaded(&manifest)?;
        Ok(manifest)
    }

    /// The key of the folder holding `manifest`'s objects.
    pub fn snapshot_key(&self, manifest: &Manifest) -> Result<String> {
        let target = Target::Generation(&manifest.generation_id);
        Ok(self.keys.key(&manifest.tenant, target)?.to_string())
    }

    /// Reads the manifest back and checks that it is `written` and that every
    /// object it names has its size.
    fn verify_uploaded(&self, written: &Manifest) -> Result<()> {
        let back = self.read_manifest(&written.tenant)?;
        if back.as_ref() != Some(written) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "the manifest of tenant {:?} read back from {} differs from the one written",
                    written.tenant,
                    self.name()
                ),
            ));
        }
        let remote = self.remote.clone();
        let objects = written.objects.clone();
        self.block_on(async move {
            for o in objects {
                let key = object_store::path::Path::from(o.key.as_str());
                let size = remote.size_of(&key).await?;
                if size != Some(o.size) {
                    return Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "object {key} in {} has {size:?} bytes after upload, expected {}",
                            remote.name, o.size
                        ),
                    ));
                }
            }
            Ok(())
        })
    }

    /// The latest manifest of `tenant`, checked, or `None` if the tenant has
    /// no snapshot in the store. A damaged manifest is `Corrupt`.
    pub fn read_manifest(&self, tenant: &str) -> Result<Option<Manifest>> {
        let key = self.keys.key(tenant, Target::Manifest)?;
        let remote = self.remote.clone();
        let bytes = self.block_on(async move { remote.get_bytes(&key).await })?;
        let key = self.keys.key(tenant, Target::Manifest)?;
        bytes
            .map(|b| Manifest::decode(&b, tenant, &self.keys, key.as_ref()))
            .transpose()
    }

    /// Downloads the latest snapshot of `tenant` into `staging_dir`, which
    /// must not exist: every object in parallel, each checked for size and
    /// CRC-32 and synced, and the folder synced. Only then does it return the
    /// manifest; the caller renames the staging folder into place.
    ///
    /// No snapshot is `TenantNotFound`; a missing or damaged object is
    /// `Corrupt`, naming it. On any error the staging folder is removed and
    /// nothing else is touched.
    pub fn download_tenant(&self, tenant: &str, staging_dir: &Path) -> Result<Manifest> {
        let Some(manifest) = self.read_manifest(tenant)? else {
            return Err(Error::new(
                ErrorKind::TenantNotFound,
                format!("no snapshot of tenant {tenant:?} in {}", self.name()),
            ));
        };
        let staging = |e: std::io::Error| {
            Error::io(
                format!("cannot create staging folder {}", staging_dir.display()),
                e,
            )
        };
        std::fs::create_dir_all(staging_dir.parent().unwrap_or(Path::new("."))).map_err(staging)?;
        std::fs::create_dir(staging_dir).map_err(staging)?;
        let result = self.download_into(&manifest, staging_dir);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(staging_dir);
        }
        result.map(|()| manifest)
    }

    fn download_into(&self, manifest: &Manifest, dir: &Path) -> Result<()> {
        let remote = self.remote.clone();
        let jobs: Vec<(object_store::path::Path, PathBuf, Checked)> = manifest
            .objects
            .iter()
            // Read in ranges by cold queries, never needed locally.
            .filter(|o| !quick::is_quick(&o.file))
            .map(|o| {
                let want = Checked {
                    size: o.size,
                    crc32: o.crc32,
                };
                (o.key.as_str().into(), dir.join(&o.file), want)
            })
            .collect();
        let concurrency = self.concurrency;
        self.block_on(async move {
            futures::stream::iter(jobs)
                .map(|(key, dest, want)| {
                    let remote = remote.clone();
                    async move { remote.get_file(&key, &dest, Some(want)).await }
                })
                .buffer_unordered(concurrency)
                .try_collect::<Vec<_>>()
                .await
        })?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(format!("cannot sync {}", dir.display()), e))
    }

    /// The bytes `range` of the snapshot object `object` ([`Self::read_ranges`]).
    pub(crate) fn read_range(
        &self,
        object: &ManifestObject,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>> {
        let mut one = self.read_ranges(object, std::iter::once(range).collect())?;
        Ok(one.pop().unwrap_or_default())
    }

    /// The bytes `ranges` of the snapshot object `object` (named by a
    /// manifest this tier read), up to `concurrency` ranged GETs at once,
    /// in the order asked. A missing object or a short range is `Corrupt`.
    pub(crate) fn read_ranges(
        &self,
        object: &ManifestObject,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> Result<Vec<Vec<u8>>> {
        if ranges
            .iter()
            .any(|r| r.start > r.end || r.end > object.size)
        {
            return Err(Error::corrupt(
                format!("object {}", object.key),
                "a range past its end",
            ));
        }
        let key: object_store::path::Path = object.key.as_str().into();
        let remote = self.remote.clone();
        let concurrency = self.concurrency.max(1);
        self.block_on(async move {
            futures::stream::iter(ranges)
                .map(|range| {
                    let (remote, key) = (&remote, &key);
                    async move { remote.get_range(key, range).await }
                })
                .buffered(concurrency)
                .try_collect()
                .await
        })
    }

    /// Deletes the objects of generations older than the current manifest's
    /// (and of failed uploads of the same generation number); newer folders
    /// may be uploads under way and are kept. Without a manifest nothing is
    /// deleted. Returns how many objects were deleted.
    pub fn gc_tenant(&self, tenant: &str) -> Result<usize> {
        let Some(current) = self.read_manifest(tenant)? else {
            return Ok(0);
        };
        let root = self.keys.key(tenant, Target::TenantRoot)?;
        let manifest_key = self.keys.key(tenant, Target::Manifest)?;
        let remote = self.remote.clone();
        self.block_on(async move {
            let stale: Vec<_> = remote
                .list(&root)
                .await?
                .into_iter()
                .filter(|key| {
                    let generation = key.prefix_match(&root).and_then(|mut rest| rest.next());
                    match generation {
                        Some(g) if *key != manifest_key => {
                            let g = g.as_ref();
                            g != current.generation_id
                                && g.get(..20)
                                    .and_then(|n| n.parse::<u64>().ok())
                                    .is_some_and(|n| n <= current.generation)
                        }
                        _ => false,
                    }
                })
                .collect();
            remote.delete_all(stale).await
        })
    }

    /// Deletes every object of `tenant`'s snapshots: the manifest first, so
    /// no manifest ever names a deleted object, then every generation.
    /// Returns how many objects were deleted (the manifest included).
    pub fn delete_tenant(&self, tenant: &str) -> Result<usize> {
        let root = self.keys.key(tenant, Target::TenantRoot)?;
        let manifest_key = self.keys.key(tenant, Target::Manifest)?;
        let remote = self.remote.clone();
        self.block_on(async move {
            let had_manifest = remote.size_of(&manifest_key).await?.is_some();
            remote.delete_all(vec![manifest_key]).await?;
            let rest = remote.list(&root).await?;
            Ok(remote.delete_all(rest).await? + usize::from(had_manifest))
        })
    }
}

/// The files of a tenant folder, by name. Anything but a regular file with
/// a name fit for a key is an error: the folder is flat by design.
fn tenant_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let read = |e: std::io::Error| Error::io(format!("cannot read {}", dir.display()), e);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let path = entry.path();
        if !entry.file_type().map_err(read)?.is_file() {
            return Err(Error::io(
                format!("cannot upload {}", path.display()),
                "a tenant folder holds only regular files",
            ));
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        check_file_name("file", &name)?;
        files.push((name, path));
    }
    files.sort();
    Ok(files)
}
