//! The quick object of an offloaded collection (`<collection>.quick`,
//! uploaded beside its `.redb` file, never downloaded by an onload): what a
//! cold `SIMILAR TO` query reads instead of waiting for the whole tenant
//! (docs/object-storage.md, "The quick path").
//!
//! ```text
//! 0      "PQLQCK01"
//! 8      codes_len      u64 LE   (rows × dim)
//! 16     header_offset  u64 LE
//! 24     header_len     u64 LE
//! 32     codes          one byte per dimension per row (index::quantized)
//! ..     rows           per row, postcard (id, attributes, exact vector)
//! header_offset         postcard QuickHeader, then its CRC-32 (u32 LE)
//! ```
//!
//! Rows are the collection's nodes that have a vector, in internal id
//! order. The object's own CRC-32 is in the manifest like any object's, but
//! the quick path reads it in ranges, so each part carries a CRC-32 of its
//! own: the header's after it, the codes' and every row's in the header. A
//! mismatch, or a header that does not fit the object, is `Corrupt`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::collection::meta::CollectionMeta;
use crate::error::{Error, Result};
use crate::index::quantized::Quantizer;
use crate::index::vectors::VectorStore;
use crate::storage::codec;
use crate::storage::collection::CollectionStore;
use crate::storage::record::Attrs;

const MAGIC: &[u8; 8] = b"PQLQCK01";
/// Bytes before the codes.
pub(crate) const PREFIX_LEN: u64 = 32;

/// The file name of collection `collection`'s quick object.
pub(crate) fn file_for(collection: &str) -> String {
    format!("{collection}.quick")
}

/// Whether `file` (a snapshot's file name) is a quick object.
pub(crate) fn is_quick(file: &str) -> bool {
    file.ends_with(".quick")
}

/// Where the parts of a quick object are (its first [`PREFIX_LEN`] bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Prefix {
    pub(crate) codes_len: u64,
    pub(crate) header_offset: u64,
    pub(crate) header_len: u64,
}

impl Prefix {
    /// The bytes of the codes.
    pub(crate) fn codes(&self) -> Range<u64> {
        PREFIX_LEN..PREFIX_LEN + self.codes_len
    }

    /// The bytes of the header and its CRC-32.
    pub(crate) fn header(&self) -> Range<u64> {
        self.header_offset..self.header_offset + self.header_len + 4
    }

    /// Reads the prefix of an object of `size` bytes; `what` names it.
    pub(crate) fn parse(bytes: &[u8], size: u64, what: &str) -> Result<Prefix> {
        let damaged = |why: &str| Error::corrupt(what, why);
        if bytes.len() != PREFIX_LEN as usize || &bytes[..8] != MAGIC {
            return Err(damaged("not a quick object"));
        }
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i..i + 8]);
            u64::from_le_bytes(b)
        };
        let prefix = Prefix {
            codes_len: word(8),
            header_offset: word(16),
            header_len: word(24),
        };
        let fits = PREFIX_LEN
            .checked_add(prefix.codes_len)
            .is_some_and(|end| end <= prefix.header_offset)
            && prefix
                .header_offset
                .checked_add(prefix.header_len)
                .and_then(|end| end.checked_add(4))
                .is_some_and(|end| end == size);
        if !fits {
            return Err(damaged("its parts do not fit its size"));
        }
        Ok(prefix)
    }
}

/// What the quick path needs before it reads any row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct QuickHeader {
    /// The collection's settings (metric, dimension, vector field, ...).
    pub(crate) meta: CollectionMeta,
    pub(crate) quantizer: Quantizer,
    /// Each row's internal id, increasing.
    pub(crate) iids: Vec<u32>,
    /// Each row's exact squared length (for L2).
    pub(crate) sq_norms: Vec<f32>,
    pub(crate) codes_crc32: u32,
    /// Where each row ends (row `i` starts where row `i − 1` ends, row 0
    /// right after the codes).
    pub(crate) row_ends: Vec<u64>,
    pub(crate) row_crc32: Vec<u32>,
}

/// A row as read back.
#[derive(Debug, Deserialize)]
pub(crate) struct QuickRow {
    pub(crate) id: String,
    pub(crate) attrs: Attrs,
    pub(crate) vector: Vec<f32>,
}

/// A row as written.
#[derive(Serialize)]
struct QuickRowRef<'a> {
    id: &'a str,
    attrs: &'a Attrs,
    vector: &'a [f32],
}

