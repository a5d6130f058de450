//! Extreme finite inputs against every metric and every index kind: the
//! exact scan, our graph and the hnsw_rs wrapper. Whatever the values (near
//! `f32::MAX`, subnormal, mixed signs), a NaN distance never ranks above a
//! number, distances are ordered nearest first, and cosine stays in `[0, 2]`.

use proptest::prelude::*;

use crate::index::distance::distance;
use crate::index::flat::exact_top_k_all;
use crate::index::graph::GraphIndex;
#[cfg(feature = "hnsw-rs")]
use crate::index::hnsw::HnswIndex;
use crate::index::vectors::{prepare, VectorStore};
use crate::index::{AnnIndex, GraphParams, Metric};

const DIM: usize = 4;
const PARAMS: GraphParams = GraphParams {
    m: 4,
    ef_construction: 16,
};

/// One finite component, biased towards the values that break arithmetic.
fn component() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(f32::MAX),
        Just(-f32::MAX),
        Just(1e38f32),
        Just(-1e38f32),
        Just(3e19f32),
        Just(f32::MIN_POSITIVE),
        Just(1e-45f32),
        Just(-1e-45f32),
        Just(0.0f32),
        Just(-0.0f32),
        -1.0f32..1.0,
        any::<f32>().prop_filter("finite", |x| x.is_finite()),
    ]
}

fn vector() -> impl Strategy<Value = Vec<f32>> {
    proptest::collection::vec(component(), DIM)
}

fn metric() -> impl Strategy<Value = Metric> {
    prop_oneof![Just(Metric::Cosine), Just(Metric::L2), Just(Metric::Dot)]
}

/// The properties every result list must have. `truth` is each id's
/// distance computed directly (NaN where the arithmetic breaks down).
fn check(
    kind: &str,
    metric: Metric,
    out: &[(u32, f32)],
    truth: &[f32],
) -> Result<(), TestCaseError> {
    let nan = |id: u32| truth.get(id as usize).is_none_or(|d| d.is_nan());
    for w in out.windows(2) {
        // An index reports a NaN distance as +inf; among ties at +inf the
        // order says nothing.
        let tied_at_infinity = w[0].1 == f32::INFINITY && w[1].1 == f32::INFINITY;
        prop_assert!(
            !nan(w[0].0) || nan(w[1].0) || tied_at_infinity,
            "{kind} {metric:?}: a NaN distance ranked above a number: {out:?} {truth:?}"
        );
        let (a, b) = (w[0].1, w[1].1);
        prop_assert!(!a.is_nan() && !b.is_nan(), "{kind}: NaN reported: {out:?}");
        prop_assert!(a <= b, "{kind} {metric:?}: not nearest first: {out:?}");
    }
    if metric == Metric::Cosine {
        for (_, d) in out {
            prop_assert!(
                (0.0..=2.0).contains(d),
                "{kind}: cosine distance {d} outside [0, 2]: {out:?}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn extreme_vectors_rank_sanely_on_every_index(
        metric in metric(),
        data in proptest::collection::vec(vector(), 1..12),
        query in vector(),
    ) {
        let prepared: Vec<Vec<f32>> = data
            .iter()
            .map(|v| {
                let mut v = v.clone();
                prepare(metric, &mut v);
                v
            })
            .collect();
        if metric == Metric::Cosine {
            for v in &prepared {
                let norm: f64 = v.iter().map(|&x| f64::from(x).powi(2)).sum();
                prop_assert!(norm == 0.0 || (norm - 1.0).abs() < 1e-5, "norm² {norm} of {v:?}");
            }
        }
        let mut q = query.clone();
        prepare(metric, &mut q);
        let k = prepared.len();
        let truth: Vec<f32> = prepared.iter().map(|v| distance(metric, &q, v)).collect();

        let mut store = VectorStore::new(DIM);
        for (id, v) in prepared.iter().enumerate() {
            store.set(id as u32, v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let exact = exact_top_k_all(&store, metric, &q, k);
        check("flat", metric, &exact, &truth)?;
        prop_assert_eq!(exact.len(), k);

        let items: Vec<(u32, &[f32])> = prepared
            .iter()
            .enumerate()
            .map(|(id, v)| (id as u32, v.as_slice()))
            .collect();
        let graph = GraphIndex::new(metric, DIM, PARAMS, k);
        graph.insert(&items);
        check("graph", metric, &graph.search(&q, k, 32, None), &truth)?;

        #[cfg(feature = "hnsw-rs")]
        {
            let hnsw = HnswIndex::new(metric, DIM, PARAMS, k)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            hnsw.insert(&items);
            check("hnsw", metric, &hnsw.search(&q, k, 32, None), &truth)?;
        }
    }
}

/// The case of the issue: one huge vector must neither win with NaN nor get
/// a cosine distance of 0 to everything.
#[test]
fn a_huge_vector_neither_wins_nor_collapses() {
    // Against the query below: dot is ∞ − ∞ = NaN, l2 is ∞, and cosine is
    // 1 once normalised (0 when it was left unnormalised).
    let huge = vec![f32::MAX, -f32::MAX, 0.0, 0.0];
    for metric in [Metric::Cosine, Metric::L2, Metric::Dot] {
        let mut store = VectorStore::new(DIM);
        let mut a = vec![1.0f32, 0.0, 0.0, 0.0];
        let mut h = huge.clone();
        prepare(metric, &mut a);
        prepare(metric, &mut h);
        store.set(0, &h).unwrap();
        store.set(1, &a).unwrap();
        let mut q = vec![2.0f32, 2.0, 0.0, 0.0];
        prepare(metric, &mut q);
        let out = exact_top_k_all(&store, metric, &q, 2);
        assert_eq!(out[0].0, 1, "{metric:?}: {out:?}");
        if metric == Metric::Cosine {
            // The huge vector is normalised, so its distance is a real one.
            assert!(out[1].1 > 0.5 && out[1].1 < 1.5, "{out:?}");
        }
    }
}
