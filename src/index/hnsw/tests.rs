//! Tests of the hnsw_rs backend: recall against the exact scan, filters,
//! persistence and damaged files, and the hnsw_rs traps.

use std::collections::HashSet;
use std::sync::OnceLock;

use super::*;
use crate::index::distance::distance;
use crate::index::flat::exact_top_k;
use crate::index::vectors::{prepare, VectorStore};

use crate::test_rng::Rng;

const N: usize = 2_000;
const DIM: usize = 24;
const CLUSTERS: usize = 50;
const QUERIES: usize = 100;
const PARAMS: GraphParams = GraphParams {
    m: 10,
    ef_construction: 40,
};

/// Gaussian clusters: `n` data vectors and `nq` held-out queries drawn from
/// the same clusters, prepared for `metric`.
fn clustered(metric: Metric, n: usize, nq: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut rng = Rng(seed);
    let centers: Vec<Vec<f32>> = (0..CLUSTERS)
        .map(|_| (0..DIM).map(|_| rng.normal()).collect())
        .collect();
    let draw = |rng: &mut Rng| {
        let c = &centers[(rng.next_u64() % CLUSTERS as u64) as usize];
        let mut v: Vec<f32> = c.iter().map(|x| x + 0.6 * rng.normal()).collect();
        prepare(metric, &mut v);
        v
    };
    let data = (0..n).map(|_| draw(&mut rng)).collect();
    let queries = (0..nq).map(|_| draw(&mut rng)).collect();
    (data, queries)
}

/// An index and its exact-scan oracle over the same data.
struct Fixture {
    metric: Metric,
    store: VectorStore,
    index: HnswIndex,
    queries: Vec<Vec<f32>>,
}

fn build(metric: Metric, seed: u64) -> Fixture {
    let (data, queries) = clustered(metric, N, QUERIES, seed);
    let mut store = VectorStore::new(DIM);
    for (id, v) in data.iter().enumerate() {
        store.set(id as u32, v).unwrap();
    }
    let index = HnswIndex::new(metric, DIM, PARAMS, N).unwrap();
    let items: Vec<(u32, &[f32])> = data
        .iter()
        .enumerate()
        .map(|(id, v)| (id as u32, v.as_slice()))
        .collect();
    // One parallel batch and some small sequential ones.
    let (big, small) = items.split_at(N - 200);
    index.insert(big);
    for chunk in small.chunks(50) {
        index.insert(chunk);
    }
    assert_eq!(index.len(), N);
    Fixture {
        metric,
        store,
        index,
        queries,
    }
}

/// One fixture per metric, built once for all tests of the binary.
fn fixture(metric: Metric) -> &'static Fixture {
    static COSINE: OnceLock<Fixture> = OnceLock::new();
    static L2: OnceLock<Fixture> = OnceLock::new();
    static DOT: OnceLock<Fixture> = OnceLock::new();
    match metric {
        Metric::Cosine => COSINE.get_or_init(|| build(metric, 11)),
        Metric::L2 => L2.get_or_init(|| build(metric, 12)),
        Metric::Dot => DOT.get_or_init(|| build(metric, 13)),
    }
}

/// Mean recall@k of the index against the exact scan over the allowed ids;
/// also checks that reported distances are in the metric's units.
fn recall(fx: &Fixture, queries: usize, k: usize, ef: usize, filter: Option<IdFilter<'_>>) -> f64 {
    let mut hits = 0usize;
    let mut total = 0usize;
    for q in fx.queries.iter().take(queries) {
        let allowed = (0..N as u32).filter(|&id| filter.is_none_or(|f| f(id)));
        let exact = exact_top_k(&fx.store, fx.metric, q, k, allowed);
        let got = fx.index.search(q, k, ef, filter);
        assert!(got.len() <= k);
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "nearest first");
        for &(id, d) in &got {
            if let Some(f) = filter {
                assert!(f(id), "filtered-out id {id} returned");
            }
            let want = distance(fx.metric, q, fx.store.get(id));
            assert!(
                (d - want).abs() <= 1e-3 * (1.0 + want.abs()),
                "{:?}: distance {d} for id {id}, exact {want}",
                fx.metric
            );
        }
        let truth: HashSet<u32> = exact.iter().map(|x| x.0).collect();
        hits += got.iter().filter(|x| truth.contains(&x.0)).count();
        total += exact.len();
    }
    let r = hits as f64 / total as f64;
    eprintln!(
        "{:?} recall@{k} ef={ef} over {queries} queries: {r:.3}",
        fx.metric
    );
    r
}

