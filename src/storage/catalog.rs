//! `catalog.redb`: one record per tenant. Every change is its own committed
//! transaction, durable when the call returns, but the pool's
//! `active`/`inactive` flips, which wait in memory for the next commit.
//!
//! postcard is not self-describing, so a record's layout is told by its
//! table: layout 1 in `tenants`, layout 2 in `tenant_records`. Opening a
//! catalog that still has layout-1 records converts them all in one
//! transaction (a crash leaves either every record converted or none).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::storage::codec;

/// Layout-1 records, converted when the catalog opens.
const TENANTS_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
/// The records, in the current layout.
const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenant_records");

/// A tenant record as the catalog keeps it (the tenant layer owns the type).
pub(crate) trait CatalogRecord: Serialize + DeserializeOwned {
    /// The record of layout 1, and how it becomes the current one.
    type Legacy: DeserializeOwned + Into<Self>;

    /// The record's key: the tenant's name.
    fn key(&self) -> &str;
}

/// The open catalog file.
pub(crate) struct CatalogStore {
    db: Arc<Database>,
    /// Records changed by [`CatalogStore::put_deferred`] and not yet
    /// written, by key: written with the next commit of this store, or by
    /// [`CatalogStore::write_deferred`].
    deferred: Mutex<BTreeMap<String, Vec<u8>>>,
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::io("catalog", e)
}

impl CatalogStore {
    /// Opens or creates the catalog at `path`. Fails if another process holds it.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            super::create_db_atomically(path, |db| {
                let tx = db.begin_write().map_err(db_err)?;
                tx.open_table(TENANTS).map_err(db_err)?;
                tx.commit().map_err(db_err)
            })?;
        }
        let db = super::migrate::open(&redb::Builder::new(), path)?;
        Ok(CatalogStore {
            db: Arc::new(db),
            deferred: Mutex::new(BTreeMap::new()),
        })
    }

    /// The database, shared with usage metering (its `usage` table).
    pub(crate) fn db(&self) -> Arc<Database> {
        self.db.clone()
    }

    /// All tenant records, converting layout-1 records first.
    pub(crate) fn load_all<R: CatalogRecord>(&self) -> Result<Vec<R>> {
        self.convert_legacy::<R>()?;
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(TENANTS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(codec::decode(v.value(), "tenant record")?);
        }
        Ok(out)
    }

    /// Moves every layout-1 record into the current table, converted, in
    /// one durable transaction; nothing to do when there are none.
    fn convert_legacy<R: CatalogRecord>(&self) -> Result<()> {
        {
            let tx = self.db.begin_read().map_err(db_err)?;
            match tx.open_table(TENANTS_V1) {
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
                other => drop(other.map_err(db_err)?),
            }
        }
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let old = tx.open_table(TENANTS_V1).map_err(db_err)?;
            let mut new = tx.open_table(TENANTS).map_err(db_err)?;
            for row in old.iter().map_err(db_err)? {
                let (_, v) = row.map_err(db_err)?;
                let legacy: R::Legacy = codec::decode(v.value(), "tenant record (layout 1)")?;
                let record: R = legacy.into();
                let bytes = codec::encode(&record)?;
                new.insert(record.key(), bytes.as_slice()).map_err(db_err)?;
            }
        }
        tx.delete_table(TENANTS_V1).map_err(db_err)?;
        tx.commit().map_err(db_err)
    }

    /// Inserts or replaces a tenant record, durably.
    pub(crate) fn put(&self, record: &impl CatalogRecord) -> Result<()> {
        self.put_with_also(record, |_| Ok(()))
    }

    /// Replaces a tenant record without writing it now: the change is kept
    /// in memory and written with the next commit of this store (or by
    /// [`CatalogStore::write_deferred`], which the pool's periodic pass and
    /// the engine's close call). For what a crash may lose harmlessly: the
    /// pool's `active`/`inactive` flips, which cost a commit each, two per
    /// cold query, when they were written at once.
    pub(crate) fn put_deferred(&self, record: &impl CatalogRecord) -> Result<()> {
        let bytes = codec::encode(record)?;
        self.deferred.lock().insert(record.key().to_string(), bytes);
        Ok(())
    }

    /// Inserts or replaces a tenant record and, in the same durable
    /// transaction, whatever `also` writes (IMPORT's keys and usage).
    pub(crate) fn put_with_also(
        &self,
        record: &impl CatalogRecord,
        also: impl FnOnce(&redb::WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let bytes = codec::encode(record)?;
        self.commit(Some(record.key()), |tx, table| {
            table
                .insert(record.key(), bytes.as_slice())
                .map_err(db_err)?;
            also(tx)
        })
    }

    /// Deletes a tenant record.
    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        self.commit(Some(name), |_, table| {
            table.remove(name).map_err(db_err).map(drop)
        })
    }

    /// Writes the deferred records now, durably.
    pub(crate) fn write_deferred(&self) -> Result<()> {
        if self.deferred.lock().is_empty() {
            return Ok(());
        }
        self.commit(None, |_, _| Ok(()))
    }

    /// One durable transaction: the deferred records (but the one of
    /// `key`, which `body` writes), then `body`. If it fails, the deferred
    /// records not changed since are kept for the next one.
    fn commit(
        &self,
        key: Option<&str>,
        body: impl FnOnce(
            &redb::WriteTransaction,
            &mut redb::Table<'_, &'static str, &'static [u8]>,
        ) -> Result<()>,
    ) -> Result<()> {
        let tx = self.db.begin_write().map_err(db_err)?;
        // Taken once this transaction holds the write lock, so no commit
        // that took them earlier can write them over newer ones.
        let mut deferred = std::mem::take(&mut *self.deferred.lock());
        if let Some(key) = key {
            deferred.remove(key);
        }
        let written = (|| {
            {
                let mut table = tx.open_table(TENANTS).map_err(db_err)?;
                for (k, bytes) in &deferred {
                    table.insert(k.as_str(), bytes.as_slice()).map_err(db_err)?;
                }
                body(&tx, &mut table)?;
            }
            tx.commit().map_err(db_err)
        })();
        if written.is_err() {
            let mut pending = self.deferred.lock();
            for (k, bytes) in deferred {
                pending.entry(k).or_insert(bytes);
            }
        }
        written
    }
}

