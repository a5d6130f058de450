//! The `<basename>.graph` file: a 96-byte header, the store's arrays in their
//! in-memory layout (little-endian), and a CRC-32 of everything before it.
//!
//! ```text
//! header   magic "PQLGRAPH", version, metric, dim, stride, m, ef_construction,
//!          slots, count, entry, max_level, upper_len, deleted_count, seed
//! vectors  slots × stride f32        layer0   slots × (2m+1) u32
//! upper    upper_len u32             upper_off slots u32
//! deleted  ⌈slots/64⌉ u64            levels   slots u8
//! crc32    u32 over all of the above
//! ```
//! Loading reads each array straight into its vector, checks the CRC, then
//! checks the store's invariants, so a damaged file is refused rather than
//! answered from.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

use super::store::{advise_huge, stride_for, Lane, Rows, Store, ABSENT, LANE};
use super::{GraphIndex, MAX_LEVEL, NO_ENTRY};
use crate::error::{Error, ErrorKind, Result};
use crate::index::{GraphParams, Metric};
use crate::storage::atomic::AtomicFile;

const MAGIC: &[u8; 8] = b"PQLGRAPH";
/// Bump on any layout change; older files are refused (and rebuilt).
pub(crate) const VERSION: u32 = 1;
const HEADER: usize = 96;

fn corrupt(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Corrupt, format!("{}: {what}", path.display()))
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {e}", path.display()))
}

fn metric_code(m: Metric) -> u32 {
    match m {
        Metric::Cosine => 0,
        Metric::L2 => 1,
        Metric::Dot => 2,
    }
}

/// The file of `basename` in `dir`.
pub(crate) fn file_path(dir: &Path, basename: &str) -> std::path::PathBuf {
    dir.join(format!("{basename}.graph"))
}

/// Writes `idx` to `<dir>/<basename>.graph` via a temporary file, fsync and
/// rename, so a crash leaves the old file or the new one.
pub(crate) fn save(idx: &GraphIndex, dir: &Path, basename: &str) -> Result<()> {
    if cfg!(target_endian = "big") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "graph files are little-endian only",
        ));
    }
    let path = file_path(dir, basename);
    // Inserts wait while we write; searches go on.
    let st = idx.store.read_recursive();
    let (entry, max_level) = match idx.entry() {
        Some((e, l)) => (e, l as u32),
        None => (u32::MAX, 0),
    };
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    let words32 = [
        VERSION,
        metric_code(idx.metric),
        idx.dim as u32,
        st.stride as u32,
        st.m as u32,
        idx.params.ef_construction as u32,
    ];
    for (i, w) in words32.iter().enumerate() {
        h[8 + 4 * i..][..4].copy_from_slice(&w.to_le_bytes());
    }
    h[32..40].copy_from_slice(&(st.slots() as u64).to_le_bytes());
    h[40..48].copy_from_slice(&(idx.count.load(Relaxed) as u64).to_le_bytes());
    h[48..52].copy_from_slice(&entry.to_le_bytes());
    h[52..56].copy_from_slice(&max_level.to_le_bytes());
    h[56..64].copy_from_slice(&(st.upper.len() as u64).to_le_bytes());
    h[64..72].copy_from_slice(&(idx.deleted_count.load(Relaxed) as u64).to_le_bytes());
    h[72..80].copy_from_slice(&idx.seed.to_le_bytes());

    let out = AtomicFile::create(&path).map_err(|e| io_err(&path, e))?;
    let mut w = HashWriter {
        out: BufWriter::with_capacity(1 << 20, out.file()),
        crc: crc32fast::Hasher::new(),
    };
    let written = (|| -> std::io::Result<()> {
        w.put(&h)?;
        w.put(bytemuck::cast_slice(st.vectors.lanes()))?;
        w.put_atomics(&st.layer0)?;
        w.put_atomics(&st.upper)?;
        w.put(bytemuck::cast_slice(&st.upper_off))?;
        let del: Vec<u64> = st.deleted.iter().map(|a| a.load(Relaxed)).collect();
        w.put(bytemuck::cast_slice(&del))?;
        w.put(&st.levels)?;
        let crc = w.crc.clone().finalize();
        w.out.write_all(&crc.to_le_bytes())?;
        w.out.flush()
    })();
    drop(w);
    written
        .and_then(|()| out.commit())
        .map_err(|e| io_err(&path, e))
}

struct HashWriter<'a> {
    out: BufWriter<&'a File>,
    crc: crc32fast::Hasher,
}

