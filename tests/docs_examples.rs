//! Every `sql` / `pql` code block of `docs/language.md` and `README.md` runs
//! as written. The blocks of one file run in order on one fresh engine and
//! one session (a block may use what an earlier one created, and `USE
//! TENANT`). A statement whose lines hold `-- error: Kind` must fail with
//! that kind; every other statement must succeed. A block holding
//! `-- error: ParseError` must not parse (and then runs nothing).

use std::ops::ControlFlow;
use std::path::Path;

use pql::{Engine, Result};

/// A fenced code block: its first line number in the file and its text.
struct Block {
    line: usize,
    text: String,
}

/// The `sql` and `pql` blocks of a Markdown text.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start();
        match current.take() {
            None => {
                if fence == "```sql" || fence == "```pql" {
                    current = Some(Block {
                        line: i + 2,
                        text: String::new(),
                    });
                }
            }
            Some(mut b) => {
                if fence.starts_with("```") {
                    out.push(b);
                } else {
                    b.text.push_str(line);
                    b.text.push('\n');
                    current = Some(b);
                }
            }
        }
    }
    out
}

/// The error kind a line expects (`-- error: Kind`), if any.
fn marker(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once("-- error:")?;
    rest.split_whitespace().next()
}

/// Runs the blocks of `file`, returning one message per broken promise.
fn run_file(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let markdown = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let found = blocks(&markdown);
    assert!(!found.is_empty(), "{file} has no sql block");
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(dir.path()).expect("open engine");
    let mut session = engine.session();
    let mut failures = Vec::new();
    for block in &found {
        let lines: Vec<&str> = block.text.lines().collect();
        let script = match pql::parse(&block.text) {
            Ok(script) => script,
            Err(e) => {
                if !lines.iter().any(|l| marker(l) == Some("ParseError")) {
                    failures.push(format!("{file}:{}: does not parse:\n{e}", block.line));
                }
                continue;
            }
        };
        if lines.iter().any(|l| marker(l) == Some("ParseError")) {
            failures.push(format!(
                "{file}:{}: parses but is marked ParseError",
                block.line
            ));
            continue;
        }
        // What each statement expects: the marker on one of its lines.
        let starts: Vec<usize> = script.statements.iter().map(|s| s.line).collect();
        let expected: Vec<Option<&str>> = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(lines.len() + 1);
                (start..end.max(start + 1))
                    .filter_map(|n| lines.get(n - 1).and_then(|l| marker(l)))
                    .next()
            })
            .collect();
        let mut outcomes: Vec<Result<pql::QueryResult>> = Vec::new();
        session.execute_script(&script, &block.text, |r| {
            outcomes.push(r);
            ControlFlow::Continue(())
        });
        if outcomes.len() != expected.len() {
            failures.push(format!(
                "{file}:{}: {} statements ran of {}",
                block.line,
                outcomes.len(),
                expected.len()
            ));
        }
        for (i, (outcome, want)) in outcomes.iter().zip(&expected).enumerate() {
            let at = block.line + starts[i] - 1;
            match (outcome, want) {
                (Ok(_), None) => {}
                (Err(e), Some(kind)) if e.kind().name() == *kind => {}
                (Ok(_), Some(kind)) => {
                    failures.push(format!("{file}:{at}: succeeded, expected {kind}"))
                }
                (Err(e), _) => failures.push(format!(
                    "{file}:{at}: {} (expected {})\n{e}",
                    e.kind().name(),
                    want.unwrap_or("success")
                )),
            }
        }
    }
    failures
}

#[test]
fn language_guide_examples_run_as_written() {
    let failures = run_file("docs/language.md");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn readme_examples_run_as_written() {
    let failures = run_file("README.md");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn markers_and_blocks_are_found() {
    let md = "text\n```sql\nSHOW TENANTS;\nX;  -- error: ParseError\n```\n```sh\nls\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].line, 3);
    assert_eq!(marker("X;  -- error: ParseError"), Some("ParseError"));
    assert_eq!(marker("SHOW TENANTS; -- a comment"), None);
}
