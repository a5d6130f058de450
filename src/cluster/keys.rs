//! Tenant API keys shared by the nodes of a cluster, at
//! `PREFIX/keys/<sha256 hex>/<tenant>/<id>` (the key's record as JSON).
//! The bucket is where a cluster node looks a key up, so a key created on
//! one node works on every node, and a key dropped on one stops working
//! on all of them. The key itself is never stored; its hash is already
//! in the object's name, like in the catalog's `api_keys` table.
//!
//! A lookup by hash lists the hash's folder (one object at most: keys
//! are random 256-bit tokens); listing and dropping by tenant list the
//! whole `keys/` folder, which is an admin's rare operation.

use object_store::PutMode;

use super::store::{decode, encode, ClusterStore, Put};
use crate::error::{Error, Result};
use crate::storage::keys::KeyRecord;

impl ClusterStore {
    /// Stores `record` of the key whose SHA-256 is `hash`; when this
    /// returns Ok every node finds it.
    pub(crate) async fn publish_key(&self, hash: &[u8; 32], record: &KeyRecord) -> Result<()> {
        let key = self
            .keys
            .api_key(hash, Some((&record.tenant, &record.id)))?;
        match self.put(&key, encode(record), PutMode::Create).await? {
            Put::Done(_) => Ok(()),
            // Keys are random 256-bit tokens with random ids.
            Put::Conflict => Err(Error::corrupt(
                format!("object {key}"),
                "a key record with this hash and id exists already",
            )),
        }
    }

    /// The record of the key whose SHA-256 is `hash`, if the bucket has
    /// one. A record whose name and content disagree is `Corrupt`.
    pub(crate) async fn find_key(&self, hash: &[u8; 32]) -> Result<Option<KeyRecord>> {
        let folder = self.keys.api_key(hash, None)?;
        for key in self.list(&folder).await? {
            if let Some((bytes, _)) = self.get(&key).await? {
                let record: KeyRecord = decode(&key, &bytes)?;
                if key
                    != self
                        .keys
                        .api_key(hash, Some((&record.tenant, &record.id)))?
                {
                    return Err(Error::corrupt(
                        format!("object {key}"),
                        "the key record names another tenant or id",
                    ));
                }
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Every key of `tenant` (of every tenant for `None`): its hash,
    /// tenant and id, from the names of the objects alone.
    pub(crate) async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<ListedKey>> {
        let mut out = Vec::new();
        for (_, parts) in self.list_named("keys").await? {
            let [hex, owner, id] = parts.as_slice() else {
                continue;
            };
            if tenant.is_some_and(|t| t != owner) {
                continue;
            }
            if let Some(hash) = parse_hex(hex) {
                out.push(ListedKey {
                    hash,
                    tenant: owner.clone(),
                    id: id.clone(),
                });
            }
        }
        Ok(out)
    }

    /// The record of `listed` (from [`ClusterStore::list_keys`]), if it is
    /// still there.
    pub(crate) async fn key_record(&self, listed: &ListedKey) -> Result<Option<KeyRecord>> {
        let key = self
            .keys
            .api_key(&listed.hash, Some((&listed.tenant, &listed.id)))?;
        match self.get(&key).await? {
            Some((bytes, _)) => decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Removes the record of the key hashed `hash`; when this returns Ok
    /// no node finds the key any more (a node that looked it up shortly
    /// before may still accept it for its key cache's time to live).
    pub(crate) async fn withdraw_key(&self, hash: &[u8; 32], tenant: &str, id: &str) -> Result<()> {
        let key = self.keys.api_key(hash, Some((tenant, id)))?;
        self.delete(&key).await
    }
}

/// A key record's object as listed: what its name says.
pub(crate) struct ListedKey {
    /// The SHA-256 of the key.
    pub(crate) hash: [u8; 32],
    /// The tenant it is bound to.
    pub(crate) tenant: String,
    /// Its public id.
    pub(crate) id: String,
}

/// 64 lower-case hex digits as 32 bytes.
fn parse_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_names_parse_back() {
        let hash = [0x0f; 32];
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(parse_hex(&hex), Some(hash));
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(&"g".repeat(64)), None);
    }
}
