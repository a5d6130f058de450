//! Temporaries a crash left behind. Every file the engine writes atomically
//! is first written under a temporary name and renamed into place:
//!
//! - `archive/<tenant>.tar.zst.tmp` (ARCHIVE),
//! - `tenants/<t>/<collection>.redb.tmp` (a new collection's file),
//! - `tenants/<t>/<collection>.state.tmp` and `<collection>.graph.tmp`
//!   (a saved graph index),
//! - `tenants/<t>/<collection>.tmp-<pid>-<n>.*` (an hnsw_rs index save),
//! - `archive/<tenant>.export.tar.zst.tmp` (EXPORT of a tenant archived in
//!   the bucket: the archive fetched for it),
//! - `exports/<file>.tmp` (EXPORT TENANT's file before its rename, and
//!   `pql serve`'s `.http-export-*.tmp` / `.http-import-*.tmp`, the file it
//!   streams or the upload it imports from).
//!
//! A crash before the rename leaves the temporary, which nothing reads and
//! nothing would ever remove. Names of tenants and collections hold no `.`
//! (`tenant::names`), so these patterns never match live data. `exports/`
//! holds the user's own files too: there only names ending in `.tmp` go.
//! The folders allowed with `--export-dir` are the operator's, and are
//! left alone.

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};
use crate::storage::export_paths::exports_dir;
use crate::storage::Layout;

/// Whether `name` is one of the temporary names listed in the module docs.
pub(crate) fn is_temporary(name: &str) -> bool {
    name.ends_with(".tmp") || name.contains(".tmp-")
}

/// Removes the files directly in `dir` whose names `temporary` accepts (not
/// following symlinks, not descending); returns how many were removed. A
/// missing folder has none.
fn clean_dir(dir: &Path, temporary: fn(&str) -> bool) -> Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(format!("cannot list {}", dir.display()), e)),
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && temporary(&entry.file_name().to_string_lossy()) {
            let path = entry.path();
            fs::remove_file(&path)
                .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes the temporaries a crash left in the data folder of `layout`: in
/// `archive/`, in `exports/` and in each tenant's folder. Call it once at
/// open, after the data folder's lock is held, so that no live writer's
/// temporary is taken. Returns how many files were removed.
pub(crate) fn clean_temporaries(layout: &Layout) -> Result<usize> {
    let mut removed = clean_dir(&layout.archive_dir(), is_temporary)?;
    removed += clean_dir(&exports_dir(layout.root()), |name| name.ends_with(".tmp"))?;
    let tenants = layout.tenants_dir();
    if let Ok(entries) = fs::read_dir(&tenants) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                removed += clean_dir(&entry.path(), is_temporary)?;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_temporaries_and_keeps_live_files() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let t = layout.tenant_dir("acme");
        fs::create_dir_all(&t).unwrap();
        fs::create_dir_all(layout.archive_dir()).unwrap();
        let exports = exports_dir(layout.root());
        fs::create_dir_all(&exports).unwrap();
        let temporaries = [
            layout.archive_dir().join("old.tar.zst.tmp"),
            layout.archive_dir().join("old.export.tar.zst.tmp"),
            exports.join("acme.pqlt.tmp"),
            exports.join(".http-import-4242-0.tmp"),
            exports.join(".http-export-4242-1.tmp.tmp"),
            t.join("docs.redb.tmp"),
            t.join("docs.state.tmp"),
            t.join("docs.graph.tmp"),
            t.join("docs.tmp-4242-0.hnsw.data"),
        ];
        let live = [
            layout.archive_dir().join("old.tar.zst"),
            t.join("docs.redb"),
            t.join("docs.graph"),
            layout.root().join("catalog.redb.tmp"),
            // The user's files in exports/, even one with `.tmp-` inside.
            exports.join("acme.pqlt"),
            exports.join("acme.tmp-2026.pqlt"),
        ];
        for p in temporaries.iter().chain(&live) {
            fs::write(p, b"x").unwrap();
        }
        // A folder named like a temporary is not a file a save wrote.
        fs::create_dir_all(t.join("keep.tmp")).unwrap();
        assert_eq!(clean_temporaries(&layout).unwrap(), temporaries.len());
        for p in &temporaries {
            assert!(!p.exists(), "{} left", p.display());
        }
        for p in &live {
            assert!(p.exists(), "{} removed", p.display());
        }
        assert!(t.join("keep.tmp").is_dir());
        assert_eq!(clean_temporaries(&layout).unwrap(), 0);
    }

    #[test]
    fn an_empty_data_folder_has_nothing_to_clean() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(clean_temporaries(&Layout::new(dir.path())).unwrap(), 0);
    }
}
