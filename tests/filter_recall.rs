//! Filtered recall@10 against exact search at every selectivity band from
//! 50% to 0.1%, for equality, `AND`, `IN` and range filters, through PQL
//! text. Run four times: with the planner's cost model (which scans below
//! its crossover and walks the graph above it; large scans read the
//! one-byte scan codes and re-rank exactly), with the codes turned off,
//! with the codes at every band, and with the graph walk forced at every
//! band (`filter_walk_cost = 0`), so every path is held to the bar. Seeded data; the allowance is stated: recall ≥ 0.99 per case, i.e.
//! at most 3 of the 300 true neighbours of a case's 30 queries missed.

use pql::{Config, Engine};

mod common;
use common::{brute_force, clustered, normalise, vector_literal as literal, Rng};

const N: usize = 30_000;
const DIM: usize = 16;
const QUERIES: usize = 30;
const MIN_RECALL: f64 = 0.99;

/// Clustered unit vectors: 40 centres, each point's centre drawn at random.
fn data(rng: &mut Rng) -> Vec<Vec<f32>> {
    clustered(rng, N, DIM, 40, 2.0, |_, rng| rng.next() as usize)
}

/// A case: its PQL filter, which rows it allows, and its share.
type Case = (&'static str, fn(usize) -> bool, &'static str);

const CASES: [Case; 16] = [
    ("half = 0", |i| i % 2 == 0, "50%"),
    ("fifth = 1", |i| i % 5 == 1, "20%"),
    ("tenth = 3", |i| i % 10 == 3, "10%"),
    ("hundredth = 42", |i| i % 100 == 42, "1%"),
    ("b = 7", |i| i % 1000 == 7, "0.1%"),
    ("half = 1 AND fifth = 2", |i| i % 10 == 7, "10%"),
    (
        "tenth = 3 AND hundredth < 50",
        |i| i % 10 == 3 && i % 100 < 50,
        "5%",
    ),
    (
        "hundredth = 5 AND b < 500",
        |i| i % 100 == 5 && i % 1000 < 500,
        "0.5%",
    ),
    (
        "tenth IN [1, 2, 3, 4, 5]",
        |i| (1..=5).contains(&(i % 10)),
        "50%",
    ),
    ("hundredth IN [1, 2]", |i| matches!(i % 100, 1 | 2), "2%"),
    ("b IN [5]", |i| i % 1000 == 5, "0.1%"),
    ("b < 500", |i| i % 1000 < 500, "50%"),
    ("b >= 900", |i| i % 1000 >= 900, "10%"),
    (
        "b >= 20 AND b < 40",
        |i| (20..40).contains(&(i % 1000)),
        "2%",
    ),
    ("b < 10", |i| i % 1000 < 10, "1%"),
    ("b < 1", |i| i % 1000 < 1, "0.1%"),
];

fn load(engine: &Engine, vectors: &[Vec<f32>]) {
    // ef 64 (not the default 128): a filtered walk still runs at 128, the
    // graph's minimum for filters, and the cost model prices that.
    engine
        .execute("CREATE TENANT t; CREATE COLLECTION items TENANT t WITH (ef_search: 64);")
        .unwrap();
    for (c, rows) in vectors.chunks(1000).enumerate() {
        let nodes: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let i = c * 1000 + j;
                format!(
                    "{{ id: \"n{i}\", half: {}, fifth: {}, tenth: {}, hundredth: {}, b: {}, embedding: {} }}",
                    i % 2,
                    i % 5,
                    i % 10,
                    i % 100,
                    i % 1000,
                    literal(v)
                )
            })
            .collect();
        engine
            .execute(&format!(
                "QUERY items TENANT t CREATE NODES [{}];",
                nodes.join(", ")
            ))
            .unwrap();
    }
}

