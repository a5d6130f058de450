//! Running PQL text and printing what each statement returns, as it returns.

use std::fs::File;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::time::Duration;

use pql::ast::{Located, Script, Statement};
use pql::output::{self, Format};
use pql::{Error, QueryResult, Session};

use crate::pager;

/// Where and how results and errors are printed.
///
/// Results go to stdout. Errors go to stdout as JSON lines in JSON mode (so
/// the stream stays one object per statement) and to stderr otherwise.
/// Everything is flushed per statement, so what is on screen is exactly what
/// the engine has acknowledged.
#[derive(Debug)]
pub struct Printer {
    /// The output format.
    pub format: Format,
    /// Whether to print each statement's elapsed time.
    pub timing: bool,
    /// Whether to name the failing statement's number when the error has no
    /// position (scripts, where "which one?" is the first question).
    pub number_statements: bool,
    /// Table rows as records, one `column | value` line each (`\x`).
    pub expanded: bool,
    /// Page results that do not fit the terminal (the interactive shell,
    /// when stdout is a terminal; never for scripts).
    pub pager: bool,
    /// Results go to this file instead of stdout (`\o FILE`).
    pub file: Option<File>,
}

impl Printer {
    /// A printer to stdout in `format`, everything else off.
    pub fn new(format: Format) -> Printer {
        Printer {
            format,
            timing: false,
            number_statements: false,
            expanded: false,
            pager: false,
            file: None,
        }
    }

    /// Prints one result. `Err` means stdout is gone (e.g. a closed pipe).
    pub fn result(&self, result: &QueryResult) -> io::Result<()> {
        let text = if self.expanded && self.format == Format::Table {
            output::render_expanded(result)
        } else {
            output::render(result, self.format)
        };
        if let Some(mut file) = self.file.as_ref() {
            // A full disk is worth a warning, not the end of the shell.
            if let Err(e) = file.write_all(text.as_bytes()).and_then(|_| file.flush()) {
                eprintln!("warning: cannot write the output file: {e}");
            }
        } else if self.pager
            && pager::terminal_size().is_some_and(|s| pager::does_not_fit(&text, s))
        {
            io::stdout().flush()?;
            pager::show(&text)?;
        } else {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
        if self.timing {
            self.time(result.elapsed)?;
        }
        Ok(())
    }

    /// Prints an error; `statement` is its 1-based number in the script.
    pub fn error(&self, err: &Error, statement: Option<usize>) -> io::Result<()> {
        let mut text = output::render_error(err, self.format);
        if let (Some(n), None, true) = (statement, err.position(), self.number_statements) {
            if self.format != Format::Json {
                text.push_str(&format!(" --> statement {n}\n"));
            }
        }
        if self.format == Format::Json {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()
        } else {
            // Keep stdout ahead of stderr when both go to one terminal.
            io::stdout().flush()?;
            let mut err_out = io::stderr().lock();
            err_out.write_all(text.as_bytes())?;
            err_out.flush()
        }
    }

    /// Prints a message for the user (not a result): stdout in table mode,
    /// stderr otherwise, so JSON and CSV output stay machine-readable.
    pub fn note(&self, text: &str) -> io::Result<()> {
        if self.format == Format::Table {
            let mut out = io::stdout().lock();
            writeln!(out, "{text}")?;
            out.flush()
        } else {
            let mut out = io::stderr().lock();
            writeln!(out, "{text}")?;
            out.flush()
        }
    }

    fn time(&self, elapsed: Duration) -> io::Result<()> {
        self.note(&format!("Time: {:.3} ms", elapsed.as_secs_f64() * 1e3))
    }
}

/// What running a text did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Statements that succeeded.
    pub succeeded: usize,
    /// Statements that failed.
    pub failed: usize,
    /// The text did not parse, so nothing ran.
    pub parse_error: bool,
    /// Stdout closed while printing; the run was stopped there.
    pub output_closed: bool,
}

impl Outcome {
    /// Whether anything went wrong.
    pub fn is_failure(&self) -> bool {
        self.failed > 0 || self.parse_error || self.output_closed
    }
}

/// A script of one statement built by the shell (`\d`, `\l`, `pql usage`):
/// names given on the command line stay data, never spliced into PQL text.
pub fn script_of(statement: Statement) -> Script {
    Script {
        statements: vec![Located {
            statement,
            line: 1,
            column: 1,
        }],
    }
}

/// Runs `text` in `session`, printing each result as soon as its statement
/// completes. Stops at the first failing statement unless
/// `continue_on_error`. A text that does not parse runs nothing.
pub fn run(
    session: &mut Session,
    text: &str,
    printer: &Printer,
    continue_on_error: bool,
) -> Outcome {
    match pql::parse(text) {
        Ok(script) => run_script(session, &script, text, printer, continue_on_error),
        Err(e) => {
            let mut outcome = Outcome {
                parse_error: true,
                ..Outcome::default()
            };
            if printer.error(&e, None).is_err() {
                outcome.output_closed = true;
            }
            outcome
        }
    }
}

/// [`run`] for a parsed `script`; `text` is what error excerpts quote.
pub fn run_script(
    session: &mut Session,
    script: &Script,
    text: &str,
    printer: &Printer,
    continue_on_error: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    session.execute_script(script, text, |result| {
        outcome.report(printer, continue_on_error, result)
    });
    outcome
}

impl Outcome {
    /// Counts and prints one statement's `result`; whether to go on.
    pub fn report(
        &mut self,
        printer: &Printer,
        continue_on_error: bool,
        result: pql::Result<QueryResult>,
    ) -> ControlFlow<()> {
        let n = self.succeeded + self.failed + 1;
        let printed = match &result {
            Ok(r) => {
                self.succeeded += 1;
                printer.result(r)
            }
            Err(e) => {
                self.failed += 1;
                printer.error(e, Some(n))
            }
        };
        if printed.is_err() {
            self.output_closed = true;
            return ControlFlow::Break(());
        }
        if result.is_err() && !continue_on_error {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    /// Whether the last reported statement stopped the run.
    pub fn stopped(&self, continue_on_error: bool) -> bool {
        self.output_closed || (self.failed > 0 && !continue_on_error)
    }
}
