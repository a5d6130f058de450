//! `pql usage`: the usage report of `SHOW USAGE` for a billing system, run
//! through the engine and rendered with `pql::output` (CSV with a header
//! row, or one JSON object with `columns` and `rows`).

use std::process::ExitCode;

use pql::output::{render, render_error, Format};
use pql::Engine;

/// The `SHOW USAGE` statement of the command's options. The values are
/// quoted as PQL strings, so the engine checks them (and says what is
/// wrong); a quote in them is refused here.
pub fn statement(
    tenant: Option<&str>,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<String, String> {
    let quoted = |s: &str| {
        if s.contains('\'') || s.contains('\\') {
            Err(format!("invalid value {s:?}"))
        } else {
            Ok(format!("'{s}'"))
        }
    };
    let mut stmt = String::from("SHOW USAGE");
    if let Some(t) = tenant {
        stmt.push_str(&format!(" FOR TENANT \"{}\"", t.replace('"', "")));
    }
    match (period, from, to) {
        (Some(p), None, None) => stmt.push_str(&format!(" PERIOD {}", quoted(p)?)),
        (None, Some(f), Some(t)) => {
            stmt.push_str(&format!(" FROM {} TO {}", quoted(f)?, quoted(t)?))
        }
        (None, None, None) => {}
        _ => return Err("give either --period YYYY-MM, or both --from and --to".into()),
    }
    Ok(stmt)
}

/// Runs the report on `engine` and prints it in `format`.
pub fn run(engine: &Engine, stmt: &str, format: Format) -> ExitCode {
    match engine.execute(stmt) {
        Ok(results) => {
            for r in &results {
                print!("{}", render(r, format));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", render_error(&e, format));
            ExitCode::from(1)
        }
    }
}
