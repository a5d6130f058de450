//! The sidecar header `<basename>.hnsw.meta`: what the hnsw_rs files hold
//! and how to recognise them intact.
//!
//! Layout (little-endian, 88 bytes): magic `PQLHNSW\0`; format version u32;
//! metric u8 (0 cosine, 1 l2, 2 dot); platform u8 (pointer width in bytes ·
//! 2 + 1 if big-endian: hnsw_rs files are in native byte order and `usize`);
//! 2 zero bytes; dim u32; m u32; ef_construction u32; 4 zero bytes; count
//! u64; graph file length u64 and checksum u64; data file length u64 and
//! checksum u64; then the checksum of the preceding 80 bytes.
//!
//! The version names the checksum:
//! - version 2 (written now): CRC-32, stored zero-extended in the u64 slots;
//!   the header's own CRC-32 is a u32 at byte 80, followed by 4 zero bytes.
//! - version 1 (read only, for existing data folders): the 64-bit
//!   [`Hasher64`]; the header's own hash is a u64 at byte 80.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::hash64::{bytes_hash, Hasher64};
use crate::error::{Error, Result};
use crate::index::{GraphParams, Metric};

const META_MAGIC: &[u8; 8] = b"PQLHNSW\0";
/// The version new headers are written in.
const VERSION_CRC32: u32 = 2;
/// The version of headers written before the move to CRC-32.
const VERSION_HASH64: u32 = 1;
/// Length of a header, in every version.
pub(super) const META_LEN: usize = 88;

/// The checksum a header's version uses, for the header and both files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checksum {
    /// CRC-32 (version 2, written now).
    Crc32,
    /// [`Hasher64`] (version 1, read only).
    Hash64,
}