#[test]
fn recall_at_10_cosine() {
    let r = recall(fixture(Metric::Cosine), QUERIES, 10, 64, None);
    assert!(r >= 0.95, "recall {r}");
}

#[test]
fn recall_at_10_l2() {
    let r = recall(fixture(Metric::L2), QUERIES, 10, 64, None);
    assert!(r >= 0.95, "recall {r}");
}

#[test]
fn recall_at_10_dot() {
    let r = recall(fixture(Metric::Dot), QUERIES, 10, 64, None);
    assert!(r >= 0.95, "recall {r}");
}

#[test]
fn filtered_recall_at_half_and_tenth_selectivity() {
    let fx = fixture(Metric::Cosine);
    let half = |id: u32| id.is_multiple_of(2);
    let r = recall(fx, 50, 10, 64, Some(&half));
    assert!(r >= 0.95, "50% filter recall {r}");
    // Scattered 10%: ids whose hash falls in one tenth.
    let tenth = |id: u32| (id.wrapping_mul(2_654_435_761) >> 16) % 10 == 3;
    let r = recall(fx, 50, 10, 200, Some(&tenth));
    assert!(r >= 0.95, "10% filter recall {r}");
}

#[test]
fn tombstone_filter_excludes_ids() {
    let fx = fixture(Metric::L2);
    for q in fx.queries.iter().take(20) {
        let first = fx.index.search(q, 10, 64, None);
        assert_eq!(first.len(), 10);
        let dead: HashSet<u32> = first.iter().map(|x| x.0).collect();
        let alive = |id: u32| !dead.contains(&id);
        let again = fx.index.search(q, 10, 64, Some(&alive));
        assert_eq!(again.len(), 10);
        assert!(again.iter().all(|x| !dead.contains(&x.0)));
    }
    // A filter that allows nothing returns nothing.
    let none = |_: u32| false;
    assert!(fx
        .index
        .search(&fx.queries[0], 10, 64, Some(&none))
        .is_empty());
}

#[test]
fn query_equal_to_stored_vector_does_not_panic() {
    // Trap 1: DistDot asserts 1 − dot ≥ 0 and panics on self-queries.
    let fx = fixture(Metric::Cosine);
    let mut found_self = 0;
    for id in 0..300u32 {
        let q = fx.store.get(id);
        let got = fx.index.search(q, 5, 64, None);
        assert!(!got.is_empty());
        assert!(got[0].1 >= 0.0 && got[0].1 < 1e-5, "{:?}", got[0]);
        found_self += usize::from(got.iter().any(|x| x.0 == id));
    }
    assert!(found_self >= 295, "{found_self}");
    // Duplicates of stored vectors can be inserted and searched too.
    let idx = HnswIndex::new(Metric::Cosine, DIM, PARAMS, 0).unwrap();
    let v = fx.store.get(7).to_vec();
    let items: Vec<(u32, &[f32])> = (0..100).map(|i| (i, v.as_slice())).collect();
    idx.insert(&items);
    assert_eq!(idx.search(&v, 3, 16, None).len(), 3);
}

#[test]
fn dot_mapping_is_increasing_and_invertible() {
    let d = HnswDistance::new(Metric::Dot);
    let xs = [-1e6f32, -50.0, -1.5, -1e-3, 0.0, 1e-3, 2.0, 70.0, 1e6];
    let mut prev = -1.0f32;
    for &x in &xs {
        // A pair whose dot is −x: a = [x], b = [−1].
        let g = d.eval(&[x], &[-1.0]);
        assert!(g >= 0.0 && g > prev, "x={x} g={g}");
        prev = g;
        let back = d.to_metric_units(g);
        assert!(
            (back - x).abs() <= 1e-3 * (1.0 + x.abs()),
            "x={x} back={back}"
        );
    }
    assert_eq!(d.eval(&[f32::NAN], &[1.0]), f32::MAX);
    let c = HnswDistance::new(Metric::Cosine);
    assert_eq!(c.eval(&[1.0000001, 0.0], &[1.0000001, 0.0]), 0.0);
}

