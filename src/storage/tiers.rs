//! The `tier_records` table of `catalog.redb`: one row per tier template
//! (`CREATE TIER`), keyed by its name. Every change is its own committed
//! transaction, durable when the call returns, like the tenant records.

use std::collections::BTreeMap;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::storage::codec;
use crate::value::Value;

/// Tier name → [`TierRecord`].
const TIERS: TableDefinition<&str, &[u8]> = TableDefinition::new("tier_records");

/// A tier template as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TierRecord {
    /// The tier's name (lower case).
    pub(crate) name: String,
    /// The settings it gives the tenants that inherit them, validated.
    pub(crate) settings: BTreeMap<String, Value>,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_at_ms: i64,
    /// Milliseconds since the Unix epoch of the last `ALTER TIER`.
    pub(crate) updated_at_ms: i64,
}

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::io("catalog tiers", e)
}

/// Every stored tier, after storing those of `seeds` that are missing (in
/// one durable transaction, only when one is missing): the built-in tiers
/// exist in every catalog, older ones included.
pub(crate) fn load_seeded(db: &Database, seeds: &[TierRecord]) -> Result<Vec<TierRecord>> {
    let stored = load_all(db)?;
    let missing: Vec<&TierRecord> = seeds
        .iter()
        .filter(|s| !stored.iter().any(|t| t.name == s.name))
        .collect();
    if missing.is_empty() {
        return Ok(stored);
    }
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut table = tx.open_table(TIERS).map_err(db_err)?;
        for record in missing {
            let bytes = codec::encode(record)?;
            table
                .insert(record.name.as_str(), bytes.as_slice())
                .map_err(db_err)?;
        }
    }
    tx.commit().map_err(db_err)?;
    load_all(db)
}

/// Every stored tier, by name; none before the table exists.
fn load_all(db: &Database) -> Result<Vec<TierRecord>> {
    let tx = db.begin_read().map_err(db_err)?;
    let table = match tx.open_table(TIERS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(db_err(e)),
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(db_err)? {
        let (_, v) = row.map_err(db_err)?;
        out.push(codec::decode(v.value(), "tier record")?);
    }
    Ok(out)
}

/// Inserts or replaces a tier, durably.
pub(crate) fn put(db: &Database, record: &TierRecord) -> Result<()> {
    let bytes = codec::encode(record)?;
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut table = tx.open_table(TIERS).map_err(db_err)?;
        table
            .insert(record.name.as_str(), bytes.as_slice())
            .map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}

/// Deletes a tier, durably.
pub(crate) fn delete(db: &Database, name: &str) -> Result<()> {
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut table = tx.open_table(TIERS).map_err(db_err)?;
        table.remove(name).map_err(db_err)?;
    }
    tx.commit().map_err(db_err)
}
