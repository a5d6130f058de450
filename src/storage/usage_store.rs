//! The `usage` table of `catalog.redb`: metered counts per tenant in time
//! buckets of a minute, an hour and a day (each flush adds to all three, so
//! reports read the coarsest bucket that fits). Key: (tenant incarnation
//! (`TenantRecord::usage_key`: the name, then `@id`), resolution in
//! seconds, bucket start in Unix seconds); value: the counts in
//! metered order (`tenant::usage::METRICS`), then the storage gauge, as
//! little-endian `u64`s.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, Result};

/// Number of metered counts in a row (`tenant::usage` names them).
pub(crate) const N: usize = 11;

const USAGE: TableDefinition<(&str, u32, i64), &[u8]> = TableDefinition::new("usage");

/// Cluster mode: what this node counted itself, per tenant name and day
/// (bucket start): the usage it publishes for the reports to sum. Rows
/// imported with a tenant's history are not in it.
const NODE_USAGE: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("node_usage");

/// Bucket lengths kept, in seconds: minute, hour, day.
pub(crate) const RESOLUTIONS: [u32; 3] = [60, 3_600, 86_400];

/// How long minute buckets are kept (hour and day buckets are kept).
pub(crate) const MINUTES_KEPT: i64 = 2 * 86_400;

/// One day, the resolution reports read.
pub(crate) const DAY: u32 = 86_400;

fn db_err(e: impl std::fmt::Display) -> Error {
    Error::io("usage table", e)
}

/// Counts of a bucket, then the storage gauge.
pub(crate) type Row = [u64; N + 1];

fn decode(bytes: &[u8]) -> Row {
    let mut row = [0u64; N + 1];
    for (slot, chunk) in row.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *slot = u64::from_le_bytes(b);
    }
    row
}

fn encode(row: &Row) -> Vec<u8> {
    row.iter().flat_map(|n| n.to_le_bytes()).collect()
}

/// Adds `rows` (tenant, counts, storage gauge) at Unix time `now` to the
/// buckets containing it, in one transaction, and drops the tenant's minute
/// buckets older than [`MINUTES_KEPT`]. With `per_node` (cluster mode, the
/// tenant name of a usage key), also to this node's own day rows.
pub(crate) fn add(
    db: &Database,
    now: i64,
    rows: &[(&str, [u64; N], u64)],
    per_node: Option<fn(&str) -> &str>,
) -> Result<()> {
    let tx = db.begin_write().map_err(db_err)?;
    if let Some(name_of) = per_node {
        let mut table = tx.open_table(NODE_USAGE).map_err(db_err)?;
        let day = bucket_start(now, DAY);
        for (tenant, counts, storage) in rows {
            let key = (name_of(tenant), day);
            let mut row = match table.get(key).map_err(db_err)? {
                Some(v) => decode(v.value()),
                None => [0; N + 1],
            };
            add_into(&mut row, counts, *storage);
            table.insert(key, encode(&row).as_slice()).map_err(db_err)?;
        }
    }
    {
        let mut table = tx.open_table(USAGE).map_err(db_err)?;
        for (tenant, counts, storage) in rows {
            for res in RESOLUTIONS {
                let start = bucket_start(now, res);
                let key = (*tenant, res, start);
                let mut row = match table.get(key).map_err(db_err)? {
                    Some(v) => decode(v.value()),
                    None => [0; N + 1],
                };
                add_into(&mut row, counts, *storage);
                table.insert(key, encode(&row).as_slice()).map_err(db_err)?;
            }
            // Minute buckets are rolled up already; drop the old ones.
            let old =
                (*tenant, RESOLUTIONS[0], i64::MIN)..(*tenant, RESOLUTIONS[0], now - MINUTES_KEPT);
            let stale: Vec<i64> = table
                .range(old)
                .map_err(db_err)?
                .filter_map(|e| e.ok().map(|(k, _)| k.value().2))
                .collect();
            for start in stale {
                table
                    .remove((*tenant, RESOLUTIONS[0], start))
                    .map_err(db_err)?;
            }
        }
    }
    tx.commit().map_err(db_err)
}

/// The start of the bucket of `res` seconds holding Unix time `now`.
pub(crate) fn bucket_start(now: i64, res: u32) -> i64 {
    now - now.rem_euclid(i64::from(res))
}

/// Adds `counts` to `row` and sets its storage gauge.
fn add_into(row: &mut Row, counts: &[u64; N], storage: u64) {
    for (slot, n) in row.iter_mut().zip(counts) {
        *slot = slot.saturating_add(*n);
    }
    row[N] = storage;
}

/// This node's own day rows starting at or after `from` (Unix seconds):
/// (tenant name, day start, row), in key order.
pub(crate) fn node_days(db: &Database, from: i64) -> Result<Vec<(String, i64, Row)>> {
    let Some(table) = read_table(db, NODE_USAGE)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        let (tenant, day) = k.value();
        if day >= from {
            out.push((tenant.to_string(), day, decode(v.value())));
        }
    }
    Ok(out)
}

/// Table `def` for reading; `None` before the first flush created it.
fn read_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    db: &Database,
    def: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    let tx = db.begin_read().map_err(db_err)?;
    match tx.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(db_err(e)),
    }
}

