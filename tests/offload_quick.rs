//! The quick path of a cold query (docs/object-storage.md, "The quick
//! path"): a `SIMILAR TO` read without a filter on an offloaded tenant's
//! collection is answered from the collection's quick object, with the ids,
//! distances and columns the loaded tenant gives (for a graph collection,
//! those of its exact scan), while the tenant is onloaded behind the
//! answer. Against a `file://` store (always) and the
//! S3 server (when it runs; see `common::s3`).

#![cfg(feature = "s3")]

mod common;

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use common::s3::{open_with_quick_objects, stores};
use common::{files, vector_literal as literal};
use pql::{Config, Engine, ErrorKind, QueryResult, Value};

fn run(engine: &Engine, text: &str) -> QueryResult {
    engine
        .execute(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .remove(0)
}

fn storage(engine: &Engine) -> Value {
    common::describe(engine, "acme", "storage")
}

fn str_(s: &str) -> Value {
    Value::Str(s.into())
}

/// A pseudo-random generator, so every run sees the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vector(&mut self, dim: usize) -> Vec<f32> {
        (0..dim).map(|_| self.next()).collect()
    }
}

const DIM: usize = 16;

/// Tenant acme with `flat` collections `cos`, `l2` and `dot` of `n` random
/// vectors each (with attributes, a few nodes without a vector, a few
/// deleted), and `auto` collection `graphy`.
fn fill(engine: &Engine, n: usize, rng: &mut Lcg) {
    engine.execute("CREATE TENANT acme;").unwrap();
    for (c, metric) in [("cos", "cosine"), ("l2", "l2"), ("dot", "dot")] {
        engine
            .execute(&format!(
                "CREATE COLLECTION {c} TENANT acme WITH (dimension: {DIM}, index: 'flat', \
                 metric: '{metric}');"
            ))
            .unwrap();
        for start in (0..n).step_by(500) {
            let nodes: Vec<String> = (start..(start + 500).min(n))
                .map(|i| {
                    let v = rng.vector(DIM);
                    if i % 97 == 5 {
                        format!("{{ id: \"n{i}\", kind: \"k{}\" }}", i % 3)
                    } else {
                        format!(
                            "{{ id: \"n{i}\", kind: \"k{}\", rank: {i}, tags: [\"a\", \"b{}\"], \
                             embedding: {} }}",
                            i % 3,
                            i % 5,
                            literal(&v)
                        )
                    }
                })
                .collect();
            run(
                engine,
                &format!("QUERY {c} TENANT acme CREATE NODES [{}];", nodes.join(", ")),
            );
        }
        run(
            engine,
            &format!("QUERY {c} TENANT acme WHERE rank < 40 AND kind = \"k1\" DELETE;"),
        );
    }
    run(
        engine,
        "QUERY graphy TENANT acme CREATE NODE { id: \"g\", embedding: [1.0, 0.0] };",
    );
}

/// An engine whose store is a folder, with acme filled by [`fill`]:
/// (data folder, bucket folder, engine, the generator, for queries).
fn in_a_folder(n: usize, seed: u64) -> (TempDir, TempDir, Engine, Lcg) {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let engine =
        open_with_quick_objects(dir.path(), &format!("file://{}", bucket.path().display()));
    let mut rng = Lcg(seed);
    fill(&engine, n, &mut rng);
    (dir, bucket, engine, rng)
}

/// Runs a statement that needs the tenant's data (not the quick path), so
/// the onload started behind a cold query has finished when it returns.
fn settle(engine: &Engine) {
    run(engine, "QUERY cos TENANT acme RETURN COUNT(*);");
    assert_eq!(storage(engine), str_("active"));
}

/// The object `name` in the `file://` store at `bucket`.
fn object(bucket: &Path, name: &str) -> PathBuf {
    files(bucket)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("no object {name}"))
}

fn flip_at(path: &Path, at: impl Fn(usize) -> usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = at(bytes.len());
    bytes[i] ^= 0x5a;
    std::fs::write(path, bytes).unwrap();
}

