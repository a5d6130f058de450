//! Moving bytes between local files and objects, each checked with a CRC-32:
//! the async half of the tier, driven by its runtime.
//!
//! Local files are read and written with blocking calls inside these tasks:
//! the runtime is the tier's own, and a local disk is fast next to the
//! network, so this keeps the code plain without starving anything else.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::errors::{is_not_found, unavailable};
use crate::error::{Error, ErrorKind, Result};

/// Files up to this size go up in one PUT; larger ones in parts of this
/// size, so memory stays bounded whatever the file size.
const PART_SIZE: usize = 16 << 20;

/// Parts of one file in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Size and CRC-32 of an object's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Checked {
    /// Bytes.
    pub(super) size: u64,
    /// CRC-32 (crc32fast).
    pub(super) crc32: u32,
}

/// An object store and the name errors give it.
#[derive(Debug, Clone)]
pub(super) struct Remote {
    pub(super) store: Arc<dyn ObjectStore>,
    /// `s3://bucket/prefix at http://endpoint`: no secrets.
    pub(super) name: Arc<str>,
    /// A download of a larger object of known size is split into ranged
    /// GETs of this many bytes, several in flight; 0 downloads every object
    /// in one GET.
    pub(super) download_part: u64,
}

impl Remote {
    fn fail(&self, what: impl std::fmt::Display, err: &object_store::Error) -> Error {
        unavailable(&self.name, &what.to_string(), err)
    }

    /// Uploads the file at `path` to `key`, returning what was sent.
    pub(super) async fn put_file(&self, key: &Key, path: &Path) -> Result<Checked> {
        let local = |e: std::io::Error| Error::io(format!("cannot read {}", path.display()), e);
        let mut file = File::open(path).map_err(local)?;
        let len = file.metadata().map_err(local)?.len();
        let mut hasher = crc32fast::Hasher::new();
        let what = format!("write object {key}");
        if len <= PART_SIZE as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            file.read_to_end(&mut buf).map_err(local)?;
            hasher.update(&buf);
            let size = buf.len() as u64;
            self.store
                .put(key, PutPayload::from(buf))
                .await
                .map_err(|e| self.fail(&what, &e))?;
            return Ok(Checked {
                size,
                crc32: hasher.finalize(),
            });
        }
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| self.fail(&what, &e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; PART_SIZE];
        let mut size = 0u64;
        loop {
            let n = match read_full(&mut file, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(local(e));
                }
            };
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(self.fail(&what, &e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| self.fail(&what, &e))?;
        Ok(Checked {
            size,
            crc32: hasher.finalize(),
        })
    }

