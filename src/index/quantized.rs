//! Scalar quantisation to one byte per dimension (also the ranges of the
//! scan codes, `index/codes.rs`), and the approximate scan over such codes
//! that picks the candidates of a cold query (the quick object of an
//! offloaded collection, `storage/object/quick.rs`). The
//! candidates are then re-ranked on their exact vectors, so the codes only
//! have to keep the true nearest among the candidates, never give a
//! distance anyone sees.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::index::Metric;

/// Rows scored per rayon task.
const ROWS_PER_TASK: usize = 4096;

/// Per-dimension range: value `x` of dimension `d` is coded as
/// `round((x − lo[d]) / scale[d])`, in `0..=255` (or fewer levels, see
/// [`Quantizer::fit_levels`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Quantizer {
    pub(crate) lo: Vec<f32>,
    pub(crate) scale: Vec<f32>,
}

impl Quantizer {
    /// The ranges of `vectors` (each of `dim` values, all finite), coded
    /// over `0..=255`.
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn fit<'a>(dim: usize, vectors: impl Iterator<Item = &'a [f32]>) -> Quantizer {
        Quantizer::fit_levels(dim, vectors, 255.0)
    }

    /// The ranges of `vectors`, coded over `0..=levels` (`levels` ≤ 255).
    pub(crate) fn fit_levels<'a>(
        dim: usize,
        vectors: impl Iterator<Item = &'a [f32]>,
        levels: f32,
    ) -> Quantizer {
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for v in vectors {
            for ((l, h), x) in lo.iter_mut().zip(&mut hi).zip(v) {
                *l = l.min(*x);
                *h = h.max(*x);
            }
        }
        let scale = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| if h > l { (h - l) / levels } else { 0.0 })
            .collect();
        let lo = lo
            .into_iter()
            .map(|l| if l.is_finite() { l } else { 0.0 })
            .collect();
        Quantizer { lo, scale }
    }

    /// The number of dimensions.
    pub(crate) fn dim(&self) -> usize {
        self.lo.len()
    }

    /// Appends the codes of `v` to `out`.
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn encode(&self, v: &[f32], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.dim(), 0);
        self.encode_into(v, &mut out[start..], 255.0);
    }

    /// Writes the codes of `v` into `out` (one per dimension), clamped to
    /// `0..=top`: a value past the fitted range gets the code of its end.
    pub(crate) fn encode_into(&self, v: &[f32], out: &mut [u8], top: f32) {
        for (((o, x), l), s) in out.iter_mut().zip(v).zip(&self.lo).zip(&self.scale) {
            *o = if *s > 0.0 {
                ((x - l) / s).round().clamp(0.0, top) as u8
            } else {
                0
            };
        }
    }

    /// Whether every range is finite and no scale is negative (a damaged
    /// or hostile object could hold anything).
    pub(crate) fn is_sane(&self) -> bool {
        self.lo.len() == self.scale.len()
            && self.lo.iter().all(|l| l.is_finite())
            && self.scale.iter().all(|s| s.is_finite() && *s >= 0.0)
    }

    /// The rows of `codes` (`dim` bytes each) whose approximate distances
    /// to `query` (prepared for `metric`) are the `m` smallest, in row
    /// order. `sq_norms` holds each row's exact squared length, used for
    /// L2. Approximate: `query · x` is computed on the decoded codes, so
    /// ranks near the cut may differ from the exact ones; callers take
    /// several times the rows they need and re-rank them exactly.
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    pub(crate) fn nearest_rows(
        &self,
        codes: &[u8],
        sq_norms: &[f32],
        metric: Metric,
        query: &[f32],
        m: usize,
    ) -> Vec<u32> {
        let dim = self.dim();
        if dim == 0 || m == 0 {
            return Vec::new();
        }
        // query · x ≈ Σ q·lo + Σ (q·scale)·code
        let base: f32 = query.iter().zip(&self.lo).map(|(q, l)| q * l).sum();
        let weights: Vec<f32> = query.iter().zip(&self.scale).map(|(q, s)| q * s).collect();
        let rows = codes.len() / dim;
        let mut scores = vec![0f32; rows];
        scores
            .par_chunks_mut(ROWS_PER_TASK)
            .enumerate()
            .for_each(|(task, out)| {
                let first = task * ROWS_PER_TASK;
                for (i, score) in out.iter_mut().enumerate() {
                    let row = first + i;
                    let dot = base + weighted_sum(&codes[row * dim..(row + 1) * dim], &weights);
                    *score = match metric {
                        Metric::Cosine | Metric::Dot => -dot,
                        Metric::L2 => sq_norms.get(row).copied().unwrap_or(0.0) - 2.0 * dot,
                    };
                }
            });
        let mut order: Vec<u32> = (0..rows as u32).collect();
        if m < rows {
            order.select_nth_unstable_by(m - 1, |a, b| {
                scores[*a as usize].total_cmp(&scores[*b as usize])
            });
            order.truncate(m);
        }
        order.sort_unstable();
        order
    }
}

