//! Distances as callers see them (`distance`, per metric), over the one set
//! of kernels the crate has: `graph::distance::Kernels`, with the SIMD
//! variant (AVX2+FMA, NEON, or scalar) detected once per process. The exact
//! scan, the hnsw_rs wrapper and the graph index therefore all compute the
//! same numbers with the same code.
//!
//! All functions tolerate slices of different lengths (they use the common
//! prefix) so that a caller's dimension bug never panics in the hot path;
//! dimensions are checked where vectors enter the system.

use std::sync::OnceLock;

pub(crate) use crate::index::graph::distance::cosine_from_dot;
use crate::index::graph::distance::Kernels;
use crate::index::Metric;

/// The kernels of this CPU, detected on first use.
#[inline]
fn kernels() -> &'static Kernels {
    static KERNELS: OnceLock<Kernels> = OnceLock::new();
    KERNELS.get_or_init(Kernels::detect)
}

/// The common prefix of `a` and `b` (the kernels want equal lengths).
#[inline]
fn common<'a>(a: &'a [f32], b: &'a [f32]) -> (&'a [f32], &'a [f32]) {
    let n = a.len().min(b.len());
    (&a[..n], &b[..n])
}

/// Inner product `Σ aᵢ·bᵢ` over the common prefix of `a` and `b`.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = common(a, b);
    (kernels().dot)(a, b)
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²` over the common prefix.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let (a, b) = common(a, b);
    (kernels().l2sq)(a, b)
}

/// The distance between two vectors prepared for `metric`
/// ([`crate::index::vectors::prepare`]); smaller is nearer.
///
/// - [`Metric::Cosine`]: `1 − a·b` clamped to `0..=2` (both unit length;
///   the clamp absorbs rounding that makes a dot exceed ±1).
/// - [`Metric::Dot`]: `−a·b` (may be negative).
/// - [`Metric::L2`]: `‖a − b‖`, the Euclidean distance (with the square root).
///
/// NaN in the input gives NaN; callers order NaN after every number.
///
/// The definition the index docs refer to and the reference the tests
/// compare against; the search paths compute the same from [`dot`] /
/// [`l2_squared`] directly.
#[cfg_attr(not(test), allow(dead_code))]
#[inline]
pub(crate) fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Cosine => cosine_from_dot(dot(a, b)),
        Metric::Dot => -dot(a, b),
        Metric::L2 => l2_squared(a, b).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::uniform;

    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
    }

    fn naive_l2sq(a: &[f32], b: &[f32]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum()
    }

    #[test]
    fn kernels_match_naive_on_all_lengths() {
        let mut s = 42u64;
        for n in 1..=130usize {
            for _ in 0..5 {
                let a: Vec<f32> = (0..n).map(|_| uniform(&mut s) * 3.0).collect();
                let b: Vec<f32> = (0..n).map(|_| uniform(&mut s) * 3.0).collect();
                // Tolerance scaled by the sum of |terms|: the bound of any
                // summation order in f32.
                let mag: f64 = a.iter().zip(&b).map(|(x, y)| (x * y).abs() as f64).sum();
                let tol = 1e-5 * (mag + 1.0);
                let d = dot(&a, &b) as f64;
                assert!((d - naive_dot(&a, &b)).abs() <= tol, "dot n={n}");
                let l = l2_squared(&a, &b) as f64;
                let want = naive_l2sq(&a, &b);
                assert!((l - want).abs() <= 1e-5 * (want + 1.0), "l2 n={n}");
                let e = distance(Metric::L2, &a, &b) as f64;
                assert!((e - want.sqrt()).abs() <= 1e-4 * (want.sqrt() + 1.0));
                let m = distance(Metric::Dot, &a, &b) as f64;
                assert!((m + naive_dot(&a, &b)).abs() <= tol);
            }
        }
    }

    #[test]
    fn cosine_of_unit_vectors() {
        let mut s = 7u64;
        for n in 1..=130usize {
            let mut a: Vec<f32> = (0..n).map(|_| uniform(&mut s)).collect();
            let mut b: Vec<f32> = (0..n).map(|_| uniform(&mut s)).collect();
            crate::index::vectors::prepare(Metric::Cosine, &mut a);
            crate::index::vectors::prepare(Metric::Cosine, &mut b);
            let want = (1.0 - naive_dot(&a, &b)).max(0.0);
            let got = distance(Metric::Cosine, &a, &b) as f64;
            assert!((got - want).abs() < 1e-5, "n={n} {got} {want}");
            // Self-distance never goes negative, however the rounding falls.
            let own = distance(Metric::Cosine, &a, &a);
            assert!((0.0..1e-5).contains(&own), "n={n} {own}");
        }
    }

    #[test]
    fn edge_cases() {
        assert_eq!(dot(&[], &[]), 0.0);
        assert_eq!(l2_squared(&[1.0], &[]), 0.0);
        // Different lengths use the common prefix instead of panicking.
        assert_eq!(dot(&[1.0, 2.0, 3.0], &[1.0, 1.0]), 3.0);
        assert!(distance(Metric::Cosine, &[f32::NAN], &[1.0]).is_nan());
        assert_eq!(cosine_from_dot(1.0000002), 0.0);
        assert_eq!(cosine_from_dot(-1.0000002), 2.0);
        assert!(cosine_from_dot(f32::NAN).is_nan());
    }
}
