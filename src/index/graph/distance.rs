//! Distance kernels: dot product and squared L2, with the SIMD variant chosen
//! once at run time (AVX2+FMA on x86_64, NEON on aarch64, scalar otherwise).
//!
//! AVX-512 is not used: the benchmark machine has none to measure it on.

use crate::index::Metric;

/// A kernel over two equally long slices.
pub(crate) type KernelFn = fn(&[f32], &[f32]) -> f32;

/// The kernels one index uses, fixed at construction.
#[derive(Clone, Copy)]
pub(crate) struct Kernels {
    /// Inner product.
    pub(crate) dot: KernelFn,
    /// Negated inner product (the internal distance of cosine and dot).
    pub(crate) neg_dot: KernelFn,
    /// Squared Euclidean distance.
    pub(crate) l2sq: KernelFn,
    /// Which implementation was detected (for reports).
    #[cfg_attr(not(any(test, feature = "bench")), allow(dead_code))]
    pub(crate) name: &'static str,
}

impl Kernels {
    /// The fastest kernels this CPU supports.
    pub(crate) fn detect() -> Kernels {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Kernels {
                    dot: x86::dot,
                    neg_dot: x86::neg_dot,
                    l2sq: x86::l2sq,
                    name: "avx2+fma",
                };
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            return Kernels {
                dot: neon::dot,
                neg_dot: neon::neg_dot,
                l2sq: neon::l2sq,
                name: "neon",
            };
        }
        #[allow(unreachable_code)]
        Kernels::scalar()
    }

    /// The portable kernels (the reference in tests).
    pub(crate) fn scalar() -> Kernels {
        Kernels {
            dot: dot_scalar,
            neg_dot: |a, b| -dot_scalar(a, b),
            l2sq: l2sq_scalar,
            name: "scalar",
        }
    }

    /// The kernel computing the internal distance of `metric`: smaller is
    /// nearer. Cosine and dot both use `−dot` (cosine inputs are normalised,
    /// so `1 − cos` orders the same), L2 the squared distance.
    pub(crate) fn for_metric(&self, metric: Metric) -> KernelFn {
        match metric {
            Metric::Cosine | Metric::Dot => self.neg_dot,
            Metric::L2 => self.l2sq,
        }
    }

    /// The internal distance of `metric` (see [`Kernels::for_metric`]).
    #[inline]
    #[cfg(test)]
    pub(crate) fn dist(&self, metric: Metric, a: &[f32], b: &[f32]) -> f32 {
        (self.for_metric(metric))(a, b)
    }
}

/// `1 − dot` clamped to `[0, 2]` (rounding can push the dot of two unit
/// vectors just past ±1), keeping NaN as NaN for the caller to order last.
#[inline]
pub(crate) fn cosine_from_dot(dot: f32) -> f32 {
    // `clamp` keeps NaN.
    (1.0 - dot).clamp(0.0, 2.0)
}

/// Converts an internal distance to the one reported to callers: cosine as
/// `1 − cos`, dot as `−dot`, L2 as the Euclidean distance; NaN as +∞.
#[inline]
pub(crate) fn external(metric: Metric, d: f32) -> f32 {
    if d.is_nan() {
        return f32::INFINITY;
    }
    match metric {
        Metric::Cosine => cosine_from_dot(-d),
        Metric::Dot => d,
        Metric::L2 => d.max(0.0).sqrt(),
    }
}

/// Scalar inner product over the common length of `a` and `b`.
pub(crate) fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        s += x * y;
    }
    s
}

/// Scalar squared L2 distance over the common length of `a` and `b`.
pub(crate) fn l2sq_scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..4 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        let d = x - y;
        s += d * d;
    }
    s
}