/// `Σ code[i] · w[i]`, with eight partial sums so the compiler vectorises it.
#[inline]
fn weighted_sum(codes: &[u8], w: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (c8, w8) = (codes.chunks_exact(8), w.chunks_exact(8));
    let (c_rest, w_rest) = (c8.remainder(), w8.remainder());
    for (c, w) in c8.zip(w8) {
        for j in 0..8 {
            acc[j] += f32::from(c[j]) * w[j];
        }
    }
    let tail: f32 = c_rest
        .iter()
        .zip(w_rest)
        .map(|(c, w)| f32::from(*c) * w)
        .sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::distance::distance;
    use crate::index::vectors::prepare;
    use crate::test_rng::uniform;

    #[test]
    fn the_true_nearest_are_among_the_candidates() {
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            let (n, dim) = (3000, 48);
            let mut seed = 7;
            let vectors: Vec<Vec<f32>> = (0..n)
                .map(|_| {
                    let mut v: Vec<f32> = (0..dim).map(|_| uniform(&mut seed)).collect();
                    prepare(metric, &mut v);
                    v
                })
                .collect();
            let q = Quantizer::fit(dim, vectors.iter().map(Vec::as_slice));
            let mut codes = Vec::new();
            for v in &vectors {
                q.encode(v, &mut codes);
            }
            let norms: Vec<f32> = vectors
                .iter()
                .map(|v| v.iter().map(|x| x * x).sum())
                .collect();
            for _ in 0..20 {
                let mut query: Vec<f32> = (0..dim).map(|_| uniform(&mut seed)).collect();
                prepare(metric, &mut query);
                let mut exact: Vec<(f32, u32)> = vectors
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (distance(metric, &query, v), i as u32))
                    .collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                let rows = q.nearest_rows(&codes, &norms, metric, &query, 100);
                assert_eq!(rows.len(), 100);
                assert!(rows.windows(2).all(|w| w[0] < w[1]));
                for (_, i) in &exact[..10] {
                    assert!(rows.contains(i), "{metric:?}: row {i} missed");
                }
            }
        }
    }

    #[test]
    fn a_constant_dimension_and_an_empty_input_are_safe() {
        let q = Quantizer::fit(2, [[1.0, 5.0], [2.0, 5.0]].iter().map(|v| &v[..]));
        assert_eq!(q.scale[1], 0.0);
        let mut codes = Vec::new();
        q.encode(&[1.5, 5.0], &mut codes);
        assert_eq!(codes[1], 0);
        assert!(q.is_sane());
        assert!(q
            .nearest_rows(&[], &[], Metric::L2, &[1.0, 1.0], 5)
            .is_empty());
        let empty = Quantizer::fit(3, std::iter::empty());
        assert!(empty.is_sane());
    }
}
