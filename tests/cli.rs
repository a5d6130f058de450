//! The `pql` binary end to end: arguments, exit codes, output streams, the
//! REPL driven through a pipe. Tests marked `needs engine` depend on the
//! real parser and executor; the others exercise only the CLI.
#![cfg(feature = "cli")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

/// A temporary home for one test: data folder and history file.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn history(&self) -> PathBuf {
        self.dir.path().join("history")
    }

    /// Runs `pql --data <tmp> ARGS` with `stdin` piped in.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pql"))
            .arg("--data")
            .arg(self.data())
            .args(args)
            .env_remove("PQL_DATA")
            .env_remove("PQL_EMBED_MODEL")
            .env("PQL_HISTORY", self.history())
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pql");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("wait for pql")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write script");
        path
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every stdout line parsed as JSON (panics on a line that is not).
fn json_lines(o: &Output) -> Vec<Json> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

// ---- the CLI alone ---------------------------------------------------------

#[test]
fn help_lists_commands_and_options() {
    let o = Env::new().run(&["--help"], "");
    assert!(o.status.success());
    let text = stdout(&o);
    for word in [
        "run",
        "--data",
        "--format",
        "--execute",
        "--continue-on-error",
        "PQL_DATA",
    ] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
    let o = Env::new().run(&["run", "--help"], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("FILE.pql"));
}