impl Drop for CatalogStore {
    /// Writes the deferred records before the file closes.
    fn drop(&mut self) {
        let _ = self.write_deferred();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::record::TenantRecord;

    fn record(name: &str, updated: i64) -> TenantRecord {
        let mut r = TenantRecord::new(name, 1, Default::default(), 0);
        r.updated_at_ms = updated;
        r
    }

    fn stored(store: &CatalogStore) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = store
            .load_all::<TenantRecord>()
            .unwrap()
            .into_iter()
            .map(|r| (r.name, r.updated_at_ms))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn deferred_records_wait_for_the_next_commit_and_never_overwrite_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.redb");
        {
            let store = CatalogStore::open(&path).unwrap();
            store.put(&record("a", 1)).unwrap();
            store.put(&record("b", 1)).unwrap();
            // Kept in memory: nothing is committed for a deferred record.
            store.put_deferred(&record("a", 2)).unwrap();
            store.put_deferred(&record("b", 2)).unwrap();
            assert_eq!(stored(&store), [("a".into(), 1), ("b".into(), 1)]);
            // A commit writes them, but one of the key it writes itself.
            store.put(&record("b", 3)).unwrap();
            assert_eq!(stored(&store), [("a".into(), 2), ("b".into(), 3)]);
            // A deferred record of a deleted tenant is not written back.
            store.put_deferred(&record("a", 4)).unwrap();
            store.delete("a").unwrap();
            assert_eq!(stored(&store), [("b".into(), 3)]);
            store.put_deferred(&record("b", 5)).unwrap();
            store.write_deferred().unwrap();
            assert_eq!(stored(&store), [("b".into(), 5)]);
            // Written when the store closes.
            store.put_deferred(&record("b", 6)).unwrap();
        }
        let store = CatalogStore::open(&path).unwrap();
        assert_eq!(stored(&store), [("b".into(), 6)]);
    }
}
