//! Cold storage: a tenant folder packed into one `archive/<tenant>.tar.zst`.
//!
//! Packing computes a CRC-32 of every file as it is read; the written
//! archive is then decompressed again and every entry's CRC compared, so an
//! archive is only reported good after it has been read back. The CRC of the
//! compressed file itself is returned for the catalog, and checked again
//! before a restore.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::storage::atomic::{sync_parent, AtomicFile};

/// zstd level: a good ratio at a speed close to disk bandwidth.
const LEVEL: i32 = 3;

/// Path of the archive of `tenant` under `archive_dir`.
pub(crate) fn archive_path(archive_dir: &Path, tenant: &str) -> PathBuf {
    archive_dir.join(format!("{tenant}.tar.zst"))
}

/// Reads `r` to the end, returning its CRC-32.
fn crc_of(mut r: impl Read) -> io::Result<u32> {
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}

/// Regular files of `dir` (flat: a tenant folder has no subfolders).
fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if dir.exists() {
        for e in fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn io_err<'a>(what: &str, path: &'a Path) -> impl Fn(io::Error) -> Error + 'a {
    let what = what.to_string();
    move |e| Error::io(format!("{what} {}", path.display()), e)
}

/// Packs `src` into `dest` (written under a temporary name, read back and
/// verified, then moved into place by [`AtomicFile`]). Returns the CRC-32 of `dest`.
///
/// `cancel` is checked before each file and before the rename; a cancelled
/// pack leaves no file (the temporary goes with `out`).
pub(crate) fn pack(src: &Path, dest: &Path, cancel: &CancelToken) -> Result<u32> {
    let out = AtomicFile::create(dest).map_err(io_err("cannot create", dest))?;
    let tmp = out.tmp_path();
    let mut expected = BTreeMap::new();
    {
        let enc = zstd::Encoder::new(BufWriter::new(out.file()), LEVEL)
            .map_err(io_err("cannot compress", tmp))?;
        let mut tar = tar::Builder::new(enc);
        for path in files(src).map_err(io_err("cannot list", src))? {
            cancel.check()?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let crc = crc_of(File::open(&path).map_err(io_err("cannot read", &path))?)
                .map_err(io_err("cannot read", &path))?;
            expected.insert(name.clone(), crc);
            tar.append_path_with_name(&path, &name)
                .map_err(io_err("cannot pack", &path))?;
        }
        let enc = tar.into_inner().map_err(io_err("cannot pack", tmp))?;
        let writer = enc.finish().map_err(io_err("cannot compress", tmp))?;
        writer
            .into_inner()
            .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e.error()))?;
    }
    let found = entry_crcs(tmp)?;
    if found != expected {
        return Err(Error::corrupt(
            tmp.display(),
            "archive read back does not match the tenant's files",
        ));
    }
    let crc = crc_of(File::open(tmp).map_err(io_err("cannot read", tmp))?)
        .map_err(io_err("cannot read", tmp))?;
    cancel.check()?;
    out.commit().map_err(io_err("cannot rename", dest))?;
    Ok(crc)
}

/// CRC-32 of every entry of the archive at `path`.
fn entry_crcs(path: &Path) -> Result<BTreeMap<String, u32>> {
    let file = File::open(path).map_err(io_err("cannot open", path))?;
    let dec = zstd::Decoder::new(BufReader::new(file)).map_err(io_err("cannot read", path))?;
    let mut tar = tar::Archive::new(dec);
    let mut out = BTreeMap::new();
    for entry in tar.entries().map_err(io_err("cannot read", path))? {
        let entry = entry.map_err(|e| Error::corrupt(path.display(), e))?;
        let name = entry
            .path()
            .map_err(|e| Error::corrupt(path.display(), e))?
            .to_string_lossy()
            .into_owned();
        let crc = crc_of(entry).map_err(|e| Error::corrupt(path.display(), e))?;
        out.insert(name, crc);
    }
    Ok(out)
}

