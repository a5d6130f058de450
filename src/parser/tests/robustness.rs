//! Hostile input never panics, hangs or overflows the stack: random text,
//! mutated statements and very deep nesting all give `Ok` or a positioned
//! `ParseError`.

use proptest::prelude::*;

use super::roundtrip::STATEMENTS;
use super::*;
use crate::error::ErrorKind;

/// Parses `text` and checks that a failure is a positioned parse error whose
/// position lies inside the text.
fn no_panic(text: &str) {
    if let Err(e) = parse(text) {
        assert_eq!(e.kind(), &ErrorKind::ParseError, "{e}");
        let p = e.position().unwrap_or_else(|| panic!("no position: {e}"));
        let lines = text.split('\n').count().max(1);
        assert!(p.line >= 1 && p.line <= lines, "{text:?}: {e}");
        assert!(
            p.column >= 1 && p.column <= p.source_line.chars().count() + 1,
            "{text:?}: {e}"
        );
    }
}

/// Characters that PQL gives meaning to, so that random text often gets
/// deep into the grammar.
const ALPHABET: &[&str] = &[
    " ",
    "\n",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "=",
    "<",
    ">",
    "!",
    "*",
    "-",
    "--",
    "/*",
    "*/",
    "'",
    "\"",
    "\\",
    "e",
    "1",
    "0.5",
    "x",
    "é",
    "QUERY ",
    "TENANT ",
    "WHERE ",
    "AND ",
    "OR ",
    "NOT ",
    "IN ",
    "IS ",
    "NULL ",
    "SIMILAR TO ",
    "embed(",
    "TOP ",
    "LIMIT ",
    "RETURN ",
    "COUNT(*)",
    "CREATE ",
    "NODE ",
    "NODES ",
    "WITH ",
    "SET ",
    "SHOW ",
    "USAGE ",
];

fn pql_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..40).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let c = prop_oneof![
        proptest::sample::select(vec![
            '(', ')', '[', ']', '{', '}', '\'', '"', '\\', ';', ',', '-', '*', '/', ' ', 'x', '1',
            'é', '\n', '\0'
        ]),
        any::<char>(),
    ];
    let edit = prop_oneof![
        (any::<usize>(), c.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), c).prop_map(|(i, c)| Edit::Replace(i, c)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match *e {
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % len);
            }
            Edit::Replace(i, c) if !chars.is_empty() => chars[i % len] = c,
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_strings_never_panic(text in any::<String>()) {
        no_panic(&text);
    }

    #[test]
    fn random_pql_soup_never_panics(text in pql_soup()) {
        no_panic(&text);
    }

    #[test]
    fn mutated_statements_never_panic(
        i in 0..STATEMENTS.len(),
        edits in edits(),
    ) {
        no_panic(&apply(STATEMENTS[i], &edits));
        no_panic(&apply(SEED_000, &edits));
    }
}

#[test]
fn deep_nesting_fails_cleanly() {
    let n = 10_000;
    let inputs = [
        format!("QUERY p TENANT a WHERE {}", "(".repeat(n)),
        format!(
            "QUERY p TENANT a WHERE {}a = 1{}",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!("QUERY p TENANT a WHERE {}a = 1", "NOT ".repeat(n)),
        format!("QUERY p TENANT a WHERE {}a = 1", "NOT (".repeat(n)),
        format!("CREATE TENANT t WITH (a: {})", "[".repeat(n)),
        format!("CREATE TENANT t WITH (a: {})", "{a: ".repeat(n)),
        format!("QUERY p TENANT a CREATE NODE {}", "{a: [".repeat(n)),
        "(".repeat(n),
        "[".repeat(n),
    ];
    // A small stack proves that nothing recurses per level.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for text in &inputs {
                let e = match parse(text) {
                    Ok(s) => panic!("deep input parsed: {} statements", s.statements.len()),
                    Err(e) => e,
                };
                assert_eq!(e.kind(), &ErrorKind::ParseError);
                assert!(e.message().contains("nest"), "{}", e.message());
                assert!(e.position().is_some());
            }
        });
    match handle.map(|h| h.join()) {
        Ok(Ok(())) => {}
        other => panic!("deep nesting test failed: {other:?}"),
    }
}

#[test]
fn long_flat_inputs_parse_in_linear_time() {
    // Many statements on one line, and a long filter chain: both must be
    // quick (quadratic position lookups once made these take seconds).
    let many = "SHOW STATS;".repeat(5_000);
    let start = std::time::Instant::now();
    assert_eq!(stmts(&many).len(), 5_000);
    let in_list = format!(
        "QUERY p TENANT a WHERE id IN [{}]",
        (0..20_000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    no_panic(&in_list);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

#[test]
fn deepest_accepted_nesting_needs_little_stack() {
    // Builders use explicit stacks, so only pest recurses per level; with a
    // short stack its guard turns the shortage into an error, never a crash.
    let n = crate::parser::nesting::MAX_NESTING;
    let inputs = [
        format!(
            "QUERY p TENANT a WHERE {}a = 1{}",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!("QUERY p TENANT a WHERE {}a = 1", "NOT ".repeat(n)),
        format!(
            "CREATE TENANT t WITH (a: {}1{})",
            "[".repeat(n - 1),
            "]".repeat(n - 1)
        ),
        format!(
            "CREATE TENANT t WITH (a: {}1{})",
            "{a: ".repeat(n - 1),
            "}".repeat(n - 1)
        ),
    ];
    for (kib, must_parse) in [(160, false), (256, false), (768, true)] {
        let inputs = inputs.clone();
        let run = std::thread::Builder::new()
            .stack_size(kib * 1024)
            .spawn(move || {
                for text in &inputs {
                    match parse(text) {
                        Ok(_) => {}
                        Err(e) if !must_parse => assert!(e.message().contains("nested"), "{e}"),
                        Err(e) => panic!("{kib} KiB: {e}"),
                    }
                }
            });
        match run.map(|h| h.join()) {
            Ok(Ok(())) => {}
            other => panic!("{kib} KiB: {other:?}"),
        }
    }
}
