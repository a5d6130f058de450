//! The interactive shell: multi-line statements, history, completion,
//! meta-commands. One `Session` lives as long as the shell, so `USE TENANT`
//! persists between statements. Statements run on a worker thread
//! (`interrupt`), so Ctrl-C while one runs does not end the shell.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rustyline::config::Config as EditorConfig;
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Editor};

use pql::ast::{Script, Statement};
use pql::output::Format;
use pql::{Engine, Session};

use crate::commands::{self, script_of, Outcome, Printer};
use crate::complete::PqlHelper;
use crate::interrupt;
use crate::meta::{self, Meta};
use crate::scan::{self, State};

/// The shell's state between lines.
struct Repl {
    engine: Engine,
    session: Session,
    editor: Editor<PqlHelper, FileHistory>,
    printer: Printer,
    /// The statement typed so far (lines joined with `\n`).
    buffer: String,
    /// Every line typed since the buffer was last empty: one history entry.
    typed: String,
    history: Option<PathBuf>,
    history_warned: bool,
    any_failed: bool,
    /// The last statement text run, for `\e`.
    last: String,
}

/// Runs the shell until `\q` or end of input. When stdin is not a terminal
/// (input piped in), there is no banner and no history, and the exit code is
/// 1 if any statement failed, as for a script run with `--continue-on-error`.
pub fn run(engine: Engine, data_dir: &Path, format: Format) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let config = EditorConfig::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .build();
    let mut editor = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("pql: cannot start the line editor: {e}");
            return ExitCode::from(2);
        }
    };
    editor.set_helper(Some(PqlHelper::new(engine.clone())));
    interrupt::install();
    let history = if interactive { history_path() } else { None };
    if let Some(path) = &history {
        if let Err(e) = editor.load_history(path) {
            if !is_not_found(&e) {
                eprintln!("warning: cannot read history {}: {e}", path.display());
            }
        }
    }
    if interactive {
        let shown = std::fs::canonicalize(data_dir)
            .or_else(|_| std::path::absolute(data_dir))
            .unwrap_or_else(|_| data_dir.to_path_buf());
        println!(
            "PQL {} (data: {}, embedder: {})\nType \\help for help, \\q to quit. Statements end with ';'.",
            env!("CARGO_PKG_VERSION"),
            shown.display(),
            engine.config().embedder.name(),
        );
    }
    let mut repl = Repl {
        session: engine.session(),
        engine,
        editor,
        printer: Printer {
            pager: interactive && std::io::stdout().is_terminal(),
            ..Printer::new(format)
        },
        buffer: String::new(),
        typed: String::new(),
        history,
        history_warned: false,
        any_failed: false,
        last: String::new(),
    };
    repl.run_loop();
    repl.save_history();
    if repl.any_failed && !interactive {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

impl Repl {
    fn run_loop(&mut self) {
        loop {
            let prompt = self.prompt();
            if let Some(helper) = self.editor.helper_mut() {
                helper.pending.clone_from(&self.buffer);
            }
            match self.editor.readline(&prompt) {
                Ok(line) => {
                    if !self.line(&line) {
                        return;
                    }
                }
                Err(ReadlineError::Interrupted) => {
                    self.buffer.clear();
                    self.typed.clear();
                }
                Err(ReadlineError::Eof) => {
                    // The last statement may omit its ';' (PQL.md).
                    if !scan::is_blank(&self.buffer) {
                        let text = std::mem::take(&mut self.buffer);
                        self.execute(&text);
                    }
                    return;
                }
                Err(e) => {
                    eprintln!("pql: cannot read input: {e}");
                    self.any_failed = true;
                    return;
                }
            }
        }
    }

    /// Handles one line of input; `false` means quit.
    fn line(&mut self, line: &str) -> bool {
        // A `-- comment` ends with the line, so the next line starts in code.
        let in_code = matches!(
            scan::scan(&self.buffer).state,
            State::Code | State::LineComment
        );
        let starts_meta = line.trim_start().starts_with('\\');
        if (self.buffer.is_empty() || (in_code && starts_meta)) && !line.trim().is_empty() {
            if let Some(parsed) = meta::parse(line) {
                self.remember(line);
                return match parsed {
                    Ok(m) => self.meta(m),
                    Err(msg) => {
                        eprintln!("{msg}");
                        true
                    }
                };
            }
        }
        if self.buffer.is_empty() && scan::is_blank(line) {
            return true;
        }
        if !self.buffer.is_empty() {
            self.buffer.push('\n');
            self.typed.push('\n');
        }
        self.buffer.push_str(line);
        self.typed.push_str(line);
        let buffer = std::mem::take(&mut self.buffer);
        match scan::split_complete(&buffer) {
            Some((done, rest)) => {
                if scan::is_blank(rest) {
                    let typed = std::mem::take(&mut self.typed);
                    self.remember(&typed);
                }
                if !self.execute(done) {
                    return false;
                }
                if !scan::is_blank(rest) {
                    self.buffer = rest.trim_start().to_string();
                }
            }
            None => self.buffer = buffer,
        }
        true
    }

    fn meta(&mut self, m: Meta) -> bool {
        let shown = match m {
            Meta::Quit => return false,
            Meta::Help => {
                print!("{}", meta::HELP);
                return true;
            }
            Meta::Timing(set) => {
                self.printer.timing = set.unwrap_or(!self.printer.timing);
                format!(
                    "Timing is {}.",
                    if self.printer.timing { "on" } else { "off" }
                )
            }
            Meta::Format(None) => format!("Output format is {}.", self.printer.format),
            Meta::Format(Some(f)) => {
                self.printer.format = f;
                format!("Output format is {f}.")
            }
            Meta::Expanded(set) => {
                self.printer.expanded = set.unwrap_or(!self.printer.expanded);
                format!(
                    "Expanded display is {}.",
                    if self.printer.expanded { "on" } else { "off" }
                )
            }
            Meta::Tenants => {
                return self.run_statement(Statement::ShowTenants {
                    filter: None,
                    limit: None,
                })
            }
            Meta::Collections(tenant) => {
                return self.run_statement(Statement::ShowCollections {
                    tenant: tenant.map(Into::into),
                })
            }
            Meta::Describe(name) => {
                let current = self.session.current_tenant().map(str::to_string);
                // A collection of the tenant in use comes first, then a tenant.
                let collection = match (&name, &current) {
                    (Some(name), Some(tenant)) => self
                        .engine
                        .collection_names(tenant)
                        .is_ok_and(|names| names.contains(name)),
                    _ => false,
                };
                if collection {
                    return self.run_statement(Statement::DescribeCollection {
                        name: name.unwrap_or_default().into(),
                        tenant: None,
                    });
                }
                return match name.or(current) {
                    Some(name) => {
                        self.run_statement(Statement::DescribeTenant { name: name.into() })
                    }
                    None => self.run_statement(Statement::ShowTenants {
                        filter: None,
                        limit: None,
                    }),
                };
            }
            Meta::Include(path) => {
                return match std::fs::read_to_string(&path) {
                    Ok(text) => self.execute(&text),
                    Err(e) => {
                        eprintln!("\\i: cannot read {path}: {e}");
                        self.any_failed = true;
                        true
                    }
                }
            }
            Meta::Output(None) => {
                self.printer.file = None;
                "Results go to the screen.".to_string()
            }
            Meta::Output(Some(path)) => match std::fs::File::create(&path) {
                Ok(file) => {
                    self.printer.file = Some(file);
                    format!("Results go to {path}.")
                }
                Err(e) => format!("\\o: cannot create {path}: {e}"),
            },
            Meta::Edit => return self.edit(),
        };
        // Feedback goes where Printer puts notes, so that JSON and CSV on
        // stdout stay machine-readable.
        let _ = self.printer.note(&shown);
        true
    }

    /// Runs statements, going on after errors as psql does; `false` when
    /// stdout has gone away and the shell should stop.
    fn execute(&mut self, text: &str) -> bool {
        self.last = text.trim().to_string();
        let cancel = self.session.cancel_token();
        let (session, printer) = (&mut self.session, &self.printer);
        let outcome =
            interrupt::run_guarded(&cancel, || commands::run(session, text, printer, true));
        self.after(outcome)
    }

    /// Runs one statement the shell built (names stay data).
    fn run_statement(&mut self, statement: Statement) -> bool {
        let script: Script = script_of(statement);
        let text = script.to_string();
        let cancel = self.session.cancel_token();
        let (session, printer) = (&mut self.session, &self.printer);
        let outcome = interrupt::run_guarded(&cancel, || {
            commands::run_script(session, &script, &text, printer, true)
        });
        self.after(outcome)
    }

    /// `\e`: the last statement in `$VISUAL` / `$EDITOR` (else `vi`), run
    /// when the editor exits with the text changed or not.
    fn edit(&mut self) -> bool {
        let path = std::env::temp_dir().join(format!("pql-edit-{}.pql", std::process::id()));
        if let Err(e) = std::fs::write(&path, format!("{}\n", self.last)) {
            eprintln!("\\e: cannot write {}: {e}", path.display());
            return true;
        }
        let editor = ["VISUAL", "EDITOR"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
            .unwrap_or_else(|| "vi".to_string());
        let mut words = editor.split_whitespace();
        let status = words.next().map(|program| {
            std::process::Command::new(program)
                .args(words)
                .arg(&path)
                .status()
        });
        let text = std::fs::read_to_string(&path);
        let _ = std::fs::remove_file(&path);
        match (status, text) {
            (Some(Ok(s)), Ok(text)) if s.success() => {
                if scan::is_blank(&text) {
                    return true;
                }
                println!("{}", text.trim_end());
                self.remember(text.trim_end());
                self.execute(&text)
            }
            (Some(Ok(s)), _) => {
                eprintln!("\\e: {editor} exited with {s}; nothing run");
                true
            }
            (Some(Err(e)), _) => {
                eprintln!("\\e: cannot start {editor}: {e}");
                true
            }
            (None, _) => true,
        }
    }

    /// Records a run's outcome; `false` when stdout is gone.
    fn after(&mut self, outcome: Outcome) -> bool {
        if outcome.is_failure() {
            self.any_failed = true;
        }
        let tenant = self.session.current_tenant().map(str::to_string);
        if let Some(helper) = self.editor.helper_mut() {
            helper.tenant = tenant;
        }
        !outcome.output_closed
    }

    fn prompt(&self) -> String {
        let primary = match self.session.current_tenant() {
            Some(t) => format!("pql({t})> "),
            None => "pql> ".to_string(),
        };
        if self.buffer.is_empty() {
            return primary;
        }
        let mark = match scan::scan(&self.buffer).state {
            State::SingleQuote => "'",
            State::DoubleQuote => "\"",
            State::BlockComment => "*",
            State::Code | State::LineComment => ".",
        };
        let tail = format!("..{mark}> ");
        let pad = primary.chars().count().saturating_sub(tail.len());
        format!("{}{tail}", " ".repeat(pad))
    }

    /// Adds an entry to the history and saves it, so that a killed shell
    /// keeps what was typed. A history that cannot be written is a warning,
    /// given once.
    fn remember(&mut self, entry: &str) {
        if self.history.is_none() {
            return;
        }
        let _ = self.editor.add_history_entry(entry);
        self.save_history();
    }

    fn save_history(&mut self) {
        let Some(path) = &self.history else { return };
        if let Err(e) = self.editor.save_history(path) {
            if !self.history_warned {
                eprintln!("warning: cannot write history {}: {e}", path.display());
                self.history_warned = true;
            }
        }
    }
}

/// `$PQL_HISTORY`, else `~/.pql_history`; none when there is no home.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PQL_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".pql_history"))
}

fn is_not_found(e: &ReadlineError) -> bool {
    matches!(e, ReadlineError::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
}
