//! The conditional reads and writes of the cluster layer, over the
//! object-storage tier's store and keys.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, UpdateVersion};

use crate::error::{Error, ErrorKind, Result};
use crate::storage::object::{is_not_found, unavailable, Keys, ObjectStoreConfig, ObjectTier};

/// The bucket as the cluster layer sees it: the tier's store and keys.
///
/// Only `s3://` stores: a local folder cannot update an object on the
/// condition of its ETag, so it cannot fence (`PutMode::Update` is not
/// supported there).
#[derive(Debug)]
pub struct ClusterStore {
    store: Arc<dyn ObjectStore>,
    pub(super) keys: Keys,
    name: Arc<str>,
    /// Kept alive: the store's pooled connections run on its runtime.
    _tier: Arc<ObjectTier>,
}

/// The outcome of a conditional write.
pub(super) enum Put {
    /// Written; the object's new version.
    Done(UpdateVersion),
    /// The condition failed: the object exists (create) or changed (update).
    Conflict,
}

impl ClusterStore {
    /// Opens the store `config` names (blocking: call it outside any async
    /// task). A `file://` store is refused with `InvalidOption`.
    pub fn open(config: &ObjectStoreConfig) -> Result<ClusterStore> {
        if !config.is_s3() {
            return Err(Error::new(
                ErrorKind::InvalidOption,
                format!(
                    "cluster mode needs an s3:// object store, not {}: a local folder cannot \
                     update an object on the condition of its ETag (PutMode::Update), so it \
                     cannot fence a stale owner",
                    config.url()
                ),
            ));
        }
        ClusterStore::from_tier(Arc::new(ObjectTier::open(config)?))
    }

    /// The cluster layer over an opened `s3://` tier.
    pub fn from_tier(tier: Arc<ObjectTier>) -> Result<ClusterStore> {
        let (store, keys, name) = tier.parts();
        Ok(ClusterStore {
            store,
            keys,
            name,
            _tier: tier,
        })
    }

    /// How errors name the store (URL and endpoint, no secret).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn fail(&self, what: String, err: &object_store::Error) -> Error {
        unavailable(&self.name, &what, err)
    }

    /// The object at `key` and its version, or `None` if there is none.
    pub(super) async fn get(&self, key: &Key) -> Result<Option<(Vec<u8>, UpdateVersion)>> {
        let got = match self.store.get(key).await {
            Ok(got) => got,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.fail(format!("read object {key}"), &e)),
        };
        let version = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let bytes = got
            .bytes()
            .await
            .map_err(|e| self.fail(format!("read object {key}"), &e))?;
        Ok(Some((bytes.to_vec(), version)))
    }

    /// Writes `bytes` to `key` if `mode`'s condition holds.
    ///
    /// A request the client retried after a lost answer can find its own
    /// first attempt and report a conflict; so on a conflict the object is
    /// read back, and if it holds exactly `bytes` the write is ours. Every
    /// caller writes bytes no other writer could (a random incarnation or
    /// an epoch of its own inside), which makes this sound.
    pub(super) async fn put(&self, key: &Key, bytes: Vec<u8>, mode: PutMode) -> Result<Put> {
        let payload = PutPayload::from(bytes.clone());
        match self.store.put_opts(key, payload, mode.into()).await {
            Ok(done) => Ok(Put::Done(UpdateVersion::from(done))),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => match self.get(key).await? {
                Some((found, version)) if found == bytes => Ok(Put::Done(version)),
                _ => Ok(Put::Conflict),
            },
            Err(e) => Err(self.fail(format!("write object {key}"), &e)),
        }
    }

    /// Deletes the object at `key`; one that is not there is no error.
    pub(super) async fn delete(&self, key: &Key) -> Result<()> {
        match self.store.delete(key).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.fail(format!("delete object {key}"), &e)),
        }
    }

    /// The keys under the folder `root`, in key order.
    pub(super) async fn list(&self, root: &Key) -> Result<Vec<Key>> {
        let mut keys: Vec<Key> = self
            .store
            .list(Some(root))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| self.fail(format!("list {root}"), &e))?;
        keys.sort();
        Ok(keys)
    }

    /// The objects under the cluster folder `folder` (a fixed name, such
    /// as `keys`), each with the parts of its name below that folder, in
    /// key order.
    pub(super) async fn list_named(&self, folder: &'static str) -> Result<Vec<(Key, Vec<String>)>> {
        let root = self.keys.folder(folder)?;
        let depth = root.parts().count();
        Ok(self
            .list(&root)
            .await?
            .into_iter()
            .map(|key| {
                let parts = key.parts().skip(depth).map(|p| p.as_ref().into()).collect();
                (key, parts)
            })
            .collect())
    }

    /// The keys under the folder `root` with their ETags, in key order: a
    /// reader that remembers the ETags reads again only what changed.
    pub(super) async fn list_tagged(&self, root: &Key) -> Result<Vec<(Key, Option<String>)>> {
        let mut keys: Vec<(Key, Option<String>)> = self
            .store
            .list(Some(root))
            .map_ok(|meta| (meta.location, meta.e_tag))
            .try_collect()
            .await
            .map_err(|e| self.fail(format!("list {root}"), &e))?;
        keys.sort();
        Ok(keys)
    }

    /// Every JSON record under the folder `root`, in key order. A record
    /// deleted between the listing and its read is skipped.
    pub(super) async fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        root: &Key,
    ) -> Result<Vec<T>> {
        let mut records = Vec::new();
        for key in self.list(root).await? {
            if let Some((bytes, _)) = self.get(&key).await? {
                records.push(decode(&key, &bytes)?);
            }
        }
        Ok(records)
    }
}

/// Decodes a JSON record read from `key`; damage is `Corrupt`.
pub(super) fn decode<T: serde::de::DeserializeOwned>(key: &Key, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::corrupt(format!("object {key}"), e))
}

/// Encodes a record as JSON.
pub(super) fn encode<T: serde::Serialize>(record: &T) -> Vec<u8> {
    // Serialising plain structs of strings and integers cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}
