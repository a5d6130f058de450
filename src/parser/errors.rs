//! Source positions and parse errors: byte offsets become 1-based
//! line/column positions, pest failures become [`Error`]s of kind
//! [`ErrorKind::ParseError`] whose message lists what was expected in English.

use std::cell::Cell;

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::Rule;
use crate::error::{Error, ErrorKind, Position};

/// The text being parsed, with an index of line starts so that positions are
/// cheap to compute even for long scripts.
pub(crate) struct Source<'a> {
    text: &'a str,
    /// Byte offset of the first character of each line.
    line_starts: Vec<usize>,
    /// The last `(offset, line, column)` computed.
    last: Cell<(usize, usize, usize)>,
}

impl<'a> Source<'a> {
    /// Indexes `text`.
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source {
            text,
            line_starts,
            last: Cell::new((0, 1, 1)),
        }
    }

    /// The whole text.
    pub(crate) fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based line and column (in characters) of byte `offset`. Columns are
    /// counted from the last position asked for when it is earlier on the
    /// same line, so that many statements on one long line stay linear.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = self.boundary(offset);
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let (last_offset, last_line, last_column) = self.last.get();
        let column = if last_line == line && last_offset <= offset {
            last_column + self.text[last_offset..offset].chars().count()
        } else {
            self.text[self.line_starts[line - 1]..offset]
                .chars()
                .count()
                + 1
        };
        self.last.set((offset, line, column));
        (line, column)
    }

    /// The [`Position`] of byte `offset`, with its source line.
    pub(crate) fn position(&self, offset: usize) -> Position {
        let offset = self.boundary(offset);
        let (line, column) = self.line_col(offset);
        let start = self.line_starts[line - 1];
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let source_line = self.text[start..end].trim_end_matches('\r').to_string();
        Position {
            line,
            column,
            source_line,
        }
    }

    /// A parse error with `message` at byte `offset`.
    pub(crate) fn error(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::new(ErrorKind::ParseError, message).at(self.position(offset))
    }

    /// A parse error pointing at the start of `pair`.
    pub(crate) fn error_at(&self, pair: &Pair<'_, Rule>, message: impl Into<String>) -> Error {
        self.error(pair.as_span().start(), message)
    }

    /// The parse tree did not have the shape the grammar guarantees: a bug in
    /// the parser, reported as an error rather than a panic.
    pub(crate) fn internal(&self, pair: &Pair<'_, Rule>) -> Error {
        self.error_at(
            pair,
            format!("internal parser error: unexpected {:?}", pair.as_rule()),
        )
    }

    /// `offset` clamped to the text and moved back to a character boundary.
    fn boundary(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// Converts a pest failure into a positioned [`Error`].
    pub(crate) fn pest_error(&self, err: pest::error::Error<Rule>) -> Error {
        let mut offset = match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
        let message = match &err.variant {
            ErrorVariant::ParsingError {
                positives,
                negatives,
            } => match self.unterminated(offset) {
                // Comments may appear anywhere; a string only where one of
                // the expected rules can start with a quote.
                Some(m @ "unterminated comment") => m.to_string(),
                Some(m) if positives.iter().any(|r| takes_string(*r)) => m.to_string(),
                _ => expected_message(positives, negatives),
            },
            ErrorVariant::CustomError { message } if message.contains("limit reached") => {
                "statement too large or too deeply nested to parse".to_string()
            }
            ErrorVariant::CustomError { message } => message.clone(),
        };
        // An error at the very end points just after the last token, on
        // its line, rather than at an empty line after trailing newlines.
        if offset >= self.text.len() {
            offset = self.text.trim_end().len();
        }
        self.error(offset, message)
    }

    /// "unterminated string/comment" when the failure sits on an opening
    /// quote or `/*` that is never closed.
    fn unterminated(&self, offset: usize) -> Option<&'static str> {
        let rest = self.text.get(offset..)?;
        let mut chars = rest.chars();
        match chars.next()? {
            q @ ('"' | '\'') => {
                let mut escaped = false;
                for c in chars {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        c if c == q => return None,
                        _ => {}
                    }
                }
                Some("unterminated string")
            }
            '/' if rest.starts_with("/*") && !rest[2..].contains("*/") => {
                Some("unterminated comment")
            }
            _ => None,
        }
    }
}

/// Grouping of expected items: keywords and operators first, then other
/// rules (`value`, `field name`), then punctuation, then the end of input;
/// within a group, grammar order.
fn rank(rule: Rule) -> u8 {
    match rule {
        Rule::EOI => 3,
        r if punctuation(r).is_some() => 2,
        Rule::cmp_op => 0,
        r if is_keyword(r) => 0,
        _ => 1,
    }
}

