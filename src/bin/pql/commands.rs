//! Running PQL text and printing what each statement returns, as it returns.

use std::io::{self, Write};
use std::ops::ControlFlow;
use std::time::Duration;

use pql::output::{self, Format};
use pql::{Error, QueryResult, Session};

/// Where and how results and errors are printed.
///
/// Results go to stdout. Errors go to stdout as JSON lines in JSON mode (so
/// the stream stays one object per statement) and to stderr otherwise.
/// Everything is flushed per statement, so what is on screen is exactly what
/// the engine has acknowledged.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// The output format.
    pub format: Format,
    /// Whether to print each statement's elapsed time.
    pub timing: bool,
    /// Whether to name the failing statement's number when the error has no
    /// position (scripts, where "which one?" is the first question).
    pub number_statements: bool,
}

impl Printer {
    /// Prints one result. `Err` means stdout is gone (e.g. a closed pipe).
    pub fn result(&self, result: &QueryResult) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(output::render(result, self.format).as_bytes())?;
        out.flush()?;
        drop(out);
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

/// Runs `text` in `session`, printing each result as soon as its statement
/// completes. Stops at the first failing statement unless
/// `continue_on_error`.
pub fn run(
    session: &mut Session,
    text: &str,
    printer: &Printer,
    continue_on_error: bool,
) -> Outcome {
    let mut outcome = Outcome::default();
    let parsed = session.execute_each(text, |result| {
        let n = outcome.succeeded + outcome.failed + 1;
        let printed = match &result {
            Ok(r) => {
                outcome.succeeded += 1;
                printer.result(r)
            }
            Err(e) => {
                outcome.failed += 1;
                printer.error(e, Some(n))
            }
        };
        if printed.is_err() {
            outcome.output_closed = true;
            return ControlFlow::Break(());
        }
        if result.is_err() && !continue_on_error {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    if let Err(e) = parsed {
        outcome.parse_error = true;
        if printer.error(&e, None).is_err() {
            outcome.output_closed = true;
        }
    }
    outcome
}
