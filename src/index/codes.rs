//! Scan codes: a one-byte-per-dimension copy of a collection's vectors, read
//! by scans of many scattered ids (a filter matching thousands of nodes).
//!
//! Such a scan is bound by memory, not arithmetic: the matches are spread
//! over the vector store, so every vector costs its own cache lines, and a
//! core keeps only about a dozen lines in flight. A 50-d `f32` vector spans
//! four lines; its code here spans one (rows are whole cache lines, the
//! squared length kept in the last four bytes). The codes pick the `m` best
//! candidates, which the caller re-ranks on their exact vectors, so the
//! distances anyone sees are exact and only the choice of candidates is
//! approximate (measured on GloVe-50: [`rerank_count`] candidates keep
//! every true top-10 neighbour; BENCHMARKS.md, issue 15).
//!
//! Codes are 7-bit (`0..=127`) and the query's weights are rounded to `i8`,
//! so that AVX2's `maddubs` (u8 × i8, pairs summed into `i16`) cannot
//! saturate: `2 × 127 × 127 < 32,767`. The integer score is then the same
//! with the AVX2 kernel and the scalar one.

mod packs;

use std::sync::OnceLock;

use parking_lot::Mutex;
use rayon::prelude::*;
use roaring::RoaringBitmap;

use crate::index::flat::{visit_prefetched, TopK, PARALLEL_CHUNK, PARALLEL_SCAN_MIN};
use crate::index::graph::distance::prefetch;
use crate::index::graph::store::advise_huge;
use crate::index::quantized::Quantizer;
use crate::index::vectors::VectorStore;
use crate::index::Metric;

/// Code levels: 7 bits (see the module doc).
const LEVELS: f32 = 127.0;

/// Bytes the kernel reads at a time (one AVX2 register).
const BLOCK: usize = 32;

/// One cache line of codes. Rows are whole lines, aligned to lines, so that
/// a 50-d row costs one line, not the two an unaligned one straddles.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; LINE]);

/// Bytes per [`Line`].
const LINE: usize = 64;

// SAFETY: `Line` is `repr(C)` over `[u8; 64]`: 64 bytes, alignment 64, no
// padding, and every bit pattern is a valid value.
#[allow(unsafe_code)]
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl bytemuck::Pod for Line {}

/// The codes are rebuilt (fitted again) once the store has grown past this
/// multiple of the slots they were fitted on, so that ranges drawn from a
/// small first batch do not clamp most later vectors.
const REFIT_GROWTH: usize = 2;

/// How many candidates the codes hand to the exact re-rank for `k` results.
pub(crate) fn rerank_count(k: usize) -> usize {
    (8 * k).max(100)
}

/// A code per vector slot, fitted to the vectors present when built.
pub(crate) struct ScanCodes {
    quantizer: Quantizer,
    /// Bytes per row, whole lines: the codes, zero padding, and the
    /// vector's squared length (`f32`, little-endian) in the last four.
    stride: usize,
    /// Rows, slot after slot.
    rows: Vec<Line>,
    /// Slots of the store when the ranges were fitted.
    fitted_slots: usize,
    /// Contiguous copies of the rows of id sets scanned again.
    packs: Mutex<packs::Packs>,
}

impl ScanCodes {
    /// Codes for every slot of `store`, with ranges fitted to it.
    pub(crate) fn build(store: &VectorStore) -> ScanCodes {
        let dim = store.dim();
        let slots = store.len();
        let quantizer = Quantizer::fit_levels(dim, (0..slots as u32).map(|i| store.get(i)), LEVELS);
        let stride = (dim + 4).div_ceil(LINE) * LINE;
        let lines = stride / LINE;
        let mut rows = Vec::with_capacity(slots * lines);
        advise_huge(rows.spare_capacity_mut());
        rows.resize(slots * lines, Line([0; LINE]));
        rows.par_chunks_mut(lines).enumerate().for_each(|(i, row)| {
            write_row(
                &quantizer,
                store.get(i as u32),
                bytemuck::cast_slice_mut(row),
            );
        });
        ScanCodes {
            quantizer,
            stride,
            rows,
            fitted_slots: slots,
            packs: Mutex::default(),
        }
    }

