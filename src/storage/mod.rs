//! Files on disk: the catalog (`catalog.redb`), one folder per tenant holding
//! one redb file per collection, and the record encoding.
//!
//! ```text
//! DATA/
//!   catalog.redb              tenants and their options
//!   tenants/<tenant>/
//!     <collection>.redb       meta, node chunks and vector chunks by internal id
//!     <collection>.hnsw.*     persisted graph: a cache, rebuilt when stale
//!   archive/<tenant>.tar.zst  cold storage of an archived tenant
//! ```

pub(crate) mod archive;
pub(crate) mod catalog;
pub(crate) mod codec;
pub(crate) mod collection;
pub(crate) mod usage_store;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Paths inside the data folder. Names reaching here are validated already
/// (`tenant::names`), so each is one plain path component.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn catalog(&self) -> PathBuf {
        self.root.join("catalog.redb")
    }

    pub(crate) fn tenants_dir(&self) -> PathBuf {
        self.root.join("tenants")
    }

    pub(crate) fn tenant_dir(&self, tenant: &str) -> PathBuf {
        self.tenants_dir().join(tenant)
    }

    pub(crate) fn archive_dir(&self) -> PathBuf {
        self.root.join("archive")
    }

    pub(crate) fn archive(&self, tenant: &str) -> PathBuf {
        archive::archive_path(&self.archive_dir(), tenant)
    }
}

/// Creates a redb file at `path` atomically: `init` fills it under a
/// temporary name, and only a fully written, committed file is renamed into
/// place. A crash meanwhile leaves no file at `path` (redb files are not
/// valid until their first commit, so creating one in place could leave a
/// file no later open accepts).
pub(crate) fn create_db_atomically(
    path: &Path,
    init: impl FnOnce(&redb::Database) -> Result<()>,
) -> Result<()> {
    let tmp = path.with_extension("redb.tmp");
    let fail =
        |e: &dyn std::fmt::Display| Error::io(format!("cannot create {}", path.display()), e);
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(|e| fail(&e))?;
    }
    {
        let db = redb::Database::create(&tmp).map_err(|e| fail(&e))?;
        init(&db)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| fail(&e))?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Total bytes of the regular files under `dir` (0 if it does not exist).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