impl QuickHeader {
    /// Decodes and checks the header of an object whose prefix is
    /// `prefix`: `bytes` are the header and its CRC-32.
    pub(crate) fn parse(bytes: &[u8], prefix: &Prefix, what: &str) -> Result<QuickHeader> {
        let damaged = |why: &str| Error::corrupt(what, why);
        let Some(split) = bytes.len().checked_sub(4) else {
            return Err(damaged("its header is cut short"));
        };
        let (body, crc) = bytes.split_at(split);
        let mut want = [0u8; 4];
        want.copy_from_slice(crc);
        if crc32fast::hash(body) != u32::from_le_bytes(want) {
            return Err(damaged("its header fails its checksum"));
        }
        let h: QuickHeader = codec::decode(body, what)?;
        let n = h.iids.len();
        let dim = h.quantizer.dim();
        let sound = dim > 0
            && h.meta.dimension == Some(dim)
            && h.quantizer.is_sane()
            && h.sq_norms.len() == n
            && h.row_ends.len() == n
            && h.row_crc32.len() == n
            && (n as u64).checked_mul(dim as u64) == Some(prefix.codes_len)
            && h.iids.windows(2).all(|w| w[0] < w[1])
            && h.row_ends.windows(2).all(|w| w[0] <= w[1])
            && h.row_ends
                .first()
                .is_none_or(|first| *first >= prefix.codes().end)
            && h.row_ends.last().is_none_or(|l| *l <= prefix.header_offset);
        if !sound {
            return Err(damaged("its header does not match its contents"));
        }
        Ok(h)
    }

    /// The bytes of row `row`.
    pub(crate) fn row_range(&self, row: usize, prefix: &Prefix) -> Range<u64> {
        let start = match row {
            0 => prefix.codes().end,
            r => self.row_ends[r - 1],
        };
        start..self.row_ends[row]
    }

    /// Checks the codes read from the object against their CRC-32.
    pub(crate) fn check_codes(&self, codes: &[u8], what: &str) -> Result<()> {
        if crc32fast::hash(codes) != self.codes_crc32 {
            return Err(Error::corrupt(what, "its codes fail their checksum"));
        }
        Ok(())
    }

    /// Decodes row `row` from its bytes, checking its CRC-32 and vector length.
    pub(crate) fn row(&self, row: usize, bytes: &[u8], what: &str) -> Result<QuickRow> {
        let damaged = |why: String| Error::corrupt(what, why);
        if crc32fast::hash(bytes) != self.row_crc32[row] {
            return Err(damaged(format!("row {row} fails its checksum")));
        }
        let r: QuickRow = codec::decode(bytes, what)?;
        if r.vector.len() != self.quantizer.dim() {
            return Err(damaged(format!(
                "row {row} has a vector of the wrong length"
            )));
        }
        Ok(r)
    }
}

