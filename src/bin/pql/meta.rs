//! REPL meta-commands: psql's habits (`\d`, `\dt`, `\l`, `\i`, `\o`,
//! `\x`, `\e`) and the shell's own (`\help`, `\timing`, `\format`, `\q`).

use pql::output::Format;

/// A meta-command typed at the REPL prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meta {
    /// `\help`, `\h`, `\?`: list statements and meta-commands.
    Help,
    /// `\timing [on|off]`: toggle (or set) printing each statement's time.
    Timing(Option<bool>),
    /// `\format [table|json|csv]`: show or set the output format.
    Format(Option<Format>),
    /// `\q`, `\quit`, `exit`, `quit`: leave the shell.
    Quit,
    /// `\d [name]`: describe `name`, a collection of the tenant in use if
    /// it has one of that name, else a tenant; alone, the tenant in use, or
    /// with no tenant in use, list the tenants.
    Describe(Option<String>),
    /// `\dt [tenant]`: the collections of `tenant` or of the tenant in use.
    Collections(Option<String>),
    /// `\l`: the tenants.
    Tenants,
    /// `\i FILE`: run a script file.
    Include(String),
    /// `\o [FILE]`: send results to `FILE`; alone, back to stdout.
    Output(Option<String>),
    /// `\x [on|off]`: toggle (or set) expanded rows.
    Expanded(Option<bool>),
    /// `\e`: edit the last statement in `$EDITOR`, then run it.
    Edit,
}

/// Meta-command names, for completion.
pub const NAMES: &[&str] = &[
    "\\help", "\\timing", "\\format", "\\q", "\\d", "\\dt", "\\l", "\\i", "\\o", "\\x", "\\e",
];

/// `on` / `off` (any case) for a toggle; `None` toggles.
fn switch(command: &str, arg: Option<&str>) -> Result<Option<bool>, String> {
    match arg.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("on") => Ok(Some(true)),
        Some("off") => Ok(Some(false)),
        Some(other) => Err(format!("\\{command}: expected on or off, got '{other}'")),
    }
}

/// Parses a line that starts with `\` (or is `exit` / `quit`). `None` when
/// the line is not a meta-command; `Err` with a message for a bad one.
pub fn parse(line: &str) -> Option<Result<Meta, String>> {
    let line = line.trim();
    let bare = line.trim_end_matches(';').trim_end();
    if bare.eq_ignore_ascii_case("exit") || bare.eq_ignore_ascii_case("quit") {
        return Some(Ok(Meta::Quit));
    }
    let rest = line.strip_prefix('\\')?;
    let mut words = rest.split_whitespace();
    let name = words.next().unwrap_or("");
    // A file name is the rest of the line, spaces included.
    let path = rest.trim_start()[name.len()..].trim();
    match name {
        "i" | "include" if path.is_empty() => {
            return Some(Err("\\i: give the script file to run".into()))
        }
        "i" | "include" => return Some(Ok(Meta::Include(path.to_string()))),
        "o" | "out" => {
            return Some(Ok(Meta::Output(
                (!path.is_empty()).then(|| path.to_string()),
            )))
        }
        _ => {}
    }
    let arg = words.next();
    if let Some(extra) = words.next() {
        return Some(Err(format!("\\{name}: unexpected argument '{extra}'")));
    }
    let meta = match name {
        "help" | "h" | "?" => Ok(Meta::Help),
        "q" | "quit" => Ok(Meta::Quit),
        "timing" => switch(name, arg).map(Meta::Timing),
        "x" => switch(name, arg).map(Meta::Expanded),
        "d" => Ok(Meta::Describe(arg.map(str::to_string))),
        "dt" => Ok(Meta::Collections(arg.map(str::to_string))),
        "l" | "list" => match arg {
            None => Ok(Meta::Tenants),
            Some(a) => Err(format!("\\l: unexpected argument '{a}'")),
        },
        "e" | "edit" => match arg {
            None => Ok(Meta::Edit),
            Some(a) => Err(format!("\\e: unexpected argument '{a}'")),
        },
        "format" => match arg {
            None => Ok(Meta::Format(None)),
            Some(f) => f.parse().map(|f| Meta::Format(Some(f))),
        },
        other => Err(format!(
            "unknown command \\{other}: type \\help for the list"
        )),
    };
    Some(meta)
}

/// The text `\help` prints.
pub const HELP: &str = "\
Statements end with ';' (a statement may span lines). Keywords are case-insensitive.

Tenants
  CREATE TENANT [IF NOT EXISTS] name [WITH (tier: 'pro', max_vectors: 1000, ...)];
  ALTER TENANT name SET option = value [, ...];
  ARCHIVE TENANT name;   RESTORE TENANT name;   DROP TENANT [IF EXISTS] name;
  SHOW TENANTS [WHERE filter] [LIMIT n];   DESCRIBE TENANT name;
  USE TENANT name;       -- later statements may omit TENANT name

Tiers (templates tenants inherit unless they set an option themselves)
  CREATE TIER [IF NOT EXISTS] name [WITH (max_vectors: 1000000, max_qps: 100, ...)];
  ALTER TIER name SET max_vectors = 2000000 [, ...];   -- null removes a setting
  DROP TIER [IF EXISTS] name;   SHOW TIERS;