    /// Writes the code of `vector` (prepared, of the fitted dimension) into
    /// slot `id`, growing the rows with zero rows as needed.
    pub(crate) fn set(&mut self, id: u32, vector: &[f32]) {
        let lines = self.stride / LINE;
        let first = id as usize * lines;
        // Internal ids are never reused, so a write only adds rows and the
        // packs stay true; a row overwritten all the same drops them.
        if first + lines <= self.rows.len() {
            self.packs.get_mut().clear();
        }
        if self.rows.len() < first + lines {
            self.rows.resize(first + lines, Line([0; LINE]));
        }
        let row = bytemuck::cast_slice_mut(&mut self.rows[first..first + lines]);
        write_row(&self.quantizer, vector, row);
    }

    /// Whether `slots` (the store's length now) has outgrown the fit.
    pub(crate) fn is_stale(&self, slots: usize) -> bool {
        slots > REFIT_GROWTH * self.fitted_slots.max(1024)
    }

    /// Heap bytes held, packs included.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.rows.capacity() * LINE + self.quantizer.dim() * 8 + self.packs.lock().bytes()
    }

    /// The `m` ids of `ids` whose approximate distances to `query`
    /// (prepared for `metric`) are the smallest, in no particular order.
    /// Ids without a row are skipped. The second scan of the same set packs
    /// its rows, and later ones read the pack (`packs.rs`). `None` when the
    /// codes cannot rank for this query: ranges or weights that overflow
    /// `f32` (vectors near `f32::MAX`); the caller then scans the exact
    /// vectors.
    pub(crate) fn nearest(
        &self,
        metric: Metric,
        query: &[f32],
        m: usize,
        ids: &RoaringBitmap,
    ) -> Option<Vec<u32>> {
        let dim = self.quantizer.dim();
        if m == 0 || query.len() != dim {
            return Some(Vec::new());
        }
        if !self.quantizer.is_sane() {
            return None;
        }
        let q = QueryWeights::new(&self.quantizer, query, self.stride)?;
        let rows = self.rows.len() * LINE / self.stride;
        // The packs may take as much memory as the codes.
        let budget = self.rows.len() * LINE;
        let found = self.packs.lock().find(ids);
        let pack = match found {
            packs::Found::Packed(pack) => Some(pack),
            // A set whose pack would exceed the budget would be copied for
            // this one scan and never kept: it is scanned where it lies.
            packs::Found::Again if packs::bytes_for(ids, self.stride) <= budget => {
                let pack = packs::pack(&self.rows, self.stride / LINE, ids);
                self.packs.lock().insert(pack.clone(), budget);
                Some(pack)
            }
            packs::Found::Again | packs::Found::New => None,
        };
        let best = if let Some(pack) = pack {
            pack.scan(m, self.stride, |ids, rows, best| {
                self.score_run(metric, &q, ids, rows, best)
            })
        } else if ids.len() as usize >= PARALLEL_SCAN_MIN && rayon::current_num_threads() > 1 {
            let all: Vec<u32> = ids.iter().collect();
            all.par_chunks(PARALLEL_CHUNK)
                .map(|chunk| self.scan(metric, &q, m, rows, chunk.iter().copied()))
                .reduce(|| TopK::new(m), TopK::merge)
        } else {
            self.scan(metric, &q, m, rows, ids.iter())
        };
        Some(best.into_ids())
    }

    fn row(&self, id: u32) -> &[u8] {
        let lines = self.stride / LINE;
        let first = id as usize * lines;
        bytemuck::cast_slice(&self.rows[first..first + lines])
    }

    fn scan(
        &self,
        metric: Metric,
        q: &QueryWeights,
        m: usize,
        rows: usize,
        ids: impl Iterator<Item = u32>,
    ) -> TopK {
        let score = kernel();
        let mut best = TopK::new(m);
        visit_prefetched(
            ids,
            rows,
            |id| prefetch(self.row(id)),
            |id| best.offer(id, self.key_with(score, metric, q, self.row(id))),
        );
        best
    }

    /// Offers `ids` to `best` at the distances their contiguous `rows`
    /// give for `q`, four rows to a kernel call.
    fn score_run(
        &self,
        metric: Metric,
        q: &QueryWeights,
        ids: &[u32],
        rows: &[u8],
        best: &mut TopK,
    ) {
        let (score, score4) = (kernel(), kernel4());
        let stride = self.stride;
        let mut quads = ids.chunks_exact(4);
        for (i, quad) in quads.by_ref().enumerate() {
            let block = &rows[i * 4 * stride..(i + 1) * 4 * stride];
            let dots = score4(block, stride, &q.weights);
            for (j, (&id, dot)) in quad.iter().zip(dots).enumerate() {
                let row = &block[j * stride..(j + 1) * stride];
                best.offer(id, self.key_of(metric, dot as f32 * q.unit, row));
            }
        }
        let done = ids.len() / 4 * 4;
        for (j, &id) in quads.remainder().iter().enumerate() {
            let row = &rows[(done + j) * stride..(done + j + 1) * stride];
            best.offer(id, self.key_with(score, metric, q, row));
        }
    }

    /// The approximate distance of a row whose scaled dot product with
    /// the query is `dot`.
    #[inline(always)]
    fn key_of(&self, metric: Metric, dot: f32, row: &[u8]) -> f32 {
        match metric {
            Metric::Cosine | Metric::Dot => -dot,
            Metric::L2 => {
                let mut sq = [0u8; 4];
                sq.copy_from_slice(&row[self.stride - 4..]);
                f32::from_le_bytes(sq) - 2.0 * dot
            }
        }
    }

    /// The approximate distance the code `row` gives for `q`, scored by
    /// `score`.
    #[inline(always)]
    fn key_with(&self, score: Kernel, metric: Metric, q: &QueryWeights, row: &[u8]) -> f32 {
        self.key_of(metric, score(row, &q.weights) as f32 * q.unit, row)
    }
}

