//! Dense storage of a collection's vectors, and their preparation for a
//! metric.
//!
//! All vectors of a collection live in ONE contiguous `Vec<f32>`: slot `id`
//! (the internal `u32` id) occupies `data[id·dim .. (id+1)·dim]`. One
//! allocation instead of one per vector keeps the exact scan cache-friendly
//! and the memory overhead at zero bytes per vector.

// The executor that calls this layer is being written in another worktree;
// until it lands, most items here are only used by tests.
#![cfg_attr(not(test), allow(dead_code))]

use crate::error::{Error, ErrorKind, Result};
use crate::index::Metric;
use crate::storage::collection::VectorSink;

/// All vectors of one collection, of one fixed dimension, addressed by
/// internal id (the slot number).
///
/// Slots that were never written read as zero vectors; the store grows to the
/// highest id written.
#[derive(Debug, Clone)]
pub(crate) struct VectorStore {
    /// Number of `f32` per vector.
    dim: usize,
    /// Number of slots (the highest written id + 1).
    len: usize,
    /// `len · dim` values, slot after slot.
    data: Vec<f32>,
    /// `dim` zeros, returned for ids past the end.
    zeros: Box<[f32]>,
}

impl VectorStore {
    /// An empty store of vectors of `dim` values each.
    pub(crate) fn new(dim: usize) -> Self {
        VectorStore {
            dim,
            len: 0,
            data: Vec::new(),
            zeros: vec![0.0; dim].into_boxed_slice(),
        }
    }

    /// Makes room for `slots` slots in all, so that filling them in order
    /// allocates once (and no more than needed).
    pub(crate) fn reserve(&mut self, slots: usize) {
        self.data
            .reserve_exact((slots * self.dim).saturating_sub(self.data.len()));
    }

    /// Writes `vector` into slot `id`, growing the store (with zero vectors)
    /// as needed.
    ///
    /// Fails with `DimensionMismatch` when `vector.len() != self.dim()`, and
    /// leaves the store unchanged.
    pub(crate) fn set(&mut self, id: u32, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dim {
            return Err(Error::new(
                ErrorKind::DimensionMismatch,
                format!(
                    "vector has {} dimensions, the collection has {}",
                    vector.len(),
                    self.dim
                ),
            ));
        }
        let slot = id as usize;
        if slot >= self.len {
            self.len = slot + 1;
            // `resize` grows the allocation geometrically, so appending ids in
            // order is amortised O(dim) per vector.
            self.data.resize(self.len * self.dim, 0.0);
        }
        let start = slot * self.dim;
        self.data[start..start + self.dim].copy_from_slice(vector);
        Ok(())
    }

    /// The vector in slot `id`: zeros if it was never written or lies past
    /// the end.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> &[f32] {
        let slot = id as usize;
        if slot < self.len {
            let start = slot * self.dim;
            &self.data[start..start + self.dim]
        } else {
            &self.zeros
        }
    }

    /// Number of `f32` values per vector.
    #[inline]
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Number of slots: the highest id written + 1 (unwritten slots below it
    /// included).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `true` when no slot was ever written.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held (allocated capacity, not just the used part).
    pub(crate) fn memory_bytes(&self) -> usize {
        (self.data.capacity() + self.zeros.len()) * std::mem::size_of::<f32>()
    }
}

impl VectorSink for VectorStore {
    fn with_dim(dim: usize) -> Self {
        VectorStore::new(dim)
    }

    fn reserve(&mut self, slots: usize) {
        VectorStore::reserve(self, slots);
    }

    fn set(&mut self, iid: u32, vector: &[f32]) -> Result<()> {
        VectorStore::set(self, iid, vector)
    }
}

/// Prepares `vector` in place for `metric`: scales it to unit length for
/// [`Metric::Cosine`] (a zero vector stays zero); leaves it unchanged for
/// [`Metric::L2`] and [`Metric::Dot`].
///
/// Both stored vectors and queries must be prepared before they reach
/// [`crate::index::distance::distance`], the exact scan or a graph index.
///
/// The norm is computed in `f64`: the squared norm of a finite `f32` vector
/// (at most 65,536 components of at most `f32::MAX`) always fits there,
/// whereas in `f32` it overflows to ∞ from components near `1.8e19` or
/// underflows to 0 below `1e-19`, which would leave such a vector
/// unnormalised and its cosine distances out of `[0, 2]`.
pub(crate) fn prepare(metric: Metric, vector: &mut [f32]) {
    if metric != Metric::Cosine {
        return;
    }
    let norm_sq: f64 = vector.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    if norm_sq > 0.0 && norm_sq.is_finite() {
        let norm = norm_sq.sqrt();
        for x in vector.iter_mut() {
            *x = (f64::from(*x) / norm) as f32;
        }
    }
}

/// [`prepare`] on a copy of `vector`.
pub(crate) fn prepared(metric: Metric, vector: &[f32]) -> Vec<f32> {
    let mut v = vector.to_vec();
    prepare(metric, &mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_grow_and_zero_slots() {
        let mut s = VectorStore::new(3);
        assert_eq!(s.len(), 0);
        assert!(s.is_empty());
        assert_eq!(s.get(0), &[0.0, 0.0, 0.0]);
        s.set(2, &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.dim(), 3);
        assert_eq!(s.get(0), &[0.0, 0.0, 0.0]);
        assert_eq!(s.get(1), &[0.0, 0.0, 0.0]);
        assert_eq!(s.get(2), &[1.0, 2.0, 3.0]);
        assert_eq!(s.get(99), &[0.0, 0.0, 0.0]);
        s.set(0, &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(s.get(0), &[4.0, 5.0, 6.0]);
        assert_eq!(s.get(2), &[1.0, 2.0, 3.0]);
        assert_eq!(s.len(), 3);
        assert!(s.memory_bytes() >= 9 * 4);
    }

    #[test]
    fn set_with_wrong_dimension_is_an_error() {
        let mut s = VectorStore::new(3);
        let e = s.set(0, &[1.0, 2.0]).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::DimensionMismatch);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn prepare_normalises_cosine_only() {
        let mut v = vec![3.0, 4.0];
        prepare(Metric::Cosine, &mut v);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut z = vec![0.0; 4];
        prepare(Metric::Cosine, &mut z);
        assert_eq!(z, vec![0.0; 4]);
        assert_eq!(prepared(Metric::L2, &[3.0, 4.0]), vec![3.0, 4.0]);
        assert_eq!(prepared(Metric::Dot, &[3.0, 4.0]), vec![3.0, 4.0]);
    }
}
