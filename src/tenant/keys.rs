//! Tenant API keys: random 256-bit tokens, shown once when created. The
//! catalog keeps only their SHA-256 (`storage::keys`); a presented key is
//! looked up by its hash and the hashes are compared in constant time.
//!
//! On the nodes of a cluster a [`KeyDirectory`] (the bucket's key records)
//! decides instead: keys are created, found, listed and dropped there, so
//! every node knows every key. The catalog's table still gets a copy (it
//! travels with the tenant in its manifests).

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::key_cache::KEY_CACHE_TTL;
use super::Catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::keys::{self, KeyRecord};

/// Tenant keys shared by several processes (the nodes of a cluster). Its
/// methods block: call them off any async runtime's worker threads.
pub(crate) trait KeyDirectory: Send + Sync {
    /// Stores `record` of the key hashed `hash`; once this returns Ok,
    /// every process finds it.
    fn publish(&self, hash: &[u8; 32], record: &KeyRecord) -> Result<()>;
    /// The record of the key hashed `hash`, if there is one.
    fn find(&self, hash: &[u8; 32]) -> Result<Option<KeyRecord>>;
    /// The keys of `tenant` (of every tenant for `None`), with their hashes.
    fn list(&self, tenant: Option<&str>) -> Result<Vec<([u8; 32], KeyRecord)>>;
    /// The hash and id of each key of `tenant`, without reading the records.
    fn ids(&self, tenant: &str) -> Result<Vec<([u8; 32], String)>>;
    /// Removes the record of key `id` of `tenant`, hashed `hash`; once this
    /// returns Ok no process finds it (one that found it before may accept
    /// it for [`KEY_CACHE_TTL`]).
    fn withdraw(&self, hash: &[u8; 32], tenant: &str, id: &str) -> Result<()>;
}

/// Prefix of every tenant key, so that a leaked key is recognisable.
const KEY_PREFIX: &str = "pql_";

/// What a presented key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    /// The admin key: everything.
    Admin,
    /// A key bound to this tenant: `Read` and `Write` on it only.
    Tenant(String),
}