/// Writes the row of `vector`: its codes, then its squared length in the
/// last four bytes.
fn write_row(quantizer: &Quantizer, vector: &[f32], row: &mut [u8]) {
    let dim = quantizer.dim();
    quantizer.encode_into(vector, &mut row[..dim], LEVELS);
    let sq: f32 = vector.iter().map(|x| x * x).sum();
    let at = row.len() - 4;
    row[at..].copy_from_slice(&sq.to_le_bytes());
}

/// A query turned into `i8` weights over the codes: `query · x` ≈ a
/// constant + `unit × Σ weight·code` (the constant does not change ranks).
struct QueryWeights {
    /// One weight per byte of a row; zero past the dimension, so the
    /// padding and the stored length add nothing.
    weights: Vec<i8>,
    /// The value of one weight step times one code step.
    unit: f32,
}

impl QueryWeights {
    /// `None` if a weight overflows.
    fn new(quantizer: &Quantizer, query: &[f32], stride: usize) -> Option<QueryWeights> {
        let exact: Vec<f32> = query
            .iter()
            .zip(&quantizer.scale)
            .map(|(q, s)| q * s)
            .collect();
        let max = exact.iter().fold(0f32, |m, w| m.max(w.abs()));
        if !max.is_finite() {
            return None;
        }
        let step = if max > 0.0 { max / 127.0 } else { 1.0 };
        let mut weights = vec![0i8; stride];
        for (w, e) in weights.iter_mut().zip(&exact) {
            *w = (e / step).round().clamp(-127.0, 127.0) as i8;
        }
        Some(QueryWeights {
            weights,
            unit: step,
        })
    }
}

/// `Σ row[i] · w[i]` over a row and its weights (same length, a multiple of
/// [`BLOCK`]).
type Kernel = fn(&[u8], &[i8]) -> i32;

