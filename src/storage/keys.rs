//! The `api_keys` table of `catalog.redb`: one row per tenant API key,
//! keyed by the SHA-256 of the key. The key itself is never stored.

use redb::{Database, ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::codec;

/// SHA-256 of the key → [`KeyRecord`].
const API_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("api_keys");

/// What the catalog knows about a key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    /// Public id, for listing and revoking.
    pub(crate) id: String,
    /// The tenant the key is bound to.
    pub(crate) tenant: String,
    /// Creation time, ms since the Unix epoch.
    pub(crate) created_at_ms: i64,
    /// The creation time of the tenant the key was made for: a key never
    /// opens a later tenant that reuses the name.
    pub(crate) tenant_created_ms: i64,
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::io("catalog api keys", e)
}

/// The table for reading; `None` before the first key is created.
fn open_read(db: &Database) -> Result<Option<ReadOnlyTable<&'static [u8], &'static [u8]>>> {
    let tx = db.begin_read().map_err(db_err)?;
    match tx.open_table(API_KEYS) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(db_err(e)),
    }
}

/// Stores `record` under `hash`, durably.
pub(crate) fn insert(db: &Database, hash: &[u8; 32], record: &KeyRecord) -> Result<()> {
    let bytes = codec::encode(record)?;
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut table = tx.open_table(API_KEYS).map_err(db_err)?;
        table
            .insert(hash.as_slice(), bytes.as_slice())
            .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

/// The stored hash and record of the key whose hash is `hash`, if any.
pub(crate) fn find(db: &Database, hash: &[u8; 32]) -> Result<Option<([u8; 32], KeyRecord)>> {
    let Some(table) = open_read(db)? else {
        return Ok(None);
    };
    let Some((stored, value)) = table
        .range(hash.as_slice()..=hash.as_slice())
        .map_err(db_err)?
        .next()
        .transpose()
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let stored: [u8; 32] = stored
        .value()
        .try_into()
        .map_err(|_| Error::corrupt("catalog api keys", "hash of the wrong length"))?;
    Ok(Some((stored, codec::decode(value.value(), "api key")?)))
}

/// Every key record (of `tenant` only, if given), by tenant then creation.
pub(crate) fn list(db: &Database, tenant: Option<&str>) -> Result<Vec<KeyRecord>> {
    let Some(table) = open_read(db)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(db_err)? {
        let (_, v) = row.map_err(db_err)?;
        let record: KeyRecord = codec::decode(v.value(), "api key")?;
        if tenant.is_none_or(|t| t == record.tenant) {
            out.push(record);
        }
    }
    out.sort_by(|a, b| {
        (&a.tenant, a.created_at_ms, &a.id).cmp(&(&b.tenant, b.created_at_ms, &b.id))
    });
    Ok(out)
}

/// Every key of `tenant` with its stored hash.
pub(crate) fn hashed_of(db: &Database, tenant: &str) -> Result<Vec<([u8; 32], KeyRecord)>> {
    let Some(table) = open_read(db)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(db_err)? {
        let (k, v) = row.map_err(db_err)?;
        let record: KeyRecord = codec::decode(v.value(), "api key")?;
        if record.tenant == tenant {
            let hash = k
                .value()
                .try_into()
                .map_err(|_| Error::corrupt("catalog api keys", "hash of the wrong length"))?;
            out.push((hash, record));
        }
    }
    Ok(out)
}

/// Whether a key with `hash` is stored, and the tenant it is bound to.
pub(crate) fn owner_of(db: &Database, hash: &[u8; 32]) -> Result<Option<String>> {
    Ok(find(db, hash)?.map(|(_, r)| r.tenant))
}

/// In `tx`: removes every key of `tenant`, then stores `keys`.
pub(crate) fn replace_in(
    tx: &redb::WriteTransaction,
    tenant: &str,
    keys: &[([u8; 32], KeyRecord)],
) -> Result<()> {
    let mut table = tx.open_table(API_KEYS).map_err(db_err)?;
    let mut doomed = Vec::new();
    for row in table.iter().map_err(db_err)? {
        let (k, v) = row.map_err(db_err)?;
        let record: KeyRecord = codec::decode(v.value(), "api key")?;
        if record.tenant == tenant {
            doomed.push(k.value().to_vec());
        }
    }
    for hash in &doomed {
        table.remove(hash.as_slice()).map_err(db_err)?;
    }
    for (hash, record) in keys {
        let bytes = codec::encode(record)?;
        table
            .insert(hash.as_slice(), bytes.as_slice())
            .map_err(db_err)?;
    }
    Ok(())
}

/// Removes the keys of `tenant` that `doomed` selects, in one durable
/// transaction; returns how many went.
pub(crate) fn remove(
    db: &Database,
    tenant: &str,
    doomed: impl Fn(&KeyRecord) -> bool,
) -> Result<usize> {
    let tx = db.begin_write().map_err(db_err)?;
    let removed;
    {
        let mut table = tx.open_table(API_KEYS).map_err(db_err)?;
        let mut hashes = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (k, v) = row.map_err(db_err)?;
            let record: KeyRecord = codec::decode(v.value(), "api key")?;
            if record.tenant == tenant && doomed(&record) {
                hashes.push(k.value().to_vec());
            }
        }
        for hash in &hashes {
            table.remove(hash.as_slice()).map_err(db_err)?;
        }
        removed = hashes.len();
    }
    tx.commit().map_err(db_err)?;
    Ok(removed)
}
