//! `catalog.redb`: one record per tenant. Every change is its own committed
//! transaction, durable when the call returns.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::storage::codec;

const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");

/// A tenant record as the catalog keeps it (the tenant layer owns the type).
pub(crate) trait CatalogRecord: Serialize + DeserializeOwned {
    /// The record's key: the tenant's name.
    fn key(&self) -> &str;
}

/// The open catalog file.
pub(crate) struct CatalogStore {
    db: Arc<Database>,
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
        Ok(CatalogStore { db: Arc::new(db) })
    }

    /// The database, shared with usage metering (its `usage` table).
    pub(crate) fn db(&self) -> Arc<Database> {
        self.db.clone()
    }

    /// All tenant records.
    pub(crate) fn load_all<R: CatalogRecord>(&self) -> Result<Vec<R>> {
        let tx = self.db.begin_read().map_err(db_err)?;
        let table = tx.open_table(TENANTS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(codec::decode(v.value(), "tenant record")?);
        }
        Ok(out)
    }

    /// Inserts or replaces a tenant record, durably.
    pub(crate) fn put(&self, record: &impl CatalogRecord) -> Result<()> {
        self.put_with(record, Durability::Immediate)
    }

    /// Replaces a tenant record without waiting for the disk: the change is
    /// visible at once and reaches the disk with the next durable commit
    /// (usage metering commits every second). For what a crash may lose
    /// harmlessly: the pool's `active`/`inactive` flips, which cost two
    /// fsyncs per cold query when they were durable.
    pub(crate) fn put_deferred(&self, record: &impl CatalogRecord) -> Result<()> {
        self.put_with(record, Durability::None)
    }

    fn put_with(&self, record: &impl CatalogRecord, durability: Durability) -> Result<()> {
        let bytes = codec::encode(record)?;
        let mut tx = self.db.begin_write().map_err(db_err)?;
        tx.set_durability(durability).map_err(db_err)?;
        {
            let mut table = tx.open_table(TENANTS).map_err(db_err)?;
            table
                .insert(record.key(), bytes.as_slice())
                .map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }

    /// Deletes a tenant record.
    pub(crate) fn delete(&self, name: &str) -> Result<()> {
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(TENANTS).map_err(db_err)?;
            table.remove(name).map_err(db_err)?;
        }
        tx.commit().map_err(db_err)
    }
}
