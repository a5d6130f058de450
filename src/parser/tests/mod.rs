//! Parser tests: statements, filters, errors, round-trips, robustness.

mod arbitrary;
mod errors;
mod filters;
mod lexical;
mod lists;
mod queries;
mod robustness;
mod roundtrip;
mod statements;

use super::ast::{Located, Query, QueryOp, Script, Select, Statement};
use super::parse;

/// An option `key: value`.
fn opt(key: &str, value: crate::value::Value) -> super::ast::Opt {
    super::ast::Opt {
        key: key.into(),
        value,
        span: Default::default(),
    }
}

/// A string value.
fn s(text: &str) -> crate::value::Value {
    crate::value::Value::Str(text.into())
}

/// The statements of `text`, which must parse.
fn stmts(text: &str) -> Vec<Statement> {
    match parse(text) {
        Ok(Script { statements }) => statements.into_iter().map(|l| l.statement).collect(),
        Err(e) => panic!("{text:?} failed to parse:\n{e}"),
    }
}

/// The only statement of `text`.
fn one(text: &str) -> Statement {
    let mut all = stmts(text);
    assert_eq!(all.len(), 1, "{text:?} gave {all:?}");
    all.remove(0)
}

/// The only statement of `text`, which must be a QUERY.
fn query(text: &str) -> Query {
    match one(text) {
        Statement::Query(q) => q,
        other => panic!("{text:?} is not a query: {other:?}"),
    }
}

/// The select part of a QUERY.
fn select(text: &str) -> Select {
    match query(text).op {
        QueryOp::Select(s) => s,
        other => panic!("{text:?} is not a select: {other:?}"),
    }
}

/// Located statements of `text`.
fn located(text: &str) -> Vec<Located> {
    match parse(text) {
        Ok(s) => s.statements,
        Err(e) => panic!("{text:?} failed to parse:\n{e}"),
    }
}

/// The error of `text`, which must fail: (line, column, message).
fn fail(text: &str) -> (usize, usize, String) {
    match parse(text) {
        Ok(s) => panic!("{text:?} parsed: {s:?}"),
        Err(e) => {
            assert_eq!(e.kind(), &crate::error::ErrorKind::ParseError, "{e}");
            let p = e.position().unwrap_or_else(|| panic!("no position: {e}"));
            (p.line, p.column, e.message().to_string())
        }
    }
}

/// The PQL examples of seeds/000, exactly as written there.
const SEED_000: &str = r#"-- Create tenant namespace
CREATE TENANT acme_corp
WITH (
  max_vectors: 1000000,
  max_storage_gb: 10,
  isolation_level: 'dedicated'
);

-- Insert data into tenant namespace
QUERY products TENANT acme_corp
CREATE NODE {
  id: "prod_001",
  name: "Widget",
  embedding: embed("High quality widget")
};

-- Query within tenant
QUERY products TENANT acme_corp
WHERE category = "tools"
SIMILAR TO embed("hardware tool") TOP 10;

-- Deactivate tenant (unload from memory)
ALTER TENANT acme_corp SET status = 'inactive';

-- Archive tenant (cold storage)
ARCHIVE TENANT acme_corp;

-- Restore tenant from archive
RESTORE TENANT acme_corp;
"#;
