//! `pql import` and `pql export` (the real binary) on generated rows:
//! JSON Lines, CSV (vector as a JSON column and as v0..vN) and .npy (f32
//! and f64, ids from a sidecar or the row numbers). Counts and vectors are
//! exact, bad rows are reported with their line numbers, `--max-errors`
//! decides whether the run stops, `--resume` skips what exists, a refused
//! batch says how far the import got, and export → import round-trips.

#![cfg(feature = "cli")]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use pql::{Engine, Value};

mod common;

const DIM: usize = 8;

fn pql(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

/// `pql import --tenant t --collection c FILE EXTRA...`
fn import(dir: &Path, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["import", "--tenant", "t", "--collection", "c"];
    args.push(file.to_str().unwrap());
    args.extend(extra);
    pql(dir, &args)
}

fn vectors(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = common::Rng(seed);
    (0..n)
        .map(|_| (0..DIM).map(|_| rng.gauss()).collect())
        .collect()
}

/// Creates tenant `t` and an l2 collection `c` (vectors kept as given).
fn setup(dir: &Path) {
    let e = Engine::open(dir).unwrap();
    e.execute("CREATE TENANT t; CREATE COLLECTION c TENANT t WITH (metric: 'l2');")
        .unwrap();
}

/// A node's attributes and vector.
type Stored = (BTreeMap<String, Value>, Option<Vec<f32>>);

/// Every node of `t.c`: id → (attributes, vector).
fn nodes(dir: &Path) -> BTreeMap<String, Stored> {
    let e = Engine::open(dir).unwrap();
    let mut out = BTreeMap::new();
    e.scan_nodes("t", "c", 100, |chunk| {
        for n in chunk {
            out.insert(n.id.clone(), (n.attributes.clone(), n.vector.clone()));
        }
        Ok(())
    })
    .unwrap();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_npy(path: &Path, rows: &[Vec<f32>], f64s: bool) {
    let descr = if f64s { "<f8" } else { "<f4" };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {DIM}), }}",
        rows.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for r in rows {
        for x in r {
            if f64s {
                out.extend_from_slice(&f64::from(*x).to_le_bytes());
            } else {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
    }
    fs::write(path, out).unwrap();
}

#[test]
fn jsonl_rows_go_in_exactly_and_bad_lines_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let vs = vectors(2_500, 1);
    let mut text = String::new();
    for (i, v) in vs.iter().enumerate() {
        let line = match i {
            100 => "{ not json".to_string(),
            200 => format!("{{\"id\": \"r{i}\", \"embedding\": [1, 2]}}"),
            300 => format!("{{\"title\": \"no id\", \"embedding\": {v:?}}}"),
            _ => format!(
                "{{\"id\": \"r{i}\", \"n\": {i}, \"tag\": \"t{}\", \"embedding\": {v:?}}}",
                i % 3
            ),
        };
        text.push_str(&line);
        text.push('\n');
    }
    let file = dir.path().join("rows.jsonl");
    fs::write(&file, text).unwrap();
    let base = ["--batch-size", "700"];

    // Default --max-errors 0: stops at the first bad row (line 101).
    let o = import(dir.path(), &file, &base);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 101:"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stopped after 1 bad rows"),
        "{}",
        stderr(&o)
    );

    // --resume with room for the three bad rows finishes the job.
    let mut args = base.to_vec();
    args.extend(["--resume", "--max-errors", "5"]);
    let o = import(dir.path(), &file, &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for line in ["line 101:", "line 201:", "line 301:"] {
        assert!(err.contains(line), "{line}: {err}");
    }
    assert!(
        err.contains("2497 rows imported") || err.contains(" bad, in"),
        "{err}"
    );
    let got = nodes(dir.path());
    assert_eq!(got.len(), 2_497);
    for (i, v) in vs.iter().enumerate() {
        if [100, 200, 300].contains(&i) {
            assert!(!got.contains_key(&format!("r{i}")));
            continue;
        }
        let (attrs, vector) = &got[&format!("r{i}")];
        assert_eq!(vector.as_ref(), Some(v), "r{i}");
        assert_eq!(attrs.get("n"), Some(&Value::Int(i as i64)));
        assert_eq!(attrs.get("tag"), Some(&Value::Str(format!("t{}", i % 3))));
    }

    // Everything is in: a third run with --resume skips every row.
    let o = import(dir.path(), &file, &args);
    assert!(
        stderr(&o).contains("0 rows imported, 2497 skipped"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn csv_with_a_vector_column_or_v_columns() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let vs = vectors(1_000, 2);
    let mut json_col = String::from("id,title,score,embedding\n");
    let mut v_cols = format!(
        "id,title,{}\n",
        (0..DIM)
            .map(|d| format!("v{d}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (i, v) in vs.iter().enumerate() {
        let floats: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        if i < 500 {
            json_col.push_str(&format!(
                "a{i},\"title, {i}\",{}.5,\"[{}]\"\n",
                i,
                floats.join(",")
            ));
        } else if i == 700 {
            v_cols.push_str(&format!("b{i},bad,{}\n", floats[..DIM - 1].join(",")));
        } else {
            v_cols.push_str(&format!("b{i},plain {i},{}\n", floats.join(",")));
        }
    }
    fs::write(dir.path().join("a.csv"), json_col).unwrap();
    fs::write(dir.path().join("b.csv"), v_cols).unwrap();
    let a = dir.path().join("a.csv");
    let o = import(dir.path(), &a, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = dir.path().join("b.csv");
    let o = import(dir.path(), &b, &["--max-errors", "1"]);
    assert_eq!(o.status.code(), Some(1));
    // The header is line 1: row 700 (the 201st of this file) is line 202.
    assert!(stderr(&o).contains("line 202:"), "{}", stderr(&o));
    let got = nodes(dir.path());
    assert_eq!(got.len(), 999);
    for (i, v) in vs.iter().enumerate() {
        let id = if i < 500 {
            format!("a{i}")
        } else {
            format!("b{i}")
        };
        if i == 700 {
            assert!(!got.contains_key(&id));
            continue;
        }
        let (attrs, vector) = &got[&id];
        assert_eq!(vector.as_ref(), Some(v), "{id}");
        if i < 500 {
            assert_eq!(attrs.get("title"), Some(&Value::Str(format!("title, {i}"))));
            assert_eq!(attrs.get("score"), Some(&Value::Float(i as f64 + 0.5)));
        }
    }
}

#[test]
fn npy_f32_and_f64_with_ids_or_row_numbers() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let vs = vectors(3_000, 3);
    let f32_file = dir.path().join("a.npy");
    write_npy(&f32_file, &vs[..2_000], false);
    let ids = dir.path().join("a.ids");
    let id_text: Vec<String> = (0..2_000).map(|i| format!("id-{i}")).collect();
    fs::write(&ids, id_text.join("\n")).unwrap();
    let o = import(dir.path(), &f32_file, &["--ids", ids.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f64_file = dir.path().join("b.data");
    write_npy(&f64_file, &vs[2_000..], true);
    let o = import(dir.path(), &f64_file, &["--file-format", "npy"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = nodes(dir.path());
    assert_eq!(got.len(), 3_000);
    for (i, v) in vs.iter().enumerate() {
        let id = if i < 2_000 {
            format!("id-{i}")
        } else {
            (i - 2_000).to_string()
        };
        assert_eq!(got[&id].1.as_ref(), Some(v), "{id}");
    }

    // A truncated file is refused before anything is imported.
    let bytes = fs::read(&f32_file).unwrap();
    fs::write(dir.path().join("cut.npy"), &bytes[..bytes.len() - 100]).unwrap();
    let cut = dir.path().join("cut.npy");
    let o = import(dir.path(), &cut, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_refused_batch_reports_how_far_the_import_got() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(dir.path()).unwrap();
        e.execute("CREATE TENANT t WITH (max_vectors: 250); CREATE COLLECTION c TENANT t WITH (metric: 'l2');")
            .unwrap();
    }
    let file = dir.path().join("a.npy");
    write_npy(&file, &vectors(1_000, 4), false);
    let o = import(dir.path(), &file, &["--batch-size", "100"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("batch from line 201 refused") && err.contains("200 rows imported"),
        "{err}"
    );
    assert_eq!(nodes(dir.path()).len(), 200);
}

#[test]
fn export_then_import_round_trips_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let vs = vectors(1_200, 5);
    {
        let e = Engine::open(dir.path()).unwrap();
        for chunk in (0..vs.len()).collect::<Vec<_>>().chunks(300) {
            let nodes: Vec<String> = chunk
                .iter()
                .map(|&i| {
                    format!(
                        "{{ id: \"n{i}\", k: {i}, name: \"x{i}\", embedding: {} }}",
                        common::vector_literal(&vs[i])
                    )
                })
                .collect();
            e.execute(&format!(
                "QUERY c TENANT t CREATE NODES [{}];",
                nodes.join(", ")
            ))
            .unwrap();
        }
    }
    let original = nodes(dir.path());
    for (ext, vectors_only) in [("jsonl", false), ("csv", false), ("npy", true)] {
        let file = dir.path().join(format!("out.{ext}"));
        let o = pql(
            dir.path(),
            &[
                "export",
                "--tenant",
                "t",
                "--collection",
                "c",
                "--to",
                file.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{ext}: {}", stderr(&o));
        let other = tempfile::tempdir().unwrap();
        setup(other.path());
        let mut args = vec![
            "import",
            "--tenant",
            "t",
            "--collection",
            "c",
            file.to_str().unwrap(),
        ];
        let ids = format!("{}.ids", file.display());
        if ext == "npy" {
            args.extend(["--ids", ids.as_str()]);
        }
        let o = pql(other.path(), &args);
        assert!(o.status.success(), "{ext}: {}", stderr(&o));
        let copy = nodes(other.path());
        assert_eq!(copy.len(), original.len(), "{ext}");
        for (id, (attrs, v)) in &original {
            assert_eq!(&copy[id].1, v, "{ext} {id}");
            if !vectors_only {
                assert_eq!(&copy[id].0, attrs, "{ext} {id}");
            }
        }
    }
}