/// The SHA-256 of `key`.
fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// `n` random bytes from the operating system, as lower-case hex.
fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| Error::io("random key", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether two hashes are equal, in time independent of where they differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

impl Catalog {
    /// Creates a key bound to `tenant` (which must exist); returns its
    /// record and the key, which is not stored and cannot be shown again.
    pub(crate) fn create_key(&self, tenant: &str, now_ms: i64) -> Result<(KeyRecord, String)> {
        let t = self.get(tenant)?;
        let key = format!("{KEY_PREFIX}{}", random_hex(32)?);
        let record = KeyRecord {
            id: random_hex(8)?,
            tenant: t.name.clone(),
            created_at_ms: now_ms,
            tenant_created_ms: t.record.read().created_at_ms,
        };
        let hashed = hash(&key);
        if let Some(directory) = self.key_directory() {
            directory.publish(&hashed, &record)?;
        }
        if let Err(e) = keys::insert(&self.db(), &hashed, &record) {
            if let Some(directory) = self.key_directory() {
                // Nobody was shown this key: withdrawing it is tidiness, and
                // the catalog's error is the one to report.
                let _ = directory.withdraw(&hashed, &record.tenant, &record.id);
            }
            return Err(e);
        }
        Ok((record, key))
    }

    /// Makes `directory` decide about keys from now on (cluster mode).
    /// The first one set stays.
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn set_key_directory(&self, directory: Arc<dyn KeyDirectory>) {
        let _ = self.key_directory.set(directory);
    }

    fn key_directory(&self) -> Option<&Arc<dyn KeyDirectory>> {
        self.key_directory.get()
    }

    /// The keys of `tenant` (validated, must exist), or of every tenant.
    pub(crate) fn keys(&self, tenant: Option<&str>) -> Result<Vec<KeyRecord>> {
        if let Some(t) = tenant {
            self.get(t)?;
        }
        let Some(directory) = self.key_directory() else {
            return keys::list(&self.db(), tenant);
        };
        let mut records: Vec<KeyRecord> = directory
            .list(tenant)?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        records.sort_by(|a, b| {
            (&a.tenant, a.created_at_ms, &a.id).cmp(&(&b.tenant, b.created_at_ms, &b.id))
        });
        Ok(records)
    }

    /// Revokes key `id` of `tenant`; an unknown id is an error.
    pub(crate) fn drop_key(&self, tenant: &str, id: &str) -> Result<()> {
        let t = self.get(tenant)?;
        let withdrawn = self.withdraw_keys(&t.name, |key_id| key_id == id)?;
        let removed = keys::remove(&self.db(), &t.name, |r| r.id == id);
        self.key_cache.forget(&t.name, |r| r.id == id);
        let found = match withdrawn {
            Some(withdrawn) => withdrawn + removed?,
            None => removed?,
        };
        if found == 0 {
            return Err(Error::new(
                ErrorKind::KeyNotFound,
                format!("API key not found: {id} (tenant {tenant})"),
            ));
        }
        Ok(())
    }

    /// Removes every key of `tenant` (when it is dropped).
    pub(crate) fn drop_keys_of(&self, tenant: &str) -> Result<()> {
        self.withdraw_keys(tenant, |_| true)?;
        let removed = keys::remove(&self.db(), tenant, |_| true);
        self.key_cache.forget(tenant, |_| true);
        removed.map(|_| ())
    }

    /// In cluster mode, makes `keys` (an import's) the key directory's keys
    /// of `tenant`: the ones it had are withdrawn, these published. The
    /// keys of `tenant` remembered in memory are forgotten either way.
    pub(crate) fn share_imported_keys(
        &self,
        tenant: &str,
        keys: &[([u8; 32], KeyRecord)],
    ) -> Result<()> {
        self.key_cache.forget(tenant, |_| true);
        let Some(directory) = self.key_directory() else {
            return Ok(());
        };
        self.withdraw_keys(tenant, |_| true)?;
        for (hash, record) in keys {
            directory.publish(hash, record)?;
        }
        Ok(())
    }

    /// Forgets the keys of `tenant` remembered in memory, so that the next
    /// use of each reads it again (a cluster node taking the tenant in).
    #[cfg(all(feature = "server", feature = "s3"))]
    pub(crate) fn forget_cached_keys(&self, tenant: &str) {
        self.key_cache.forget(tenant, |_| true);
    }

    /// Withdraws the keys of `tenant` whose id `doomed` selects from the key
    /// directory, first (so that they stop working everywhere before the
    /// catalog forgets them); how many, or `None` without a directory.
    fn withdraw_keys(&self, tenant: &str, doomed: impl Fn(&str) -> bool) -> Result<Option<usize>> {
        let Some(directory) = self.key_directory() else {
            return Ok(None);
        };
        let mut count = 0;
        for (hashed, id) in directory.ids(tenant)? {
            if doomed(&id) {
                directory.withdraw(&hashed, tenant, &id)?;
                count += 1;
            }
        }
        Ok(Some(count))
    }

    /// What `presented` may do: the admin key, a live tenant key, or
    /// `None` for a key that is unknown, revoked, or whose tenant is gone.
    /// A tenant key found once is remembered (see [`KeyCache`]).
    ///
    /// [`KeyCache`]: super::key_cache::KeyCache
    pub(crate) fn key_scope(
        &self,
        presented: &str,
        admin_key: Option<&str>,
    ) -> Result<Option<KeyScope>> {
        let presented_hash = hash(presented);
        if let Some(known) = self.known_key(&presented_hash, admin_key) {
            return Ok(Some(known));
        }
        let generation = self.key_cache.generation();
        let (record, ttl) = match self.key_directory() {
            Some(directory) => match directory.find(&presented_hash)? {
                Some(record) => (record, Some(KEY_CACHE_TTL)),
                None => return Ok(None),
            },
            None => {
                let Some((stored, record)) = keys::find(&self.db(), &presented_hash)? else {
                    return Ok(None);
                };
                if !same(&stored, &presented_hash) {
                    return Ok(None);
                }
                (record, None)
            }
        };
        let scope = self.live(&record);
        if scope.is_some() {
            self.key_cache
                .insert(generation, presented_hash, record, ttl);
        }
        Ok(scope)
    }

    /// [`Catalog::key_scope`] answered from memory alone: the admin key
    /// or a cached live tenant key; `None` when the catalog must be read.
    pub(crate) fn cached_key_scope(
        &self,
        presented: &str,
        admin_key: Option<&str>,
    ) -> Option<KeyScope> {
        self.known_key(&hash(presented), admin_key)
    }

    fn known_key(&self, presented_hash: &[u8; 32], admin_key: Option<&str>) -> Option<KeyScope> {
        if admin_key.is_some_and(|admin| same(&hash(admin), presented_hash)) {
            return Some(KeyScope::Admin);
        }
        self.live(&self.key_cache.get(presented_hash)?)
    }

    /// The scope of a key record whose tenant still exists (the same
    /// incarnation: a tenant dropped and created again has none of the
    /// old keys). With a key directory, a tenant this node does not have
    /// lives on another node, which checks that when it serves the
    /// request.
    fn live(&self, record: &KeyRecord) -> Option<KeyScope> {
        let live = match self.get(&record.tenant) {
            Ok(t) => t.record.read().created_at_ms == record.tenant_created_ms,
            Err(_) => self.key_directory().is_some(),
        };
        live.then(|| KeyScope::Tenant(record.tenant.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_compare_by_value() {
        assert!(same(&hash("a"), &hash("a")));
        assert!(!same(&hash("a"), &hash("b")));
    }

    #[test]
    fn random_keys_differ_and_are_hex() {
        let a = random_hex(32).unwrap();
        let b = random_hex(32).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