fn queries(rng: &mut Lcg) -> Vec<String> {
    let mut out = Vec::new();
    for c in ["cos", "l2", "dot"] {
        let v = literal(&rng.vector(DIM));
        out.push(format!("QUERY {c} TENANT acme SIMILAR TO {v} TOP 10;"));
        out.push(format!(
            "QUERY {c} TENANT acme SIMILAR TO {v} TOP 4 RETURN id, kind, tags, embedding, missing;"
        ));
        out.push(format!(
            "QUERY {c} TENANT acme SIMILAR TO {v} RETURN _id, _distance, rank;"
        ));
        out.push(format!(
            "QUERY {c} TENANT acme SIMILAR TO {v} TOP 2000 WITH (exact: true);"
        ));
    }
    out
}

#[test]
fn a_cold_query_answers_as_the_loaded_tenant_and_onloads_behind() {
    let mut keep = Vec::new();
    for store in stores("quick", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_with_quick_objects(dir.path(), &store);
        let mut rng = Lcg(11);
        fill(&engine, 1200, &mut rng);
        for q in queries(&mut rng) {
            let loaded = run(&engine, &q);
            assert!(!loaded.rows.is_empty(), "{q}");
            engine.execute("OFFLOAD TENANT acme;").unwrap();
            let cold = run(&engine, &q);
            assert_eq!(
                (cold.columns, cold.rows),
                (loaded.columns, loaded.rows),
                "{store}: {q}"
            );
            settle(&engine);
        }
        // The quick objects were uploaded beside the collection files, and
        // the onload did not bring them down.
        let local = files(&dir.path().join("tenants/acme"));
        assert!(local.iter().any(|p| p.ends_with("cos.redb")));
        assert!(!local
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "quick")));
        if let Some(bucket) = store.strip_prefix("file://") {
            for name in ["cos.quick", "l2.quick", "dot.quick", "graphy.quick"] {
                object(Path::new(bucket), name);
            }
        }
    }
}

/// `rows`' ids.
fn ids(r: &QueryResult) -> Vec<Value> {
    r.rows.iter().map(|row| row[0].clone()).collect()
}

/// The quick path with a damaged collection file in the bucket: the onload
/// behind each answer fails, so every query takes the quick path; each
/// must match the exact answer of the loaded tenant.
#[test]
fn the_quick_path_finds_the_exact_top_10_of_random_vectors() {
    let (dir, bucket, engine, mut rng) = in_a_folder(3000, 5);
    let queries: Vec<String> = (0..300)
        .map(|i| {
            let c = ["cos", "l2", "dot"][i % 3];
            format!(
                "QUERY {c} TENANT acme SIMILAR TO {} TOP 10 RETURN id;",
                literal(&rng.vector(DIM))
            )
        })
        .collect();
    let exact: Vec<QueryResult> = queries.iter().map(|q| run(&engine, q)).collect();
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    for c in ["cos", "l2", "dot"] {
        flip_at(&object(bucket.path(), &format!("{c}.redb")), |n| n / 2);
    }
    let (mut found, mut wanted) = (0, 0);
    for (q, exact) in queries.iter().zip(&exact) {
        let cold = run(&engine, q);
        let want = ids(exact);
        found += ids(&cold).iter().filter(|id| want.contains(id)).count();
        wanted += want.len();
        assert_eq!(cold.rows, exact.rows, "{q}");
    }
    assert_eq!(found, wanted, "recall {found}/{wanted}");
    // The onloads behind failed: still offloaded, nothing local, and a
    // statement that needs the data reports the damage.
    let e = engine
        .execute("QUERY cos TENANT acme RETURN COUNT(*);")
        .unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Corrupt, "{e}");
    assert_eq!(storage(&engine), str_("offloaded"));
    assert!(files(&dir.path().join("tenants")).is_empty());
}

