//! The `pql` command: interactive shell, script runner (`pql run FILE`) and
//! one-shot statements (`pql -e "..."`). It uses only the public API of the
//! `pql` library.
//!
//! Exit codes: 0 success; 1 a statement failed or the script did not parse;
//! 2 the command could not start (bad arguments, unreadable script, data
//! folder that cannot be opened).

mod args;
mod bulk;
#[cfg(all(feature = "server", feature = "s3"))]
mod cluster;
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
mod stream;
mod usage;

use std::process::ExitCode;

use pql::output::{render_error, Format};
use pql::Engine;

use crate::args::{Args, Command};
use crate::commands::Printer;

fn main() -> ExitCode {
    let args = Args::parse_checked();
    match &args.command {
        Some(Command::Run { file }) => match stream::ScriptFile::open(file) {
            Ok(script) => run_file(&args, &script),
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

/// Runs the text of `-e` and turns the outcome into the exit code.
fn run_text(args: &Args, text: &str) -> ExitCode {
    run_script(args, |session, printer| {
        Ok(commands::run(
            session,
            text,
            printer,
            args.continue_on_error,
        ))
    })
}

/// Runs `pql run`'s script, statement by statement, and turns the outcome
/// into the exit code (2 if the script cannot be read).
fn run_file(args: &Args, script: &stream::ScriptFile) -> ExitCode {
    run_script(args, |session, printer| {
        script.run(session, printer, args.continue_on_error)
    })
}

/// Opens the engine and runs `script` in a session, with statements
/// numbered in errors; the exit code of the outcome.
fn run_script(
    args: &Args,
    script: impl FnOnce(&mut pql::Session, &Printer) -> Result<commands::Outcome, String>,
) -> ExitCode {
    let engine = match open(args) {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let printer = Printer {
        number_statements: true,
        ..Printer::new(args.format)
    };
    match script(&mut engine.session(), &printer) {
        Ok(outcome) if outcome.is_failure() => ExitCode::from(1),
        Ok(_) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("pql: {msg}");
            ExitCode::from(2)
        }
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