#[test]
fn invalid_parameters_are_refused() {
    let bad = [
        (1, 100, 8),
        (129, 100, 8),
        (16, 0, 8),
        (16, 4097, 8),
        (16, 100, 0),
        (usize::MAX, 100, 8),
    ];
    for (m, ef_construction, dim) in bad {
        let params = GraphParams { m, ef_construction };
        let e = HnswIndex::new(Metric::L2, dim, params, 10).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidOption, "{m} {ef_construction}");
    }
    // A wild capacity hint is clamped, not allocated.
    assert!(HnswIndex::new(Metric::L2, 8, PARAMS, usize::MAX).is_ok());
}

#[test]
fn empty_index_and_wrong_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let idx = HnswIndex::new(Metric::L2, 4, PARAMS, 0).unwrap();
    assert_eq!((idx.metric(), idx.dim(), idx.len()), (Metric::L2, 4, 0));
    assert_eq!(idx.memory_bytes(), 0);
    assert!(idx.search(&[0.0; 4], 5, 10, None).is_empty());
    idx.save(dir.path(), "empty").unwrap();
    let back = HnswIndex::load(dir.path(), "empty", Metric::L2, 4).unwrap();
    assert_eq!(back.len(), 0);
    assert_eq!(back.params(), PARAMS);
    // Wrong-length vectors are skipped, wrong-length queries give nothing.
    idx.insert(&[(0, &[1.0, 2.0][..]), (1, &[1.0, 2.0, 3.0, 4.0][..])]);
    assert_eq!(idx.len(), 1);
    assert!(idx.search(&[0.0; 3], 5, 10, None).is_empty());
    assert!(idx.search(&[0.0; 4], 0, 10, None).is_empty());
    // k larger than the index.
    assert_eq!(idx.search(&[0.0; 4], 5, 0, None), vec![(1, 30f32.sqrt())]);
    // NaN never panics hnsw_rs (it panics on NaN distances): it is farthest.
    let nan = [f32::NAN; 4];
    let other = HnswIndex::new(Metric::Dot, 4, PARAMS, 0).unwrap();
    let items: Vec<(u32, &[f32])> = (0..80)
        .map(|i| {
            (
                i,
                if i % 2 == 0 {
                    &nan[..]
                } else {
                    &[1.0, 0.0, 0.0, 0.0][..]
                },
            )
        })
        .collect();
    other.insert(&items);
    assert_eq!(other.search(&nan, 3, 16, None).len(), 3);
    let got = other.search(&[1.0, 0.0, 0.0, 0.0], 3, 16, None);
    assert!(got.iter().all(|x| x.0 % 2 == 1 && x.1 == -1.0), "{got:?}");
    // Saving over the empty save, then empty again, leaves no stale files.
    idx.save(dir.path(), "empty").unwrap();
    assert!(dir.path().join("empty.hnsw.graph").exists());
    HnswIndex::new(Metric::L2, 4, PARAMS, 0)
        .unwrap()
        .save(dir.path(), "empty")
        .unwrap();
    assert!(!dir.path().join("empty.hnsw.graph").exists());
    assert_eq!(
        HnswIndex::load(dir.path(), "empty", Metric::L2, 4)
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn save_then_load_gives_identical_results() {
    let fx = fixture(Metric::Cosine);
    let dir = tempfile::tempdir().unwrap();
    fx.index.save(dir.path(), "coll").unwrap();
    // Exactly the three final files: no temporary left behind.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["coll.hnsw.data", "coll.hnsw.graph", "coll.hnsw.meta"]
    );
    assert!(file_paths(dir.path(), "coll").iter().all(|p| p.exists()));
    let loaded = HnswIndex::load(dir.path(), "coll", Metric::Cosine, DIM).unwrap();
    assert_eq!(loaded.len(), N);
    assert_eq!(loaded.params(), PARAMS);
    let tenth = |id: u32| id.is_multiple_of(10);
    for (i, q) in fx.queries.iter().enumerate() {
        assert_eq!(
            fx.index.search(q, 10, 64, None),
            loaded.search(q, 10, 64, None)
        );
        if i < 20 {
            assert_eq!(
                fx.index.search(q, 10, 64, Some(&tenth)),
                loaded.search(q, 10, 64, Some(&tenth))
            );
        }
    }
    // A reloaded index takes inserts and saves over its own files (hnsw_rs
    // would otherwise pick another name: trap 3).
    let extra = fx.queries[0].clone();
    loaded.insert(&[(N as u32, extra.as_slice())]);
    loaded.save(dir.path(), "coll").unwrap();
    let again = HnswIndex::load(dir.path(), "coll", Metric::Cosine, DIM).unwrap();
    assert_eq!(again.len(), N + 1);
    assert_eq!(again.search(&extra, 1, 64, None)[0].0, N as u32);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
}