/// The kernel for this CPU, detected once.
fn kernel() -> Kernel {
    static KERNEL: OnceLock<Kernel> = OnceLock::new();
    *KERNEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            return x86::score;
        }
        score_scalar
    })
}

/// [`Kernel`] over four rows of `stride` bytes each, one after the other.
type Kernel4 = fn(&[u8], usize, &[i8]) -> [i32; 4];

/// The four-row kernel for this CPU, detected once.
fn kernel4() -> Kernel4 {
    static KERNEL4: OnceLock<Kernel4> = OnceLock::new();
    *KERNEL4.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") {
            return x86::score4;
        }
        score4_scalar
    })
}

/// The portable four-row kernel.
fn score4_scalar(rows: &[u8], stride: usize, w: &[i8]) -> [i32; 4] {
    std::array::from_fn(|j| score_scalar(&rows[j * stride..(j + 1) * stride], w))
}

/// The portable kernel: the same integer as the AVX2 one.
fn score_scalar(row: &[u8], w: &[i8]) -> i32 {
    row.iter()
        .zip(w)
        .map(|(c, w)| i32::from(*c) * i32::from(*w))
        .sum()
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::*;

    use super::BLOCK;

    /// AVX2 kernel. Only handed out by `kernel()` after run-time detection.
    pub(super) fn score(row: &[u8], w: &[i8]) -> i32 {
        // SAFETY: `kernel()` returns this function only when AVX2 was
        // detected at run time.
        unsafe { score_impl(row, w) }
    }

    /// AVX2 kernel over four rows. Only handed out by `kernel4()` after
    /// run-time detection.
    pub(super) fn score4(rows: &[u8], stride: usize, w: &[i8]) -> [i32; 4] {
        assert!(rows.len() >= 4 * stride && w.len() >= stride);
        // SAFETY: `kernel4()` returns this function only when AVX2 was
        // detected at run time; the lengths are checked above.
        unsafe { score4_impl(rows, stride, w) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn score4_impl(rows: &[u8], stride: usize, w: &[i8]) -> [i32; 4] {
        let n = stride / BLOCK * BLOCK;
        let ones = _mm256_set1_epi16(1);
        let mut acc = [_mm256_setzero_si256(); 4];
        let mut i = 0;
        // SAFETY (loads): `j * stride + i + BLOCK <= 4 * stride <=
        // rows.len()` and `i + BLOCK <= stride <= w.len()`.
        while i < n {
            let x = _mm256_loadu_si256(w.as_ptr().add(i).cast());
            for (j, a) in acc.iter_mut().enumerate() {
                let c = _mm256_loadu_si256(rows.as_ptr().add(j * stride + i).cast());
                // Codes <= 127 and |w| <= 127: the pair sums fit an i16.
                let pairs = _mm256_maddubs_epi16(c, x);
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(pairs, ones));
            }
            i += BLOCK;
        }
        // Lane sums of the four accumulators, in order.
        let h01 = _mm256_hadd_epi32(acc[0], acc[1]);
        let h23 = _mm256_hadd_epi32(acc[2], acc[3]);
        let h = _mm256_hadd_epi32(h01, h23);
        let s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        let mut out = [0i32; 4];
        _mm_storeu_si128(out.as_mut_ptr().cast(), s);
        out
    }

    #[target_feature(enable = "avx2")]
    unsafe fn score_impl(row: &[u8], w: &[i8]) -> i32 {
        let n = row.len().min(w.len()) / BLOCK * BLOCK;
        let ones = _mm256_set1_epi16(1);
        let mut acc = _mm256_setzero_si256();
        let mut i = 0;
        // SAFETY (loads): `i + BLOCK <= n`, within both slices.
        while i < n {
            let c = _mm256_loadu_si256(row.as_ptr().add(i).cast());
            let x = _mm256_loadu_si256(w.as_ptr().add(i).cast());
            // Codes <= 127 and |w| <= 127: the pair sums fit an i16.
            let pairs = _mm256_maddubs_epi16(c, x);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
            i += BLOCK;
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256(acc, 1),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b0100_1110));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b1011_0001));
        _mm_cvtsi128_si32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::distance::distance;
    use crate::index::vectors::prepare;
    use crate::test_rng::uniform;

    fn store(metric: Metric, n: usize, dim: usize, seed: &mut u64) -> VectorStore {
        let mut s = VectorStore::new(dim);
        for i in 0..n {
            let mut v: Vec<f32> = (0..dim).map(|_| uniform(seed)).collect();
            prepare(metric, &mut v);
            s.set(i as u32, &v).unwrap();
        }
        s
    }

    #[test]
    fn the_kernels_agree() {
        let mut seed = 3;
        for len in [32, 64, 256, 416] {
            let row: Vec<u8> = (0..len)
                .map(|_| (uniform(&mut seed).abs() * 127.0) as u8)
                .collect();
            let w: Vec<i8> = (0..len)
                .map(|_| (uniform(&mut seed) * 127.0) as i8)
                .collect();
            let mut extreme_row = vec![127u8; len];
            extreme_row[len - 1] = 255;
            let mut extreme_w = vec![-127i8; len];
            extreme_w[len - 1] = 0;
            for (r, w) in [(&row, &w), (&extreme_row, &extreme_w)] {
                assert_eq!(kernel()(r, w), score_scalar(r, w), "len {len}");
            }
            // Four rows: the fast kernel, the portable one and row by row.
            let stride = len / 4 / BLOCK * BLOCK;
            if stride > 0 {
                let one_by_one: Vec<i32> = (0..4)
                    .map(|j| score_scalar(&row[j * stride..(j + 1) * stride], &w[..stride]))
                    .collect();
                assert_eq!(kernel4()(&row, stride, &w), one_by_one[..], "len {len}");
                assert_eq!(score4_scalar(&row, stride, &w), one_by_one[..]);
            }
        }
    }

    #[test]
    fn the_true_nearest_are_among_the_candidates() {
        let mut seed = 11;
        for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
            for dim in [16, 50, 384] {
                let n = 3000;
                let s = store(metric, n, dim, &mut seed);
                let codes = ScanCodes::build(&s);
                let ids: RoaringBitmap = (0..n as u32).filter(|i| i % 3 != 0).collect();
                for _ in 0..10 {
                    let mut q: Vec<f32> = (0..dim).map(|_| uniform(&mut seed)).collect();
                    prepare(metric, &mut q);
                    let mut exact: Vec<(f32, u32)> = ids
                        .iter()
                        .map(|i| (distance(metric, &q, s.get(i)), i))
                        .collect();
                    exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let got = codes.nearest(metric, &q, rerank_count(10), &ids).unwrap();
                    assert_eq!(got.len(), rerank_count(10));
                    assert!(got.iter().all(|i| ids.contains(*i)));
                    for (_, i) in &exact[..10] {
                        assert!(got.contains(i), "{metric:?} {dim}-d: {i} missed");
                    }
                }
            }
        }
    }

    #[test]
    fn later_vectors_are_coded_and_growth_calls_for_a_refit() {
        let mut seed = 5;
        let mut s = store(Metric::L2, 2000, 8, &mut seed);
        let mut codes = ScanCodes::build(&s);
        let v = [0.5f32; 8];
        s.set(2500, &v).unwrap();
        codes.set(2500, &v);
        let ids: RoaringBitmap = [0u32, 1, 2500, 99_999].into_iter().collect();
        let got = codes.nearest(Metric::L2, &v, 1, &ids);
        assert_eq!(got, Some(vec![2500]));
        assert!(!codes.is_stale(s.len()));
        assert!(codes.is_stale(4001));
        assert!(codes.memory_bytes() >= 2501 * 64);
    }

    #[test]
    fn a_set_scanned_twice_is_packed_and_ranks_as_before() {
        let mut seed = 17;
        let s = store(Metric::L2, 5000, 50, &mut seed);
        let mut codes = ScanCodes::build(&s);
        let ids: RoaringBitmap = (0..5000u32).filter(|i| i % 3 == 1).collect();
        let q: Vec<f32> = (0..50).map(|_| uniform(&mut seed)).collect();
        let ranked = |codes: &ScanCodes, ids: &RoaringBitmap, m: usize| {
            let mut got = codes.nearest(Metric::L2, &q, m, ids).unwrap();
            got.sort_unstable();
            got
        };
        let packed = |codes: &ScanCodes| codes.packs.lock().bytes();
        let bare = codes.memory_bytes();
        let first = ranked(&codes, &ids, 100);
        assert_eq!(packed(&codes), 0, "a set seen once is not packed");
        let second = ranked(&codes, &ids, 100);
        assert!(packed(&codes) >= 1666 * 64, "{}", packed(&codes));
        assert_eq!(codes.memory_bytes(), bare + packed(&codes));
        let third = ranked(&codes, &ids, 100);
        assert_eq!(first, second);
        assert_eq!(first, third);
        // Another set with the same size and ends is not taken for it.
        let mut other = ids.clone();
        other.remove(1000);
        other.insert(1001);
        ranked(&codes, &other, 100);
        let got = ranked(&codes, &other, 100);
        assert!(!got.contains(&1000) && got.iter().all(|i| other.contains(*i)));
        // Small sets are never packed.
        let before = packed(&codes);
        let small: RoaringBitmap = (0..600).collect();
        for _ in 0..3 {
            ranked(&codes, &small, 10);
        }
        assert_eq!(packed(&codes), before);
        // Every row: its pack would outgrow the codes, so none is kept.
        let all: RoaringBitmap = (0..5000u32).collect();
        for _ in 0..3 {
            ranked(&codes, &all, 10);
        }
        assert_eq!(packed(&codes), before);
        // A row of a packed set overwritten: the packs go, the new row ranks.
        codes.set(1, &q);
        assert_eq!(packed(&codes), 0);
        assert_eq!(ranked(&codes, &ids, 1), vec![1]);
        // A row added past the end keeps them.
        ranked(&codes, &ids, 1);
        let kept = packed(&codes);
        assert!(kept > 0);
        codes.set(5000, &q);
        assert_eq!(packed(&codes), kept);
    }

    #[test]
    fn odd_inputs_are_safe() {
        let s = VectorStore::new(4);
        let codes = ScanCodes::build(&s);
        let ids: RoaringBitmap = (0..10).collect();
        assert_eq!(
            codes.nearest(Metric::Cosine, &[1.0; 4], 5, &ids),
            Some(vec![])
        );
        assert_eq!(
            codes.nearest(Metric::Cosine, &[1.0; 3], 5, &ids),
            Some(vec![])
        );
        let mut s = VectorStore::new(2);
        s.set(0, &[0.0, 0.0]).unwrap();
        let codes = ScanCodes::build(&s);
        assert_eq!(
            codes.nearest(Metric::Dot, &[0.0, 0.0], 5, &ids),
            Some(vec![0])
        );
        // Ranges past f32 (vectors near f32::MAX): the codes decline.
        let mut s = VectorStore::new(2);
        s.set(0, &[3e38, 1.0]).unwrap();
        s.set(1, &[-3e38, 2.0]).unwrap();
        let codes = ScanCodes::build(&s);
        assert_eq!(codes.nearest(Metric::Dot, &[1.0, 1.0], 5, &ids), None);
        // Weights past f32: a huge query against a wide but finite range.
        let mut s = VectorStore::new(2);
        s.set(0, &[1e30, 1.0]).unwrap();
        s.set(1, &[-1e30, 2.0]).unwrap();
        let codes = ScanCodes::build(&s);
        assert_eq!(codes.nearest(Metric::Dot, &[1e30, 1.0], 5, &ids), None);
        assert!(codes.nearest(Metric::Dot, &[1.0, 1.0], 5, &ids).is_some());
    }
}
