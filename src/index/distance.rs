//! Distance kernels: the inner loops of the exact scan and of the graph index.
//!
//! The loops are written so that LLVM auto-vectorises them on any x86-64 or
//! aarch64 target without `unsafe` or `std::arch`: 16 values per step into 16
//! independent accumulators (four SSE or two AVX registers), which breaks the
//! add-latency chain that a single running sum would have, then a scalar tail.
//! Float addition is not associative, so results differ from a naive left fold
//! in the last bits; the tests bound that difference.
//!
//! All functions tolerate slices of different lengths (they use the common
//! prefix) so that a caller's dimension bug never panics in the hot path;
//! dimensions are checked where vectors enter the system.

// The executor that calls this layer is being written in another worktree;
// until it lands, some items here are only used by tests.
#![cfg_attr(not(test), allow(dead_code))]

use crate::index::Metric;

/// Values processed per step of the unrolled loops.
const LANES: usize = 16;

/// Inner product `Σ aᵢ·bᵢ` over the common prefix of `a` and `b`.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    reduce(&acc) + tail
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²` over the common prefix.
#[inline]
pub(crate) fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        tail += d * d;
    }
    reduce(&acc) + tail
}

/// Pairwise sum of the accumulators (a fixed tree, so it vectorises too).
#[inline(always)]
fn reduce(acc: &[f32; LANES]) -> f32 {
    let mut h = [0.0f32; LANES / 2];
    for i in 0..LANES / 2 {
        h[i] = acc[i] + acc[i + LANES / 2];
    }
    let mut q = [0.0f32; LANES / 4];
    for i in 0..LANES / 4 {
        q[i] = h[i] + h[i + LANES / 4];
    }
    (q[0] + q[2]) + (q[1] + q[3])
}

/// The distance between two vectors prepared for `metric`
/// ([`crate::index::vectors::prepare`]); smaller is nearer.
///
/// - [`Metric::Cosine`]: `max(0, 1 − a·b)` (both unit length, so `0..=2`;
///   the clamp absorbs rounding that makes a self-dot exceed 1).
/// - [`Metric::Dot`]: `−a·b` (may be negative).
/// - [`Metric::L2`]: `‖a − b‖`, the Euclidean distance (with the square root).
///
/// NaN in the input gives NaN; callers order NaN after every number.
#[inline]
pub(crate) fn distance(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::Cosine => cosine_from_dot(dot(a, b)),
        Metric::Dot => -dot(a, b),
        Metric::L2 => l2_squared(a, b).sqrt(),
    }
}

/// `max(0, 1 − dot)`, keeping NaN as NaN (unlike `f32::max`).
#[inline]
pub(crate) fn cosine_from_dot(dot: f32) -> f32 {
    let d = 1.0 - dot;
    if d < 0.0 {
        0.0
    } else {
        d
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
    }
}