/// Keyword rules are the ones named `kw_*`.
pub(crate) fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_create
            | Rule::kw_alter
            | Rule::kw_archive
            | Rule::kw_restore
            | Rule::kw_offload
            | Rule::kw_onload
            | Rule::kw_attach
            | Rule::kw_object
            | Rule::kw_export
            | Rule::kw_import
            | Rule::kw_as
            | Rule::kw_replace
            | Rule::kw_store
            | Rule::kw_drop
            | Rule::kw_show
            | Rule::kw_describe
            | Rule::kw_use
            | Rule::kw_query
            | Rule::kw_explain
            | Rule::kw_if
            | Rule::kw_tenant
            | Rule::kw_tenants
            | Rule::kw_collection
            | Rule::kw_collections
            | Rule::kw_usage
            | Rule::kw_stats
            | Rule::kw_for
            | Rule::kw_period
            | Rule::kw_from
            | Rule::kw_nodes
            | Rule::kw_node
            | Rule::kw_upsert
            | Rule::kw_where
            | Rule::kw_update
            | Rule::kw_delete
            | Rule::kw_similar
            | Rule::kw_to
            | Rule::kw_using
            | Rule::kw_top
            | Rule::kw_limit
            | Rule::kw_with
            | Rule::kw_return
            | Rule::kw_count
            | Rule::kw_set
            | Rule::kw_embed
            | Rule::kw_and
            | Rule::kw_or
            | Rule::kw_not
            | Rule::kw_exists
            | Rule::kw_in
            | Rule::kw_contains
            | Rule::kw_is
            | Rule::kw_null
            | Rule::kw_api
            | Rule::kw_key
            | Rule::kw_keys
            | Rule::kw_tier
            | Rule::kw_tiers
    )
}

/// Rules that may start with a quote.
fn takes_string(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::string
            | Rule::value
            | Rule::field_value
            | Rule::name
            | Rule::field
            | Rule::opt_key
            | Rule::object_key
            | Rule::filter
            | Rule::term
            | Rule::predicate
    )
}

/// The printed form of a punctuation rule.
pub(crate) fn punctuation(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::lparen => "'('",
        Rule::rparen => "')'",
        Rule::lbracket => "'['",
        Rule::rbracket => "']'",
        Rule::lbrace => "'{'",
        Rule::rbrace => "'}'",
        Rule::comma => "','",
        Rule::colon => "':'",
        Rule::eq_sign => "'='",
        Rule::star => "'*'",
        Rule::semi => "';'",
        _ => return None,
    })
}

/// The English name of a rule in an "expected ..." list.
pub(crate) fn rule_name(rule: Rule) -> String {
    if let Some(p) = punctuation(rule) {
        return p.to_string();
    }
    let fixed = match rule {
        Rule::EOI => "end of input",
        Rule::kw_embed | Rule::embed_call => "embed(...)",
        Rule::lit_true => "true",
        Rule::lit_false => "false",
        Rule::lit_null => "null",
        Rule::value | Rule::field_value | Rule::array | Rule::object | Rule::tuple => "value",
        Rule::number => "number",
        Rule::count => "integer",
        Rule::string | Rule::dq_string | Rule::sq_string => "string",
        Rule::name | Rule::bare_name => "name",
        Rule::field => "field name",
        Rule::ident => "identifier",
        Rule::opt_key => "option name",
        Rule::object_key => "key",
        Rule::cmp_op => "comparison operator",
        Rule::filter | Rule::term | Rule::predicate => "condition",
        Rule::node_literal => "'{'",
        Rule::vector_literal => "'['",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    let name = format!("{rule:?}");
    match name.strip_prefix("kw_") {
        Some(kw) => kw.to_uppercase(),
        None => name.replace('_', " "),
    }
}

/// `expected A, B or C`, deduplicated, in a stable order.
fn expected_message(positives: &[Rule], negatives: &[Rule]) -> String {
    // A `plain_numbers` list is only a faster form of what the general list
    // rules, tried at the same place, accept: they name what was expected.
    let mut rules: Vec<Rule> = positives
        .iter()
        .copied()
        .filter(|r| *r != Rule::plain_numbers)
        .collect();
    // Where a statement may start, `;` (an empty statement) and the end of
    // input are valid too, but listing them only hides the useful words.
    // EXPLAIN is expected nowhere else.
    if rules.contains(&Rule::kw_explain) {
        rules.retain(|r| !matches!(r, Rule::semi | Rule::EOI));
    }
    if rules.contains(&Rule::semi) {
        rules.retain(|r| *r != Rule::EOI);
    }
    rules.sort_by_key(|r| (rank(*r), *r));
    let mut names: Vec<String> = Vec::new();
    for r in rules {
        let n = rule_name(r);
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        return match negatives.first() {
            Some(r) => format!("unexpected {}", rule_name(*r)),
            None => "syntax error".to_string(),
        };
    }
    format!("expected {}", english_list(&names))
}

/// `A`, `A or B`, `A, B or C`.
fn english_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}
