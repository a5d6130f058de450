//! The tier itself: an opened object store, its keys, and the small tokio
//! runtime that turns its async API into the blocking calls the engine makes.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, RetryConfig};
use tokio::runtime::Runtime;

use super::errors::unavailable;
use super::keys::{Keys, Target};
use super::transfer::{Checked, Remote};
use super::url::{Location, ObjectStoreConfig};
use crate::error::{Error, ErrorKind, Result};

/// Worker threads of the tier's runtime: transfers wait on the network, so
/// two threads keep many requests in flight.
const WORKERS: usize = 2;

/// An opened object store holding tenant snapshots and archives
/// (docs/object-storage.md).
///
/// Every method blocks until its work is done (or has failed) and is safe to
/// call from many threads at once. The tier drives `object_store` from a
/// runtime of its own, so it must never be called from an async task: a
/// server calls the engine through `spawn_blocking`. Such a call is refused
/// with an `Unsupported` error rather than blocking a runtime thread.
#[derive(Debug)]
pub struct ObjectTier {
    pub(super) remote: Remote,
    pub(super) keys: Keys,
    pub(super) concurrency: usize,
    /// Collection files at least this large get a quick object at OFFLOAD
    /// ([`ObjectStoreConfig::quick_object_min_bytes`]).
    pub(crate) quick_min_bytes: u64,
    /// `Some` until drop, which shuts it down without blocking.
    runtime: Option<Runtime>,
}