/// Saves a small index and returns its directory.
fn small_saved(metric: Metric) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = clustered(metric, 300, 0, 5);
    let idx = HnswIndex::new(metric, DIM, PARAMS, 300).unwrap();
    let items: Vec<(u32, &[f32])> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i as u32, v.as_slice()))
        .collect();
    idx.insert(&items);
    idx.save(dir.path(), "s").unwrap();
    dir
}

fn load_err(dir: &Path) -> ErrorKind {
    HnswIndex::load(dir, "s", Metric::L2, DIM)
        .map(|_| ())
        .unwrap_err()
        .kind()
        .clone()
}

#[test]
fn damaged_or_missing_files_give_errors() {
    let dir = small_saved(Metric::L2);
    let p = |suffix: &str| dir.path().join(format!("s{suffix}"));
    assert!(HnswIndex::load(dir.path(), "s", Metric::L2, DIM).is_ok());
    // Another metric or dimension than the files hold.
    let e = HnswIndex::load(dir.path(), "s", Metric::Cosine, DIM).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt);
    let e = HnswIndex::load(dir.path(), "s", Metric::L2, DIM + 1).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt);
    // Missing basename or directory.
    let e = HnswIndex::load(dir.path(), "nope", Metric::L2, DIM).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert_eq!(load_err(&dir.path().join("no/such/dir")), ErrorKind::Io);
    assert_eq!(
        HnswIndex::load(dir.path(), "../s", Metric::L2, DIM)
            .unwrap_err()
            .kind(),
        &ErrorKind::InvalidOption
    );

    let originals: Vec<(PathBuf, Vec<u8>)> = [GRAPH_SUFFIX, DATA_SUFFIX, META_SUFFIX]
        .iter()
        .map(|s| (p(s), fs::read(p(s)).unwrap()))
        .collect();
    let restore = || {
        for (path, bytes) in &originals {
            fs::write(path, bytes).unwrap();
        }
    };
    for (path, bytes) in &originals {
        // Truncated to half, to one byte, to nothing.
        for len in [bytes.len() / 2, 1, 0] {
            fs::write(path, &bytes[..len]).unwrap();
            assert_eq!(load_err(dir.path()), ErrorKind::Corrupt, "{path:?} {len}");
            restore();
        }
        // Garbage of the same length, and one flipped byte.
        let garbage: Vec<u8> = (0..bytes.len()).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(path, &garbage).unwrap();
        assert_eq!(load_err(dir.path()), ErrorKind::Corrupt, "{path:?}");
        let mut flipped = bytes.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        fs::write(path, &flipped).unwrap();
        assert_eq!(load_err(dir.path()), ErrorKind::Corrupt, "{path:?}");
        restore();
        // Missing.
        fs::remove_file(path).unwrap();
        assert_eq!(load_err(dir.path()), ErrorKind::Io, "{path:?}");
        restore();
    }
    assert!(HnswIndex::load(dir.path(), "s", Metric::L2, DIM).is_ok());
}

#[test]
fn damage_that_passes_the_header_check_is_caught() {
    // A damaged data file whose header was rewritten to match: hnsw_rs
    // itself sees the bad magic and panics; load reports Corrupt.
    let dir = small_saved(Metric::L2);
    let data_path = dir.path().join("s.hnsw.data");
    let meta_path = dir.path().join("s.hnsw.meta");
    let mut data = fs::read(&data_path).unwrap();
    data[0] ^= 0xFF;
    fs::write(&data_path, &data).unwrap();
    let mut meta = Meta::read(&meta_path).unwrap();
    (meta.data_len, meta.data_sum) = meta.checksum.of_file(&data_path).unwrap();
    fs::write(&meta_path, meta.encode()).unwrap();
    assert_eq!(load_err(dir.path()), ErrorKind::Corrupt);
}

/// Rewrites the header of the index saved in `dir` as version 1 wrote it
/// (64-bit hashes), as a data folder from before CRC-32 holds it.
fn downgrade_header(dir: &Path) {
    let meta_path = dir.join("s.hnsw.meta");
    let mut meta = Meta::read(&meta_path).unwrap();
    meta.checksum = Checksum::Hash64;
    (meta.graph_len, meta.graph_sum) = meta.checksum.of_file(&dir.join("s.hnsw.graph")).unwrap();
    (meta.data_len, meta.data_sum) = meta.checksum.of_file(&dir.join("s.hnsw.data")).unwrap();
    fs::write(&meta_path, meta.encode()).unwrap();
}

