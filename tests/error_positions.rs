//! Runtime errors point at the name or literal they are about: the caret
//! sits under the unknown tenant, the unknown collection, the vector or node
//! literal of the wrong dimension, the `TOP` count over the quota, the batch
//! over the batch quota, the invalid option. In multi-line scripts and in
//! statements after the first.

mod common;

use pql::{Engine, ErrorKind};

/// A data folder with tenant `acme` (small result and batch quotas) and
/// collection `c` of dimension 2 holding one node.
fn engine() -> (tempfile::TempDir, Engine) {
    let dir = common::fast_tempdir();
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .execute(
            "CREATE TENANT acme WITH (max_results_per_query: 5, max_batch_size: 2);
             CREATE COLLECTION c TENANT acme WITH (dimension: 2);
             QUERY c TENANT acme CREATE NODE { id: \"a\", embedding: [1.0, 0.0] };",
        )
        .unwrap();
    (dir, engine)
}

/// The kind, line and column of the error `script` fails with, after
/// checking that the excerpt shows the source line of that position.
fn failure(engine: &Engine, script: &str) -> (ErrorKind, usize, usize) {
    let e = engine.execute(script).unwrap_err();
    let p = e.position().unwrap_or_else(|| panic!("no position: {e}"));
    let line = script.lines().nth(p.line - 1).unwrap();
    assert_eq!(p.source_line, line, "{e}");
    (e.kind().clone(), p.line, p.column)
}

/// The 1-based column of the first `needle` on 1-based line `line` of `script`.
fn column_of(script: &str, line: usize, needle: &str) -> usize {
    let text = script.lines().nth(line - 1).unwrap();
    text[..text.find(needle).unwrap()].chars().count() + 1
}

#[test]
fn unknown_tenant_points_at_its_name_in_a_later_statement() {
    let (_dir, engine) = engine();
    let script = "SHOW TENANTS;\nQUERY c\n  TENANT nobody\n  RETURN COUNT(*);";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::TenantNotFound);
    assert_eq!((line, column), (3, column_of(script, 3, "nobody")));

    let script = "SHOW TENANTS; DESCRIBE TENANT ghost;";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::TenantNotFound);
    assert_eq!((line, column), (1, column_of(script, 1, "ghost")));
}

#[test]
fn an_invalid_tenant_name_points_at_the_name() {
    let (_dir, engine) = engine();
    let script = "SHOW TENANTS;\nSHOW COLLECTIONS TENANT \"../x\";";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::InvalidName);
    assert_eq!((line, column), (2, column_of(script, 2, "\"../x\"")));
}

#[test]
fn unknown_collection_points_at_its_name() {
    let (_dir, engine) = engine();
    let script = "USE TENANT acme;\n  QUERY missing RETURN COUNT(*);";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::CollectionNotFound);
    assert_eq!((line, column), (2, column_of(script, 2, "missing")));

    let script = "DROP COLLECTION gone TENANT acme;";
    let (kind, _, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::CollectionNotFound);
    assert_eq!(column, column_of(script, 1, "gone"));
}

#[test]
fn a_node_of_the_wrong_dimension_points_at_its_literal() {
    let (_dir, engine) = engine();
    let script = "QUERY c TENANT acme CREATE NODES [\n  { id: \"b\", embedding: [0.0, 1.0] },\n    { id: \"x\", embedding: [1.0, 2.0, 3.0] }\n];";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::DimensionMismatch);
    assert_eq!((line, column), (3, 5));
}

#[test]
fn a_query_vector_of_the_wrong_dimension_points_at_the_vector() {
    let (_dir, engine) = engine();
    let script = "SHOW TENANTS;\nQUERY c TENANT acme\n  SIMILAR TO [1.0, 2.0, 3.0] TOP 1;";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::DimensionMismatch);
    assert_eq!((line, column), (3, column_of(script, 3, "[")));
}

#[test]
fn quotas_point_at_the_count_and_at_the_batch() {
    let (_dir, engine) = engine();
    let script = "QUERY c TENANT acme\n  SIMILAR TO [1.0, 0.0] TOP 50;";
    let (kind, line, column) = failure(&engine, script);
    assert!(matches!(kind, ErrorKind::QuotaExceeded { .. }), "{kind:?}");
    assert_eq!((line, column), (2, column_of(script, 2, "50")));

    let script = "QUERY c TENANT acme LIMIT 6;";
    let (kind, _, column) = failure(&engine, script);
    assert!(matches!(kind, ErrorKind::QuotaExceeded { .. }), "{kind:?}");
    assert_eq!(column, column_of(script, 1, "6"));

    let script =
        "QUERY c TENANT acme CREATE NODES [\n   { id: \"p\" }, { id: \"q\" }, { id: \"r\" }];";
    let (kind, line, column) = failure(&engine, script);
    assert!(matches!(kind, ErrorKind::QuotaExceeded { .. }), "{kind:?}");
    assert_eq!((line, column), (2, 4));
}

#[test]
fn an_invalid_option_points_at_the_option() {
    let (_dir, engine) = engine();
    let script = "CREATE COLLECTION d TENANT acme\n  WITH (dimension: 2, metric: 'manhattan');";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::InvalidOption);
    assert_eq!((line, column), (2, column_of(script, 2, "metric")));

    let script = "ALTER COLLECTION c TENANT acme SET ef_search = 0;";
    let (kind, _, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::InvalidOption);
    assert_eq!(column, column_of(script, 1, "ef_search"));

    let script = "QUERY c TENANT acme SIMILAR TO [1.0, 0.0] TOP 1 WITH (exact: true, ef: 0);";
    let (kind, _, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::InvalidOption);
    assert_eq!(column, column_of(script, 1, "ef:"));
}

#[test]
fn other_errors_still_point_at_their_statement() {
    let (_dir, engine) = engine();
    let script = "SHOW TENANTS;\n  QUERY c TENANT acme CREATE NODE { id: \"a\" };";
    let (kind, line, column) = failure(&engine, script);
    // A duplicate id points at its node literal; a refusal without a
    // token of its own points at the statement.
    assert_eq!(kind, ErrorKind::NodeExists);
    assert_eq!((line, column), (2, column_of(script, 2, "{")));
    let script = "SHOW TENANTS;\n  QUERY c RETURN COUNT(*);";
    let (kind, line, column) = failure(&engine, script);
    assert_eq!(kind, ErrorKind::NoTenant);
    assert_eq!((line, column), (2, 3));
}
