//! Golden files for the language: every `tests/slt/*.slt` file runs through
//! the `sqllogictest` crate against one [`pql::Session`] over a fresh data
//! folder, one `#[test]` per file.
//!
//! How results are rendered (what the `----` blocks contain):
//! - a statement with rows: one line per row, cells separated by spaces;
//!   strings without quotes (the empty string as `(empty)`), null as `NULL`,
//!   floats with 4 decimals, arrays and objects in their PQL `Display` form;
//! - a statement with only a message (`3 nodes deleted`): one row holding the
//!   message, so `statement ok` passes and `query T` can assert the message;
//! - an error: `<kind name>: <message>` (`TenantNotFound: Tenant not found: x`),
//!   so `statement error TenantNotFound` matches on the kind;
//! - a record holding several statements shows the last statement's result
//!   (and the first error, if any: the session stops there).
//!
//! One directive that is not PQL: a record whose text is `.reopen` drops the
//! engine and opens the same data folder again (the session's `USE TENANT`
//! is lost, as in a new process), so golden files can assert what survives.

use std::fmt;
use std::path::{Path, PathBuf};

use pql::{Engine, Session, Value};
use sqllogictest::{DBOutput, DefaultColumnType, Runner, DB};

/// An error as the golden files see it: `Kind: message`.
#[derive(Debug)]
struct SltError(String);

impl fmt::Display for SltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

/// One session over a temporary data folder.
struct PqlDb {
    dir: tempfile::TempDir,
    session: Option<Session>,
}

impl PqlDb {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let session = Engine::open(dir.path()).expect("open engine").session();
        PqlDb {
            dir,
            session: Some(session),
        }
    }

    fn reopen(&mut self) -> Result<(), SltError> {
        // The engine (and its lock on the folder) goes with the session.
        self.session = None;
        let engine = Engine::open(self.dir.path())
            .map_err(|e| SltError(format!("reopen: {}: {}", e.kind().name(), e.message())))?;
        self.session = Some(engine.session());
        Ok(())
    }
}

/// A cell as the golden files show it.
fn render(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => {
            let s = format!("{x:.4}");
            if s == "-0.0000" {
                "0.0000".into()
            } else {
                s
            }
        }
        Value::Str(s) if s.is_empty() => "(empty)".into(),
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

impl DB for PqlDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        if sql.trim() == ".reopen" {
            self.reopen()?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let session = self.session.as_mut().expect("session is open");
        let results = session
            .execute(sql)
            .map_err(|e| SltError(format!("{}: {}", e.kind().name(), e.message())))?;
        let Some(last) = results.last() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        if last.columns.is_empty() {
            let rows = match &last.message {
                Some(m) => vec![vec![m.clone()]],
                None => Vec::new(),
            };
            return Ok(DBOutput::Rows {
                types: vec![DefaultColumnType::Text],
                rows,
            });
        }
        for row in &last.rows {
            assert_eq!(
                row.len(),
                last.columns.len(),
                "row width differs from the columns {:?} in the result of {sql}",
                last.columns
            );
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; last.columns.len()],
            rows: last
                .rows
                .iter()
                .map(|r| r.iter().map(render).collect())
                .collect(),
        })
    }

    fn engine_name(&self) -> &str {
        "pql"
    }
}

fn slt_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt")
}

/// Runs `tests/slt/<file>` and fails with the runner's report.
fn run(file: &str) {
    let path = slt_dir().join(file);
    let mut runner = Runner::new(|| async { Ok(PqlDb::new()) });
    if let Err(e) = runner.run_file(&path) {
        panic!("{}\n{}", path.display(), e.display(true));
    }
}

macro_rules! slt_files {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run($file);
            }
        )*

        /// Every golden file in `tests/slt` has its test above, so that a new
        /// file cannot be skipped silently.
        #[test]
        fn every_slt_file_has_a_test() {
            let listed = [$($file),*];
            let mut missing = Vec::new();
            for entry in std::fs::read_dir(slt_dir()).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                if name.ends_with(".slt") && !listed.contains(&name.as_str()) {
                    missing.push(name);
                }
            }
            assert!(missing.is_empty(), "slt files without a test: {missing:?}");
        }
    };
}