    /// Downloads `key` into a new file `dest` (synced), and checks it against
    /// `expected` if given: a missing object or a size or CRC-32 mismatch is
    /// `Corrupt`, naming the object. Returns what was received.
    ///
    /// With `download_part` set, an object expected to be larger arrives in
    /// ranged GETs, [`PARTS_IN_FLIGHT`] at once, each written at its offset:
    /// for stores where one stream is slower than the disk.
    pub(super) async fn get_file(
        &self,
        key: &Key,
        dest: &Path,
        expected: Option<Checked>,
    ) -> Result<Checked> {
        let local = |e: std::io::Error| Error::io(format!("cannot write {}", dest.display()), e);
        let file = File::create(dest).map_err(local)?;
        let got = match expected {
            Some(want) if self.download_part > 0 && want.size > self.download_part => {
                self.get_ranges_into(key, &file, want.size).await?
            }
            _ => self.get_stream_into(key, &file).await?,
        }
        .map_err(local)?;
        file.sync_all().map_err(local)?;
        match expected {
            Some(want) if want != got => Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "object {key} in {} fails its checksum: expected {} bytes with CRC-32 \
                     {:08x}, found {} bytes with CRC-32 {:08x}",
                    self.name, want.size, want.crc32, got.size, got.crc32
                ),
            )),
            _ => Ok(got),
        }
    }

    /// The error for an object that is not there: the manifest names it, so
    /// the snapshot is damaged.
    fn missing(&self, key: &Key) -> Error {
        Error::new(
            ErrorKind::Corrupt,
            format!("object {key} is missing from {}", self.name),
        )
    }

    /// Streams `key` into `file` in one GET. The outer error is the store's,
    /// the inner one the local disk's.
    async fn get_stream_into(&self, key: &Key, mut file: &File) -> Result<io::Result<Checked>> {
        let what = format!("read object {key}");
        let result = match self.store.get(key).await {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => return Err(self.missing(key)),
            Err(e) => return Err(self.fail(&what, &e)),
        };
        let mut hasher = crc32fast::Hasher::new();
        let mut size = 0u64;
        let mut stream = result.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.fail(&what, &e))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let Err(e) = file.write_all(&chunk) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(Checked {
            size,
            crc32: hasher.finalize(),
        }))
    }

    /// Fetches the first `size` bytes of `key` in ranges of `download_part`
    /// bytes, [`PARTS_IN_FLIGHT`] at once, writing each at its offset of
    /// `file`; the CRC-32s of the parts combine in order. An object whose
    /// size is not `size` is reported with the size it has (and so fails
    /// the caller's check).
    async fn get_ranges_into(
        &self,
        key: &Key,
        file: &File,
        size: u64,
    ) -> Result<io::Result<Checked>> {
        let what = &format!("read object {key}");
        let part = self.download_part;
        let ranges = (0..size.div_ceil(part)).map(|i| i * part..((i + 1) * part).min(size));
        let mut parts = futures::stream::iter(ranges)
            .map(|range| async move {
                let options = GetOptions {
                    range: Some(GetRange::Bounded(range.clone())),
                    ..GetOptions::default()
                };
                let got = match self.store.get_opts(key, options).await {
                    Ok(r) => r,
                    Err(e) if is_not_found(&e) => return Err(self.missing(key)),
                    Err(e) => return Err(self.fail(what, &e)),
                };
                let actual = got.meta.size;
                let bytes = got.bytes().await.map_err(|e| self.fail(what, &e))?;
                let mut hasher = crc32fast::Hasher::new();
                hasher.update(&bytes);
                let written = file.write_all_at(&bytes, range.start);
                Ok((actual, hasher, written))
            })
            .buffered(PARTS_IN_FLIGHT);
        let mut hasher = crc32fast::Hasher::new();
        while let Some(next) = parts.next().await {
            let (actual, part_hasher, written) = next?;
            if let Err(e) = written {
                return Ok(Err(e));
            }
            if actual != size {
                return Ok(Ok(Checked {
                    size: actual,
                    crc32: 0,
                }));
            }
            hasher.combine(&part_hasher);
        }
        Ok(Ok(Checked {
            size,
            crc32: hasher.finalize(),
        }))
    }

    /// The bytes `range` of `key`, in one ranged GET. A missing object, or
    /// fewer bytes than asked for, is `Corrupt` (a manifest names it).
    pub(super) async fn get_range(
        &self,
        key: &Key,
        range: std::ops::Range<u64>,
    ) -> Result<Vec<u8>> {
        let what = format!("read object {key}");
        let want = range.end - range.start;
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let got = match self.store.get_opts(key, options).await {
            Ok(r) => r,
            Err(e) if is_not_found(&e) => return Err(self.missing(key)),
            Err(e) => return Err(self.fail(&what, &e)),
        };
        let bytes = got.bytes().await.map_err(|e| self.fail(&what, &e))?;
        if bytes.len() as u64 != want {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "object {key} in {} is shorter than its manifest says",
                    self.name
                ),
            ));
        }
        Ok(bytes.to_vec())
    }

    /// Writes `bytes` to `key` in one PUT.
    pub(super) async fn put_bytes(&self, key: &Key, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(format!("write object {key}"), &e))
    }

    /// The content of `key`, or `None` if there is no such object.
    pub(super) async fn get_bytes(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        let what = format!("read object {key}");
        match self.store.get(key).await {
            Ok(r) => Ok(Some(
                r.bytes().await.map_err(|e| self.fail(&what, &e))?.to_vec(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail(&what, &e)),
        }
    }

    /// The size of `key`, or `None` if there is no such object.
    pub(super) async fn size_of(&self, key: &Key) -> Result<Option<u64>> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail(format!("read object {key}"), &e)),
        }
    }

    /// Every key under `prefix` (a folder: `p` lists `p/...`, not `p2`).
    pub(super) async fn list(&self, prefix: &Key) -> Result<Vec<Key>> {
        self.store
            .list(Some(prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| self.fail(format!("list {prefix}"), &e))
    }

    /// Deletes `keys` (missing ones are fine); returns how many were given.
    pub(super) async fn delete_all(&self, keys: Vec<Key>) -> Result<usize> {
        let count = keys.len();
        let locations = futures::stream::iter(keys.into_iter().map(Ok)).boxed();
        let mut deleted = self.store.delete_stream(locations);
        while let Some(r) = deleted.next().await {
            match r {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(self.fail("delete objects", &e)),
            }
        }
        Ok(count)
    }
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
