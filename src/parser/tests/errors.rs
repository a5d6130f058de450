//! Broken inputs: exact positions and expected-lists.

use super::*;

fn check(text: &str, line: usize, column: usize, message: &str) {
    assert_eq!(
        fail(text),
        (line, column, message.to_string()),
        "input: {text:?}"
    );
}

#[test]
fn misspelled_top_lists_what_may_follow_the_vector() {
    let text = "QUERY products TENANT acme_corp\nWHERE category = \"tools\"\n  SIMILAR TO embed(\"tool\") TOPP 10;";
    check(
        text,
        3,
        28,
        "expected USING, TOP, LIMIT, WITH, RETURN or ';'",
    );
    let e = match parse(text) {
        Err(e) => e.to_string(),
        Ok(s) => panic!("{s:?}"),
    };
    assert_eq!(
        e,
        "error: expected USING, TOP, LIMIT, WITH, RETURN or ';'\n --> line 3, column 28\n  |\n3 |   SIMILAR TO embed(\"tool\") TOPP 10;\n  |                            ^"
    );
}

#[test]
fn missing_semicolon_between_statements() {
    check(
        "CREATE TENANT a\nCREATE TENANT b;",
        2,
        1,
        "expected WITH or ';'",
    );
    check("ARCHIVE TENANT a USE TENANT b", 1, 18, "expected ';'");
    check(
        "QUERY p TENANT a TOP 3\nQUERY p TENANT a",
        2,
        1,
        "expected WITH, RETURN or ';'",
    );
}

#[test]
fn unterminated_string_and_comment() {
    check(
        "QUERY p TENANT a WHERE x = \"abc",
        1,
        28,
        "unterminated string",
    );
    check(
        "SHOW STATS;\nUSE TENANT 'abc\n",
        2,
        12,
        "unterminated string",
    );
    check("SHOW STATS /* never closed", 1, 12, "unterminated comment");
    // A quote where no string may stand is not about the string.
    check("SHOW STATS 'abc", 1, 12, "expected ';'");
    check("QUERY p TENANT a RETURN 'abc", 1, 25, "unterminated string");
    check("CREATE TENANT t WITH ('abc", 1, 23, "unterminated string");
}

#[test]
fn top_without_a_number() {
    check(
        "QUERY p TENANT a SIMILAR TO embed(\"x\") TOP;",
        1,
        43,
        "expected integer",
    );
    check("QUERY p TENANT a TOP", 1, 21, "expected integer");
    check("QUERY p TENANT a TOP -1", 1, 22, "expected integer");
    check("QUERY p TENANT a TOP 1.5", 1, 22, "expected integer");
}

#[test]
fn unknown_statement_and_subcommand() {
    check(
        "  FOO",
        1,
        3,
        "expected CREATE, ALTER, ARCHIVE, RESTORE, OFFLOAD, ONLOAD, ATTACH, EXPORT, IMPORT, DROP, SHOW, DESCRIBE, USE, QUERY or EXPLAIN",
    );
    // The same after a `;`, when more than whitespace and comments follow.
    check(
        "SHOW STATS; /* x */ FOO;",
        1,
        21,
        "expected CREATE, ALTER, ARCHIVE, RESTORE, OFFLOAD, ONLOAD, ATTACH, EXPORT, IMPORT, DROP, SHOW, DESCRIBE, USE, QUERY or EXPLAIN",
    );
    check(
        "SHOW FOO",
        1,
        6,
        "expected TENANTS, COLLECTIONS, USAGE, STATS, API or TIERS",
    );
    check(
        "CREATE thing",
        1,
        8,
        "expected TENANT, COLLECTION, API or TIER",
    );
    check(
        "DROP thing",
        1,
        6,
        "expected TENANT, COLLECTION, API or TIER",
    );
    check("ALTER TIER", 1, 11, "expected name");
    check("ALTER TIER gold", 1, 16, "expected SET");
    check("ALTER TIER gold SET", 1, 20, "expected option name");
    check("CREATE TIER gold WITH (max_qps 5)", 1, 32, "expected ':'");
    check("DROP TIER IF gold", 1, 14, "expected EXISTS or ';'");
    check("SHOW TIERS gold", 1, 12, "expected ';'");
    check("EXPLAIN SHOW STATS", 1, 9, "expected QUERY");
}

