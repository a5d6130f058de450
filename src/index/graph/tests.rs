//! Recall against brute force, filters, tombstones and concurrency.

use std::sync::atomic::Ordering::Relaxed;

use super::testutil::{brute, build, clustered, recall, SplitMix};
use super::{FilterMode, GraphIndex};
use crate::index::{AnnIndex, GraphParams, Metric};

const N: usize = 1500;
const K: usize = 10;

fn queries(seed: u64, dim: usize, normalise: bool) -> Vec<Vec<f32>> {
    clustered(seed, 40, dim, 20, normalise)
}

type Filter<'a> = Option<&'a (dyn Fn(u32) -> bool + Sync)>;

/// Recall@10 of `idx` over `data` (ids 0..n) for seeded queries.
fn recall_of(idx: &GraphIndex, data: &[Vec<f32>], filter: Filter<'_>, mode: FilterMode) -> f64 {
    let (metric, dim) = (idx.metric(), idx.dim());
    let qs = queries(99, dim, metric != Metric::L2);
    let all = |_: u32| true;
    let allow: &dyn Fn(u32) -> bool = match filter {
        Some(f) => f,
        None => &all,
    };
    let truth: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| brute(metric, data, q, K, allow))
        .collect();
    let found: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| {
            let r = idx.search_with(q, K, 64, filter, mode);
            assert!(r.windows(2).all(|w| w[0].1 <= w[1].1), "sorted");
            assert!(r.iter().all(|(id, _)| allow(*id)), "filter respected");
            r.into_iter().map(|(id, _)| id).collect()
        })
        .collect();
    recall(&found, &truth)
}

#[test]
fn recall_each_metric() {
    for (metric, dim) in [(Metric::Cosine, 32), (Metric::L2, 16), (Metric::Dot, 48)] {
        // Inner-product search is only metric-like on (near-)normalised
        // data, which is what embeddings are; unnormalised MIPS is out of scope.
        let data = clustered(1, N, dim, 20, metric != Metric::L2);
        let idx = build(metric, &data, 12);
        assert_eq!(idx.len(), N);
        let raw = N * dim * 4;
        assert!(idx.memory_bytes() > raw && idx.memory_bytes() < raw * 4);
        let rc = recall_of(&idx, &data, None, FilterMode::Auto);
        assert!(rc >= 0.95, "{metric:?} dim {dim} recall {rc}");
    }
}

#[test]
fn recall_with_filters() {
    let data = clustered(1, N, 24, 20, false);
    let idx = build(Metric::L2, &data, 12);
    let cases = [
        (2, FilterMode::Auto),
        (10, FilterMode::Auto),
        (10, FilterMode::Graph),
        (100, FilterMode::Auto),
        (100, FilterMode::TwoHop),
        (100, FilterMode::Graph),
    ];
    for (modulus, mode) in cases {
        let f = move |id: u32| id % modulus == 3 % modulus;
        let rc = recall_of(&idx, &data, Some(&f), mode);
        assert!(rc >= 0.95, "1/{modulus} {mode:?}: recall {rc}");
    }
}

#[test]
fn auto_plan_picks_exact_for_selective_filters() {
    let data = clustered(3, 1000, 16, 10, false);
    let idx = build(Metric::L2, &data, 8);
    let f = |id: u32| id.is_multiple_of(100);
    let r = idx.search(&data[0], K, 32, Some(&f));
    assert_eq!(idx.paths.exact.load(Relaxed), 1);
    assert_eq!(r[0].0, 0);
    // On 1,000 nodes a scan is cheaper than a walk at any ef: a filtered
    // walk runs at an ef of at least 128, 55 × 128 / 0.5 = 14,080
    // distances at half the nodes against 0.1 × 1,000 + 500 for the scan.
    let g = |id: u32| id.is_multiple_of(2);
    idx.search(&data[0], K, 32, Some(&g));
    idx.search(&data[0], 1, 1, Some(&g));
    assert_eq!(idx.paths.exact.load(Relaxed), 3);
    assert_eq!(idx.paths.filtered.load(Relaxed), 0);
    // On 30,000 the scan costs 18,000: the loose filter walks.
    let data = clustered(3, 30_000, 16, 10, false);
    let idx = build(Metric::L2, &data, 8);
    let r = idx.search(&data[0], K, 32, Some(&g));
    assert_eq!(idx.paths.filtered.load(Relaxed), 1);
    assert_eq!(idx.paths.exact.load(Relaxed), 0);
    assert_eq!(r.len(), K);
}