Collections
  CREATE COLLECTION name TENANT t [WITH (dimension: 384, metric: 'cosine', ...)];
  ALTER COLLECTION name TENANT t SET ef_search = 128;
  DROP COLLECTION name TENANT t;   SHOW COLLECTIONS TENANT t;
  DESCRIBE COLLECTION name [TENANT t];

Nodes and search
  QUERY c TENANT t CREATE NODE { id: \"p1\", name: \"Widget\", embedding: embed(\"text\") };
  QUERY c TENANT t CREATE NODES [ {...}, {...} ];   QUERY c TENANT t UPSERT NODE {...};
  QUERY c TENANT t WHERE id = \"p1\" UPDATE SET price = 10;
  QUERY c TENANT t WHERE category = \"old\" DELETE;
  QUERY c TENANT t [WHERE filter] [SIMILAR TO embed(\"text\") | [0.1, ...] | NODE \"id\"]
        [TOP k | LIMIT k] [WITH (ef: 128, exact: true)] [RETURN field, ... | RETURN COUNT(*)];
  EXPLAIN QUERY ...;

Usage
  SHOW USAGE [FOR TENANT t] [PERIOD '2026-11' | FROM '2026-11-01' TO '2026-11-30'];
  SHOW STATS;

Meta-commands
  \\l                    list tenants (SHOW TENANTS)
  \\d [name]             describe collection name of the tenant in use,
                        else tenant name; alone, the tenant in use
  \\dt [tenant]          list the collections of tenant, or of the tenant in use
  \\i FILE               run the statements of a script file
  \\o [FILE]             send results to FILE; \\o alone: back to the screen
  \\x [on|off]           expanded rows: one 'column | value' line per field
  \\e                    edit the last statement in $VISUAL / $EDITOR (vi), then run it
  \\help                 this text (also \\h, \\?)
  \\timing [on|off]      print the time each statement took
  \\format [table|json|csv]  show or set the output format
  \\q                    quit (also exit, quit, Ctrl-D)

Ctrl-C clears the statement being typed; while a statement runs, it lets the
statement finish safely (statements are atomic) and returns to the prompt.
Results wider or taller than the terminal go through $PAGER (default less -S).
Tab completes keywords, tenants and collections.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meta_commands() {
        assert_eq!(parse("\\help"), Some(Ok(Meta::Help)));
        assert_eq!(parse("  \\? "), Some(Ok(Meta::Help)));
        assert_eq!(parse("\\q"), Some(Ok(Meta::Quit)));
        assert_eq!(parse("exit"), Some(Ok(Meta::Quit)));
        assert_eq!(parse("QUIT;"), Some(Ok(Meta::Quit)));
        assert_eq!(parse("\\timing"), Some(Ok(Meta::Timing(None))));
        assert_eq!(parse("\\timing ON"), Some(Ok(Meta::Timing(Some(true)))));
        assert_eq!(parse("\\format"), Some(Ok(Meta::Format(None))));
        assert_eq!(
            parse("\\format csv"),
            Some(Ok(Meta::Format(Some(Format::Csv))))
        );
    }

    #[test]
    fn parses_psql_habits() {
        assert_eq!(parse("\\d"), Some(Ok(Meta::Describe(None))));
        assert_eq!(
            parse("\\d Acme"),
            Some(Ok(Meta::Describe(Some("Acme".into()))))
        );
        assert_eq!(parse("\\dt"), Some(Ok(Meta::Collections(None))));
        assert_eq!(
            parse("\\dt t1"),
            Some(Ok(Meta::Collections(Some("t1".into()))))
        );
        assert_eq!(parse("\\l"), Some(Ok(Meta::Tenants)));
        assert_eq!(
            parse("\\i my scripts/seed.pql "),
            Some(Ok(Meta::Include("my scripts/seed.pql".into())))
        );
        assert_eq!(
            parse("\\o out.txt"),
            Some(Ok(Meta::Output(Some("out.txt".into()))))
        );
        assert_eq!(parse("\\o"), Some(Ok(Meta::Output(None))));
        assert_eq!(parse("\\x"), Some(Ok(Meta::Expanded(None))));
        assert_eq!(parse("\\x off"), Some(Ok(Meta::Expanded(Some(false)))));
        assert_eq!(parse("\\e"), Some(Ok(Meta::Edit)));
        assert!(matches!(parse("\\i"), Some(Err(_))));
        assert!(matches!(parse("\\l extra"), Some(Err(_))));
        assert!(matches!(parse("\\x sideways"), Some(Err(_))));
        assert!(matches!(parse("\\d a b"), Some(Err(_))));
    }

    #[test]
    fn statements_are_not_meta_commands() {
        assert_eq!(parse("SHOW TENANTS;"), None);
        assert_eq!(parse("exit_code"), None);
    }

    #[test]
    fn bad_meta_commands_explain_themselves() {
        assert!(matches!(parse("\\format xml"), Some(Err(m)) if m.contains("xml")));
        assert!(matches!(parse("\\timing maybe"), Some(Err(_))));
        assert!(matches!(parse("\\frobnicate"), Some(Err(m)) if m.contains("\\help")));
        assert!(matches!(parse("\\q now please"), Some(Err(_))));
        assert!(matches!(parse("\\"), Some(Err(_))));
    }
}
