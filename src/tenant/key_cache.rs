//! Verified tenant keys, in memory: a presented key whose hash was found
//! in the catalog once is answered from here afterwards, without a read
//! transaction. Bounded, and invalidated when a key is revoked or its
//! tenant dropped.
//!
//! A lookup that read the catalog before a revocation must not put the
//! revoked key back: every invalidation bumps a generation, and a lookup
//! caches its record only if the generation it started with is current.
//!
//! A key found in a cluster's shared key records (another node may revoke
//! it) is remembered for [`KEY_CACHE_TTL`] only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::storage::keys::KeyRecord;

/// Most keys remembered; past it an arbitrary one is forgotten.
const MAX_KEYS: usize = 10_000;

/// How long a node of a cluster answers a tenant key from memory before it
/// reads the bucket's key record again: a key dropped through another
/// node may be accepted here that long.
pub(crate) const KEY_CACHE_TTL: Duration = Duration::from_secs(5);

/// Key hashes verified against the catalog, and their records.
#[derive(Default)]
pub(crate) struct KeyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each record, and when it must be read again (`None`: never).
    records: HashMap<[u8; 32], (KeyRecord, Option<Instant>)>,
    generation: u64,
}

impl KeyCache {
    /// The record of the key with SHA-256 `hash`, if it is cached.
    pub(crate) fn get(&self, hash: &[u8; 32]) -> Option<KeyRecord> {
        let inner = self.inner.lock();
        let (record, expires) = inner.records.get(hash)?;
        expires
            .is_none_or(|at| Instant::now() < at)
            .then(|| record.clone())
    }

    /// The current generation: pass it to [`KeyCache::insert`] after
    /// reading the catalog.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().generation
    }

    /// Caches `record` for `hash` (for `ttl`, or for good), unless a key
    /// was revoked since `generation` was read (then the record may be
    /// stale).
    pub(crate) fn insert(
        &self,
        generation: u64,
        hash: [u8; 32],
        record: KeyRecord,
        ttl: Option<Duration>,
    ) {
        let mut inner = self.inner.lock();
        if inner.generation != generation {
            return;
        }
        if inner.records.len() >= MAX_KEYS && !inner.records.contains_key(&hash) {
            if let Some(victim) = inner.records.keys().next().copied() {
                inner.records.remove(&victim);
            }
        }
        inner
            .records
            .insert(hash, (record, ttl.map(|ttl| Instant::now() + ttl)));
    }

    /// Forgets the keys of `tenant` for which `revoked` holds.
    pub(crate) fn forget(&self, tenant: &str, revoked: impl Fn(&KeyRecord) -> bool) {
        let mut inner = self.inner.lock();
        inner.generation += 1;
        inner
            .records
            .retain(|_, (r, _)| !(r.tenant == tenant && revoked(r)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tenant: &str, id: &str) -> KeyRecord {
        KeyRecord {
            id: id.into(),
            tenant: tenant.into(),
            created_at_ms: 1,
            tenant_created_ms: 1,
        }
    }

    #[test]
    fn revoked_keys_are_forgotten() {
        let cache = KeyCache::default();
        cache.insert(cache.generation(), [1; 32], record("a", "k1"), None);
        cache.insert(cache.generation(), [2; 32], record("a", "k2"), None);
        cache.insert(cache.generation(), [3; 32], record("b", "k1"), None);
        cache.forget("a", |r| r.id == "k1");
        assert!(cache.get(&[1; 32]).is_none());
        assert_eq!(cache.get(&[2; 32]).map(|r| r.id), Some("k2".into()));
        assert_eq!(cache.get(&[3; 32]).map(|r| r.tenant), Some("b".into()));
        cache.forget("a", |_| true);
        assert!(cache.get(&[2; 32]).is_none());
    }

    #[test]
    fn a_lookup_older_than_a_revocation_is_not_cached() {
        let cache = KeyCache::default();
        let before = cache.generation();
        cache.forget("a", |_| true);
        cache.insert(before, [1; 32], record("a", "k1"), None);
        assert!(cache.get(&[1; 32]).is_none());
    }

    #[test]
    fn a_record_with_a_time_to_live_expires() {
        let cache = KeyCache::default();
        cache.insert(
            cache.generation(),
            [1; 32],
            record("a", "k1"),
            Some(Duration::ZERO),
        );
        assert!(cache.get(&[1; 32]).is_none());
        let long = Duration::from_secs(3600);
        cache.insert(cache.generation(), [2; 32], record("a", "k2"), Some(long));
        assert_eq!(cache.get(&[2; 32]).map(|r| r.id), Some("k2".into()));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = KeyCache::default();
        for i in 0..MAX_KEYS + 10 {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
            cache.insert(cache.generation(), hash, record("a", "k"), None);
        }
        assert_eq!(cache.inner.lock().records.len(), MAX_KEYS);
    }
}