/// Writes the quick object of the collection file `redb` into `out_dir`,
/// if the collection has vectors (any index: a cold answer from it is the
/// exact top k, which is what a `flat` collection answers loaded, and at
/// least as close as a graph search). Returns the file name written.
pub(crate) fn write(redb: &Path, out_dir: &Path) -> Result<Option<String>> {
    let (store, meta) = CollectionStore::open::<CollectionMeta>(redb)?;
    let Some(dim) = meta.dimension else {
        return Ok(None);
    };
    let loaded = store.load::<VectorStore>(Some(dim))?;
    drop(store);
    let Some(vectors) = loaded.vectors else {
        return Ok(None);
    };
    let nodes: Vec<_> = loaded
        .nodes
        .iter()
        .filter(|n| loaded.with_vector.contains(n.iid))
        .collect();
    if nodes.is_empty() {
        return Ok(None);
    }
    let quantizer = Quantizer::fit(dim, nodes.iter().map(|n| vectors.get(n.iid)));
    let mut codes = Vec::with_capacity(nodes.len() * dim);
    for n in &nodes {
        quantizer.encode(vectors.get(n.iid), &mut codes);
    }
    let name = file_for(&meta.name);
    let path = out_dir.join(&name);
    let fail = |e: std::io::Error| Error::io(format!("cannot write {}", path.display()), e);
    let mut file = BufWriter::new(File::create(&path).map_err(fail)?);
    // The prefix is written last, when the header's place is known.
    file.write_all(&[0u8; PREFIX_LEN as usize]).map_err(fail)?;
    file.write_all(&codes).map_err(fail)?;
    let mut at = PREFIX_LEN + codes.len() as u64;
    let (mut row_ends, mut row_crc32) = (Vec::new(), Vec::new());
    for n in &nodes {
        let bytes = codec::encode(&QuickRowRef {
            id: &n.id,
            attrs: &n.attrs,
            vector: vectors.get(n.iid),
        })?;
        file.write_all(&bytes).map_err(fail)?;
        at += bytes.len() as u64;
        row_ends.push(at);
        row_crc32.push(crc32fast::hash(&bytes));
    }
    let header = QuickHeader {
        sq_norms: nodes
            .iter()
            .map(|n| vectors.get(n.iid).iter().map(|x| x * x).sum())
            .collect(),
        iids: nodes.iter().map(|n| n.iid).collect(),
        codes_crc32: crc32fast::hash(&codes),
        quantizer,
        meta,
        row_ends,
        row_crc32,
    };
    let header = codec::encode(&header)?;
    file.write_all(&header).map_err(fail)?;
    file.write_all(&crc32fast::hash(&header).to_le_bytes())
        .map_err(fail)?;
    let mut prefix = Vec::with_capacity(PREFIX_LEN as usize);
    prefix.extend_from_slice(MAGIC);
    prefix.extend_from_slice(&(codes.len() as u64).to_le_bytes());
    prefix.extend_from_slice(&at.to_le_bytes());
    prefix.extend_from_slice(&(header.len() as u64).to_le_bytes());
    let mut file = file.into_inner().map_err(|e| fail(e.into_error()))?;
    std::os::unix::fs::FileExt::write_all_at(&file, &prefix, 0).map_err(fail)?;
    file.flush().map_err(fail)?;
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::meta::IndexKind;
    use crate::error::ErrorKind;
    use crate::storage::collection::{StoredNode, WriteBatch};

    /// A flat collection file of `n` nodes of dimension 4 (every third one
    /// without a vector) in `dir`, with `index`.
    fn collection(dir: &Path, n: u32, index: IndexKind) -> std::path::PathBuf {
        let mut meta = CollectionMeta::new("c", &[], 0).unwrap();
        meta.dimension = Some(4);
        meta.index = index;
        meta.next_iid = n;
        let path = dir.join("c.redb");
        let mut store = CollectionStore::create(&path, &meta).unwrap();
        let batch = WriteBatch {
            put_nodes: (0..n)
                .map(|iid| StoredNode {
                    iid,
                    id: format!("n{iid}"),
                    attrs: Attrs::default(),
                })
                .collect(),
            put_vectors: (0..n)
                .filter(|iid| iid % 3 != 1)
                .map(|iid| (iid, vec![iid as f32, 1.0, -(iid as f32), 0.5]))
                .collect(),
            ..WriteBatch::default()
        };
        store.commit(&batch, &meta).unwrap();
        path
    }

    fn corrupt<T: std::fmt::Debug>(r: Result<T>) {
        assert_eq!(r.unwrap_err().kind(), &ErrorKind::Corrupt);
    }

    #[test]
    fn a_written_object_reads_back_and_every_damaged_part_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let redb = collection(dir.path(), 30, IndexKind::Flat);
        assert_eq!(
            write(&redb, out.path()).unwrap().as_deref(),
            Some("c.quick")
        );
        let bytes = std::fs::read(out.path().join("c.quick")).unwrap();
        let size = bytes.len() as u64;
        let part = |r: Range<u64>| bytes[r.start as usize..r.end as usize].to_vec();
        let prefix = Prefix::parse(&part(0..PREFIX_LEN), size, "q").unwrap();
        let header = QuickHeader::parse(&part(prefix.header()), &prefix, "q").unwrap();
        header.check_codes(&part(prefix.codes()), "q").unwrap();
        assert_eq!(header.iids.len(), 20);
        assert_eq!(header.iids[..3], [0, 2, 3]);
        let row = header
            .row(1, &part(header.row_range(1, &prefix)), "q")
            .unwrap();
        assert_eq!((row.id.as_str(), row.vector[0]), ("n2", 2.0));

        let flipped = |mut b: Vec<u8>, i: usize| {
            b[i] ^= 1;
            b
        };
        corrupt(Prefix::parse(&flipped(part(0..PREFIX_LEN), 2), size, "q"));
        corrupt(Prefix::parse(&part(0..PREFIX_LEN), size + 1, "q"));
        corrupt(Prefix::parse(&part(0..8), size, "q"));
        let h = part(prefix.header());
        corrupt(QuickHeader::parse(
            &flipped(h.clone(), h.len() / 2),
            &prefix,
            "q",
        ));
        corrupt(QuickHeader::parse(&h[..2], &prefix, "q"));
        corrupt(header.check_codes(&flipped(part(prefix.codes()), 5), "q"));
        let r = part(header.row_range(1, &prefix));
        corrupt(header.row(1, &flipped(r.clone(), 3), "q"));
        corrupt(header.row(2, &r, "q"));
    }

    #[test]
    fn collections_with_vectors_get_one_whatever_their_index() {
        for index in [IndexKind::Auto, IndexKind::Graph, IndexKind::Flat] {
            let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            assert_eq!(
                write(&collection(dir.path(), 5, index), out.path()).unwrap(),
                Some("c.quick".to_string()),
                "{index:?}"
            );
        }
        let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert_eq!(
            write(&collection(dir.path(), 0, IndexKind::Flat), out.path()).unwrap(),
            None
        );
        assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
    }
}
