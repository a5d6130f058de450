//! Every statement form maps to the right AST.

use super::*;
use crate::parser::ast::*;
use crate::value::Value;

#[test]
fn seed_000_parses_as_written() {
    let all = located(SEED_000);
    assert_eq!(all.len(), 6);
    let starts: Vec<(usize, usize)> = all.iter().map(|l| (l.line, l.column)).collect();
    assert_eq!(
        starts,
        vec![(2, 1), (10, 1), (18, 1), (23, 1), (26, 1), (29, 1)]
    );
    for l in &all {
        println!("{:?}", l.statement);
    }
}

#[test]
fn scratch_errors() {
    for t in [
        "QUERY products TENANT acme_corp\nWHERE category = \"tools\"\n  SIMILAR TO embed(\"tool\") TOPP 10;",
        "CREATE TENANT a\nCREATE TENANT b;",
        "QUERY p TENANT a WHERE x = \"abc",
        "QUERY p TENANT a SIMILAR TO embed(\"x\") TOP;",
        "FOO",
        "SHOW FOO",
        "QUERY p TENANT a WHERE",
        "QUERY p TENANT a WHERE x",
        "QUERY p TENANT a WHERE x = 1 AND",
        "QUERY p TENANT a WHERE x = 'a\\q'",
        "QUERY p TENANT a SIMILAR TO [1, 'a']",
        "QUERY p TENANT a RETURN",
        "CREATE TENANT x WITH (a: 1,, )",
        "QUERY p TENANT a CREATE NODE { id: 1 ",
        "/* abc",
    ] {
        match parse(t) { Ok(s) => println!("OK {s:?}"), Err(e) => println!("{e}\n") }
    }
}
