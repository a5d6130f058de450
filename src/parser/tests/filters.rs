//! Filter operators, precedence and associativity.

use super::*;
use crate::parser::ast::{CmpOp, Expr};
use crate::value::Value;

fn filter(text: &str) -> Expr {
    select(&format!("QUERY p TENANT a WHERE {text}"))
        .filter
        .unwrap_or_else(|| panic!("no filter in {text}"))
}

fn cmp(field: &str, op: CmpOp, value: i64) -> Expr {
    Expr::Cmp {
        field: field.into(),
        op,
        value: Value::Int(value),
    }
}

fn eq(field: &str) -> Expr {
    cmp(field, CmpOp::Eq, 1)
}

fn and(a: Expr, b: Expr) -> Expr {
    Expr::And(Box::new(a), Box::new(b))
}

fn or(a: Expr, b: Expr) -> Expr {
    Expr::Or(Box::new(a), Box::new(b))
}

fn not(a: Expr) -> Expr {
    Expr::Not(Box::new(a))
}

#[test]
fn comparison_operators() {
    for (text, op) in [
        ("=", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        ("<>", CmpOp::Ne),
        ("<", CmpOp::Lt),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        (">=", CmpOp::Ge),
    ] {
        assert_eq!(filter(&format!("x {text} 1")), cmp("x", op, 1), "{text}");
        assert_eq!(filter(&format!("x{text}1")), cmp("x", op, 1), "{text}");
    }
    assert_eq!(
        filter("name = 'a'"),
        Expr::Cmp {
            field: "name".into(),
            op: CmpOp::Eq,
            value: Value::Str("a".into())
        }
    );
    assert_eq!(
        filter("\"odd name\" >= -1.5"),
        Expr::Cmp {
            field: "odd name".into(),
            op: CmpOp::Ge,
            value: Value::Float(-1.5)
        }
    );
}

#[test]
fn set_and_null_predicates() {
    assert_eq!(
        filter("tag IN ['a', 2, null,]"),
        Expr::In {
            field: "tag".into(),
            values: vec![Value::Str("a".into()), Value::Int(2), Value::Null],
            negated: false
        }
    );
    assert_eq!(
        filter("tag NOT IN []"),
        Expr::In {
            field: "tag".into(),
            values: vec![],
            negated: true
        }
    );
    assert_eq!(
        filter("tags CONTAINS 'x'"),
        Expr::Contains {
            field: "tags".into(),
            value: Value::Str("x".into())
        }
    );
    assert_eq!(
        filter("tag NOT IN ('a', 2)"),
        Expr::In {
            field: "tag".into(),
            values: vec![Value::Str("a".into()), Value::Int(2)],
            negated: true
        }
    );
    assert_eq!(filter("tag IN ()"), filter("tag IN []"));
    assert_eq!(filter("EXISTS price"), Expr::Exists("price".into()));
    assert_eq!(
        filter("price IS NULL"),
        Expr::IsNull {
            field: "price".into(),
            negated: false
        }
    );
    assert_eq!(
        filter("price IS NOT NULL"),
        Expr::IsNull {
            field: "price".into(),
            negated: true
        }
    );
    // A field may be called `exists`.
    assert_eq!(filter("exists = 1"), eq("exists"));
}

#[test]
fn precedence_not_and_or() {
    assert_eq!(
        filter("a = 1 OR b = 1 AND c = 1"),
        or(eq("a"), and(eq("b"), eq("c")))
    );
    assert_eq!(
        filter("a = 1 AND b = 1 OR c = 1"),
        or(and(eq("a"), eq("b")), eq("c"))
    );
    assert_eq!(filter("NOT a = 1 AND b = 1"), and(not(eq("a")), eq("b")));
    assert_eq!(filter("NOT a = 1 OR b = 1"), or(not(eq("a")), eq("b")));
    assert_eq!(filter("NOT (a = 1 OR b = 1)"), not(or(eq("a"), eq("b"))));
    assert_eq!(filter("NOT NOT a = 1"), not(not(eq("a"))));
    assert_eq!(
        filter("(a = 1 OR b = 1) AND c = 1"),
        and(or(eq("a"), eq("b")), eq("c"))
    );
    assert_eq!(
        filter("a = 1 AND b = 1 OR c = 1 AND d = 1 OR e = 1"),
        or(or(and(eq("a"), eq("b")), and(eq("c"), eq("d"))), eq("e"))
    );
    assert_eq!(filter("((((a = 1))))"), eq("a"));
}

#[test]
fn left_associative() {
    assert_eq!(
        filter("a = 1 AND b = 1 AND c = 1"),
        and(and(eq("a"), eq("b")), eq("c"))
    );
    assert_eq!(
        filter("a = 1 OR b = 1 OR c = 1"),
        or(or(eq("a"), eq("b")), eq("c"))
    );
    assert_eq!(
        filter("a = 1 OR (b = 1 OR c = 1)"),
        or(eq("a"), or(eq("b"), eq("c")))
    );
}

#[test]
fn filters_in_every_place() {
    let f = Some(eq("x"));
    assert_eq!(select("QUERY p TENANT a WHERE x = 1 TOP 1").filter, f);
    match one("SHOW TENANTS WHERE x = 1") {
        Statement::ShowTenants { filter, .. } => assert_eq!(filter, f),
        other => panic!("{other:?}"),
    }
    match query("QUERY p TENANT a WHERE x = 1 DELETE").op {
        QueryOp::Delete { filter } => assert_eq!(filter, f),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nesting_up_to_the_limit_is_fine() {
    let n = crate::parser::nesting::MAX_NESTING;
    // `WHERE` adds no level, so n parentheses are accepted.
    let text = format!("{}a = 1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(filter(&text), eq("a"));
    let text = format!("{}a = 1", "NOT ".repeat(n));
    let mut e = filter(&text);
    for _ in 0..n {
        e = match e {
            Expr::Not(inner) => *inner,
            other => panic!("{other:?}"),
        };
    }
    assert_eq!(e, eq("a"));
}

#[test]
fn long_flat_chains_are_bounded_but_reasonable_ones_pass() {
    let chain = |n: usize| {
        (0..n)
            .map(|i| format!("id = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let max = crate::parser::expr::MAX_FILTER_DEPTH;
    assert!(parse(&format!("QUERY p TENANT a WHERE {}", chain(max))).is_ok());
    let (line, _, message) = fail(&format!("QUERY p TENANT a WHERE {}", chain(max + 1)));
    assert_eq!(line, 1);
    assert!(message.contains("filter too long"), "{message}");
}
