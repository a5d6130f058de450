//! Opening redb files, and migrating files written by redb 2.
//!
//! PQL stored its catalog and collections with redb 2 until it moved to
//! redb 4, whose files start at 72 KiB instead of about 1.6 MB and cost a
//! fifth of the memory while open. redb 4 cannot read redb 2's file format,
//! so a data folder written before the move is migrated the first time each
//! file is opened: every table PQL defines is copied, with redb 2 reading,
//! into a new redb 4 file under a temporary name, which then replaces the
//! old file in one rename. A crash before the rename leaves the old file
//! untouched (the temporary file is discarded on the next try); after it, the
//! new file holds everything.

use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// The tables of every PQL file, by name and key type. A file holding any
/// other table is not PQL's and is not migrated.
/// (`tenant_records` and `tier_records` are never in a redb 2 file; they are
/// listed so that any PQL file can be copied.)
const STR_TABLES: [&str; 5] = ["tenants", "tenant_records", "tier_records", "meta", "nodes"];
const U32_TABLES: [&str; 3] = ["vectors", "node_chunks", "vector_chunks"];
const USAGE: &str = "usage";

/// Opens the redb file at `path` with `builder`, migrating it first if redb 2
/// wrote it.
pub(crate) fn open(builder: &redb::Builder, path: &Path) -> Result<redb::Database> {
    match builder.open(path) {
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(in_use(path)),
        Err(redb::DatabaseError::UpgradeRequired(_)) => {
            migrate(path)?;
            builder
                .open(path)
                .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
        }
        other => other.map_err(|e| Error::io(format!("cannot open {}", path.display()), e)),
    }
}

/// The error for a file another process holds open: the data folder when
/// it is the catalog (whose lock guards the whole folder), else the file.
fn in_use(path: &Path) -> Error {
    let what = match path.parent() {
        Some(dir) if path.file_name().is_some_and(|n| n == "catalog.redb") => {
            format!("data folder {}", dir.display())
        }
        _ => path.display().to_string(),
    };
    Error::new(
        ErrorKind::Io,
        format!("{what} is in use by another process (a data folder can be open in one process at a time)"),
    )
}

/// Copies table `name`, keys of type `$key` and byte-string values, from the
/// read transaction `$from` of crate `$old` (a redb version) into the write
/// transaction `$to` of crate `$new` (a macro because the two crates' key
/// traits differ).
macro_rules! copy_table {
    ($old:ident => $new:ident, $from:expr, $to:expr, $name:expr, $key:ty, $fail:expr) => {{
        let src = $from
            .open_table($old::TableDefinition::<$key, &[u8]>::new($name))
            .map_err(|e| $fail(&e))?;
        let mut dst = $to
            .open_table($new::TableDefinition::<$key, &[u8]>::new($name))
            .map_err(|e| $fail(&e))?;
        for row in $old::ReadableTable::iter(&src).map_err(|e| $fail(&e))? {
            let (k, v) = row.map_err(|e| $fail(&e))?;
            dst.insert(k.value(), v.value()).map_err(|e| $fail(&e))?;
        }
    }};
}

/// Copies every table of `$names` (all of them tables PQL defines) with
/// [`copy_table!`], each with its key type.
macro_rules! copy_tables {
    ($old:ident => $new:ident, $from:expr, $to:expr, $names:expr, $fail:expr) => {
        for name in $names {
            match name.as_str() {
                n if U32_TABLES.contains(&n) => {
                    copy_table!($old => $new, $from, $to, name, u32, $fail)
                }
                USAGE => copy_table!($old => $new, $from, $to, name, (&str, u32, i64), $fail),
                _ => copy_table!($old => $new, $from, $to, name, &str, $fail),
            }
        }
    };
}

