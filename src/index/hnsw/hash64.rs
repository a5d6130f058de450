//! The 64-bit hash of version-1 `.hnsw.meta` headers, kept only so that
//! data folders written before headers moved to CRC-32 (version 2) keep
//! opening. Nothing new is hashed with it.

/// A fast non-cryptographic 64-bit hash (the xxHash64 round function over
/// four lanes), to detect truncated, torn or damaged files — not tampering.
/// Every `update` but the last must be given a multiple of 32 bytes.
pub(super) struct Hasher64 {
    lanes: [u64; 4],
    tail: Vec<u8>,
    total: u64,
}

const P1: u64 = 0x9E37_79B1_85EB_CA87;
const P2: u64 = 0xC2B2_AE3D_27D4_EB4F;
const P3: u64 = 0x1656_67B1_9E37_79F9;

impl Hasher64 {
    /// An empty hash.
    pub(super) fn new() -> Self {
        Hasher64 {
            lanes: [P1.wrapping_add(P2), P2, 0, 0u64.wrapping_sub(P1)],
            tail: Vec::new(),
            total: 0,
        }
    }

    #[inline(always)]
    fn round(acc: u64, word: u64) -> u64 {
        acc.wrapping_add(word.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }

    /// Adds `bytes` (a multiple of 32 bytes unless it is the last call).
    pub(super) fn update(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let mut blocks = bytes.chunks_exact(32);
        for block in &mut blocks {
            for (lane, word) in self.lanes.iter_mut().zip(block.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                *lane = Self::round(*lane, u64::from_le_bytes(w));
            }
        }
        self.tail.extend_from_slice(blocks.remainder());
    }

    /// The hash of everything added.
    pub(super) fn finish(&self) -> u64 {
        let mut h = self.lanes[0]
            .rotate_left(1)
            .wrapping_add(self.lanes[1].rotate_left(7))
            .wrapping_add(self.lanes[2].rotate_left(12))
            .wrapping_add(self.lanes[3].rotate_left(18));
        h = h.wrapping_add(self.total);
        for chunk in self.tail.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            h ^= Self::round(0, u64::from_le_bytes(w));
            h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P3);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(P2);
        h ^= h >> 29;
        h = h.wrapping_mul(P3);
        h ^ (h >> 32)
    }
}

/// [`Hasher64`] of a byte slice.
pub(super) fn bytes_hash(bytes: &[u8]) -> u64 {
    let mut h = Hasher64::new();
    h.update(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_every_byte_and_on_the_length() {
        assert_ne!(bytes_hash(b"abc"), bytes_hash(b"abd"));
        assert_ne!(bytes_hash(&[0u8; 40]), bytes_hash(&[0u8; 41]));
        let long: Vec<u8> = (0..100u8).collect();
        let mut other = long.clone();
        other[3] ^= 0x80;
        assert_ne!(bytes_hash(&long), bytes_hash(&other));
    }
}