/// A damaged quick object (its codes, its header, a row): the cold query
/// falls back to the ordinary onload and still answers right.
#[test]
fn a_damaged_quick_object_falls_back_to_the_full_onload() {
    let (_dir, bucket, engine, mut rng) = in_a_folder(800, 3);
    let q = format!(
        "QUERY cos TENANT acme SIMILAR TO {} TOP 10;",
        literal(&rng.vector(DIM))
    );
    let loaded = run(&engine, &q);
    let damage: [&dyn Fn(usize) -> usize; 4] = [
        &|_| 40,    // the codes
        &|n| n - 2, // the header's checksum
        &|n| n / 2, // a row, perhaps one fetched
        &|_| 3,     // the magic
    ];
    for at in damage {
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        flip_at(&object(bucket.path(), "cos.quick"), at);
        let cold = run(&engine, &q);
        assert_eq!(cold.rows, loaded.rows);
        settle(&engine);
    }
    // Every row damaged: whichever rows the query fetches, it falls back
    // (and so is onloaded when it returns).
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    let quick = object(bucket.path(), "cos.quick");
    let mut bytes = std::fs::read(&quick).unwrap();
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap()) as usize;
    let (rows, header) = (32 + word(8), word(16));
    for b in &mut bytes[rows..header] {
        *b ^= 0x11;
    }
    std::fs::write(&quick, bytes).unwrap();
    let searches = usage(&engine, "searches");
    assert_eq!(run(&engine, &q).rows, loaded.rows);
    assert_eq!(storage(&engine), str_("active"));
    // Metered once, by the path that answered.
    assert_eq!(usage(&engine, "searches"), searches + 1);
}

/// A snapshot made before quick objects (its manifest names none) is
/// onloaded as before.
#[test]
fn a_snapshot_without_quick_objects_still_onloads() {
    let (_dir, bucket, engine, mut rng) = in_a_folder(600, 9);
    let q = format!(
        "QUERY l2 TENANT acme SIMILAR TO {} TOP 7 RETURN id, rank;",
        literal(&rng.vector(DIM))
    );
    let loaded = run(&engine, &q);
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    let manifest = object(bucket.path(), "manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    json["objects"]
        .as_array_mut()
        .unwrap()
        .retain(|o| !o["file"].as_str().unwrap().ends_with(".quick"));
    std::fs::write(&manifest, serde_json::to_vec(&json).unwrap()).unwrap();
    for p in files(bucket.path()) {
        if p.extension().is_some_and(|e| e == "quick") {
            std::fs::remove_file(p).unwrap();
        }
    }
    assert_eq!(run(&engine, &q).rows, loaded.rows);
    assert_eq!(storage(&engine), str_("active"));
}

/// Access statuses, quotas and metering apply to the quick path as to the
/// loaded one; writes after a cold query see the onloaded tenant.
#[test]
fn statuses_quotas_and_usage_apply_to_the_quick_path() {
    let mut keep = Vec::new();
    for store in stores("quick-status", &mut keep) {
        let dir = tempfile::tempdir().unwrap();
        let engine = open_with_quick_objects(dir.path(), &store);
        let mut rng = Lcg(21);
        fill(&engine, 300, &mut rng);
        let v = literal(&rng.vector(DIM));
        let q = format!("QUERY dot TENANT acme SIMILAR TO {v} TOP 6 RETURN id;");
        let loaded = run(&engine, &q);

        for (status, kind) in [
            ("suspended", ErrorKind::TenantSuspended),
            ("pending_deletion", ErrorKind::TenantPendingDeletion),
        ] {
            run(
                &engine,
                &format!("ALTER TENANT acme SET status = '{status}';"),
            );
            engine.execute("OFFLOAD TENANT acme;").unwrap();
            let e = engine.execute(&q).unwrap_err();
            assert_eq!(e.kind(), &kind, "{status}: {e}");
            assert_eq!(storage(&engine), str_("offloaded"));
            assert!(files(&dir.path().join("tenants")).is_empty());
            run(&engine, "ONLOAD TENANT acme;");
            run(&engine, "ALTER TENANT acme SET status = 'active';");
        }

        // Read-only: the read is answered, a write refused, the status kept.
        run(&engine, "ALTER TENANT acme SET status = 'read_only';");
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        assert_eq!(run(&engine, &q).rows, loaded.rows);
        let e = engine
            .execute("QUERY dot TENANT acme CREATE NODE { id: \"x\" };")
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TenantReadOnly, "{e}");
        assert_eq!(engine.tenant_status("acme").unwrap(), "read_only");
        settle(&engine);
        run(&engine, "ALTER TENANT acme SET status = 'active';");

        // The size quota is checked before the quick path runs.
        run(&engine, "ALTER TENANT acme SET max_results_per_query = 5;");
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        let e = engine.execute(&q).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::QuotaExceeded { .. }), "{e}");
        assert_eq!(storage(&engine), str_("offloaded"));
        run(&engine, "ALTER TENANT acme SET max_results_per_query = 50;");

        // Metered as one search over every vector, like the loaded path.
        let searches = |e: &Engine| usage(e, "searches");
        let scanned = |e: &Engine| usage(e, "vectors_scanned");
        let (s0, v0) = (searches(&engine), scanned(&engine));
        run(&engine, &q);
        let (s1, v1) = (searches(&engine), scanned(&engine));
        settle(&engine);
        run(&engine, &q);
        let (s2, v2) = (searches(&engine), scanned(&engine));
        assert_eq!((s1 - s0, v1 - v0), (1, v2 - v1), "cold vs loaded");
        assert_eq!(s2 - s1, 1);

        // A write right after a cold query lands in the onloaded tenant.
        let q = format!("QUERY cos TENANT acme SIMILAR TO {v} TOP 6 RETURN id;");
        let loaded = run(&engine, &q);
        engine.execute("OFFLOAD TENANT acme;").unwrap();
        assert_eq!(run(&engine, &q).rows, loaded.rows);
        run(
            &engine,
            &format!("QUERY cos TENANT acme CREATE NODE {{ id: \"new\", embedding: {v} }};"),
        );
        let after = run(&engine, &q);
        assert_eq!(after.rows[0][0], str_("new"));
        assert_eq!(storage(&engine), str_("active"));
    }
}

