//! The flat arrays a graph lives in. Their layout is also the file layout
//! (`persist.rs`), so loading is a read per array.
//!
//! Invariants (kept by `insert` and checked by `load`):
//! - a slot is present iff `levels[id] != ABSENT`; an absent slot has no
//!   links and no node links to it;
//! - a layer-0 block is `[count, id × 2m]`, an upper block `[count, id × m]`,
//!   `count` never above the block's capacity and every id a present slot;
//! - a present node of level `l > 0` owns `l` upper blocks starting at
//!   `upper_off[id]`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use parking_lot::Mutex;

pub(crate) use super::rows::Rows;

/// Level marker of a slot that holds no vector.
pub(crate) const ABSENT: u8 = u8::MAX;
/// Floats per [`Lane`]; row strides are a multiple of it.
pub(crate) const LANE: usize = 8;

/// Eight floats aligned to 32 bytes, so that every row starts on an AVX2
/// boundary and never straddles more cache lines than it must.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
#[repr(C, align(32))]
pub(crate) struct Lane(pub(crate) [f32; LANE]);

// SAFETY: `Lane` is `repr(C)` over `[f32; 8]`: 32 bytes, alignment 32, no
// padding, and every bit pattern is a valid value.
#[allow(unsafe_code)]
unsafe impl bytemuck::Zeroable for Lane {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl bytemuck::Pod for Lane {}

/// Asks the kernel to back `v` with transparent huge pages (Linux): faults
/// on first touch become 2 MiB instead of 4 KiB (a 146 MB file loads in about
/// half the time) and random graph walks miss the TLB less. Call it before
/// the memory is first written. A no-op elsewhere or for small slices.
pub(crate) fn advise_huge<T>(v: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        let len = std::mem::size_of_val(v);
        if len < 4 << 20 {
            return;
        }
        let p = v.as_mut_ptr() as usize;
        let start = (p + 4095) & !4095;
        let end = (p + len) & !4095;
        if end > start {
            // SAFETY: [start, end) is page-aligned and lies inside the live
            // allocation behind `v`; MADV_HUGEPAGE changes only how the kernel
            // backs the range, never its contents or validity.
            #[allow(unsafe_code)]
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// Floats per stored row for dimension `dim` (rounded up to whole lanes).
pub(crate) fn stride_for(dim: usize) -> usize {
    dim.div_ceil(LANE) * LANE
}

/// Vectors, levels and links of every slot.
pub(crate) struct Store {
    /// Floats per row (a multiple of [`LANE`]); padding floats are zero.
    pub(crate) stride: usize,
    /// Upper-layer capacity; layer 0 holds `2m`.
    pub(crate) m: usize,
    /// Rows, `stride / LANE` lanes per slot.
    pub(crate) vectors: Rows,
    /// Top layer of each slot, or [`ABSENT`].
    pub(crate) levels: Vec<u8>,
    /// Layer-0 blocks, `2m + 1` words per slot.
    pub(crate) layer0: Vec<AtomicU32>,
    /// Start of each slot's upper blocks in `upper` (0 when level is 0).
    pub(crate) upper_off: Vec<u32>,
    /// Upper blocks, `m + 1` words each.
    pub(crate) upper: Vec<AtomicU32>,
    /// Tombstone bits, one per slot.
    pub(crate) deleted: Vec<AtomicU64>,
    /// One lock per slot, held while its link lists are rewritten.
    pub(crate) locks: Vec<Mutex<()>>,
}

impl Store {
    /// An empty store with room reserved for `capacity` slots.
    pub(crate) fn new(dim: usize, m: usize, capacity: usize) -> Store {
        let stride = stride_for(dim);
        let mut vectors = Vec::with_capacity(capacity * stride / LANE);
        advise_huge(vectors.spare_capacity_mut());
        let mut layer0 = Vec::with_capacity(capacity * (2 * m + 1));
        advise_huge(layer0.spare_capacity_mut());
        Store {
            stride,
            m,
            vectors: Rows::from(vectors),
            levels: Vec::with_capacity(capacity),
            layer0,
            upper_off: Vec::with_capacity(capacity),
            upper: Vec::new(),
            deleted: Vec::with_capacity(capacity.div_ceil(64)),
            locks: Vec::with_capacity(capacity),
        }
    }

    /// Number of slots (present or not).
    #[inline]
    pub(crate) fn slots(&self) -> usize {
        self.levels.len()
    }

    /// Words per layer-0 block.
    #[inline]
    pub(crate) fn l0_words(&self) -> usize {
        2 * self.m + 1
    }

    /// Grows to at least `slots` slots; new slots are absent.
    pub(crate) fn grow(&mut self, slots: usize) {
        if slots <= self.slots() {
            return;
        }
        let lanes = self.stride / LANE;
        self.vectors.owned().resize(slots * lanes, Lane::default());
        self.levels.resize(slots, ABSENT);
        let words = slots * self.l0_words();
        self.layer0.resize_with(words, || AtomicU32::new(0));
        self.upper_off.resize(slots, 0);
        self.deleted
            .resize_with(slots.div_ceil(64), || AtomicU64::new(0));
        self.locks.resize_with(slots, || Mutex::new(()));
    }

    /// Stores `v` in the absent slot `id` with top layer `level`. The caller
    /// has grown the store and checked that the slot is absent.
    pub(crate) fn place(&mut self, id: u32, v: &[f32], level: u8) {
        let id = id as usize;
        let lanes = self.stride / LANE;
        let row: &mut [f32] =
            bytemuck::cast_slice_mut(&mut self.vectors.owned()[id * lanes..][..lanes]);
        row[..v.len()].copy_from_slice(v);
        row[v.len()..].fill(0.0);
        self.levels[id] = level;
        if level > 0 {
            // Offsets are u32; `insert` refuses to grow past that.
            self.upper_off[id] = self.upper.len() as u32;
            let words = level as usize * (self.m + 1);
            let new_len = self.upper.len() + words;
            self.upper.resize_with(new_len, || AtomicU32::new(0));
        }
    }

    /// All rows as one slice.
    #[inline]
    pub(crate) fn flat(&self) -> &[f32] {
        bytemuck::cast_slice(self.vectors.lanes())
    }

    /// The block (count word first) of `id` on `layer`.
    #[inline]
    pub(crate) fn block(&self, id: u32, layer: usize) -> &[AtomicU32] {
        if layer == 0 {
            let w = self.l0_words();
            &self.layer0[id as usize * w..][..w]
        } else {
            let w = self.m + 1;
            let start = self.upper_off[id as usize] as usize + (layer - 1) * w;
            &self.upper[start..][..w]
        }
    }

    /// Whether `id` carries a tombstone.
    #[inline]
    pub(crate) fn is_deleted(&self, id: u32) -> bool {
        let w = self.deleted[id as usize / 64].load(Relaxed);
        w & (1u64 << (id % 64)) != 0
    }

    /// Whether `id` holds a vector.
    #[inline]
    pub(crate) fn present(&self, id: u32) -> bool {
        self.levels.get(id as usize).is_some_and(|&l| l != ABSENT)
    }

    /// Heap bytes held, by capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.vectors.bytes()
            + self.levels.capacity()
            + self.layer0.capacity() * 4
            + self.upper_off.capacity() * 4
            + self.upper.capacity() * 4
            + self.deleted.capacity() * 8
            + self.locks.capacity() * size_of::<Mutex<()>>()
    }
}

/// Reads the ids of a block: the count (clamped to capacity) then the ids.
/// Writers may be rewriting the block; every word read is still a present
/// id, so a torn read only yields a slightly stale list.
#[inline]
pub(crate) fn read_links(block: &[AtomicU32], out: &mut Vec<u32>) {
    out.clear();
    let n = (block[0].load(Relaxed) as usize).min(block.len() - 1);
    out.extend(block[1..=n].iter().map(|a| a.load(Relaxed)));
}

/// Overwrites a block with `ids` (at most its capacity). Hold the slot lock.
#[inline]
pub(crate) fn write_links(block: &[AtomicU32], ids: &[u32]) {
    let n = ids.len().min(block.len() - 1);
    for (slot, &id) in block[1..=n].iter().zip(ids) {
        slot.store(id, Relaxed);
    }
    block[0].store(n as u32, Relaxed);
}