#[test]
fn malformed_filters() {
    check("QUERY p TENANT a WHERE", 1, 23, "expected condition");
    check("QUERY p TENANT a WHERE\n\n", 1, 23, "expected condition");
    check(
        "QUERY p TENANT a WHERE x",
        1,
        25,
        "expected comparison operator, NOT, IN, CONTAINS or IS",
    );
    check("QUERY p TENANT a WHERE x == 1", 1, 27, "expected value");
    check(
        "QUERY p TENANT a WHERE x ~ 1",
        1,
        26,
        "expected comparison operator, NOT, IN, CONTAINS or IS",
    );
    check(
        "QUERY p TENANT a WHERE x = 1 AND",
        1,
        33,
        "expected condition",
    );
    check(
        "QUERY p TENANT a WHERE (x = 1",
        1,
        30,
        "expected AND, OR or ')'",
    );
    check(
        "QUERY p TENANT a WHERE x IN 1",
        1,
        29,
        "expected '(' or '['",
    );
    check(
        "QUERY p TENANT a WHERE x IS 1",
        1,
        29,
        "expected NOT or NULL",
    );
}

#[test]
fn bad_literals_point_at_themselves() {
    check(
        "QUERY p TENANT a WHERE x = 'a\\q'",
        1,
        30,
        "unknown escape `\\q` in string",
    );
    check(
        "QUERY p TENANT a WHERE x = 'é\\u{D800}'",
        1,
        30,
        "invalid unicode escape: expected \\u{hex} (1-6 digits)",
    );
    check(
        "CREATE TENANT t WITH (a: 9223372036854775808)",
        1,
        26,
        "integer out of range (64-bit): 9223372036854775808",
    );
    check(
        "CREATE TENANT t WITH (a: 1e999)",
        1,
        26,
        "number out of range: 1e999",
    );
    check(
        "QUERY p TENANT a LIMIT 18446744073709551616",
        1,
        24,
        "integer out of range: 18446744073709551616",
    );
    check(
        "CREATE TENANT t WITH (a: 1, A: 2)",
        1,
        29,
        "duplicate option `a`",
    );
    check(
        "CREATE TENANT t WITH (a: {k: 1, k: 2})",
        1,
        33,
        "duplicate key `k`",
    );
    check(
        "QUERY p TENANT a CREATE NODE {id: 'a', id: 'b'}",
        1,
        40,
        "duplicate field `id`",
    );
}

#[test]
fn option_lists() {
    check(
        "CREATE TENANT x WITH (a: 1,, )",
        1,
        28,
        "expected option name or ')'",
    );
    check("CREATE TENANT x WITH (a 1)", 1, 25, "expected ':'");
    check("ALTER TENANT x SET", 1, 19, "expected option name");
    check("ALTER TENANT x SET a: 1", 1, 21, "expected '='");
    check(
        "CREATE TENANT x WITH (a: {1: 2})",
        1,
        27,
        "expected key or '}'",
    );
}

#[test]
fn vector_literal_holds_only_numbers() {
    check(
        "QUERY p TENANT a SIMILAR TO [1, 'a']",
        1,
        33,
        "expected number or ']'",
    );
    check(
        "QUERY p TENANT a SIMILAR TO [1e39]",
        1,
        30,
        "vector component out of range: 1e39",
    );
    check(
        "QUERY p TENANT a SIMILAR TO 'text'",
        1,
        29,
        "expected embed(...), NODE or '['",
    );
}

