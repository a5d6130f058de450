//! Where `EXPORT TENANT` may write and `IMPORT TENANT` may read: the data
//! folder's `exports/` and the folders the operator allowed
//! (`Config::with_export_dir`, `--export-dir`). A relative path resolves
//! under `exports/`. A path with `..`, a symlink as the file itself, or a
//! folder that resolves (through symlinks) outside every allowed folder is
//! refused before any file is opened.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The data folder's own export folder.
pub(crate) fn exports_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

/// Whether the file is to be read (it must exist) or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// IMPORT: the file must exist and be a regular file.
    Read,
    /// EXPORT: the folder must exist; an existing file is replaced.
    Write,
}

fn refuse(given: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid_option(format!(
        "export path {given:?} refused: {why}; paths must lie in the data folder's exports/ \
         or a folder allowed with --export-dir"
    ))
}

/// Resolves `given` to an absolute path inside an allowed folder.
pub(crate) fn resolve(
    data_dir: &Path,
    allowed: &[PathBuf],
    given: &str,
    purpose: Purpose,
) -> Result<PathBuf> {
    let path = Path::new(given);
    if given.is_empty() || given.contains('\0') {
        return Err(refuse(given, "it is empty or holds a NUL"));
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err(refuse(given, "it contains '..'"));
    }
    let exports = exports_dir(data_dir);
    fs::create_dir_all(&exports)
        .map_err(|e| Error::io(format!("cannot create {}", exports.display()), e))?;
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        exports.join(path)
    };
    let (Some(parent), Some(file)) = (full.parent(), full.file_name()) else {
        return Err(refuse(given, "it names no file"));
    };
    let parent = fs::canonicalize(parent)
        .map_err(|e| refuse(given, format!("its folder cannot be resolved ({e})")))?;
    let target = parent.join(file);
    match fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => return Err(refuse(given, "it is a symlink")),
        Ok(m) if !m.is_file() => return Err(refuse(given, "it is not a regular file")),
        Ok(_) => {}
        Err(_) if purpose == Purpose::Write => {}
        Err(e) => return Err(Error::io(format!("cannot open {given}"), e)),
    }
    let inside = std::iter::once(&exports)
        .chain(allowed)
        .filter_map(|root| fs::canonicalize(root).ok())
        .any(|root| parent.starts_with(&root));
    if !inside {
        return Err(refuse(given, "it is outside the allowed folders"));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confines_paths() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let other = dir.path().join("other");
        let allowed = dir.path().join("allowed");
        fs::create_dir_all(&data).unwrap();
        fs::create_dir_all(&other).unwrap();
        fs::create_dir_all(&allowed).unwrap();
        let ok = resolve(&data, &[], "t.pqlt", Purpose::Write).unwrap();
        assert_eq!(
            ok,
            fs::canonicalize(data.join("exports"))
                .unwrap()
                .join("t.pqlt")
        );
        let inside_allowed = allowed.join("t.pqlt");
        let list = [allowed.clone()];
        assert!(resolve(
            &data,
            &list,
            inside_allowed.to_str().unwrap(),
            Purpose::Write
        )
        .is_ok());
        for bad in [
            "../t.pqlt".to_string(),
            "a/../../t.pqlt".to_string(),
            other.join("t.pqlt").display().to_string(),
            "/etc/passwd".to_string(),
            String::new(),
        ] {
            let e = resolve(&data, &list, &bad, Purpose::Write).unwrap_err();
            assert_eq!(e.kind(), &crate::error::ErrorKind::InvalidOption, "{bad}");
        }
        // A symlinked folder inside exports/ that points elsewhere.
        std::os::unix::fs::symlink(&other, data.join("exports/escape")).unwrap();
        assert!(resolve(&data, &[], "escape/t.pqlt", Purpose::Write).is_err());
        // A symlink as the file itself.
        std::os::unix::fs::symlink(other.join("x"), data.join("exports/link.pqlt")).unwrap();
        assert!(resolve(&data, &[], "link.pqlt", Purpose::Write).is_err());
        // Reading needs an existing file.
        assert!(resolve(&data, &[], "missing.pqlt", Purpose::Read).is_err());
    }
}