impl HashWriter<'_> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.crc.update(b);
        self.out.write_all(b)
    }

    fn put_atomics(&mut self, a: &[AtomicU32]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(16 * 1024);
        for chunk in a.chunks(16 * 1024) {
            buf.clear();
            buf.extend(chunk.iter().map(|x| x.load(Relaxed)));
            self.put(bytemuck::cast_slice(&buf))?;
        }
        Ok(())
    }
}

/// Reads a file at explicit offsets, so two threads can read two parts of
/// it through one handle (`pread` on Unix).
struct At<'a> {
    file: &'a File,
    path: &'a Path,
    pos: u64,
}

impl At<'_> {
    /// Reads exactly `b.len()` bytes at the current position.
    fn read(&mut self, b: &mut [u8]) -> Result<()> {
        #[cfg(unix)]
        let res = std::os::unix::fs::FileExt::read_exact_at(self.file, b, self.pos);
        #[cfg(not(unix))]
        let res = {
            use std::io::{Seek, SeekFrom};
            let mut f = self.file;
            f.seek(SeekFrom::Start(self.pos))
                .and_then(|_| f.read_exact(b))
        };
        res.map_err(|e| corrupt(self.path, format!("short read: {e}")))?;
        self.pos += b.len() as u64;
        Ok(())
    }

    fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let mut v = vec![0u32; n];
        advise_huge(&mut v);
        self.read(bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }
}

fn le32(h: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
}

fn le64(h: &[u8], at: usize) -> u64 {
    (le32(h, at) as u64) | ((le32(h, at + 4) as u64) << 32)
}

/// Opens `<dir>/<basename>.graph`, checking that it was written for `metric`
/// and `dim`. Damaged, truncated or other-version files give `Corrupt`.
pub(crate) fn load(dir: &Path, basename: &str, metric: Metric, dim: usize) -> Result<GraphIndex> {
    if cfg!(target_endian = "big") {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "graph files are little-endian only",
        ));
    }
    let path = file_path(dir, basename);
    let file = File::open(&path).map_err(|e| io_err(&path, e))?;
    let file_len = file.metadata().map_err(|e| io_err(&path, e))?.len();
    let mut h = [0u8; HEADER];
    At {
        file: &file,
        path: &path,
        pos: 0,
    }
    .read(&mut h)?;
    if &h[..8] != MAGIC {
        return Err(corrupt(&path, "not a graph file"));
    }
    let version = le32(&h, 8);
    if version != VERSION {
        return Err(corrupt(
            &path,
            format!("format version {version}, expected {VERSION}"),
        ));
    }
    if le32(&h, 12) != metric_code(metric) || le32(&h, 16) as usize != dim {
        return Err(corrupt(&path, "written for another metric or dimension"));
    }
    let (stride, m) = (le32(&h, 20) as usize, le32(&h, 24) as usize);
    let ef_construction = le32(&h, 28) as usize;
    let (slots, count) = (le64(&h, 32), le64(&h, 40));
    let (entry, max_level) = (le32(&h, 48), le32(&h, 52) as usize);
    let (upper_len, deleted_count, seed) = (le64(&h, 56), le64(&h, 64), le64(&h, 72));
    if stride != stride_for(dim) || !(2..=128).contains(&m) || max_level > MAX_LEVEL {
        return Err(corrupt(&path, "bad header"));
    }
    // Sizes are checked against the file length before anything is
    // allocated, so a damaged header cannot ask for more than the file holds.
    let size = {
        let s = slots as u128;
        let words = s * stride as u128 * 4
            + s * (2 * m as u128 + 1) * 4
            + upper_len as u128 * 4
            + s * 4
            + s.div_ceil(64) * 8
            + s;
        HEADER as u128 + words + 4
    };
    if size != file_len as u128 || slots > u32::MAX as u64 {
        return Err(corrupt(&path, "length does not match header (truncated?)"));
    }
    let slots = slots as usize;
    // The vectors (most of the file) are mapped, not read: no copy and no
    // anonymous page faults. On one thread they are hashed; on the other the
    // links are read, hashed and checked.
    let vec_lanes = slots * stride / LANE;
    let rest_at = (HEADER + vec_lanes * std::mem::size_of::<Lane>()) as u64;
    let entry = (count > 0).then_some((entry, max_level));
    let (vectors, rest) = rayon::join(
        || -> Result<(Rows, crc32fast::Hasher)> {
            let rows = match Rows::map(&file, HEADER, vec_lanes) {
                Some(rows) => rows,
                None => {
                    let mut v: Vec<Lane> = bytemuck::zeroed_vec(vec_lanes);
                    advise_huge(&mut v);
                    let mut r = At {
                        file: &file,
                        path: &path,
                        pos: HEADER as u64,
                    };
                    r.read(bytemuck::cast_slice_mut(&mut v))?;
                    Rows::from(v)
                }
            };
            let mut c = crc32fast::Hasher::new();
            c.update(bytemuck::cast_slice(rows.lanes()));
            Ok((rows, c))
        },
        || -> Result<_> {
            let mut r = At {
                file: &file,
                path: &path,
                pos: rest_at,
            };
            let layer0 = r.u32s(slots * (2 * m + 1))?;
            let upper = r.u32s(upper_len as usize)?;
            let upper_off = r.u32s(slots)?;
            let mut deleted = vec![0u64; slots.div_ceil(64)];
            r.read(bytemuck::cast_slice_mut(&mut deleted))?;
            let mut levels = vec![0u8; slots];
            r.read(&mut levels)?;
            let mut tail = [0u8; 4];
            r.read(&mut tail)?;
            let mut c = crc32fast::Hasher::new();
            c.update(bytemuck::cast_slice(&layer0));
            c.update(bytemuck::cast_slice(&upper));
            c.update(bytemuck::cast_slice(&upper_off));
            c.update(bytemuck::cast_slice(&deleted));
            c.update(&levels);
            let checked = check(&levels, &layer0, &upper, &upper_off, m, count, entry);
            Ok((layer0, upper, upper_off, deleted, levels, tail, c, checked))
        },
    );
    let (vectors, crc_vectors) = vectors?;
    let (layer0, upper, upper_off, deleted, levels, tail, crc_rest, checked) = rest?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h);
    crc.combine(&crc_vectors);
    crc.combine(&crc_rest);
    if crc.finalize() != u32::from_le_bytes(tail) {
        return Err(corrupt(&path, "checksum mismatch"));
    }
    checked.map_err(|what| corrupt(&path, what))?;
    let store = Store {
        stride,
        m,
        vectors,
        levels,
        layer0: layer0.into_iter().map(AtomicU32::new).collect(),
        upper_off,
        upper: upper.into_iter().map(AtomicU32::new).collect(),
        deleted: deleted.into_iter().map(AtomicU64::new).collect(),
        locks: std::iter::repeat_with(|| Mutex::new(()))
            .take(slots)
            .collect(),
    };
    let params = GraphParams { m, ef_construction };
    let idx = GraphIndex::from_parts(metric, dim, params, seed, store);
    idx.count.store(count as usize, Relaxed);
    idx.deleted_count.store(deleted_count as usize, Relaxed);
    match entry {
        Some((e, l)) => idx.set_entry(e, l),
        None => idx.entry.store(NO_ENTRY, Relaxed),
    }
    Ok(idx)
}