#[test]
fn tombstones_are_skipped_but_navigable() {
    let dim = 24;
    let data = clustered(5, N, dim, 20, false);
    let idx = build(Metric::L2, &data, 12);
    for id in (0..N as u32).filter(|i| i % 3 == 0) {
        assert!(idx.mark_deleted(id));
    }
    assert!(!idx.mark_deleted(0), "already deleted");
    assert!(!idx.mark_deleted(N as u32 + 5), "absent");
    assert_eq!(idx.deleted_len(), N.div_ceil(3));
    let qs = queries(7, dim, false);
    let alive = |id: u32| !id.is_multiple_of(3);
    let truth: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| brute(Metric::L2, &data, q, K, &alive))
        .collect();
    let found: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| {
            idx.search(q, K, 64, None)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        })
        .collect();
    assert!(found.iter().flatten().all(|&id| alive(id)));
    let rc = recall(&found, &truth);
    assert!(rc >= 0.95, "recall {rc}");
}

#[test]
fn concurrent_inserts_and_searches() {
    let dim = 16;
    let data = clustered(11, N, dim, 20, false);
    let idx = GraphIndex::new(
        Metric::L2,
        dim,
        GraphParams {
            m: 12,
            ef_construction: 64,
        },
        0,
    );
    std::thread::scope(|s| {
        for t in 0..3u32 {
            let (idx, data) = (&idx, &data);
            s.spawn(move || {
                // Interleaved small batches from three threads.
                for chunk in (t as usize * 100..N).step_by(300) {
                    let items: Vec<(u32, &[f32])> = (chunk..(chunk + 100).min(N))
                        .map(|i| (i as u32, data[i].as_slice()))
                        .collect();
                    idx.insert(&items);
                }
            });
        }
        s.spawn(|| {
            let mut rng = SplitMix(3);
            for _ in 0..200 {
                let q = &data[(rng.next_u64() % N as u64) as usize];
                let r = idx.search(q, K, 32, None);
                assert!(r.len() <= K);
            }
        });
    });
    assert_eq!(idx.len(), N);
    let qs = queries(13, dim, false);
    let truth: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| brute(Metric::L2, &data, q, K, &|_| true))
        .collect();
    let found: Vec<Vec<u32>> = qs
        .iter()
        .map(|q| {
            idx.search(q, K, 100, None)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        })
        .collect();
    let rc = recall(&found, &truth);
    assert!(rc >= 0.95, "recall {rc}");
}

#[test]
fn odd_inputs_do_not_panic() {
    let idx = GraphIndex::new(
        Metric::Cosine,
        4,
        GraphParams {
            m: 0,
            ef_construction: 0,
        },
        0,
    );
    assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 5, 10, None).is_empty());
    idx.insert(&[
        (3, &[1.0, 0.0, 0.0, 0.0][..]),
        (3, &[0.0, 1.0, 0.0, 0.0][..]),
        (9, &[1.0][..]),
    ]);
    assert_eq!(idx.len(), 1, "duplicate and wrong-dimension items skipped");
    assert!(
        idx.search(&[1.0, 0.0], 5, 10, None).is_empty(),
        "wrong dimension"
    );
    assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 0, 10, None).is_empty());
    let r = idx.search(&[1.0, 0.0, 0.0, 0.0], 5, 0, None);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, 3);
    assert!(r[0].1.abs() < 1e-6);
    let none = |_: u32| false;
    assert!(idx
        .search(&[1.0, 0.0, 0.0, 0.0], 5, 10, Some(&none))
        .is_empty());
}
