//! Tab completion: PQL keywords, tenant names after `TENANT`, collection
//! names after `QUERY` / `COLLECTION`, and meta-commands.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

use pql::Engine;

use crate::meta;

/// PQL keywords offered by completion.
const KEYWORDS: &[&str] = &[
    "AND",
    "ALTER",
    "ARCHIVE",
    "ATTACH",
    "COLLECTION",
    "COLLECTIONS",
    "CONTAINS",
    "COUNT",
    "CREATE",
    "DELETE",
    "DESCRIBE",
    "DROP",
    "EMBED",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FOR",
    "FROM",
    "IF",
    "IN",
    "IS",
    "LIMIT",
    "NODE",
    "NODES",
    "NOT",
    "NULL",
    "OR",
    "PERIOD",
    "QUERY",
    "RESTORE",
    "RETURN",
    "SET",
    "SHOW",
    "SIMILAR",
    "STATS",
    "TENANT",
    "TENANTS",
    "TIER",
    "TIERS",
    "TO",
    "TOP",
    "TRUE",
    "UPDATE",
    "UPSERT",
    "USAGE",
    "USE",
    "USING",
    "WHERE",
    "WITH",
];

/// What kind of word is being completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A PQL keyword.
    Keyword,
    /// A tenant name (after `TENANT`).
    Tenant,
    /// A collection name (after `QUERY` or `COLLECTION`).
    Collection,
    /// A meta-command name (a word starting with `\` at the line start).
    Meta,
    /// An output format (after `\format`).
    Format,
}

/// The rustyline helper: completion backed by the engine's catalog.
pub struct PqlHelper {
    engine: Engine,
    /// The session's tenant (from `USE TENANT`), for collection names.
    pub tenant: Option<String>,
    /// Earlier lines of the statement being typed, for context.
    pub pending: String,
}

impl PqlHelper {
    /// A helper that looks names up in `engine`.
    pub fn new(engine: Engine) -> Self {
        PqlHelper {
            engine,
            tenant: None,
            pending: String::new(),
        }
    }

    fn names(&self, slot: Slot) -> Vec<String> {
        match slot {
            Slot::Tenant => self.engine.tenant_names(),
            Slot::Collection => match &self.tenant {
                Some(t) => self.engine.collection_names(t).unwrap_or_default(),
                None => Vec::new(),
            },
            Slot::Meta => meta::NAMES.iter().map(|s| s.to_string()).collect(),
            Slot::Format => ["table", "json", "csv"].map(String::from).to_vec(),
            Slot::Keyword => Vec::new(),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '\\'
}

/// Finds the word that ends at the cursor: its start, and the slot it fills
/// given the text before it (`context` is earlier lines of the statement).
pub fn locate(context: &str, line: &str, pos: usize) -> (usize, Slot) {
    let before = line.get(..pos).unwrap_or(line);
    let start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_word_char(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let first_line = context.is_empty();
    let head = before[..start].trim_start();
    if first_line && head.is_empty() && word.starts_with('\\') {
        return (start, Slot::Meta);
    }
    if first_line {
        if let Some(cmd) = head.split_whitespace().next() {
            if cmd == "\\format" {
                return (start, Slot::Format);
            }
        }
    }
    let previous = format!("{context} {}", &before[..start]);
    let slot = match previous
        .split_whitespace()
        .last()
        .map(str::to_ascii_uppercase)
    {
        Some(w) if w == "TENANT" => Slot::Tenant,
        Some(w) if w == "QUERY" || w == "COLLECTION" => Slot::Collection,
        _ => Slot::Keyword,
    };
    (start, slot)
}

/// Keywords starting with `prefix` (any case), written in the prefix's case:
/// lower case when the prefix has no capitals, upper case otherwise.
pub fn keywords(prefix: &str) -> Vec<String> {
    if prefix.is_empty() {
        return Vec::new();
    }
    let upper = prefix.to_ascii_uppercase();
    let lower = !prefix.chars().any(|c| c.is_uppercase());
    KEYWORDS
        .iter()
        .filter(|k| k.starts_with(&upper))
        .map(|k| {
            if lower {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            }
        })
        .collect()
}

/// Names starting with `prefix`, ignoring case.
pub fn matching(names: Vec<String>, prefix: &str) -> Vec<String> {
    let prefix = prefix.to_lowercase();
    names
        .into_iter()
        .filter(|n| n.to_lowercase().starts_with(&prefix))
        .collect()
}

impl Completer for PqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, slot) = locate(&self.pending, line, pos);
        let word = line.get(start..pos).unwrap_or("");
        let found = match slot {
            Slot::Keyword => keywords(word),
            other => matching(self.names(other), word),
        };
        let pairs = found
            .into_iter()
            .map(|s| Pair {
                display: s.clone(),
                replacement: s,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for PqlHelper {
    type Hint = String;
}

impl Highlighter for PqlHelper {}

impl Validator for PqlHelper {}

impl Helper for PqlHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_complete_in_the_case_typed() {
        assert_eq!(keywords("sho"), vec!["show"]);
        assert_eq!(keywords("SHO"), vec!["SHOW"]);
        assert_eq!(keywords("Sho"), vec!["SHOW"]);
        assert_eq!(keywords("tenant"), vec!["tenant", "tenants"]);
        assert!(keywords("").is_empty());
        assert!(keywords("xyz").is_empty());
    }

    #[test]
    fn slot_follows_the_previous_word() {
        assert_eq!(locate("", "USE TENANT ac", 13), (11, Slot::Tenant));
        assert_eq!(locate("", "describe tenant ", 16), (16, Slot::Tenant));
        assert_eq!(locate("", "QUERY pr", 8), (6, Slot::Collection));
        assert_eq!(locate("", "DROP COLLECTION p", 17), (16, Slot::Collection));
        assert_eq!(locate("", "CREATE TEN", 10), (7, Slot::Keyword));
        assert_eq!(locate("", "SHOW TENANTS W", 14), (13, Slot::Keyword));
        // Tenant names may hold '-'.
        assert_eq!(locate("", "USE TENANT customer-1", 21), (11, Slot::Tenant));
    }

    #[test]
    fn earlier_lines_give_context() {
        assert_eq!(locate("QUERY products TENANT", "ac", 2), (0, Slot::Tenant));
        assert_eq!(locate("SHOW", "TEN", 3), (0, Slot::Keyword));
    }

    #[test]
    fn meta_commands_and_formats() {
        assert_eq!(locate("", "\\ti", 3), (0, Slot::Meta));
        assert_eq!(locate("", "\\format js", 10), (8, Slot::Format));
    }

    #[test]
    fn names_match_ignoring_case() {
        let names = vec!["acme".to_string(), "Acme-2".into(), "beta".into()];
        assert_eq!(matching(names, "AC"), vec!["acme", "Acme-2"]);
    }

    #[test]
    fn cursor_past_a_multibyte_char_is_safe() {
        assert_eq!(locate("", "x = 'é' TEN", 12).1, Slot::Keyword);
        assert_eq!(locate("", "é", 1).0, 0);
    }
}
