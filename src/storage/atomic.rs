//! Atomic file writes, the one way PQL replaces a file: write under a
//! temporary name beside the target, fsync the file, rename it over the
//! target, fsync the folder. A crash at any point leaves the old file or the
//! new one whole, never a torn one, and once the write returns Ok the new
//! file survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A file being written under the temporary name `<target>.tmp`.
/// [`AtomicFile::commit`] moves it over `target`; dropped without a commit
/// (an error on the way), it removes the temporary file.
///
/// Callers that stream write through [`AtomicFile::file`] (`&File` is
/// `Write`); callers that must check what they wrote before it replaces
/// anything read it back at [`AtomicFile::tmp_path`].
#[derive(Debug)]
pub(crate) struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    file: File,
    committed: bool,
}

impl AtomicFile {
    /// Starts a write of `target`, creating `<target>.tmp` empty (a stale one
    /// left by a crash is truncated).
    pub(crate) fn create(target: &Path) -> io::Result<AtomicFile> {
        let tmp = temp_path(target);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            tmp,
            file,
            committed: false,
        })
    }

    /// The temporary file, to write through.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Where the temporary file is, to read back before committing.
    pub(crate) fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Syncs the file, renames it over the target and syncs the folder.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.tmp, &self.target)?;
        self.committed = true;
        sync_parent(&self.target)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Replaces the file at `path` with `bytes`, atomically and durably.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let out = AtomicFile::create(path)?;
    io::Write::write_all(&mut out.file(), bytes)?;
    out.commit()
}

/// Moves a complete file that another writer produced (hnsw_rs's dumps)
/// over `target`: fsync of the file, rename, fsync of the folder.
#[cfg(feature = "hnsw-rs")]
pub(crate) fn move_into_place(written: &Path, target: &Path) -> io::Result<()> {
    OpenOptions::new().read(true).open(written)?.sync_all()?;
    fs::rename(written, target)?;
    sync_parent(target)
}

/// Syncs the folder holding `path`, so that a rename or creation in it is
/// durable (Unix; folders cannot be opened for sync elsewhere).
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// `<target>.tmp`: beside the target, so the rename never crosses a file
/// system.
fn temp_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    target.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_the_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        write_atomically(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        assert_eq!(entries(dir.path()), ["state.bin"]);
    }

    #[test]
    fn overwrites_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        write_atomically(&path, b"a longer first version").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(entries(dir.path()), ["state.bin"]);
    }

    #[test]
    fn a_dropped_write_keeps_the_old_file_and_removes_the_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        write_atomically(&path, b"old").unwrap();
        {
            let out = AtomicFile::create(&path).unwrap();
            out.file().write_all(b"half of the new").unwrap();
            assert_eq!(out.tmp_path(), dir.path().join("state.bin.tmp"));
        }
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()), ["state.bin"]);
    }

    #[test]
    fn a_stale_temporary_file_from_a_crash_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.bin");
        fs::write(dir.path().join("state.bin.tmp"), b"left by a crash, longer").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["state.bin"]);
    }

    #[cfg(feature = "hnsw-rs")]
    #[test]
    fn moves_a_written_file_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let written = dir.path().join("dump.part");
        let target = dir.path().join("dump");
        fs::write(&target, b"old").unwrap();
        fs::write(&written, b"new").unwrap();
        move_into_place(&written, &target).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(entries(dir.path()), ["dump"]);
    }

    #[test]
    fn fails_cleanly_when_the_folder_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/state.bin");
        assert!(write_atomically(&path, b"x").is_err());
        assert!(entries(dir.path()).is_empty());
    }
}
