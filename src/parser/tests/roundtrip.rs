//! parse → Display → parse gives the same AST, for hand-written statements
//! and for generated syntax trees.

use proptest::prelude::*;

use super::arbitrary::statement;
use super::*;

/// Parses `text`, prints it, parses the print; both parses must agree and
/// printing must be stable.
fn round_trip(text: &str) {
    let first = stmts(text);
    let printed = Script {
        statements: first
            .iter()
            .map(|s| Located {
                statement: s.clone(),
                line: 1,
                column: 1,
            })
            .collect(),
    }
    .to_string();
    let second = match parse(&printed) {
        Ok(s) => s
            .statements
            .into_iter()
            .map(|l| l.statement)
            .collect::<Vec<_>>(),
        Err(e) => panic!("printed form of {text:?} does not parse:\n{printed}\n{e}"),
    };
    assert_eq!(first, second, "{text:?} printed as {printed:?}");
    let reprinted: Vec<String> = second.iter().map(|s| s.to_string()).collect();
    assert_eq!(printed, reprinted.join(";\n"));
}

pub(super) const STATEMENTS: &[&str] = &[
    "CREATE TENANT acme",
    "create tenant if not exists \"customer-123\" with (tier: 'free', max_qps: 0.5, metadata: {a: [1, {b: null}], 'x y': -2.5e-3})",
    "CREATE TENANT t WITH (big: 1e20, small: 1e-20, neg: -0.0, max: 9223372036854775807, min: -9223372036854775808)",
    "ALTER TENANT acme SET status = 'inactive', max_vectors = 10",
    "ARCHIVE TENANT acme",
    "RESTORE TENANT acme",
    "DROP TENANT acme",
    "DROP TENANT IF EXISTS '../etc'",
    "SHOW TENANTS",
    "SHOW TENANTS WHERE status = 'active' AND NOT tier IN ['free'] LIMIT 10",
    "DESCRIBE TENANT customer-123",
    "USE TENANT \"with space\"",
    "USE TENANT 'tenant'",
    "USE TENANT '--x'",
    "CREATE COLLECTION IF NOT EXISTS products TENANT acme WITH (dimension: 384, metric: 'cosine')",
    "ALTER COLLECTION products TENANT acme SET ef_search = 128",
    "DROP COLLECTION IF EXISTS products",
    "SHOW COLLECTIONS TENANT acme",
    "SHOW COLLECTIONS",
    "QUERY products TENANT acme CREATE NODE { id: \"p1\", name: \"Widget\", embedding: embed(\"High quality widget\") }",
    "QUERY products TENANT acme CREATE NODES [{ id: 'a' }, {}, { \"odd key\": [1, 2.5], count: 3 }]",
    "QUERY products TENANT acme UPSERT NODE { id: 'p1', vec: [0.1, 0.2] }",
    "QUERY products TENANT acme WHERE id = 'p1' UPDATE SET price = 10, embedding = embed('x\\ny')",
    "QUERY products TENANT acme UPDATE SET \"not\" = true",
    "QUERY products TENANT acme WHERE category = 'old' DELETE",
    "QUERY products TENANT acme DELETE",
    "QUERY products TENANT acme",
    "QUERY products",
    "QUERY products TENANT acme WHERE a = 1 OR b = 2 AND NOT (c = 3 OR d <> 4) SIMILAR TO [0.1, -2, 1e-7, 3.4e38] USING vec TOP 5 WITH (ef: 64, exact: false) RETURN id, \"count\", name",
    "QUERY products TENANT acme WHERE (a = 1 OR b = 2) AND (c = 3 OR (d = 4 OR e = 5)) LIMIT 3 RETURN COUNT(*)",
    "QUERY p TENANT a WHERE NOT NOT x IS NULL AND y IS NOT NULL OR EXISTS z AND tags CONTAINS 'a' AND k NOT IN [1, 'b', null]",
    "QUERY p TENANT a WHERE x >= -1.5 AND x <= 2 AND x > 0 AND x < 1e30 AND s != 'a\"b'",
    "QUERY p TENANT a SIMILAR TO NODE \"p\\\"1\" LIMIT 0",
    "EXPLAIN QUERY p TENANT a WHERE x = 1 SIMILAR TO embed('tool') TOP 10",
    "SHOW USAGE",
    "SHOW USAGE FOR TENANT acme PERIOD '2026-11'",
    "SHOW USAGE FROM '2026-11-01' TO '2026-11-30'",
    "SHOW STATS",
    "CREATE TIER gold WITH (max_vectors: 1000000, max_qps: 100, max_storage_gb: 2.5, default_ef: 64)",
    "create tier if not exists \"gold-2\"",
    "ALTER TIER gold SET max_vectors = 2000000, max_qps = null",
    "DROP TIER gold",
    "drop tier if exists 'gold'",
    "SHOW TIERS",
];

#[test]
fn hand_written_statements_round_trip() {
    for text in STATEMENTS {
        round_trip(text);
    }
    round_trip(&STATEMENTS.join(";\n"));
}

#[test]
fn seed_000_round_trips() {
    round_trip(SEED_000);
}

#[test]
fn script_prints_statements_joined_by_semicolon_newline() {
    let script = match parse("show stats ; use tenant a;") {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(script.to_string(), "SHOW STATS;\nUSE TENANT a");
    assert_eq!(Script { statements: vec![] }.to_string(), "");
}

#[test]
fn canonical_form_reads_like_pql() {
    let s = one(
        "query P tenant 'acme' where not (a=1 or b<>2) and c in [1,2,] similar to embed('x') top 3",
    );
    assert_eq!(
        s.to_string(),
        "QUERY P TENANT acme WHERE NOT (a = 1 OR b != 2) AND c IN [1, 2] SIMILAR TO embed(\"x\") TOP 3"
    );
    let s = one("create tenant 'a b' with (K: {z: 1.0, a: 'q'})");
    assert_eq!(
        s.to_string(),
        "CREATE TENANT \"a b\" WITH (k: { a: \"q\", z: 1.0 })"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn generated_statements_round_trip(s in statement()) {
        let printed = s.to_string();
        let parsed = parse(&printed);
        prop_assert!(parsed.is_ok(), "{printed}\n{:?}", parsed.err().map(|e| e.to_string()));
        let statements: Vec<Statement> = parsed
            .map(|p| p.statements.into_iter().map(|l| l.statement).collect())
            .unwrap_or_default();
        prop_assert_eq!(statements, vec![s], "printed: {}", printed);
    }
}