/// acme's `column` in `SHOW USAGE`.
fn usage(engine: &Engine, column: &str) -> i64 {
    let r = run(engine, "SHOW USAGE;");
    let row = r.rows.iter().find(|row| row[0] == str_("acme")).unwrap();
    let at = r.columns.iter().position(|c| c == column).unwrap();
    match row[at] {
        Value::Int(n) => n,
        ref other => panic!("{column}: {other:?}"),
    }
}

/// Dropping the engine right after a cold query waits for the onload
/// behind it: the data folder opens again at once, with the tenant local.
#[test]
fn dropping_the_engine_waits_for_the_onload_behind() {
    let (dir, bucket, engine, mut rng) = in_a_folder(2000, 13);
    let store = format!("file://{}", bucket.path().display());
    let q = format!(
        "QUERY cos TENANT acme SIMILAR TO {} TOP 5 RETURN id;",
        literal(&rng.vector(DIM))
    );
    let loaded = run(&engine, &q);
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    assert_eq!(run(&engine, &q).rows, loaded.rows);
    drop(engine);
    let engine = open_with_quick_objects(dir.path(), &store);
    assert_eq!(storage(&engine), str_("active"));
    assert_eq!(run(&engine, &q).rows, loaded.rows);
}

/// `SIMILAR TO embed("...")` takes the quick path too, with the tenant's
/// embedder (the engine's default here).
#[test]
fn an_embed_query_answers_as_the_loaded_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let engine =
        open_with_quick_objects(dir.path(), &format!("file://{}", bucket.path().display()));
    engine.execute("CREATE TENANT acme;").unwrap();
    run(
        &engine,
        "CREATE COLLECTION docs TENANT acme WITH (index: 'flat');",
    );
    let words = [
        "oak", "drill", "stool", "notebook", "metal", "wood", "paper",
    ];
    let nodes: Vec<String> = (0..150)
        .map(|i| {
            let text = format!("{} {} {i}", words[i % 7], words[(i / 7) % 7]);
            format!("{{ id: \"d{i}\", text: \"{text}\", embedding: embed(\"{text}\") }}")
        })
        .collect();
    run(
        &engine,
        &format!(
            "QUERY docs TENANT acme CREATE NODES [{}];",
            nodes.join(", ")
        ),
    );
    let q = "QUERY docs TENANT acme SIMILAR TO embed(\"oak stool\") TOP 8;";
    let loaded = run(&engine, q);
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    // The data file is damaged: only the quick path can answer.
    flip_at(&object(bucket.path(), "docs.redb"), |n| n / 2);
    let cold = run(&engine, q);
    assert_eq!((cold.columns, cold.rows), (loaded.columns, loaded.rows));
}