slt_files! {
    tenants => "tenants.slt",
    collections => "collections.slt",
    nodes => "nodes.slt",
    filters => "filters.slt",
    search => "search.slt",
    errors => "errors.slt",
    quickstart => "quickstart.slt",
    persistence => "persistence.slt",
    tiers => "tiers.slt",
}

/// Regression records of fixed engine bugs. Every `# CASE:` section runs on
/// its own data folder, so one failure does not hide the next.
#[test]
fn regressions() {
    let path = slt_dir().join("regressions.cases");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("# CASE: ") {
            sections.push((title.to_string(), String::new()));
        }
        if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    assert!(
        !sections.is_empty(),
        "no # CASE: sections in {}",
        path.display()
    );
    let mut failures = Vec::new();
    for (title, body) in &sections {
        let mut runner = Runner::new(|| async { Ok(PqlDb::new()) });
        if let Err(e) = runner.run_script_with_name(body, title.as_str()) {
            failures.push(format!("CASE: {title}\n{}", e.display(false)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} known bugs still show:\n\n{}",
        failures.len(),
        sections.len(),
        failures.join("\n\n")
    );
}

/// `examples/quickstart.pql` (a DROP TENANT IF EXISTS, then the seed's
/// examples unchanged, with three more products) runs clean: every statement
/// succeeds, ARCHIVE and RESTORE TENANT included, and the seed's query finds
/// the tools, so a newcomer's first run shows a real result.
#[test]
fn quickstart_example_file_runs() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.pql");
    let text = std::fs::read_to_string(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let mut outcomes = Vec::new();
    engine
        .session()
        .execute_each(&text, |r| {
            outcomes.push(r.map_err(|e| e.kind().name()));
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o.as_ref().err().copied().unwrap_or("ok"))
        .collect();
    assert_eq!(kinds, ["ok"; 8], "{outcomes:?}");
    // The seed's query (the fifth statement) finds the two tools.
    let found: Vec<&Value> = outcomes[4]
        .as_ref()
        .map(|r| r.rows.iter().map(|row| &row[0]).collect())
        .unwrap_or_default();
    assert_eq!(found.len(), 2, "{outcomes:?}");
    assert!(found.contains(&&Value::Str("prod_002".into())), "{found:?}");
    let rows = engine
        .execute("QUERY products TENANT acme_corp RETURN id, name")
        .unwrap();
    assert_eq!(rows[0].rows.len(), 4);
    assert_eq!(
        rows[0].rows[0],
        [Value::Str("prod_001".into()), Value::Str("Widget".into())]
    );
}

/// An engine on a temporary folder (kept alive by the returned guard) whose
/// tenant `t` holds one node `a` with `x: 1` in collection `c`.
fn one_node_engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .execute(
            "CREATE TENANT t; QUERY c TENANT t CREATE NODE { id: \"a\", x: 1, embedding: [1, 0] }",
        )
        .unwrap();
    (dir, engine)
}

/// Deeply nested input is refused with a parse error instead of exhausting
/// the stack (STYLE.md: bounded recursion).
#[test]
fn deep_nesting_is_a_parse_error_not_a_crash() {
    let (_dir, engine) = one_node_engine();
    let n = 100_000;
    let parens = format!(
        "QUERY c TENANT t WHERE {}x = 1{} RETURN COUNT(*)",
        "(".repeat(n),
        ")".repeat(n)
    );
    let arrays = format!(
        "QUERY c TENANT t CREATE NODE {{ id: \"b\", x: {}1{} }}",
        "[".repeat(n),
        "]".repeat(n)
    );
    let objects = format!(
        "QUERY c TENANT t CREATE NODE {{ id: \"b\", x: {}1{} }}",
        "{ k: ".repeat(n),
        " }".repeat(n)
    );
    for text in [parens, arrays, objects] {
        let e = engine.execute(&text).unwrap_err();
        assert_eq!(e.kind().name(), "ParseError", "{}", e.message());
    }
    // A moderate nesting is fine.
    let ok = format!(
        "QUERY c TENANT t WHERE {}x = 1{} RETURN COUNT(*)",
        "(".repeat(20),
        ")".repeat(20)
    );
    assert_eq!(engine.execute(&ok).unwrap()[0].rows, [vec![Value::Int(1)]]);
}

/// A long chain of NOTs has no brackets to bound; it must give an answer or
/// an error, not overflow the stack (while parsing, evaluating or dropping).
#[test]
fn long_not_chain_does_not_crash() {
    let (_dir, engine) = one_node_engine();
    let text = format!(
        "QUERY c TENANT t WHERE {}x = 1 RETURN COUNT(*)",
        "NOT ".repeat(100_000)
    );
    match engine.execute(&text) {
        // An even number of NOTs: the node matches.
        Ok(r) => assert_eq!(r[0].rows, [vec![Value::Int(1)]]),
        Err(e) => assert_eq!(e.kind().name(), "ParseError", "{}", e.message()),
    }
}

/// Parse errors point at the offending line and column.
#[test]
fn parse_errors_carry_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let text = "CREATE TENANT t;\nQUERY c TENANT t\n  SIMILAR TO embed(\"tool\") TOPP 10;";
    let e = engine.execute(text).unwrap_err();
    assert_eq!(e.kind().name(), "ParseError");
    let p = e.position().expect("a parse error has a position");
    assert_eq!((p.line, p.column), (3, 28), "{e}");
    assert_eq!(p.source_line, "  SIMILAR TO embed(\"tool\") TOPP 10;");
    // Nothing ran: the script did not parse.
    assert_eq!(
        engine
            .execute("DESCRIBE TENANT t")
            .unwrap_err()
            .kind()
            .name(),
        "TenantNotFound"
    );
}

/// A runtime error points at the statement that failed (line and column of
/// its first character), and what ran before it stays done.
#[test]
fn runtime_errors_point_at_the_failing_statement() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let text = "CREATE TENANT a;\n  CREATE TENANT a;\nCREATE TENANT b;";
    let e = engine.execute(text).unwrap_err();
    assert_eq!(e.kind().name(), "TenantExists");
    let p = e
        .position()
        .expect("a runtime error has the statement's position");
    assert_eq!((p.line, p.column), (2, 3), "{e}");
    assert!(e.to_string().contains("--> line 2, column 3"), "{e}");
    assert_eq!(engine.tenant_names(), ["a"]);
}

/// Lazy activation is a status change like any other, so it should move the
/// tenant's `updated_at` (TenantRecord: "the last status or option change").
#[test]
fn lazy_activation_updates_updated_at() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    engine
        .execute("CREATE TENANT t; QUERY c TENANT t CREATE NODE { id: \"a\", embedding: [1, 0] }")
        .unwrap();
    let updated_at = |engine: &Engine| {
        let r = engine.execute("DESCRIBE TENANT t").unwrap();
        let get = |k: &str| {
            r[0].rows
                .iter()
                .find(|row| row[0] == Value::Str(k.into()))
                .map(|row| row[1].clone())
                .unwrap()
        };
        (get("status"), get("updated_at"))
    };
    engine
        .execute("ALTER TENANT t SET status = 'inactive'")
        .unwrap();
    let (status, before) = updated_at(&engine);
    assert_eq!(status, Value::Str("inactive".into()));
    std::thread::sleep(std::time::Duration::from_millis(20));
    engine.execute("QUERY c TENANT t RETURN COUNT(*)").unwrap();
    let (status, after) = updated_at(&engine);
    assert_eq!(status, Value::Str("active".into()));
    assert_ne!(
        before, after,
        "status changed to active, updated_at stayed {before}"
    );
}