/// Checks the archive's CRC against `crc`, then unpacks it into `dest`
/// (through a temporary folder renamed into place). `cancel` is checked
/// before each entry and before the rename; a cancelled or failed unpack
/// removes the temporary folder.
pub(crate) fn unpack(archive: &Path, crc: u32, dest: &Path, cancel: &CancelToken) -> Result<()> {
    let actual = crc_of(File::open(archive).map_err(io_err("cannot open", archive))?)
        .map_err(io_err("cannot read", archive))?;
    if actual != crc {
        return Err(Error::corrupt(
            archive.display(),
            format!("checksum {actual:08x} does not match the catalog's {crc:08x}"),
        ));
    }
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".restore-{name}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err("cannot clear", &tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err("cannot create", &tmp))?;
    let unpacked = unpack_into(archive, &tmp, cancel);
    if unpacked.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    unpacked?;
    if dest.exists() {
        fs::remove_dir_all(dest).map_err(io_err("cannot clear", dest))?;
    }
    fs::rename(&tmp, dest).map_err(io_err("cannot move", dest))?;
    sync_parent(dest).map_err(io_err("cannot sync the folder of", dest))
}

/// Unpacks `archive` into the folder `tmp` and syncs its files; checks
/// `cancel` before each entry and once all are written.
fn unpack_into(archive: &Path, tmp: &Path, cancel: &CancelToken) -> Result<()> {
    let file = File::open(archive).map_err(io_err("cannot open", archive))?;
    let dec = zstd::Decoder::new(BufReader::new(file)).map_err(io_err("cannot read", archive))?;
    let mut tar = tar::Archive::new(dec);
    for entry in tar.entries().map_err(io_err("cannot read", archive))? {
        cancel.check()?;
        let mut entry = entry.map_err(|e| Error::corrupt(archive.display(), e))?;
        // `unpack_in` refuses entries that would land outside `tmp`.
        let inside = entry
            .unpack_in(tmp)
            .map_err(|e| Error::corrupt(archive.display(), e))?;
        if !inside {
            return Err(Error::corrupt(
                archive.display(),
                "entry outside the tenant folder",
            ));
        }
    }
    for f in files(tmp).map_err(io_err("cannot list", tmp))? {
        File::open(&f)
            .and_then(|f| f.sync_all())
            .map_err(io_err("cannot sync", &f))?;
    }
    cancel.check()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_unpack_round_trip_and_corruption_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("a.redb"), vec![7u8; 100_000]).unwrap();
        fs::write(src.join("b.redb"), b"hello").unwrap();
        let dest = dir.path().join("t.tar.zst");
        let go = CancelToken::new();
        let crc = pack(&src, &dest, &go).unwrap();
        let out = dir.path().join("restored");
        unpack(&dest, crc, &out, &go).unwrap();
        assert_eq!(fs::read(out.join("b.redb")).unwrap(), b"hello");
        assert_eq!(fs::read(out.join("a.redb")).unwrap(), vec![7u8; 100_000]);
        let mut bytes = fs::read(&dest).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        fs::write(&dest, bytes).unwrap();
        let e = unpack(&dest, crc, &dir.path().join("again"), &go).unwrap_err();
        assert_eq!(e.kind(), &crate::error::ErrorKind::Corrupt);
        assert!(!dir.path().join("again").exists());
    }

    /// A cancelled pack or unpack leaves neither its result nor a temporary.
    #[test]
    fn a_cancelled_pack_or_unpack_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("a.redb"), b"data").unwrap();
        let dest = dir.path().join("t.tar.zst");
        let cancel = CancelToken::new();
        cancel.cancel();
        let e = pack(&src, &dest, &cancel).unwrap_err();
        assert_eq!(e.kind(), &crate::error::ErrorKind::Cancelled);
        let crc = pack(&src, &dest, &cancel).unwrap();
        cancel.cancel();
        let out = dir.path().join("restored");
        let e = unpack(&dest, crc, &out, &cancel).unwrap_err();
        assert_eq!(e.kind(), &crate::error::ErrorKind::Cancelled);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["t", "t.tar.zst"]);
    }
}