/// Checks the store invariants (see `store.rs`) on loaded arrays.
fn check(
    levels: &[u8],
    layer0: &[u32],
    upper: &[u32],
    upper_off: &[u32],
    m: usize,
    count: u64,
    entry: Option<(u32, usize)>,
) -> std::result::Result<(), &'static str> {
    let slots = levels.len();
    let ok_id = |id: u32, min_level: usize| {
        levels
            .get(id as usize)
            .is_some_and(|&l| l != ABSENT && l as usize >= min_level)
    };
    let block_ok = |b: &[u32], layer: usize| {
        let n = b[0] as usize;
        n < b.len() && b[1..=n].iter().all(|&id| ok_id(id, layer))
    };
    let mut present = 0u64;
    for (id, (&level, l0)) in levels
        .iter()
        .zip(layer0.chunks_exact(2 * m + 1))
        .enumerate()
    {
        if level == ABSENT {
            if l0[0] != 0 {
                return Err("absent slot with links");
            }
            continue;
        }
        present += 1;
        // Layer 0 is most of the file: only bounds are checked here (cheap,
        // vectorisable); the CRC already vouches for the rest.
        let n = l0[0] as usize;
        if level as usize > MAX_LEVEL
            || n >= l0.len()
            || l0[1..=n].iter().any(|&x| x as usize >= slots)
        {
            return Err("bad layer-0 links");
        }
        let start = upper_off[id] as usize;
        let words = level as usize * (m + 1);
        let Some(blocks) = upper.get(start..start.saturating_add(words)) else {
            return Err("upper links out of range");
        };
        for (i, b) in blocks.chunks_exact(m + 1).enumerate() {
            if !block_ok(b, i + 1) {
                return Err("bad upper links");
            }
        }
    }
    if present != count {
        return Err("node count does not match header");
    }
    if let Some((e, l)) = entry {
        if !ok_id(e, l) || levels.get(e as usize).map(|&x| x as usize) != Some(l) {
            return Err("bad entry point");
        }
    }
    Ok(())
}
