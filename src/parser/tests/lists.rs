//! Lists of plain numbers (vector literals, arrays in nodes and `IN [..]`)
//! are read as one token each when they can be (`plain_numbers` in the
//! grammar). That must change nothing: the same values, the same errors at
//! the same places, as the grammar read token by token (`parse_strict`).

use proptest::prelude::*;

use super::*;
use crate::parser::ast::{FieldValue, VectorExpr};
use crate::parser::parse_strict;
use crate::value::Value;

/// `parse` and `parse_strict` agree on `text`: the same statements, or the
/// same error (message, line, column and source line).
fn same_as_strict(text: &str) {
    match (parse(text), parse_strict(text)) {
        (Ok(fast), Ok(strict)) => assert_eq!(fast, strict, "input: {text:?}"),
        (Err(fast), Err(strict)) => {
            assert_eq!(fast.to_string(), strict.to_string(), "input: {text:?}")
        }
        (fast, strict) => panic!("input: {text:?}\nparse: {fast:?}\nstrict: {strict:?}"),
    }
}

/// The vector of `SIMILAR TO [body]`.
fn vector(body: &str) -> Vec<f32> {
    let text = format!("QUERY c TENANT t SIMILAR TO [{body}] TOP 3");
    same_as_strict(&text);
    match select(&text).similar.map(|s| s.vector) {
        Some(VectorExpr::Literal(v)) => v,
        other => panic!("{text:?}: {other:?}"),
    }
}

/// The value of field `v` in `CREATE NODE { v: [body] }`.
fn array(body: &str) -> Value {
    let text = format!("QUERY c TENANT t CREATE NODE {{ v: [{body}] }}");
    same_as_strict(&text);
    match query(&text).op {
        QueryOp::CreateNode(n) => match n.fields.into_iter().next() {
            Some((_, FieldValue::Literal(v))) => v,
            other => panic!("{text:?}: {other:?}"),
        },
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn vector_components_are_the_f32_of_their_decimal() {
    assert_eq!(
        vector("0.1, -2.5, 3e2, 1E-3, -0, 7, 0.30000001192092896"),
        vec![0.1, -2.5, 300.0, 0.001, -0.0, 7.0, 0.3]
    );
    // Any whitespace of the grammar, and one trailing comma.
    assert_eq!(vector("1 ,\t2\r\n,\u{FEFF}3 , "), vec![1.0, 2.0, 3.0]);
    assert_eq!(vector("1,"), vec![1.0]);
    let long: Vec<String> = (0..384).map(|i| format!("{}.{i}", i % 7)).collect();
    let want: Vec<f32> = long.iter().map(|x| x.parse().unwrap_or(f32::NAN)).collect();
    assert_eq!(vector(&long.join(", ")), want);
}

#[test]
fn arrays_of_numbers_keep_integers_and_floats_apart() {
    assert_eq!(
        array("1, -2, 2.5, 1e3, 9223372036854775807"),
        Value::Array(vec![
            Value::Int(1),
            Value::Int(-2),
            Value::Float(2.5),
            Value::Float(1000.0),
            Value::Int(i64::MAX),
        ])
    );
    let nested = array("[1, 2], [3], []");
    let ints = |xs: &[i64]| Value::Array(xs.iter().map(|x| Value::Int(*x)).collect());
    assert_eq!(
        nested,
        Value::Array(vec![ints(&[1, 2]), ints(&[3]), ints(&[])])
    );
    let filter = select("QUERY c TENANT t WHERE x IN [1, 2.5,] RETURN COUNT(*)").filter;
    same_as_strict("QUERY c TENANT t WHERE x IN [1, 2.5,] RETURN COUNT(*)");
    assert!(
        format!("{filter:?}").contains("[Int(1), Float(2.5)]"),
        "{filter:?}"
    );
}

#[test]
fn lists_that_are_not_plain_read_as_before() {
    // Comments, other values, strings holding `]`, nesting.
    assert_eq!(vector("1 /* one */, -- two\n 2"), vec![1.0, 2.0]);
    assert_eq!(vector("/* lead */ 1, 2 /* tail */"), vec![1.0, 2.0]);
    assert_eq!(
        array("1, true, 'a]', null"),
        Value::Array(vec![
            Value::Int(1),
            Value::Bool(true),
            Value::Str("a]".into()),
            Value::Null,
        ])
    );
    assert_eq!(
        array("1, [2]"),
        Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Int(2)])])
    );
}

#[test]
fn malformed_lists_fail_where_and_as_before() {
    let q = "QUERY c TENANT t SIMILAR TO ";
    for (body, column, message) in [
        ("[1,, 2]", 32, "expected number or ']'"),
        ("[1 2]", 32, "expected ',' or ']'"),
        ("[1., 2]", 31, "expected ',' or ']'"),
        ("[1e, 2]", 30, "expected number or ']'"),
        ("[1x]", 30, "expected number or ']'"),
        ("[1, 2", 34, "expected ',' or ']'"),
        ("[1, 2; SHOW STATS", 34, "expected ',' or ']'"),
        ("[1, 'a']", 33, "expected number or ']'"),
        ("[1e39]", 30, "vector component out of range: 1e39"),
        (
            "[1, 2,\n  -1e39]",
            3,
            "vector component out of range: -1e39",
        ),
    ] {
        let text = format!("{q}{body}");
        same_as_strict(&text);
        let (line, col, msg) = fail(&text);
        let want_line = if body.contains('\n') { 2 } else { 1 };
        assert_eq!(
            (line, col, msg.as_str()),
            (want_line, column, message),
            "{text:?}"
        );
    }
    let text = "QUERY c TENANT t CREATE NODE { v: [1, 99999999999999999999] }";
    same_as_strict(text);
    assert_eq!(
        fail(text),
        (
            1,
            39,
            "integer out of range (64-bit): 99999999999999999999".to_string()
        )
    );
    // A later syntax error wins over an earlier out-of-range number, as when
    // the whole text is parsed before any value is read.
    let text = "QUERY c TENANT t CREATE NODES [{ v: [1e999] }, { v: [1,,2] }]";
    same_as_strict(text);
    assert_eq!(fail(text), (1, 56, "expected value or ']'".to_string()));
}

/// Pieces that list bodies are made of, valid and not.
const PIECES: &[&str] = &[
    "1",
    "-",
    "0.5",
    "2e3",
    "1E-2",
    "-7",
    ".",
    "e",
    "+",
    ",",
    ", ",
    " ",
    "\n",
    "\t",
    "\u{FEFF}",
    "/*c*/",
    "-- c\n",
    "x",
    "_",
    "'a'",
    "\"]\"",
    "[",
    "]",
    "true",
    "null",
    "1e39",
    ";",
    "99999999999999999999",
    "{a: 1}",
];

fn body() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..14).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_list_parses_as_the_strict_grammar_does(b in body(), close in any::<bool>()) {
        let close = if close { "]" } else { "" };
        for text in [
            format!("QUERY c TENANT t SIMILAR TO [{b}{close} TOP 3"),
            format!("QUERY c TENANT t CREATE NODE {{ v: [{b}{close}, w: 1 }}"),
            format!("QUERY c TENANT t CREATE NODES [{{ v: [{b}{close} }}, {{ v: [1, 2] }}]"),
            format!("QUERY c TENANT t WHERE x IN [{b}{close} SIMILAR TO [1, 2]; SHOW STATS"),
        ] {
            same_as_strict(&text);
        }
    }
}