/// Every bucket of the usage key `tenant`, of every resolution:
/// (resolution, start, row), in key order. (EXPORT TENANT, and OFFLOAD
/// puts it in the manifest.)
pub(crate) fn rows_of(db: &Database, tenant: &str) -> Result<Vec<(u32, i64, Row)>> {
    let Some(table) = read_table(db, USAGE)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in table
        .range((tenant, 0, i64::MIN)..=(tenant, u32::MAX, i64::MAX))
        .map_err(db_err)?
    {
        let (k, v) = entry.map_err(db_err)?;
        let (_, res, start) = k.value();
        out.push((res, start, decode(v.value())));
    }
    Ok(out)
}

/// Writes `rows` (from [`rows_of`]) under the usage key `tenant` in `tx`.
pub(crate) fn put_rows(
    tx: &redb::WriteTransaction,
    tenant: &str,
    rows: &[(u32, i64, Row)],
) -> Result<()> {
    let mut table = tx.open_table(USAGE).map_err(db_err)?;
    for (res, start, row) in rows {
        table
            .insert((tenant, *res, *start), encode(row).as_slice())
            .map_err(db_err)?;
    }
    Ok(())
}

/// Every tenant's day buckets starting in `[from, to)` (Unix seconds), in
/// key order: (tenant, bucket start, row).
pub(crate) fn days(db: &Database, from: i64, to: i64) -> Result<Vec<(String, i64, Row)>> {
    let Some(table) = read_table(db, USAGE)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        let (tenant, res, start) = k.value();
        if res == DAY && (from..to).contains(&start) {
            out.push((tenant.to_string(), start, decode(v.value())));
        }
    }
    Ok(out)
}

/// Writes `rows` (from [`rows_of`]) as the buckets of the tenant
/// incarnation `key`, in one transaction; a bucket that exists already
/// keeps its counts. (ATTACH TENANT ... FROM OBJECT STORE.)
#[cfg(feature = "s3")]
pub(crate) fn restore_history(db: &Database, key: &str, rows: &[(u32, i64, Row)]) -> Result<()> {
    let tx = db.begin_write().map_err(db_err)?;
    {
        let mut table = tx.open_table(USAGE).map_err(db_err)?;
        for (res, start, row) in rows {
            if table.get((key, *res, *start)).map_err(db_err)?.is_none() {
                table
                    .insert((key, *res, *start), encode(row).as_slice())
                    .map_err(db_err)?;
            }
        }
    }
    tx.commit().map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_add_up_and_old_minutes_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("u.redb")).unwrap();
        let mut counts = [0u64; N];
        counts[0] = 2;
        let day = 86_400 * 20_000;
        add(&db, day + 30, &[("t", counts, 7)], None).unwrap();
        add(&db, day + 90, &[("t", counts, 9)], None).unwrap();
        let rows = days(&db, day, day + 86_400).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].2[0], rows[0].2[N]), (4, 9));
        add(&db, day + 3 * 86_400, &[("t", counts, 9)], None).unwrap();
        let tx = db.begin_read().unwrap();
        let table = tx.open_table(USAGE).unwrap();
        let minutes = table
            .range(("t", 60, i64::MIN)..("t", 60, i64::MAX))
            .unwrap()
            .count();
        assert_eq!(minutes, 1, "minute buckets older than two days are dropped");
    }

    #[test]
    fn a_node_keeps_its_own_day_rows_by_tenant_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("u.redb")).unwrap();
        let mut counts = [0u64; N];
        counts[3] = 5;
        let day = 86_400 * 20_000;
        add(&db, day + 30, &[("t@1", counts, 7)], None).unwrap();
        assert!(
            node_days(&db, 0).unwrap().is_empty(),
            "only in cluster mode"
        );
        let name_of: fn(&str) -> &str = |k| k.split('@').next().unwrap_or(k);
        let two = [("t@1", counts, 7), ("t@2", counts, 8)];
        add(&db, day + 60, &two, Some(name_of)).unwrap();
        add(&db, day + 86_400, &[("t@2", counts, 9)], Some(name_of)).unwrap();
        let rows = node_days(&db, day).unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!((rows[0].0.as_str(), rows[0].1), ("t", day));
        assert_eq!((rows[0].2[3], rows[0].2[N]), (10, 8));
        assert_eq!((rows[1].1, rows[1].2[3]), (day + 86_400, 5));
        assert_eq!(node_days(&db, day + 1).unwrap().len(), 1);
    }

    #[test]
    #[cfg(feature = "s3")]
    fn history_moves_to_another_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("u.redb")).unwrap();
        let mut counts = [0u64; N];
        counts[3] = 5;
        add(
            &db,
            86_400 * 20_000,
            &[("t@1", counts, 7), ("u@2", counts, 1)],
            None,
        )
        .unwrap();
        let rows = rows_of(&db, "t@1").unwrap();
        assert_eq!(rows.len(), RESOLUTIONS.len(), "one bucket per resolution");
        let other = Database::create(dir.path().join("v.redb")).unwrap();
        restore_history(&other, "t@1", &rows).unwrap();
        assert_eq!(rows_of(&other, "t@1").unwrap(), rows);
        assert!(rows_of(&other, "u@2").unwrap().is_empty());
    }
}
