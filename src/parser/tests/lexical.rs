//! Lexical rules: case-insensitive keywords, comments, separators, names,
//! literals and statement positions.

use super::*;
use crate::parser::ast::*;
use crate::value::Value;

fn s(text: &str) -> Value {
    Value::Str(text.into())
}

#[test]
fn keywords_are_case_insensitive() {
    let a = stmts("QUERY p TENANT a WHERE x IS NOT NULL AND y IN [1] SIMILAR TO EMBED('q') TOP 3 RETURN COUNT(*)");
    let b = stmts("query p tenant a where x is not null and y in [1] similar to embed('q') top 3 return count(*)");
    let c = stmts("QuErY p TeNaNt a WhErE x Is NoT nUlL aNd y In [1] SiMiLaR tO eMbEd('q') ToP 3 rEtUrN cOuNt(*)");
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(
        one("create tenant x with (flag: TRUE, other: False, nothing: NULL)"),
        one("CREATE TENANT x WITH (flag: true, other: false, nothing: null)")
    );
}

#[test]
fn keywords_do_not_match_prefixes_of_identifiers() {
    // `TOPP`, `nodes2`, `limitless` are names, not keywords.
    assert_eq!(query("QUERY topp TENANT limitless").collection, "topp");
    let sel = select("QUERY p TENANT a WHERE nodes2 = 1 AND orx = 2 AND notable = 3");
    let printed = sel.filter.map(|e| e.to_string());
    assert_eq!(
        printed.as_deref(),
        Some("nodes2 = 1 AND orx = 2 AND notable = 3")
    );
}

#[test]
fn comments_and_whitespace_anywhere() {
    let text = "/* lead */ QUERY -- c1\n p /* c2 */ TENANT\t/* c3 */a -- c4\n WHERE /* c5 */ x /* c6 */ = /* c7 */ 1 -- c8\n AND y IN /* c9 */ [ /* c10 */ 1 , -- c11\n 2 ] TOP /* c12 */ 3 /* c13 */ ; -- tail";
    assert_eq!(
        stmts(text),
        stmts("QUERY p TENANT a WHERE x = 1 AND y IN [1, 2] TOP 3")
    );
    let obj =
        "CREATE TENANT t WITH ( -- c\n a /* c */ : /* c */ { b /* c */ : [ 1 /* c */ ] } /* c */ )";
    assert_eq!(stmts(obj), stmts("CREATE TENANT t WITH (a: {b: [1]})"));
}

#[test]
fn empty_scripts_and_separators() {
    for text in [
        "",
        "   \n\t",
        "-- only a comment",
        "/* block */ -- line\n",
        ";",
        " ; ;; ",
    ] {
        assert_eq!(stmts(text), vec![], "{text:?}");
    }
    assert_eq!(stmts("SHOW STATS; SHOW STATS").len(), 2);
    assert_eq!(stmts("SHOW STATS;;SHOW STATS;").len(), 2);
    // After the last `;` (whitespace and comments aside) the script ends.
    for text in [
        "SHOW STATS;",
        "SHOW STATS ; ; /* x */ ;\n",
        "SHOW STATS; -- end",
        "SHOW STATS;\u{FEFF}",
    ] {
        assert_eq!(stmts(text), stmts("SHOW STATS"), "{text:?}");
    }
}

#[test]
fn located_statements_point_at_their_first_character() {
    let all = located("SHOW STATS;\n  -- x\n  SHOW TENANTS;  USE TENANT 'é'; DESCRIBE TENANT t");
    let at: Vec<(usize, usize)> = all.iter().map(|l| (l.line, l.column)).collect();
    assert_eq!(at, vec![(1, 1), (3, 3), (3, 18), (3, 34)]);
}

#[test]
fn names_with_dashes_and_hostile_quoted_names_pass_through_raw() {
    assert_eq!(
        query("QUERY products-v2 TENANT customer-123")
            .tenant
            .as_deref(),
        Some("customer-123")
    );
    assert_eq!(query("QUERY 2024_q1 TENANT 42").collection, "2024_q1");
    for raw in ["../x", "", "a/b", "..", "with space", "é", "x\0y", "DROP"] {
        let quoted = format!("{}", Value::Str(raw.into()));
        let text = format!("CREATE TENANT {quoted}; QUERY {quoted} TENANT {quoted}");
        let all = stmts(&text);
        assert_eq!(
            all[0],
            Statement::CreateTenant {
                name: raw.into(),
                if_not_exists: false,
                options: vec![]
            }
        );
        match &all[1] {
            Statement::Query(q) => {
                assert_eq!(q.collection, raw);
                assert_eq!(q.tenant.as_deref(), Some(raw));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        one("USE TENANT '../../etc'"),
        Statement::UseTenant {
            name: "../../etc".into()
        }
    );
    // `--` starts a comment even right after a name.
    assert_eq!(
        one("USE TENANT a--b"),
        Statement::UseTenant { name: "a".into() }
    );
}

#[test]
fn literals() {
    let v = |text: &str| match one(&format!("CREATE TENANT t WITH (v: {text})")) {
        Statement::CreateTenant { mut options, .. } => options.remove(0).value,
        other => panic!("{other:?}"),
    };
    assert_eq!(v("42"), Value::Int(42));
    assert_eq!(v("-7"), Value::Int(-7));
    assert_eq!(v("-9223372036854775808"), Value::Int(i64::MIN));
    assert_eq!(v("9223372036854775807"), Value::Int(i64::MAX));
    assert_eq!(v("0.5"), Value::Float(0.5));
    assert_eq!(v("-1.5"), Value::Float(-1.5));
    assert_eq!(v("1e-3"), Value::Float(1e-3));
    assert_eq!(v("2E+5"), Value::Float(2e5));
    assert_eq!(v("'it\\'s'"), s("it's"));
    assert_eq!(
        v(r#""\\ \' \" \n \t \r \0 \u{1F600} \u{e9}""#),
        s("\\ ' \" \n \t \r \0 \u{1F600} \u{e9}")
    );
    assert_eq!(v("\"multi\nline\""), s("multi\nline"));
    assert_eq!(v("[]"), Value::Array(vec![]));
    assert_eq!(v("{}"), Value::Object(Default::default()));
    assert_eq!(
        v("[1, 'a', [true], {k: false}]"),
        Value::Array(vec![
            Value::Int(1),
            s("a"),
            Value::Array(vec![Value::Bool(true)]),
            Value::Object(
                [("k".to_string(), Value::Bool(false))]
                    .into_iter()
                    .collect()
            ),
        ])
    );
}

#[test]
fn every_grammar_keyword_is_quoted_when_printed_as_a_name() {
    let grammar = include_str!("../../../grammar/pql.pest");
    let keywords: Vec<&str> = grammar
        .lines()
        .filter_map(|l| l.strip_prefix("kw_"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(keywords.len() > 40, "{keywords:?}");
    for kw in keywords {
        assert!(
            crate::parser::display_lit::KEYWORDS.contains(&kw),
            "{kw} missing from display_lit::KEYWORDS"
        );
        let printed = Statement::UseTenant { name: kw.into() }.to_string();
        assert_eq!(printed, format!("USE TENANT \"{kw}\""));
    }
}
