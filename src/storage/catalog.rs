//! `catalog.redb`: one record per tenant. Every change is its own committed
//! transaction, durable when the call returns.
//!
//! postcard is not self-describing, so a record's layout is told by its
//! table: layout 1 in `tenants`, layout 2 in `tenant_records`. Opening a
//! catalog that still has layout-1 records converts them all in one
//! transaction (a crash leaves either every record converted or none).

use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
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

    /// Inserts or replaces a tenant record and, in the same durable
    /// transaction, whatever `also` writes (IMPORT's keys and usage).
    pub(crate) fn put_with_also(
        &self,
        record: &impl CatalogRecord,
        also: impl FnOnce(&redb::WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let bytes = codec::encode(record)?;
        let tx = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = tx.open_table(TENANTS).map_err(db_err)?;
            table
                .insert(record.key(), bytes.as_slice())
                .map_err(db_err)?;
        }
        also(&tx)?;
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
