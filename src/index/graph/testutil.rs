//! Seeded data and an exact oracle for the graph tests.

use crate::index::graph::distance::Kernels;
use crate::index::graph::GraphIndex;
use crate::index::{AnnIndex, GraphParams, Metric};

/// splitmix64 as a tiny seeded PRNG.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    /// Next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Roughly normal (sum of uniforms).
    pub(crate) fn gauss(&mut self) -> f32 {
        (0..4).map(|_| self.next_f32()).sum::<f32>() - 2.0
    }
}

/// `n` vectors of dimension `dim` around `clusters` centres; normalised
/// when `normalise`.
pub(crate) fn clustered(
    seed: u64,
    n: usize,
    dim: usize,
    clusters: usize,
    normalise: bool,
) -> Vec<Vec<f32>> {
    let mut rng = SplitMix(seed);
    let centres: Vec<Vec<f32>> = (0..clusters)
        .map(|_| (0..dim).map(|_| rng.gauss() * 3.0).collect())
        .collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % clusters];
            let mut v: Vec<f32> = c.iter().map(|x| x + rng.gauss()).collect();
            if normalise {
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|x| *x /= norm);
            }
            v
        })
        .collect()
}

/// Exact top-`k` ids for `q` among allowed ids.
pub(crate) fn brute(
    metric: Metric,
    data: &[Vec<f32>],
    q: &[f32],
    k: usize,
    allow: &dyn Fn(u32) -> bool,
) -> Vec<u32> {
    let kern = Kernels::scalar();
    let mut all: Vec<(f32, u32)> = data
        .iter()
        .enumerate()
        .filter(|(i, _)| allow(*i as u32))
        .map(|(i, v)| (kern.dist(metric, q, v), i as u32))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, i)| i).collect()
}

/// Builds an index over `data` with ids 0..n, deterministically.
pub(crate) fn build(metric: Metric, data: &[Vec<f32>], m: usize) -> GraphIndex {
    let idx = GraphIndex::new(
        metric,
        data[0].len(),
        GraphParams {
            m,
            ef_construction: 64,
        },
        data.len(),
    );
    let items: Vec<(u32, &[f32])> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32, v.as_slice()))
        .collect();
    // Batches below the parallel threshold link on this thread, so the
    // graph (and the recall the tests assert) does not depend on scheduling.
    for chunk in items.chunks(32) {
        idx.insert(chunk);
    }
    idx
}

/// Mean recall@k of `found` against `truth`.
pub(crate) fn recall(found: &[Vec<u32>], truth: &[Vec<u32>]) -> f64 {
    let mut hit = 0usize;
    let mut total = 0usize;
    for (f, t) in found.iter().zip(truth) {
        total += t.len();
        hit += t.iter().filter(|x| f.contains(x)).count();
    }
    hit as f64 / total.max(1) as f64
}