fn header_version(dir: &Path) -> u32 {
    let bytes = fs::read(dir.join("s.hnsw.meta")).unwrap();
    u32::from_le_bytes(bytes[8..12].try_into().unwrap())
}

#[test]
fn new_saves_write_crc32_headers_that_catch_damage() {
    let dir = small_saved(Metric::L2);
    assert_eq!(header_version(dir.path()), 2);
    let meta = Meta::read(&dir.path().join("s.hnsw.meta")).unwrap();
    let data_path = dir.path().join("s.hnsw.data");
    let data = fs::read(&data_path).unwrap();
    assert_eq!(meta.checksum, Checksum::Crc32);
    assert_eq!(meta.data_sum, u64::from(crc32fast::hash(&data)));
    assert!(HnswIndex::load(dir.path(), "s", Metric::L2, DIM).is_ok());
    let mut damaged = data.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    fs::write(&data_path, &damaged).unwrap();
    assert_eq!(load_err(dir.path()), ErrorKind::Corrupt);
}

#[test]
fn an_old_hash64_header_still_opens_and_is_rewritten_as_crc32() {
    let dir = small_saved(Metric::L2);
    let fresh = HnswIndex::load(dir.path(), "s", Metric::L2, DIM).unwrap();
    let (_, queries) = clustered(Metric::L2, 0, 5, 9);
    downgrade_header(dir.path());
    assert_eq!(header_version(dir.path()), 1);
    let old = HnswIndex::load(dir.path(), "s", Metric::L2, DIM).unwrap();
    assert_eq!(old.len(), 300);
    for q in &queries {
        assert_eq!(old.search(q, 5, 64, None), fresh.search(q, 5, 64, None));
    }
    // Saving it again writes the current version.
    old.save(dir.path(), "s").unwrap();
    assert_eq!(header_version(dir.path()), 2);
    assert!(HnswIndex::load(dir.path(), "s", Metric::L2, DIM).is_ok());
}

#[test]
fn an_old_hash64_header_still_catches_damage() {
    let dir = small_saved(Metric::L2);
    downgrade_header(dir.path());
    let graph_path = dir.path().join("s.hnsw.graph");
    let mut graph = fs::read(&graph_path).unwrap();
    let mid = graph.len() / 2;
    graph[mid] ^= 0x10;
    fs::write(&graph_path, &graph).unwrap();
    assert_eq!(load_err(dir.path()), ErrorKind::Corrupt);
}

#[test]
fn save_to_unwritable_place_is_an_io_error() {
    let fx = fixture(Metric::Dot);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let e = fx.index.save(&missing, "x").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Io);
    assert_eq!(
        fx.index.save(dir.path(), "a/b").unwrap_err().kind(),
        &ErrorKind::InvalidOption
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Resident set size of this process, in bytes (Linux).
fn rss_bytes() -> Option<usize> {
    let statm = fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Measures heap growth per vector while building an index, to calibrate
/// [`HnswIndex::memory_bytes`]. Slow in debug builds (allocation sizes, hence
/// the measurement, are the same as in release); run alone:
/// `cargo test --lib memory_estimate -- --ignored --nocapture`.
#[test]
#[ignore]
fn memory_estimate() {
    let n: usize = std::env::var("PQL_MEM_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    // One configuration per process: memory freed by a dropped index stays
    // in the allocator and would hide the next one's growth.
    let m: usize = std::env::var("PQL_MEM_M")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let dim: usize = std::env::var("PQL_MEM_DIM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    {
        let mut rng = Rng(77);
        let data: Vec<f32> = (0..n * dim).map(|_| rng.normal()).collect();
        let params = GraphParams {
            m,
            ef_construction: 32,
        };
        let before = rss_bytes().unwrap();
        let idx = HnswIndex::new(Metric::L2, dim, params, n).unwrap();
        let items: Vec<(u32, &[f32])> = data
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| (i as u32, v))
            .collect();
        idx.insert(&items);
        drop(items);
        let after = rss_bytes().unwrap();
        let per = (after - before) as f64 / n as f64;
        eprintln!(
            "n={n} dim={dim} m={m}: RSS +{per:.0} B/vector, estimate {:.0} B/vector",
            idx.memory_bytes() as f64 / n as f64
        );
    }
}