impl Checksum {
    /// Length and checksum of a file's bytes.
    pub(super) fn of_file(self, path: &Path) -> io::Result<(u64, u64)> {
        let mut f = File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut sum = Summer::new(self);
        let mut total = 0u64;
        loop {
            // Fill the whole buffer (or reach EOF): [`Hasher64`] must be
            // given a multiple of its block size in all but the last call.
            let mut n = 0;
            while n < buf.len() {
                match f.read(&mut buf[n..]) {
                    Ok(0) => break,
                    Ok(m) => n += m,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            sum.update(&buf[..n]);
            total += n as u64;
            if n < buf.len() {
                break;
            }
        }
        Ok((total, sum.finish()))
    }

    /// Checksum of a byte slice.
    fn of_bytes(self, bytes: &[u8]) -> u64 {
        match self {
            Checksum::Crc32 => u64::from(crc32fast::hash(bytes)),
            Checksum::Hash64 => bytes_hash(bytes),
        }
    }
}

/// A running checksum of either kind.
enum Summer {
    Crc32(crc32fast::Hasher),
    Hash64(Hasher64),
}

impl Summer {
    fn new(kind: Checksum) -> Self {
        match kind {
            Checksum::Crc32 => Summer::Crc32(crc32fast::Hasher::new()),
            Checksum::Hash64 => Summer::Hash64(Hasher64::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Summer::Crc32(h) => h.update(bytes),
            Summer::Hash64(h) => h.update(bytes),
        }
    }

    fn finish(self) -> u64 {
        match self {
            Summer::Crc32(h) => u64::from(h.finalize()),
            Summer::Hash64(h) => h.finish(),
        }
    }
}

/// A decoded header (see the module's layout).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Meta {
    pub(super) metric: Metric,
    pub(super) dim: usize,
    pub(super) params: GraphParams,
    pub(super) count: u64,
    pub(super) graph_len: u64,
    pub(super) graph_sum: u64,
    pub(super) data_len: u64,
    pub(super) data_sum: u64,
    /// The checksum `graph_sum` and `data_sum` were made with.
    pub(super) checksum: Checksum,
}

/// Pointer width and byte order of this build (see the module's layout).
fn platform_tag() -> u8 {
    (std::mem::size_of::<usize>() as u8) * 2 + u8::from(cfg!(target_endian = "big"))
}

fn metric_code(m: Metric) -> u8 {
    match m {
        Metric::Cosine => 0,
        Metric::L2 => 1,
        Metric::Dot => 2,
    }
}

impl Meta {
    /// The header in the version of its [`Meta::checksum`].
    pub(super) fn encode(&self) -> [u8; META_LEN] {
        let mut b = [0u8; META_LEN];
        b[0..8].copy_from_slice(META_MAGIC);
        let version = match self.checksum {
            Checksum::Crc32 => VERSION_CRC32,
            Checksum::Hash64 => VERSION_HASH64,
        };
        b[8..12].copy_from_slice(&version.to_le_bytes());
        b[12] = metric_code(self.metric);
        b[13] = platform_tag();
        b[16..20].copy_from_slice(&(self.dim as u32).to_le_bytes());
        b[20..24].copy_from_slice(&(self.params.m as u32).to_le_bytes());
        b[24..28].copy_from_slice(&(self.params.ef_construction as u32).to_le_bytes());
        b[32..40].copy_from_slice(&self.count.to_le_bytes());
        b[40..48].copy_from_slice(&self.graph_len.to_le_bytes());
        b[48..56].copy_from_slice(&self.graph_sum.to_le_bytes());
        b[56..64].copy_from_slice(&self.data_len.to_le_bytes());
        b[64..72].copy_from_slice(&self.data_sum.to_le_bytes());
        let sum = self.checksum.of_bytes(&b[..80]);
        b[80..88].copy_from_slice(&sum.to_le_bytes());
        b
    }

    /// Decodes and checks a header of either version.
    pub(super) fn decode(b: &[u8]) -> std::result::Result<Meta, String> {
        if b.len() != META_LEN || &b[0..8] != META_MAGIC {
            return Err("not a PQL HNSW header".into());
        }
        let checksum = match read_u32(b, 8) {
            VERSION_CRC32 => Checksum::Crc32,
            VERSION_HASH64 => Checksum::Hash64,
            other => return Err(format!("unknown format version {other}")),
        };
        // A CRC-32 fills the low half of the u64 slot; the high half is zero.
        if read_u64(b, 80) != checksum.of_bytes(&b[..80]) {
            return Err("header checksum mismatch".into());
        }
        if b[13] != platform_tag() {
            return Err("written on a platform of another word size or byte order".into());
        }
        let metric = match b[12] {
            0 => Metric::Cosine,
            1 => Metric::L2,
            2 => Metric::Dot,
            other => return Err(format!("unknown metric code {other}")),
        };
        Ok(Meta {
            metric,
            dim: read_u32(b, 16) as usize,
            params: GraphParams {
                m: read_u32(b, 20) as usize,
                ef_construction: read_u32(b, 24) as usize,
            },
            count: read_u64(b, 32),
            graph_len: read_u64(b, 40),
            graph_sum: read_u64(b, 48),
            data_len: read_u64(b, 56),
            data_sum: read_u64(b, 64),
            checksum,
        })
    }

    /// Reads and checks a header file: `Io` if unreadable, `Corrupt` if
    /// damaged.
    pub(super) fn read(path: &Path) -> Result<Meta> {
        let mut bytes = Vec::with_capacity(META_LEN);
        File::open(path)
            .and_then(|f| f.take(META_LEN as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io(path.display(), e))?;
        Meta::decode(&bytes).map_err(|e| Error::corrupt(path.display(), e))
    }
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(checksum: Checksum) -> Meta {
        Meta {
            metric: Metric::Dot,
            dim: 48,
            params: GraphParams {
                m: 10,
                ef_construction: 40,
            },
            count: 12345,
            graph_len: 1,
            graph_sum: 2,
            data_len: 3,
            data_sum: 4,
            checksum,
        }
    }

    #[test]
    fn both_versions_round_trip_and_every_damaged_byte_is_refused() {
        for (checksum, version) in [(Checksum::Crc32, 2u32), (Checksum::Hash64, 1)] {
            let m = meta(checksum);
            let bytes = m.encode();
            assert_eq!(read_u32(&bytes, 8), version);
            assert_eq!(Meta::decode(&bytes).unwrap(), m);
            for i in 0..META_LEN {
                let mut b = bytes;
                b[i] ^= 1;
                assert!(Meta::decode(&b).is_err(), "{checksum:?} byte {i}");
            }
            assert!(Meta::decode(&bytes[..META_LEN - 1]).is_err());
        }
    }

    #[test]
    fn new_headers_use_crc32() {
        let bytes = meta(Checksum::Crc32).encode();
        assert_eq!(read_u32(&bytes, 8), VERSION_CRC32);
        assert_eq!(
            read_u64(&bytes, 80),
            u64::from(crc32fast::hash(&bytes[..80]))
        );
    }

    #[test]
    fn file_checksums_match_the_slice_checksums() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // Past one read buffer, and not a multiple of 32 bytes.
        let bytes: Vec<u8> = (0..(1 << 20) + 77).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        for kind in [Checksum::Crc32, Checksum::Hash64] {
            assert_eq!(
                kind.of_file(&path).unwrap(),
                (bytes.len() as u64, kind.of_bytes(&bytes))
            );
        }
    }
}
