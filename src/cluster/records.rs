//! The registry shared by the nodes of a cluster: tenant records at
//! `PREFIX/registry/tenants/<tenant, lower case>` and tier templates at
//! `PREFIX/registry/tiers/<tier>`, as JSON. A record is created with
//! create-if-absent (so two nodes creating one tenant, or one tier, get one
//! winner) and changed with a write conditional on the ETag it was read
//! with (read, change, write; again on a conflict), so a change made on one
//! node is never lost to one made at the same time on another.
//!
//! Each node also publishes its own usage, per day, at
//! `PREFIX/usage/<node>/<day start>`; the reports sum every node's.
//!
//! A reader keeps a [`Seen`] of the records it read with their ETags, and
//! a listing reads again only the records whose ETag changed: one LIST,
//! not one read per tenant.

use std::collections::{BTreeMap, HashMap};

use object_store::path::Path as Key;
use object_store::PutMode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::store::{decode, encode, ClusterStore, Put};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::object::Registered;
use crate::storage::tiers::TierRecord;
use crate::storage::usage_store::Row;
use crate::tenant::record::TenantRecord;

/// How many times a conditional change is tried against concurrent ones.
const CHANGE_TRIES: usize = 16;

/// A record kept in the registry.
pub(crate) trait Registrable: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Which folder holds it.
    const KIND: Registered;
    /// Its name.
    fn name(&self) -> &str;
}

impl Registrable for TenantRecord {
    const KIND: Registered = Registered::Tenant;
    fn name(&self) -> &str {
        &self.name
    }
}

impl Registrable for TierRecord {
    const KIND: Registered = Registered::Tier;
    fn name(&self) -> &str {
        &self.name
    }
}

/// The records one reader has read, by key, with the ETag they had.
pub(crate) struct Seen<T> {
    records: HashMap<Key, (Option<String>, T)>,
}

impl<T> Default for Seen<T> {
    fn default() -> Self {
        Seen {
            records: HashMap::new(),
        }
    }
}

/// One node's usage of one day, per tenant name (the counts in metered
/// order, then the storage gauge).
pub(crate) type DayUsage = BTreeMap<String, Row>;

impl ClusterStore {
    /// Stores node `node`'s usage of the day starting at `day` (Unix
    /// seconds), over what it stored before: only that node writes it.
    pub(crate) async fn publish_usage(&self, node: &str, day: i64, usage: &DayUsage) -> Result<()> {
        let key = self.keys.usage(node, day)?;
        self.put(&key, encode(usage), PutMode::Overwrite)
            .await
            .map(drop)
    }

    /// Every node's usage of the days starting in `[from, to)`: (node, day
    /// start, usage). An object whose name is not `<node>/<day>` is skipped.
    pub(crate) async fn all_usage(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64, DayUsage)>> {
        let mut out = Vec::new();
        for (key, parts) in self.list_named("usage").await? {
            let [node, day] = parts.as_slice() else {
                continue;
            };
            let Ok(day) = day.parse::<i64>() else {
                continue;
            };
            if (from..to).contains(&day) {
                if let Some((bytes, _)) = self.get(&key).await? {
                    out.push((node.clone(), day, decode(&key, &bytes)?));
                }
            }
        }
        Ok(out)
    }

    /// Creates `record` if no record of its name (in any case) exists:
    /// `Ok(false)` if one does.
    pub(crate) async fn register<T: Registrable>(&self, record: &T) -> Result<bool> {
        let key = self.keys.registered(T::KIND, Some(record.name()))?;
        match self.put(&key, encode(record), PutMode::Create).await? {
            Put::Done(_) => Ok(true),
            Put::Conflict => Ok(false),
        }
    }

    /// Changes the record of `name`: `change` gets the stored record (or
    /// `None`) and returns the one to store (or `None` to write nothing).
    /// The write is conditional on what was read, so it is done again,
    /// from a fresh read, when another node changed the record meanwhile.
    /// Returns what was stored.
    pub(crate) async fn change<T: Registrable>(
        &self,
        name: &str,
        mut change: impl FnMut(Option<T>) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        let key = self.keys.registered(T::KIND, Some(name))?;
        for _ in 0..CHANGE_TRIES {
            let (current, mode) = match self.get(&key).await? {
                Some((bytes, version)) => {
                    (Some(decode::<T>(&key, &bytes)?), PutMode::Update(version))
                }
                None => (None, PutMode::Create),
            };
            let Some(next) = change(current)? else {
                return Ok(None);
            };
            if let Put::Done(_) = self.put(&key, encode(&next), mode).await? {
                return Ok(Some(next));
            }
        }
        Err(Error::new(
            ErrorKind::StorageUnavailable,
            format!(
                "the {} record of {name} changed {CHANGE_TRIES} times while this node \
                 tried to change it; retry",
                T::KIND.what()
            ),
        ))
    }

    /// Removes the record of `name`; one that is not there is no error.
    pub(crate) async fn unregister<T: Registrable>(&self, name: &str) -> Result<()> {
        self.delete(&self.keys.registered(T::KIND, Some(name))?)
            .await
    }

    /// Every record of kind `T`, by name: one LIST, then a read of each
    /// record whose ETag differs from the one in `seen` (which is updated).
    /// A record deleted between the listing and its read is left out.
    pub(crate) async fn all_registered<T: Registrable>(
        &self,
        seen: &mut Seen<T>,
    ) -> Result<Vec<T>> {
        let listed = self
            .list_tagged(&self.keys.registered(T::KIND, None)?)
            .await?;
        seen.records
            .retain(|key, _| listed.iter().any(|(k, _)| k == key));
        let mut out = Vec::with_capacity(listed.len());
        for (key, tag) in listed {
            if let Some((known, record)) = seen.records.get(&key) {
                if tag.is_some() && *known == tag {
                    out.push(record.clone());
                    continue;
                }
            }
            let Some((bytes, _)) = self.get(&key).await? else {
                seen.records.remove(&key);
                continue;
            };
            let record: T = decode(&key, &bytes)?;
            // The listing's ETag: the next listing is compared with it.
            // Changed since, the record is only read once more.
            seen.records.insert(key, (tag, record.clone()));
            out.push(record);
        }
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }
}