#[test]
fn version_is_printed() {
    let o = Env::new().run(&["--version"], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_arguments_exit_2() {
    let env = Env::new();
    let o = env.run(&["--format", "xml", "-e", "SHOW TENANTS;"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("xml"), "{}", stderr(&o));
    let o = env.run(&["-e", "SHOW TENANTS;", "run", "x.pql"], "");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn parse_error_via_e_exits_1_with_the_error_on_stderr() {
    let o = Env::new().run(&["-e", "SHOW TENANTZ;"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
}

#[test]
fn json_errors_are_lines_on_stdout_with_kind_code_message_and_position() {
    let o = Env::new().run(&["-e", "SHOW TENANTZ;", "--format", "json"], "");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "", "JSON mode keeps errors on stdout");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1, "{}", stdout(&o));
    let e = &lines[0]["error"];
    assert!(e["kind"].is_string() && e["code"].is_string() && e["message"].is_string());
    for key in ["line", "column"] {
        assert!(e[key].is_null() || e[key].is_u64(), "{key}: {e}");
        assert!(e.get(key).is_some(), "{key} must be present: {e}");
    }
}

#[test]
fn run_of_a_missing_file_is_a_clear_error_and_opens_nothing() {
    let env = Env::new();
    let o = env.run(&["run", "no-such-script.pql"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("cannot read script") && err.contains("no-such-script.pql"),
        "{err}"
    );
    assert!(
        !env.data().exists(),
        "a typo in the file name must not create a data folder"
    );
}

#[test]
fn run_dash_reads_the_script_from_stdin() {
    let o = Env::new().run(&["run", "-", "--format", "json"], "SHOW TENANTS;\n");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1, "one statement, one line: {}", stdout(&o));
    assert!(lines[0].get("columns").is_some() || lines[0].get("error").is_some());
}

#[test]
fn run_dash_rejects_input_that_is_not_utf8() {
    let env = Env::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pql"))
        .args(["--data", path_str(&env.data()), "run", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(&[0xff, 0xfe, b';']).expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("standard input"), "{}", stderr(&o));
}

#[test]
fn continue_on_error_is_accepted_before_and_after_run() {
    let env = Env::new();
    let script = env.write("s.pql", "SHOW TENANTS;");
    let s = path_str(&script);
    for args in [
        vec!["--continue-on-error", "run", s],
        vec!["run", s, "--continue-on-error"],
        vec!["-e", "SHOW TENANTS;", "--continue-on-error"],
    ] {
        let o = env.run(&args, "");
        assert_ne!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn repl_through_a_pipe_joins_lines_into_one_statement_and_quits() {
    let env = Env::new();
    let input =
        "\\help\nSHOW -- a comment; not the end\n\\format json\n  TENANTS\n;\n\\q\nSHOW STATS;\n";
    let o = env.run(&[], input);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{o:?}");
    let out = stdout(&o);
    assert!(
        !out.contains("PQL "),
        "no banner when stdin is not a terminal: {out}"
    );
    assert!(out.contains("Meta-commands"), "\\help prints help: {out}");
    assert!(
        stderr(&o).contains("Output format is json."),
        "notes stay off a JSON stdout"
    );
    let json: Vec<&str> = out.lines().filter(|l| l.starts_with('{')).collect();
    assert_eq!(
        json.len(),
        1,
        "one statement over three lines, nothing after \\q: {out}"
    );
    assert!(
        !env.history().exists(),
        "piped input is not recorded as history"
    );
}

#[test]
fn repl_runs_a_last_statement_without_semicolon_at_end_of_input() {
    let o = Env::new().run(&["--format", "json"], "SHOW TENANTS; SHOW\nTENANTS");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
}

#[test]
fn repl_meta_command_errors_do_not_end_the_shell() {
    let o = Env::new().run(&[], "\\frobnicate\n\\timing\n\\format xml\n\\q\n");
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(err.contains("unknown command \\frobnicate"), "{err}");
    assert!(err.contains("xml"), "{err}");
    assert!(
        stdout(&o).contains("Timing is on."),
        "table mode: notes on stdout"
    );
}

// ---- needs the real engine (parser + executor) -----------------------------

#[test]
fn parse_error_shows_line_column_and_caret() {
    let o = Env::new().run(&["-e", "SHOW TENANTS;\nCREATE TENNANT x;"], "");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("line 2, column"), "{err}");
    assert!(err.contains('^'), "{err}");
    assert_eq!(stdout(&o), "", "a script that does not parse runs nothing");
}

#[test]
fn json_parse_error_has_line_and_column_numbers() {
    let o = Env::new().run(
        &["-e", "SHOW TENANTS;\nCREATE TENNANT x;", "--format", "json"],
        "",
    );
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1);
    let e = &lines[0]["error"];
    assert_eq!(e["kind"], "ParseError");
    assert_eq!(e["code"], "parse.syntax");
    assert_eq!(e["line"], 2);
    assert!(e["column"].as_u64().is_some_and(|c| c >= 1), "{e}");
}

#[test]
fn create_then_show_gives_two_json_lines() {
    let o = Env::new().run(
        &[
            "-e",
            "CREATE TENANT acme; SHOW TENANTS;",
            "--format",
            "json",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    assert!(lines[0]["message"].is_string());
    let rows = lines[1]["rows"].as_array().expect("rows");
    assert!(
        rows.iter().any(|r| r.to_string().contains("\"acme\"")),
        "{}",
        lines[1]
    );
}

#[test]
fn table_and_csv_output() {
    let env = Env::new();
    assert!(env.run(&["-e", "CREATE TENANT acme;"], "").status.success());
    let o = env.run(&["-e", "SHOW TENANTS;"], "");
    let out = stdout(&o);
    assert!(out.contains("acme") && out.contains("(1 row)"), "{out}");
    let o = env.run(&["-e", "SHOW TENANTS;", "--format", "csv"], "");
    let out = stdout(&o);
    assert!(
        out.lines().nth(1).is_some_and(|l| l.contains("acme")),
        "{out}"
    );
}

#[test]
fn a_script_stops_at_the_first_error_and_keeps_earlier_results() {
    let env = Env::new();
    let script = env.write(
        "s.pql",
        "CREATE TENANT a;\nDESCRIBE TENANT ghost;\nCREATE TENANT b;\n",
    );
    let o = env.run(&["run", path_str(&script)], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !stdout(&o).is_empty(),
        "the first statement's result is shown"
    );
    assert!(stderr(&o).contains("ghost"), "{}", stderr(&o));
    let o = env.run(&["-e", "SHOW TENANTS;", "--format", "json"], "");
    let shown = stdout(&o);
    assert!(
        shown.contains("\"a\"") && !shown.contains("\"b\""),
        "{shown}"
    );
}

#[test]
fn continue_on_error_runs_everything_and_still_exits_1() {
    let env = Env::new();
    let script = env.write(
        "s.pql",
        "CREATE TENANT a;\nDESCRIBE TENANT ghost;\nCREATE TENANT b;\n",
    );
    let o = env.run(
        &[
            "run",
            path_str(&script),
            "--continue-on-error",
            "--format",
            "json",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(lines[1]["error"]["kind"], "TenantNotFound");
    assert!(lines[2]["error"].is_null());
}

#[test]
fn a_script_that_succeeds_exits_0() {
    let env = Env::new();
    let script = env.write("ok.pql", "CREATE TENANT a; SHOW TENANTS;");
    assert!(env.run(&["run", path_str(&script)], "").status.success());
    let o = env.run(&["run", "-", "--format", "json"], "SHOW TENANTS;");
    assert!(
        o.status.success() && stdout(&o).contains("\"a\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn repl_keeps_use_tenant_between_statements() {
    let input = "CREATE TENANT acme;\nUSE TENANT acme;\n\
                 QUERY products CREATE NODE { id: \"p1\", embedding: [0.1, 0.2] };\n\
                 QUERY products\n  RETURN COUNT(*);\n";
    let o = Env::new().run(&["--format", "json"], input);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4, "{}", stdout(&o));
    assert_eq!(lines[3]["rows"][0][0], 1);
}

#[test]
fn a_data_folder_that_cannot_be_opened_exits_2() {
    let env = Env::new();
    let file = env.write("not-a-folder", "x");
    let o = Command::new(env!("CARGO_BIN_EXE_pql"))
        .args(["--data", path_str(&file), "-e", "SHOW TENANTS;"])
        .env_remove("PQL_EMBED_MODEL")
        .output()
        .expect("run pql");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot open data folder"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pql_data_env_chooses_the_folder() {
    let env = Env::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pql"))
            .args(args)
            .env("PQL_DATA", env.data())
            .env_remove("PQL_EMBED_MODEL")
            .output()
            .expect("run pql")
    };
    assert!(run(&["-e", "CREATE TENANT acme;"]).status.success());
    let o = env.run(&["-e", "SHOW TENANTS;"], "");
    assert!(stdout(&o).contains("acme"), "{}", stdout(&o));
}

#[test]
fn an_embed_model_folder_that_cannot_be_loaded_exits_2_and_opens_nothing() {
    let env = Env::new();
    let missing = env.dir.path().join("no-model");
    let o = env.run(
        &["--embed-model", path_str(&missing), "-e", "SHOW TENANTS;"],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot load the embedding model") && stderr(&o).contains("no-model"),
        "{}",
        stderr(&o)
    );
    assert!(!env.data().exists());
    // PQL_EMBED_MODEL names the folder too.
    let o = Command::new(env!("CARGO_BIN_EXE_pql"))
        .args(["--data", path_str(&env.data()), "-e", "SHOW TENANTS;"])
        .env("PQL_EMBED_MODEL", &missing)
        .output()
        .expect("run pql");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn without_a_model_the_lexical_embedder_says_so_once_on_stderr() {
    let env = Env::new();
    let o = env.run(
        &[
            "-e",
            "CREATE TENANT t; QUERY d TENANT t CREATE NODE { id: \"a\", embedding: embed(\"x\") };\
             QUERY d TENANT t SIMILAR TO embed(\"x\") TOP 1 RETURN _id;",
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("built-in lexical embedder").count(),
        1,
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--embed-model"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("lexical"), "{}", stdout(&o));
    // No embed(), no note.
    let o = env.run(&["-e", "SHOW TENANTS;"], "");
    assert_eq!(stderr(&o), "");
}

#[test]
fn usage_tenant_is_passed_as_data_not_spliced_into_pql() {
    let env = Env::new();
    // A backslash once produced "unterminated string" in a statement the
    // user never wrote; a quote was silently stripped.
    for name in [r"a\b", "a\"b", "a'b"] {
        let o = env.run(&["usage", "--tenant", name, "--format", "json"], "");
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        let err: Json = serde_json::from_str(stderr(&o).trim()).expect("one JSON error");
        assert_eq!(err["error"]["kind"], "InvalidName", "{name}: {err}");
    }
    // A valid name is looked up as given, quotes and all untouched.
    let o = env.run(&["usage", "--tenant", "ghost", "--format", "json"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("TenantNotFound"), "{}", stderr(&o));
}

#[test]
fn e_with_a_leading_comment_is_pql_not_a_flag() {
    let env = Env::new();
    let o = env.run(&["-e", "-- just a comment\nSHOW TENANTS;"], "");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("(0 rows)"), "{}", stdout(&o));
}

#[test]
fn a_data_folder_in_use_says_so_in_our_words_and_in_json() {
    let env = Env::new();
    let engine = pql::Engine::open(env.data()).expect("open");
    let o = env.run(&["-e", "SHOW TENANTS;", "--format", "json"], "");
    assert_eq!(o.status.code(), Some(2));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 1, "{}", stdout(&o));
    let message = lines[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is in use by another process") && message.contains("data folder"),
        "{message}"
    );
    let o = env.run(&["-e", "SHOW TENANTS;"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is in use by another process"),
        "{}",
        stderr(&o)
    );
    drop(engine);
}

#[test]
fn a_tenant_name_in_the_wrong_case_gets_a_hint() {
    let env = Env::new();
    let o = env.run(
        &["-e", "CREATE TENANT Acme; SHOW COLLECTIONS TENANT acme;"],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("did you mean Acme?"), "{}", stderr(&o));
    let o = env.run(&["-e", "CREATE TENANT IF NOT EXISTS acme;"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("use Acme"), "{}", stderr(&o));
}

#[test]
fn repl_psql_meta_commands_through_a_pipe() {
    let env = Env::new();
    env.write(
        "seed.pql",
        "QUERY docs TENANT acme CREATE NODE { id: \"d1\", embedding: [1, 0] };\n",
    );
    let input = "CREATE TENANT acme;\n\\i seed.pql\n\\l\n\\dt acme\n\\d acme\n\\x\n\
                 QUERY docs TENANT acme LIMIT 1;\n\\x off\n\\o out.txt\nSHOW COLLECTIONS TENANT acme;\n\\o\n\
                 \\dt \"../x\"\n\\q\n";
    let o = env.run(&[], input);
    let out = stdout(&o);
    // \i ran the script; \dt lists its collection; \d describes the tenant.
    assert!(out.contains("1 node created"), "{out}");
    assert!(out.contains(" docs "), "{out}");
    assert!(out.contains("property"), "{out}");
    // \x shows the row as a record.
    assert!(out.contains("-[ RECORD 1 ]"), "{out}");
    assert!(out.contains("_id | d1"), "{out}");
    // \o sent that result to the file and nothing to the screen.
    let file = std::fs::read_to_string(env.dir.path().join("out.txt")).expect("\\o file");
    assert!(file.contains("docs") && file.contains("(1 row)"), "{file}");
    assert_eq!(
        out.matches("vector_field").count(),
        1,
        "only \\dt on screen: {out}"
    );
    // A hostile name given to \dt is data: refused by the engine as a name.
    assert!(stderr(&o).contains("invalid tenant name"), "{}", stderr(&o));
}

#[test]
fn repl_d_describes_a_collection_of_the_tenant_in_use_else_a_tenant() {
    let env = Env::new();
    let input = "CREATE TENANT acme; CREATE TENANT docs;\n\
                 QUERY docs TENANT acme CREATE NODE { id: \"d1\", embedding: [1, 0] };\n\
                 \\d docs\nUSE TENANT acme;\n\\d docs\n\\d acme\n\\q\n";
    let o = env.run(&["--format", "csv"], input);
    let out = stdout(&o);
    // Before USE TENANT, `docs` is the tenant; after it, acme's collection
    // (which has a vector_field row), then `acme` is still the tenant.
    let describes: Vec<&str> = out.split("property,value").skip(1).collect();
    assert_eq!(describes.len(), 3, "{out}");
    assert!(describes[0].contains("name,docs") && !describes[0].contains("vector_field"));
    assert!(describes[1].contains("tenant,acme") && describes[1].contains("vector_field"));
    assert!(describes[2].contains("name,acme") && !describes[2].contains("vector_field"));
}

#[test]
fn repl_e_runs_what_the_editor_leaves() {
    let env = Env::new();
    let editor = env.write("editor.sh", "#!/bin/sh\necho 'SHOW TENANTS;' > \"$1\"\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(env.data())
        .env("EDITOR", &editor)
        .env_remove("VISUAL")
        .env("PQL_HISTORY", env.history())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pql");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"CREATE TENANT acme;\n\\e\n")
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    let out = stdout(&o);
    assert!(
        out.contains("SHOW TENANTS;"),
        "the edited text is echoed: {out}"
    );
    assert!(out.contains("acme") && out.contains("(1 row)"), "{out}");
}
