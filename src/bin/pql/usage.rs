//! `pql usage`: the usage report of `SHOW USAGE` for a billing system, run
//! through the engine and rendered with `pql::output` (CSV with a header
//! row, or one JSON object with `columns` and `rows`).
//!
//! The command's options are data: they go into the statement's syntax tree
//! as they are, never spliced into PQL text, so a quote or a backslash in a
//! tenant name is checked by the engine like any other name.

use std::ops::ControlFlow;
use std::process::ExitCode;

use pql::ast::{Period, Script, Statement};
use pql::output::{render, render_error, Format};
use pql::Engine;

/// The `SHOW USAGE` statement of the command's options, as a one-statement
/// script.
pub fn statement(
    tenant: Option<&str>,
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Script, String> {
    let period = match (period, from, to) {
        (Some(p), None, None) => Some(Period::Month(p.to_string())),
        (None, Some(f), Some(t)) => Some(Period::Range(f.to_string(), t.to_string())),
        (None, None, None) => None,
        _ => return Err("give either --period YYYY-MM, or both --from and --to".into()),
    };
    Ok(crate::commands::script_of(Statement::ShowUsage {
        tenant: tenant.map(Into::into),
        period,
    }))
}

/// Runs the report on `engine` and prints it in `format`.
pub fn run(engine: &Engine, script: &Script, format: Format) -> ExitCode {
    // The canonical text of the statement, for an error's excerpt only.
    let text = script.to_string();
    let mut code = ExitCode::SUCCESS;
    engine.session().execute_script(script, &text, |outcome| {
        match outcome {
            Ok(r) => print!("{}", render(&r, format)),
            Err(e) => {
                eprint!("{}", render_error(&e, format));
                code = ExitCode::from(1);
            }
        }
        ControlFlow::Continue(())
    });
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_the_statement_unchanged() {
        let s = statement(Some(r#"a'b\"c"#), None, Some("2026-01-01"), Some("x'y")).unwrap();
        assert_eq!(
            s.statements[0].statement,
            Statement::ShowUsage {
                tenant: Some(r#"a'b\"c"#.into()),
                period: Some(Period::Range("2026-01-01".into(), "x'y".into())),
            }
        );
        assert!(statement(None, Some("2026-11"), Some("2026-11-01"), None).is_err());
        let month = statement(None, Some("2026-11"), None, None).unwrap();
        assert_eq!(
            month.statements[0].statement,
            Statement::ShowUsage {
                tenant: None,
                period: Some(Period::Month("2026-11".into())),
            }
        );
    }
}