fn strategy(engine: &Engine, text: &str) -> String {
    let plan = &engine.execute(&format!("EXPLAIN {text}")).unwrap()[0];
    plan.column_values("plan")
        .iter()
        .filter_map(|v| v.as_str())
        .filter(|l| l.starts_with("strategy: ") || l.starts_with("cost estimate: "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Recall of every case, asserting the bar; returns each case's plan.
fn check_recall(engine: &Engine, vectors: &[Vec<f32>], queries: &[Vec<f32>]) -> Vec<String> {
    let mut plans = Vec::new();
    for (filter, allowed, share) in CASES {
        let (mut hits, mut total) = (0, 0);
        for q in queries {
            let text = format!(
                "QUERY items TENANT t WHERE {filter} SIMILAR TO {} TOP 10",
                literal(q)
            );
            let r = &engine.execute(&text).unwrap()[0];
            let got: Vec<&str> = r
                .column_values("_id")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let want = brute_force(vectors, q, allowed);
            total += want.len();
            hits += want.iter().filter(|w| got.contains(&w.as_str())).count();
        }
        let recall = hits as f64 / total as f64;
        let text = format!(
            "QUERY items TENANT t WHERE {filter} SIMILAR TO {} TOP 10",
            literal(&queries[0])
        );
        let plan = strategy(engine, &text);
        assert!(
            recall >= MIN_RECALL,
            "recall@10 {recall:.4} at {share} ({filter}); plan {plan}"
        );
        plans.push(plan);
    }
    plans
}

#[test]
fn filtered_recall_at_every_band_with_the_planner_and_with_the_walk() {
    let mut rng = Rng(23);
    let vectors = data(&mut rng);
    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|_| {
            let base = &vectors[(rng.next() % N as u64) as usize];
            let mut q: Vec<f32> = base.iter().map(|x| x + rng.gauss() * 0.2).collect();
            normalise(&mut q);
            q
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.flat_threshold = 1_000;
    config.exact_filter_threshold = 0;
    config.exact_filter_fraction = 0.0;
    let engine = Engine::open_with(config.clone()).unwrap();
    load(&engine, &vectors);
    let plans = check_recall(&engine, &vectors, &queries);
    // With the scan codes (from 1,024 matches, 0.6 a match) a scan of
    // 15,000 matches costs 9,100 against a walk of 10,240: every band
    // scans, those of 1,024 matches or more (5% and up) through the codes.
    for ((filter, _, share), plan) in CASES.iter().zip(&plans) {
        let codes = matches!(*share, "50%" | "20%" | "10%" | "5%");
        assert_eq!(
            plan.contains("strategy: code scan"),
            codes,
            "{filter} at {share}: {plan}"
        );
        assert_eq!(
            plan.contains("strategy: exact scan"),
            !codes,
            "{filter} at {share}: {plan}"
        );
        assert!(plan.contains("cost estimate: exact scan ≈"), "{plan}");
    }
    drop(engine);

    // Without codes, at 30,000 vectors and a walk ef of 128 the crossover is
    // at a pass rate of sqrt(40 × 128 / 30,000) = 41%: the 50% cases walk,
    // the rest scan the exact vectors.
    config.quantized_scan_min = usize::MAX;
    let engine = Engine::open_with(config.clone()).unwrap();
    let plans = check_recall(&engine, &vectors, &queries);
    for ((filter, _, share), plan) in CASES.iter().zip(&plans) {
        let walk = *share == "50%";
        assert_eq!(
            plan.contains("hnsw graph search"),
            walk,
            "{filter} at {share}: {plan}"
        );
        assert!(!plan.contains("code scan"), "{plan}");
    }
    drop(engine);

    // The codes from 1 match: chosen wherever they are the cheaper scan,
    // 0.6 m + 100 (the re-rank) < m, i.e. from 1% (300 matches) up.
    config.quantized_scan_min = 1;
    let engine = Engine::open_with(config.clone()).unwrap();
    let plans = check_recall(&engine, &vectors, &queries);
    for ((filter, _, share), plan) in CASES.iter().zip(&plans) {
        let codes = !matches!(*share, "0.5%" | "0.1%");
        assert_eq!(
            plan.contains("strategy: code scan"),
            codes,
            "{filter} at {share}: {plan}"
        );
    }
    drop(engine);

    // The walk at every band.
    config.filter_walk_cost = 0.0;
    let engine = Engine::open_with(config).unwrap();
    let plans = check_recall(&engine, &vectors, &queries);
    for plan in plans {
        assert!(plan.contains("hnsw graph search"), "{plan}");
    }
}
