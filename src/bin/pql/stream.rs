//! `pql run FILE` and `pql run -`: a script read statement by statement, so
//! that memory is bounded by the largest statement, not the script.
//!
//! "A script that does not parse runs nothing" holds through two passes
//! over the file: the first parses each statement and keeps nothing; the
//! second parses each again and runs it. Standard input is spooled to a
//! temporary file first, so that it can be read twice.

use std::fs::{self, File};
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use pql::script::StatementReader;
use pql::Session;

use crate::commands::{Outcome, Printer};

/// A temporary copy of standard input, removed when dropped.
struct Spool(PathBuf);

impl Spool {
    /// Copies standard input to a new file in the temporary folder.
    fn stdin() -> io::Result<Spool> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("pql-stdin-{}-{nanos}.pql", std::process::id()));
        let spool = Spool(path);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&spool.0)?;
        io::copy(&mut io::stdin().lock(), &mut file)?;
        Ok(spool)
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The statements of the script at `path`, one at a time.
fn statements(path: &Path) -> io::Result<StatementReader<BufReader<File>>> {
    Ok(StatementReader::new(BufReader::new(File::open(path)?)))
}

/// A script to run: a file, or standard input spooled to one.
pub struct ScriptFile {
    path: PathBuf,
    /// What error messages call it.
    what: String,
    /// Removes the spooled copy of standard input when the run is over.
    _spool: Option<Spool>,
}

impl ScriptFile {
    /// The script `file` (`-`: standard input, spooled now); `Err` (a
    /// message) if it cannot be read, before anything else happens.
    pub fn open(file: &Path) -> Result<ScriptFile, String> {
        if file == Path::new("-") {
            let spool = Spool::stdin()
                .map_err(|e| format!("cannot read the script from standard input: {e}"))?;
            return Ok(ScriptFile {
                path: spool.0.clone(),
                what: "the script from standard input".into(),
                _spool: Some(spool),
            });
        }
        File::open(file).map_err(|e| format!("cannot read script {}: {e}", file.display()))?;
        Ok(ScriptFile {
            path: file.to_path_buf(),
            what: format!("script {}", file.display()),
            _spool: None,
        })
    }

    /// Runs the script in `session`, printing each result as its statement
    /// completes. `Err` (a message) when the script cannot be read; a
    /// script that does not parse runs nothing.
    pub fn run(
        &self,
        session: &mut Session,
        printer: &Printer,
        continue_on_error: bool,
    ) -> Result<Outcome, String> {
        let unreadable = |e: io::Error| format!("cannot read {}: {e}", self.what);
        let mut outcome = Outcome::default();
        for chunk in statements(&self.path).map_err(unreadable)? {
            if let Err(e) = chunk.map_err(unreadable)?.parse() {
                outcome.parse_error = true;
                outcome.output_closed = printer.error(&e, None).is_err();
                return Ok(outcome);
            }
        }
        for chunk in statements(&self.path).map_err(unreadable)? {
            let chunk = chunk.map_err(unreadable)?;
            let ran = session.execute_chunk(&chunk, |result| {
                outcome.report(printer, continue_on_error, result)
            });
            // The first pass parsed every chunk; a failure now means the
            // file changed meanwhile, and is reported like a parse error.
            if let Err(e) = ran {
                outcome.parse_error = true;
                outcome.output_closed = printer.error(&e, None).is_err();
            }
            if outcome.parse_error || outcome.stopped(continue_on_error) {
                break;
            }
        }
        Ok(outcome)
    }
}
