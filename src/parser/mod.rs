//! PQL text → AST ([`ast`]), with pest errors turned into positioned errors.
//!
//! The grammar is `grammar/pql.pest`. `nesting` bounds bracket depth before
//! pest runs (`count` counts bytes fast for it and for list lengths); each
//! statement family has its own builder module (`tenant`, `collection`,
//! `query`, `keys`, `tier`, with `clauses` shared by the administrative
//! ones), filters are built in `expr`, literals and names in `literal`; `errors`
//! turns byte offsets and pest failures into positioned errors. [`ast`]'s
//! `Display` (`display`, `display_lit`) prints canonical PQL that parses
//! back to the same AST.

pub mod ast;

mod clauses;
mod collection;
mod count;
mod display;
mod display_lit;
mod errors;
mod expr;
mod keys;
mod literal;
mod nesting;
mod query;
mod tenant;
mod tier;

#[cfg(test)]
mod tests;

use std::num::NonZeroUsize;
use std::sync::Mutex;

use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

use crate::error::{Position, Result};
use errors::Source;

/// The pest parser generated from `grammar/pql.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/pql.pest"]
pub(crate) struct PqlParser;

/// Parses a PQL script (any number of `;`-separated statements).
///
/// Every failure is an [`Error`](crate::Error) of kind
/// [`ErrorKind::ParseError`](crate::ErrorKind::ParseError) with the line,
/// column and source line it points at, and a message listing what was
/// expected there.
pub fn parse(text: &str) -> Result<ast::Script> {
    parse_with(text, true)
}

/// Parses a filter expression on its own, as written after `WHERE`
/// (`category = 'tools' AND price < 10`): for clients that build the rest
/// of a statement as data (the HTTP search endpoint). Errors are
/// [`ErrorKind::ParseError`](crate::ErrorKind::ParseError) with a position.
pub fn parse_filter(text: &str) -> Result<ast::Expr> {
    let src = Source::new(text);
    nesting::check(&src)?;
    ensure_call_limit(text.len());
    let mut pairs = PqlParser::parse(Rule::filter_only, text).map_err(|e| src.pest_error(e))?;
    let top = pairs
        .next()
        .ok_or_else(|| crate::Error::new(crate::ErrorKind::ParseError, "empty filter"))?;
    let filter = literal::only(&src, top)?;
    expr::filter(&src, filter)
}

/// [`parse`] with the grammar alone: no `fast_script`, every list read
/// token by token. [`parse`] must give the same result for every text.
#[cfg(test)]
pub(crate) fn parse_strict(text: &str) -> Result<ast::Script> {
    parse_with(text, false)
}

/// Parses `text`, first through `fast_script` if `fast`.
fn parse_with(text: &str, fast: bool) -> Result<ast::Script> {
    let src = Source::new(text);
    nesting::check(&src)?;
    ensure_call_limit(text.len());
    // Lists of plain numbers as one token each; the statements are built
    // from that parse only if every such token checks out as it is read
    // (see `plain_numbers` in the grammar). On any failure the strict
    // grammar decides, errors included: the fast path only ever answers
    // with statements that `script` gives too.
    if fast {
        if let Some(script) = PqlParser::parse(Rule::fast_script, text)
            .ok()
            .and_then(|pairs| build(&src, pairs).ok())
        {
            return Ok(script);
        }
    }
    let pairs = PqlParser::parse(Rule::script, text).map_err(|e| src.pest_error(e))?;
    build(&src, pairs)
}

/// The statements of a parsed script.
fn build(src: &Source<'_>, pairs: Pairs<'_, Rule>) -> Result<ast::Script> {
    let mut statements = Vec::new();
    for pair in pairs {
        if matches!(pair.as_rule(), Rule::semi | Rule::EOI) {
            continue;
        }
        let (line, column) = src.line_col(pair.as_span().start());
        statements.push(ast::Located {
            statement: statement(src, pair)?,
            line,
            column,
        });
    }
    Ok(ast::Script { statements })
}

/// The [`Position`] of byte `offset` of `text` (clamped to the text), with
/// its source line: where a runtime error's span points.
pub(crate) fn position(text: &str, offset: usize) -> Position {
    Source::new(text).position(offset)
}

/// Builds one statement from its pair.
fn statement(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<ast::Statement> {
    if let Some(s) = tenant::statement(src, &pair)? {
        return Ok(s);
    }
    if let Some(s) = collection::statement(src, &pair)? {
        return Ok(s);
    }
    if let Some(s) = keys::statement(src, &pair)? {
        return Ok(s);
    }
    if let Some(s) = tier::statement(src, &pair)? {
        return Ok(s);
    }
    match pair.as_rule() {
        Rule::query_stmt => query::query(src, pair).map(ast::Statement::Query),
        Rule::explain_stmt => {
            query::query(src, literal::only(src, pair)?).map(ast::Statement::Explain)
        }
        _ => Err(src.internal(&pair)),
    }
}

/// pest calls allowed per byte of input. The grammar backtracks only over a
/// few tokens, so the work is linear in the input: measured at 4-14 calls per
/// byte for ordinary scripts and under 30 for 64-deep nesting. The limit
/// leaves ample headroom and still stops a pathological input that found a
/// way around that.
const CALLS_PER_BYTE: usize = 256;

/// Calls allowed on top of `CALLS_PER_BYTE` (short inputs).
const BASE_CALLS: usize = 1 << 20;

/// Raises pest's process-wide call limit so that a text of `len` bytes may
/// use `CALLS_PER_BYTE` calls per byte. The limit only grows, so a parse
/// running in another thread is never given less than it asked for.
fn ensure_call_limit(len: usize) {
    static LIMIT: Mutex<usize> = Mutex::new(0);
    let needed = len
        .saturating_mul(CALLS_PER_BYTE)
        .saturating_add(BASE_CALLS);
    let mut current = LIMIT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if needed > *current {
        *current = needed;
        pest::set_call_limit(NonZeroUsize::new(needed));
    }
}