/// By default only collection files of 8 MiB or more get a quick object
/// (smaller ones onload in a few milliseconds); a cold query on a smaller
/// one onloads first, as before.
#[test]
fn by_default_a_small_collection_gets_no_quick_object() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let store = format!("file://{}", bucket.path().display());
    let engine =
        Engine::open_with(Config::new(dir.path()).with_object_store(&store).unwrap()).unwrap();
    let mut rng = Lcg(17);
    fill(&engine, 300, &mut rng);
    let q = format!(
        "QUERY cos TENANT acme SIMILAR TO {} TOP 5 RETURN id;",
        literal(&rng.vector(DIM))
    );
    let loaded = run(&engine, &q);
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    assert!(!files(bucket.path())
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "quick")));
    assert_eq!(run(&engine, &q).rows, loaded.rows);
    assert_eq!(storage(&engine), str_("active"));
}

/// A collection with a graph index: the cold answer is the exact top k
/// (what the loaded tenant answers `WITH (exact: true)`), at least as close
/// as the loaded graph search.
#[test]
fn a_graph_collection_answers_cold_with_the_exact_top_k() {
    let dir = tempfile::tempdir().unwrap();
    let bucket = tempfile::tempdir().unwrap();
    let engine =
        open_with_quick_objects(dir.path(), &format!("file://{}", bucket.path().display()));
    let mut rng = Lcg(23);
    run(&engine, "CREATE TENANT acme;");
    run(
        &engine,
        &format!("CREATE COLLECTION g TENANT acme WITH (dimension: {DIM}, index: 'graph');"),
    );
    for start in (0..3000).step_by(500) {
        let nodes: Vec<String> = (start..start + 500)
            .map(|i| {
                format!(
                    "{{ id: \"n{i}\", embedding: {} }}",
                    literal(&rng.vector(DIM))
                )
            })
            .collect();
        run(
            &engine,
            &format!("QUERY g TENANT acme CREATE NODES [{}];", nodes.join(", ")),
        );
    }
    let vectors: Vec<String> = (0..40).map(|_| literal(&rng.vector(DIM))).collect();
    let exact: Vec<QueryResult> = vectors
        .iter()
        .map(|v| {
            run(
                &engine,
                &format!("QUERY g TENANT acme SIMILAR TO {v} TOP 10 WITH (exact: true);"),
            )
        })
        .collect();
    engine.execute("OFFLOAD TENANT acme;").unwrap();
    // The collection file damaged in the bucket: the onload behind each
    // answer fails, so every query below takes the quick path.
    flip_at(&object(bucket.path(), "g.redb"), |n| n / 2);
    for (v, exact) in vectors.iter().zip(&exact) {
        let cold = run(
            &engine,
            &format!("QUERY g TENANT acme SIMILAR TO {v} TOP 10;"),
        );
        assert_eq!(
            (&cold.columns, &cold.rows),
            (&exact.columns, &exact.rows),
            "{v}"
        );
    }
    assert_eq!(storage(&engine), str_("offloaded"));
}