/// Hints the CPU to start loading the cache lines of `data`.
#[inline(always)]
pub(crate) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = data.as_ptr().cast::<i8>();
        for off in (0..std::mem::size_of_val(data)).step_by(64) {
            // SAFETY: prefetch is a hint that never faults; the address lies
            // inside a live slice and SSE is part of the x86_64 baseline.
            #[allow(unsafe_code)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off));
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::*;

    /// AVX2+FMA inner product. Only handed out by `Kernels::detect` after
    /// runtime detection of both features.
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: `Kernels::detect` returns this function only when AVX2 and
        // FMA were detected at run time.
        unsafe { dot_impl(a, b) }
    }

    /// AVX2+FMA negated inner product; see [`dot`] for the contract.
    pub(super) fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `dot`.
        -unsafe { dot_impl(a, b) }
    }

    /// AVX2+FMA squared L2; see [`dot`] for the detection contract.
    pub(super) fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as in `dot`.
        unsafe { l2sq_impl(a, b) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(v, 1);
        let lo = _mm256_castps256_ps128(v);
        let s = _mm_add_ps(hi, lo);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is < n, the common length.
        while i + 16 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
                acc1,
            );
            i += 16;
        }
        if i + 8 <= n {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc0);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            s += *pa.add(i) * *pb.add(i);
            i += 1;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2sq_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc0 = _mm256_setzero_ps();
        let mut acc1 = _mm256_setzero_ps();
        let mut i = 0;
        // SAFETY (all loads): every offset read is < n, the common length.
        while i + 16 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let d1 = _mm256_sub_ps(
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            acc1 = _mm256_fmadd_ps(d1, d1, acc1);
            i += 16;
        }
        if i + 8 <= n {
            let d0 = _mm256_sub_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            acc0 = _mm256_fmadd_ps(d0, d0, acc0);
            i += 8;
        }
        let mut s = hsum(_mm256_add_ps(acc0, acc1));
        while i < n {
            let d = *pa.add(i) - *pb.add(i);
            s += d * d;
            i += 1;
        }
        s
    }
}

#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
mod neon {
    use std::arch::aarch64::*;

    /// NEON inner product (NEON is part of the aarch64 baseline).
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut i = 0;
        // SAFETY: NEON is always present on aarch64; loads stay below n.
        let mut s = unsafe {
            let mut acc = vdupq_n_f32(0.0);
            while i + 4 <= n {
                acc = vfmaq_f32(
                    acc,
                    vld1q_f32(a.as_ptr().add(i)),
                    vld1q_f32(b.as_ptr().add(i)),
                );
                i += 4;
            }
            vaddvq_f32(acc)
        };
        while i < n {
            s += a[i] * b[i];
            i += 1;
        }
        s
    }

    /// NEON negated inner product.
    pub(super) fn neg_dot(a: &[f32], b: &[f32]) -> f32 {
        -dot(a, b)
    }

    /// NEON squared L2.
    pub(super) fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut i = 0;
        // SAFETY: NEON is always present on aarch64; loads stay below n.
        let mut s = unsafe {
            let mut acc = vdupq_n_f32(0.0);
            while i + 4 <= n {
                let d = vsubq_f32(vld1q_f32(a.as_ptr().add(i)), vld1q_f32(b.as_ptr().add(i)));
                acc = vfmaq_f32(acc, d, d);
                i += 4;
            }
            vaddvq_f32(acc)
        };
        while i < n {
            let d = a[i] - b[i];
            s += d * d;
            i += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::graph::testutil::SplitMix;

    #[test]
    fn simd_matches_scalar_on_all_lengths() {
        let fast = Kernels::detect();
        let slow = Kernels::scalar();
        let mut rng = SplitMix(7);
        for len in 1..=130 {
            let a: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
            let b: Vec<f32> = (0..len).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
            // Compare against an f64 reference too, so both are checked.
            let exact_dot: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let exact_l2: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
                .sum();
            let tol = 1e-4 * len as f32;
            for k in [fast, slow] {
                let d = (k.dot)(&a, &b);
                let l = (k.l2sq)(&a, &b);
                assert_eq!((k.neg_dot)(&a, &b), -d);
                assert!(
                    (d - exact_dot as f32).abs() <= tol,
                    "{} dot len {len}",
                    k.name
                );
                assert!(
                    (l - exact_l2 as f32).abs() <= tol,
                    "{} l2 len {len}",
                    k.name
                );
            }
            // Unaligned starts exercise loadu.
            if len > 3 {
                let d1 = (fast.dot)(&a[1..], &b[3..]);
                let d2 = (slow.dot)(&a[1..], &b[3..]);
                assert!((d1 - d2).abs() <= tol, "offset dot len {len}");
            }
        }
    }
}