#[test]
fn embed_only_at_the_top_of_a_node_field() {
    check(
        "QUERY p TENANT a CREATE NODE { v: [embed('x')] }",
        1,
        36,
        "expected value or ']'",
    );
    check(
        "QUERY p TENANT a WHERE x = embed('x')",
        1,
        28,
        "expected value",
    );
}

#[test]
fn errors_inside_later_statements_have_their_own_line() {
    check(
        "SHOW STATS;\nSHOW STATS;\n\n  DROP TENANT ;",
        4,
        15,
        "expected IF or name",
    );
    check(
        "SHOW STATS; -- é\n/* é */ USE TENANT é",
        2,
        20,
        "expected name",
    );
}

#[test]
fn too_deep_nesting_is_a_parse_error() {
    let n = crate::parser::nesting::MAX_NESTING;
    let text = format!(
        "QUERY p TENANT a WHERE {}a = 1{}",
        "(".repeat(n + 1),
        ")".repeat(n + 1)
    );
    check(&text, 1, 24 + n, "nesting deeper than 64 levels");
    let text = format!("QUERY p TENANT a WHERE {}a = 1", "NOT ".repeat(n + 1));
    check(&text, 1, 24 + 4 * n, "filter nested deeper than 64 levels");
    let text = format!("CREATE TENANT t WITH (a: {})", "[".repeat(n + 5));
    check(&text, 1, 26 + n - 1, "nesting deeper than 64 levels");
}

#[test]
fn every_rule_has_an_english_name() {
    use crate::parser::errors::{is_keyword, rule_name};
    use crate::parser::Rule;
    for rule in Rule::all_rules() {
        let debug = format!("{rule:?}");
        assert_eq!(is_keyword(*rule), debug.starts_with("kw_"), "{debug}");
        let name = rule_name(*rule);
        assert!(
            !name.is_empty() && !name.contains('_'),
            "{debug} -> {name:?}"
        );
        if let Some(kw) = debug.strip_prefix("kw_") {
            if kw != "embed" {
                assert_eq!(name, kw.to_uppercase());
            }
        }
    }
}

#[test]
fn messages_list_what_may_come_next() {
    for (text, column, message) in [
        (
            "QUERY p TENANT a WHERE x = 1 TOPP 10",
            30,
            "expected AND, OR, UPDATE, DELETE, SIMILAR, TOP, LIMIT, WITH, RETURN or ';'",
        ),
        (
            "QUERY p TENANT a FOO",
            18,
            "expected CREATE, UPSERT, WHERE, UPDATE, DELETE, SIMILAR, TOP, LIMIT, WITH, RETURN or ';'",
        ),
        (
            "QUERY p FOO",
            9,
            "expected TENANT, CREATE, UPSERT, WHERE, UPDATE, DELETE, SIMILAR, TOP, LIMIT, WITH, RETURN or ';'",
        ),
        ("QUERY p TENANT a WHERE x IS NOT", 32, "expected NULL"),
        ("QUERY p TENANT a CREATE NODE", 29, "expected '{'"),
        ("QUERY p TENANT a CREATE", 24, "expected NODE or NODES"),
        ("QUERY p TENANT a UPDATE x = 1", 25, "expected SET"),
        (
            "QUERY p TENANT a SIMILAR TO embed('x') USING v RETURN",
            54,
            "expected COUNT or field name",
        ),
        ("QUERY p TENANT a RETURN COUNT(x)", 31, "expected '*'"),
        ("SHOW USAGE FOR TENANT a PERIOD", 31, "expected string"),
        ("SHOW USAGE FROM '2026-01-01'", 29, "expected TO"),
        ("SHOW TENANTS WHERE a = 1 x", 26, "expected AND, OR, LIMIT or ';'"),
        // `IF` alone may be a tenant named "if".
        ("CREATE TENANT IF EXISTS x", 18, "expected NOT, WITH or ';'"),
    ] {
        check(text, 1, column, message);
    }
}
