//! The `pql` command: interactive shell, script runner (`pql run FILE`) and
//! one-shot statements (`pql -e "..."`). It uses only the public API of the
//! `pql` library.
//!
//! Exit codes: 0 success; 1 a statement failed or the script did not parse;
//! 2 the command could not start (bad arguments, unreadable script, data
//! folder that cannot be opened).

mod args;
mod bulk;
mod commands;
mod complete;
mod embedder;
mod interrupt;
mod meta;
mod pager;
mod repl;
mod scan;
#[cfg(feature = "server")]
mod serve;
mod usage;

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use pql::output::{render_error, Format};
use pql::Engine;

use crate::args::{Args, Command};
use crate::commands::Printer;

fn main() -> ExitCode {
    let args = Args::parse_checked();
    match &args.command {
        Some(Command::Run { file }) => match read_script(file) {
            Ok(text) => run_text(&args, &text),
            Err(msg) => {
                eprintln!("pql: {msg}");
                ExitCode::from(2)
            }
        },
        Some(Command::Usage {
            tenant,
            period,
            from,
            to,
        }) => {
            let stmt = usage::statement(
                tenant.as_deref(),
                period.as_deref(),
                from.as_deref(),
                to.as_deref(),
            );
            match (stmt, open(&args)) {
                (Ok(stmt), Ok(engine)) => usage::run(&engine, &stmt, args.format),
                (Err(msg), _) => {
                    eprintln!("pql: {msg}");
                    ExitCode::from(2)
                }
                (_, Err(code)) => code,
            }
        }
        Some(Command::Import(import_args)) => match open(&args) {
            Ok(engine) => bulk::import(&engine, import_args),
            Err(code) => code,
        },
        Some(Command::Export(export_args)) => match open(&args) {
            Ok(engine) => bulk::export(&engine, export_args),
            Err(code) => code,
        },
        #[cfg(feature = "server")]
        Some(Command::Serve(serve_args)) => match embedder::config(&args) {
            Ok(config) => serve::run(config, serve_args),
            Err(code) => code,
        },
        None => match &args.execute {
            Some(text) => run_text(&args, text),
            None => match open(&args) {
                Ok(engine) => repl::run(engine, &args.data_dir(), args.format),
                Err(code) => code,
            },
        },
    }
}

/// Runs a whole script (from `run` or `-e`) and turns the outcome into the
/// exit code.
fn run_text(args: &Args, text: &str) -> ExitCode {
    let engine = match open(args) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let printer = Printer {
        number_statements: true,
        ..Printer::new(args.format)
    };
    let mut session = engine.session();
    let outcome = commands::run(&mut session, text, &printer, args.continue_on_error);
    if outcome.is_failure() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Opens the engine; on failure prints why (as a JSON line on stdout under
/// `--format json`, like every other error) and gives exit code 2.
fn open(args: &Args) -> Result<Engine, ExitCode> {
    let dir = args.data_dir();
    Engine::open_with(embedder::config(args)?).map_err(|e| {
        if args.format == Format::Json {
            print!("{}", render_error(&e, args.format));
        } else if e.message().starts_with("data folder ") {
            // Already says which folder and why ("... is in use by another
            // process").
            eprintln!("pql: {}", e.message());
        } else {
            eprintln!(
                "pql: cannot open data folder {}: {}",
                dir.display(),
                e.message()
            );
        }
        ExitCode::from(2)
    })
}

/// Reads a script file, or stdin for `-`.
fn read_script(file: &Path) -> Result<String, String> {
    if file == Path::new("-") {
        let mut text = String::new();
        return std::io::stdin()
            .read_to_string(&mut text)
            .map(|_| text)
            .map_err(|e| format!("cannot read the script from standard input: {e}"));
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read script {}: {e}", file.display()))
}
