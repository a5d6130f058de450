//! Save/load round trips and refusal of damaged files.

use super::persist::{file_path, VERSION};
use super::testutil::{build, clustered};
use super::{load, FilterMode};
use crate::error::ErrorKind;
use crate::index::{AnnIndex, Metric};

fn saved() -> (tempfile::TempDir, Vec<Vec<f32>>, super::GraphIndex) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = clustered(21, 600, 20, 8, true);
    let idx = build(Metric::Cosine, &data, 8);
    idx.mark_deleted(5);
    idx.save(dir.path(), "g").expect("save");
    (dir, data, idx)
}

#[test]
fn round_trip_gives_identical_results() {
    let (dir, data, idx) = saved();
    let back = load(dir.path(), "g", Metric::Cosine, 20).expect("load");
    assert_eq!(back.len(), idx.len());
    assert_eq!(back.deleted_len(), 1);
    let f = |id: u32| id % 4 == 1;
    for q in data.iter().step_by(37) {
        assert_eq!(idx.search(q, 10, 40, None), back.search(q, 10, 40, None));
        assert_eq!(
            idx.search_with(q, 10, 40, Some(&f), FilterMode::Graph),
            back.search_with(q, 10, 40, Some(&f), FilterMode::Graph)
        );
    }
    // Saving over the file the loaded index maps leaves the loaded one intact.
    back.save(dir.path(), "g").expect("save over mapped file");
    let q = &data[3];
    assert_eq!(idx.search(q, 10, 40, None), back.search(q, 10, 40, None));
    // The loaded index accepts inserts (copying its mapped rows first).
    #[cfg(unix)]
    assert!(back.store.read().vectors.is_mapped());
    let extra = [(600u32, data[0].as_slice())];
    back.insert(&extra);
    assert!(!back.store.read().vectors.is_mapped());
    assert_eq!(back.search(&data[0], 2, 20, None).len(), 2);
    assert_eq!(back.len(), idx.len() + 1);
    // Saving again over the old file works (atomic replace).
    back.save(dir.path(), "g").expect("resave");
    assert_eq!(
        load(dir.path(), "g", Metric::Cosine, 20)
            .expect("reload")
            .len(),
        601
    );
}

#[test]
fn damaged_files_are_refused() {
    let (dir, _, _) = saved();
    let path = file_path(dir.path(), "g");
    let good = std::fs::read(&path).expect("read");
    let expect_corrupt = |bytes: &[u8], what: &str| {
        std::fs::write(&path, bytes).expect("write");
        match load(dir.path(), "g", Metric::Cosine, 20) {
            Err(e) => assert_eq!(e.kind(), &ErrorKind::Corrupt, "{what}: {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    };
    for cut in [0, 5, 95, 96, good.len() / 2, good.len() - 1] {
        expect_corrupt(&good[..cut], &format!("truncated at {cut}"));
    }
    let mut longer = good.clone();
    longer.push(0);
    expect_corrupt(&longer, "trailing byte");
    for at in [
        0,
        13,
        40,
        200,
        good.len() / 2,
        good.len() - 10,
        good.len() - 1,
    ] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        expect_corrupt(&bad, &format!("bit flip at {at}"));
    }
    let mut old = good.clone();
    old[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
    expect_corrupt(&old, "other version");
    std::fs::write(&path, &good).expect("write");
    assert!(load(dir.path(), "g", Metric::Cosine, 20).is_ok());
    let e = load(dir.path(), "g", Metric::L2, 20)
        .err()
        .map(|e| e.kind().clone());
    assert_eq!(e, Some(ErrorKind::Corrupt), "metric mismatch");
    let e = load(dir.path(), "missing", Metric::Cosine, 20)
        .err()
        .map(|e| e.kind().clone());
    assert_eq!(e, Some(ErrorKind::Io));
}

#[test]
fn empty_index_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let params = crate::index::GraphParams {
        m: 8,
        ef_construction: 32,
    };
    let idx = super::GraphIndex::new(Metric::L2, 5, params, 0);
    idx.save(dir.path(), "e").expect("save");
    let back = load(dir.path(), "e", Metric::L2, 5).expect("load");
    assert_eq!(back.len(), 0);
    assert!(back.search(&[0.0; 5], 3, 10, None).is_empty());
    back.insert(&[(0, &[1.0, 2.0, 3.0, 4.0, 5.0][..])]);
    assert_eq!(back.search(&[1.0, 2.0, 3.0, 4.0, 5.0], 3, 10, None)[0].0, 0);
}