/// Copies the redb 2 file at `path` into a new redb 4 file that replaces it.
fn migrate(path: &Path) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::io(
            format!("cannot migrate {} from redb 2 to redb 4", path.display()),
            e,
        )
    };
    let old = redb2::Database::open(path).map_err(|e| fail(&e))?;
    let read = old.begin_read().map_err(|e| fail(&e))?;
    let names: Vec<String> = read
        .list_tables()
        .map_err(|e| fail(&e))?
        .map(|t| redb2::TableHandle::name(&t).to_string())
        .collect();
    if let Some(unknown) = names.iter().find(|n| {
        let n = n.as_str();
        !STR_TABLES.contains(&n) && !U32_TABLES.contains(&n) && n != USAGE
    }) {
        return Err(fail(&format!(
            "it holds a table '{unknown}' PQL does not know"
        )));
    }
    super::create_db_atomically(path, |new| {
        let write = new.begin_write().map_err(|e| fail(&e))?;
        copy_tables!(redb2 => redb, read, write, &names, fail);
        write.commit().map_err(|e| fail(&e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTable};

    const TENANTS2: redb2::TableDefinition<&str, &[u8]> = redb2::TableDefinition::new("tenants");
    const USAGE2: redb2::TableDefinition<(&str, u32, i64), &[u8]> =
        redb2::TableDefinition::new("usage");
    const VECTORS2: redb2::TableDefinition<u32, &[u8]> = redb2::TableDefinition::new("vectors");

    fn old_file(path: &Path, extra_table: Option<&str>) {
        let db = redb2::Database::create(path).unwrap();
        let tx = db.begin_write().unwrap();
        {
            let mut t = tx.open_table(TENANTS2).unwrap();
            t.insert("acme", b"record-a".as_slice()).unwrap();
            t.insert("beta", b"record-b".as_slice()).unwrap();
            let mut u = tx.open_table(USAGE2).unwrap();
            u.insert(("acme", 60, -120), b"u1".as_slice()).unwrap();
            u.insert(("acme", 86_400, 0), b"u2".as_slice()).unwrap();
            let mut v = tx.open_table(VECTORS2).unwrap();
            v.insert(7, [1u8, 2, 3, 4].as_slice()).unwrap();
            if let Some(name) = extra_table {
                let def = redb2::TableDefinition::<u64, u64>::new(name);
                tx.open_table(def).unwrap().insert(1, 2).unwrap();
            }
        }
        tx.commit().unwrap();
    }

    #[test]
    fn a_redb2_file_is_migrated_with_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        old_file(&path, None);
        assert!(
            redb::Database::open(&path).is_err(),
            "redb 4 reads it as is"
        );
        let db = open(&redb::Builder::new(), &path).unwrap();
        let tx = db.begin_read().unwrap();
        let t = tx
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("tenants"))
            .unwrap();
        let rows: Vec<(String, Vec<u8>)> = t
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.value().to_string(), v.value().to_vec())
            })
            .collect();
        assert_eq!(
            rows,
            vec![
                ("acme".to_string(), b"record-a".to_vec()),
                ("beta".to_string(), b"record-b".to_vec())
            ]
        );
        let u = tx
            .open_table(redb::TableDefinition::<(&str, u32, i64), &[u8]>::new(
                "usage",
            ))
            .unwrap();
        assert_eq!(u.get(("acme", 60, -120)).unwrap().unwrap().value(), b"u1");
        assert_eq!(u.get(("acme", 86_400, 0)).unwrap().unwrap().value(), b"u2");
        let v = tx
            .open_table(redb::TableDefinition::<u32, &[u8]>::new("vectors"))
            .unwrap();
        assert_eq!(v.get(7).unwrap().unwrap().value(), [1, 2, 3, 4]);
        assert!(!dir.path().join("c.redb.tmp").exists());
    }

    #[test]
    fn a_file_with_a_foreign_table_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        old_file(&path, Some("mystery"));
        let before = std::fs::read(&path).unwrap();
        let err = open(&redb::Builder::new(), &path).unwrap_err();
        assert!(err.to_string().contains("'mystery'"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    /// Rewrites the redb 4 file at `path` as redb 2 wrote it, as a data
    /// folder from before the move holds it.
    fn downgrade(path: &Path) -> Result<()> {
        let fail = |e: &dyn std::fmt::Display| Error::io("downgrade", e);
        let new = redb::Database::open(path).map_err(|e| fail(&e))?;
        let read = new.begin_read().map_err(|e| fail(&e))?;
        let names: Vec<String> = read
            .list_tables()
            .map_err(|e| fail(&e))?
            .map(|t| redb::TableHandle::name(&t).to_string())
            .collect();
        let tmp = path.with_extension("old");
        let old = redb2::Database::create(&tmp).map_err(|e| fail(&e))?;
        let write = old.begin_write().map_err(|e| fail(&e))?;
        copy_tables!(redb => redb2, read, write, &names, fail);
        write.commit().map_err(|e| fail(&e))?;
        drop(old);
        std::fs::rename(&tmp, path).map_err(|e| fail(&e))
    }

    fn redb_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                redb_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "redb") {
                out.push(p);
            }
        }
    }

    #[test]
    fn a_data_folder_written_by_redb2_opens_with_everything_in_it() {
        let dir = tempfile::tempdir().unwrap();
        let script = "CREATE TENANT acme WITH (tier: 'pro'); \
            QUERY p TENANT acme CREATE NODES [{id: 'a', kind: 'x', embedding: [1, 0]}, \
            {id: 'b', kind: 'y', embedding: [0.6, 0.8]}, {id: 'c', kind: 'x', embedding: [0, 1]}];";
        let query = "QUERY p TENANT acme WHERE kind = 'x' SIMILAR TO [1, 0.1] TOP 5 RETURN id;";
        let before = {
            let engine = crate::Engine::open(dir.path()).unwrap();
            engine.execute(script).unwrap();
            engine.flush().unwrap();
            engine.execute(query).unwrap()[0].rows.clone()
        };
        let mut files = Vec::new();
        redb_files(dir.path(), &mut files);
        assert_eq!(files.len(), 2, "{files:?}");
        for f in &files {
            downgrade(f).unwrap();
            assert!(
                redb::Database::open(f).is_err(),
                "{} not downgraded",
                f.display()
            );
        }
        let engine = crate::Engine::open(dir.path()).unwrap();
        assert_eq!(engine.execute(query).unwrap()[0].rows, before);
        let usage = format!(
            "{:?}",
            engine.execute("SHOW USAGE FOR TENANT acme;").unwrap()
        );
        assert!(usage.contains("Int(3)"), "{usage}");
        engine
            .execute("QUERY p TENANT acme CREATE NODE {id: 'd', kind: 'x', embedding: [1, 0.2]};")
            .unwrap();
    }

    #[test]
    fn a_current_file_opens_without_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.redb");
        redb::Database::create(&path).unwrap();
        assert!(open(&redb::Builder::new(), &path).is_ok());
    }
}