impl ObjectTier {
    /// Opens the store `config` names and checks that it answers: a missing
    /// bucket or folder, rejected credentials or an unreachable endpoint is
    /// `StorageUnavailable`, naming the bucket and endpoint.
    pub fn open(config: &ObjectStoreConfig) -> Result<ObjectTier> {
        let (store, prefix, name): (Arc<dyn ObjectStore>, &str, String) = match &config.location {
            Location::S3 { bucket, prefix } => {
                let endpoint = config
                    .endpoint
                    .clone()
                    .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
                let name = format!(
                    "{} at {}",
                    config.url(),
                    endpoint
                        .as_deref()
                        .unwrap_or("the AWS endpoint of its region")
                );
                let retry = RetryConfig {
                    retry_timeout: config.retry_timeout,
                    ..RetryConfig::default()
                };
                let mut builder = AmazonS3Builder::from_env();
                if let Some(e) = &endpoint {
                    builder = builder.with_endpoint(e);
                }
                let s3 = builder
                    .with_bucket_name(bucket)
                    .with_retry(retry)
                    .build()
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::InvalidOption,
                            format!("cannot configure object store {name}: {e}"),
                        )
                    })?;
                (Arc::new(s3), prefix.as_str(), name)
            }
            Location::Local { root } => {
                let name = config.url();
                if !root.is_dir() {
                    return Err(Error::new(
                        ErrorKind::StorageUnavailable,
                        format!(
                            "object store {name}: the folder does not exist (PQL never creates it)"
                        ),
                    ));
                }
                let local = LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| unavailable(&name, "open the folder", &e))?
                    .with_automatic_cleanup(true);
                (Arc::new(local), "", name)
            }
        };
        let mut tier = ObjectTier::with_store(store, prefix, name, config.concurrency)?;
        tier.remote.download_part = config.download_part_bytes;
        tier.quick_min_bytes = config.quick_object_min_bytes;
        tier.check()?;
        Ok(tier)
    }

    /// A tier over `store`, keys under `prefix`; `name` is how errors name
    /// the store. Used by [`ObjectTier::open`] and by tests with an
    /// in-memory store.
    pub(crate) fn with_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        name: String,
        concurrency: usize,
    ) -> Result<ObjectTier> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("pql-object-store")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the object store runtime", e))?;
        Ok(ObjectTier {
            remote: Remote {
                store,
                name: name.into(),
                download_part: super::url::DEFAULT_DOWNLOAD_PART,
            },
            keys: Keys::new(prefix),
            concurrency: concurrency.max(1),
            quick_min_bytes: super::url::DEFAULT_QUICK_MIN,
            runtime: Some(runtime),
        })
    }

    /// How errors name the store: its URL and endpoint, never a secret.
    pub fn name(&self) -> &str {
        &self.remote.name
    }

    /// The store, its keys and its name, for the cluster layer
    /// (`crate::cluster`), which writes leases and logs beside the snapshots.
    pub(crate) fn parts(&self) -> (Arc<dyn ObjectStore>, Keys, Arc<str>) {
        (
            self.remote.store.clone(),
            self.keys.clone(),
            self.remote.name.clone(),
        )
    }

    /// Lists the prefix once, so a missing bucket or rejected credentials
    /// fail here with a clear error instead of at the first transfer.
    pub fn check(&self) -> Result<()> {
        let remote = self.remote.clone();
        let root = self.keys.root();
        self.block_on(async move {
            remote
                .store
                .list_with_delimiter(Some(&root))
                .await
                .map(|_| ())
                .map_err(|e| unavailable(&remote.name, "list the bucket", &e))
        })
    }

    /// Runs `work` on the tier's runtime and waits for it. On a thread
    /// inside another tokio runtime (the server's `spawn_blocking` pool,
    /// where the engine runs statements), where the tier's runtime cannot
    /// be entered, it runs on a thread of its own, and this one waits: call
    /// the engine from blocking threads, never from an async task.
    pub(super) fn block_on<T: Send>(
        &self,
        work: impl Future<Output = Result<T>> + Send,
    ) -> Result<T> {
        let Some(rt) = &self.runtime else {
            return Err(Error::unsupported("the object store tier is shut down"));
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(work);
        }
        std::thread::scope(|scope| {
            scope
                .spawn(|| rt.block_on(work))
                .join()
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::StorageUnavailable,
                        "a transfer with the object store failed (its thread panicked)",
                    ))
                })
        })
    }

    /// Uploads the archive file `file` to `PREFIX/archive/<tenant>.tar.zst`,
    /// then its size and CRC-32 beside it (`.tar.zst.json`), so a partial
    /// archive is never taken for a whole one; then reads both back (the
    /// checksum object, and the archive's size) and checks them. Returns the
    /// CRC-32.
    pub fn put_archive(&self, tenant: &str, file: &Path) -> Result<u32> {
        let key = self.keys.key(tenant, Target::Archive)?;
        let meta_key = self.keys.key(tenant, Target::ArchiveMeta)?;
        let remote = self.remote.clone();
        self.block_on(async move {
            // The old checksum goes first, so a failed overwrite cannot pair
            // new bytes with it.
            remote.delete_all(vec![meta_key.clone()]).await?;
            let sent = remote.put_file(&key, file).await?;
            let meta = serde_json::json!({ "size": sent.size, "crc32": sent.crc32 });
            remote
                .put_bytes(&meta_key, meta.to_string().into_bytes())
                .await?;
            let back = remote.get_bytes(&meta_key).await?;
            let back: Option<ArchiveMeta> = back.and_then(|b| serde_json::from_slice(&b).ok());
            let size = remote.size_of(&key).await?;
            let want = ArchiveMeta {
                size: sent.size,
                crc32: sent.crc32,
            };
            if back != Some(want) || size != Some(sent.size) {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "the archive {key} read back from {} differs from the one written \
                         ({size:?} bytes, checksum {back:?}; expected {want:?})",
                        remote.name
                    ),
                ));
            }
            Ok(sent.crc32)
        })
    }

    /// The size of the archive of `tenant` in the store, or `None` if it
    /// has none.
    pub fn archive_size(&self, tenant: &str) -> Result<Option<u64>> {
        let key = self.keys.key(tenant, Target::Archive)?;
        let remote = self.remote.clone();
        self.block_on(async move { remote.size_of(&key).await })
    }

    /// The key of the archive of `tenant` (whether or not it exists).
    pub fn archive_key(&self, tenant: &str) -> Result<String> {
        Ok(self.keys.key(tenant, Target::Archive)?.to_string())
    }

    /// Downloads the archive of `tenant` into `dest` and checks its size and
    /// CRC-32; returns the CRC-32. The bytes go to `dest` + `.download`
    /// (synced) and are renamed into place only when they check out, so
    /// `dest` is never half-written. No archive is `TenantNotFound`; a
    /// mismatch is `Corrupt`.
    pub fn get_archive(&self, tenant: &str, dest: &Path) -> Result<u32> {
        let key = self.keys.key(tenant, Target::Archive)?;
        let meta_key = self.keys.key(tenant, Target::ArchiveMeta)?;
        let mut part = dest.as_os_str().to_owned();
        part.push(".download");
        let part = std::path::PathBuf::from(part);
        let remote = self.remote.clone();
        let fetched = self.block_on(async {
            let Some(meta) = remote.get_bytes(&meta_key).await? else {
                return Err(Error::new(
                    ErrorKind::TenantNotFound,
                    format!("no archive of tenant {tenant:?} in {}", remote.name),
                ));
            };
            let want: ArchiveMeta = serde_json::from_slice(&meta)
                .map_err(|e| Error::corrupt(format!("object {meta_key}"), e))?;
            let want = Checked {
                size: want.size,
                crc32: want.crc32,
            };
            remote.get_file(&key, &part, Some(want)).await
        });
        let placed = fetched.and_then(|got| {
            std::fs::rename(&part, dest)
                .map(|()| got.crc32)
                .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))
        });
        if placed.is_err() {
            let _ = std::fs::remove_file(&part);
        }
        placed
    }

    /// Deletes the archive of `tenant` (and its checksum) if there is one.
    pub fn delete_archive(&self, tenant: &str) -> Result<()> {
        let keys = vec![
            self.keys.key(tenant, Target::ArchiveMeta)?,
            self.keys.key(tenant, Target::Archive)?,
        ];
        let remote = self.remote.clone();
        self.block_on(async move { remote.delete_all(keys).await.map(|_| ()) })
    }
}

/// The size and CRC-32 stored beside an archive.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
struct ArchiveMeta {
    size: u64,
    crc32: u32,
}

impl Drop for ObjectTier {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
