//! Literals and names: values, strings with escapes, numbers, identifiers,
//! tenant/collection names, `WITH (...)` options and `SET` assignments.

use std::collections::BTreeMap;

use pest::iterators::Pair;

use super::ast::Opt;
use super::errors::{is_keyword, punctuation, Source};
use super::Rule;
use crate::error::Result;
use crate::value::Value;

/// The children of `pair` that carry meaning: punctuation and keywords,
/// which only shape the text, are skipped.
pub(crate) fn significant<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner()
        .filter(|p| punctuation(p.as_rule()).is_none() && !is_keyword(p.as_rule()))
}

/// The first significant child of `pair`, or an internal error.
pub(crate) fn only<'i>(src: &Source<'_>, pair: Pair<'i, Rule>) -> Result<Pair<'i, Rule>> {
    match significant(pair.clone()).next() {
        Some(p) => Ok(p),
        None => Err(src.internal(&pair)),
    }
}

/// A `value` (or one of its alternatives) as a [`Value`].
///
/// Nested arrays and objects are built with an explicit stack over the
/// flattened pairs rather than by recursion: debug builds spend kilobytes of
/// stack per recursive level, and 64 levels are allowed.
pub(crate) fn value(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Value> {
    enum Frame<'i> {
        Array(Vec<Value>),
        Object(BTreeMap<String, Value>, Option<(String, Pair<'i, Rule>)>),
    }
    let mut stack: Vec<Frame<'_>> = Vec::new();
    // Strings and keys are built whole; their inner pairs are skipped.
    let mut skip_until = 0usize;
    for p in std::iter::once(pair.clone()).chain(pair.clone().into_inner().flatten()) {
        let span = p.as_span();
        if span.start() < skip_until {
            continue;
        }
        let done = match p.as_rule() {
            Rule::lbracket => {
                stack.push(Frame::Array(Vec::new()));
                continue;
            }
            Rule::lbrace => {
                stack.push(Frame::Object(BTreeMap::new(), None));
                continue;
            }
            Rule::object_key => {
                skip_until = span.end();
                let k = key(src, p.clone())?;
                match stack.last_mut() {
                    Some(Frame::Object(_, pending)) => *pending = Some((k, p)),
                    _ => return Err(src.internal(&p)),
                }
                continue;
            }
            Rule::rbracket | Rule::rbrace => match stack.pop() {
                Some(Frame::Array(items)) => Value::Array(items),
                Some(Frame::Object(map, _)) => Value::Object(map),
                None => return Err(src.internal(&p)),
            },
            Rule::string => {
                skip_until = span.end();
                Value::Str(string(src, p)?)
            }
            Rule::number => number(src, p.as_str(), span.start())?,
            Rule::plain_numbers => {
                // The numbers and the closing `]` of the innermost array.
                let Some(Frame::Array(mut items)) = stack.pop() else {
                    return Err(src.internal(&p));
                };
                push_numbers(src, &p, &mut items)?;
                Value::Array(items)
            }
            Rule::lit_true => Value::Bool(true),
            Rule::lit_false => Value::Bool(false),
            Rule::lit_null => Value::Null,
            // `value`, `array`, `object`, `object_pair`, `,`, `:`.
            _ => continue,
        };
        match stack.last_mut() {
            None => return Ok(done),
            Some(Frame::Array(items)) => items.push(done),
            Some(Frame::Object(map, pending)) => {
                let Some((k, at)) = pending.take() else {
                    return Err(src.internal(&pair));
                };
                if map.contains_key(&k) {
                    return Err(src.error_at(&at, format!("duplicate key `{k}`")));
                }
                map.insert(k, done);
            }
        }
    }
    Err(src.internal(&pair))
}

/// The items of an `array` or `tuple`.
pub(crate) fn array(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    for p in significant(pair) {
        if p.as_rule() == Rule::plain_numbers {
            push_numbers(src, &p, &mut items)?;
        } else {
            items.push(value(src, p)?);
        }
    }
    Ok(items)
}

/// An integer (`i64`) or float (`f64`) literal, `text` at byte `at`;
/// out-of-range numbers are errors.
fn number(src: &Source<'_>, text: &str, at: usize) -> Result<Value> {
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Float(x)),
            _ => Err(src.error(at, format!("number out of range: {text}"))),
        }
    } else {
        text.parse::<i64>()
            .map(Value::Int)
            .map_err(|_| src.error(at, format!("integer out of range (64-bit): {text}")))
    }
}

/// Appends the numbers of a `plain_numbers` list to `items`.
fn push_numbers(src: &Source<'_>, pair: &Pair<'_, Rule>, items: &mut Vec<Value>) -> Result<()> {
    each_number(src, pair, |text, at| {
        items.push(number(src, text, at)?);
        Ok(())
    })
}

/// The components of a `vector_literal`, as `f32`.
pub(crate) fn vector(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    for p in significant(pair) {
        each_number(src, &p, |text, at| {
            match text.parse::<f32>() {
                Ok(x) if x.is_finite() => out.push(x),
                _ => {
                    return Err(src.error(at, format!("vector component out of range: {text}")));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The grammar's WHITESPACE.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}')
}

/// Whether the text of a `plain_numbers` token (`1, -2.5, 3e2 ]`) is what
/// the general list rules would read as `number` tokens, commas and
/// whitespace (no comments), with at most one trailing comma: numbers as
/// the grammar's `number` (`-`? digits, `.digits`?, exponent?, then no
/// identifier character).
pub(crate) fn is_plain_list(token: &str) -> bool {
    let Some(body) = token.strip_suffix(']') else {
        return false;
    };
    let mut rest = body.trim_start_matches(is_space);
    loop {
        let Some(after) = strip_number(rest) else {
            return false;
        };
        rest = after.trim_start_matches(is_space);
        match rest.strip_prefix(',') {
            None => return rest.is_empty(),
            Some(after) => rest = after.trim_start_matches(is_space),
        }
        if rest.is_empty() {
            return true;
        }
    }
}

/// `text` after the `number` it starts with, if it starts with one.
fn strip_number(text: &str) -> Option<&str> {
    fn digits(s: &str) -> Option<&str> {
        let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
        (rest.len() < s.len()).then_some(rest)
    }
    let mut rest = digits(text.strip_prefix('-').unwrap_or(text))?;
    if let Some(fraction) = rest.strip_prefix('.').and_then(digits) {
        rest = fraction;
    }
    if let Some(exponent) = rest.strip_prefix(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if let Some(after) = digits(exponent) {
            rest = after;
        }
    }
    match rest.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => None,
        _ => Some(rest),
    }
}

/// Calls `f` with the text and byte offset of each number in `pair`: a
/// `number` token, or each number of a `plain_numbers` list (`1, -2.5 ]`,
/// checked by [`is_plain_list`]).
fn each_number(
    src: &Source<'_>,
    pair: &Pair<'_, Rule>,
    mut f: impl FnMut(&str, usize) -> Result<()>,
) -> Result<()> {
    let text = pair.as_str();
    let start = pair.as_span().start();
    if pair.as_rule() != Rule::plain_numbers {
        return f(text, start);
    }
    let body = text.strip_suffix(']').ok_or_else(|| src.internal(pair))?;
    let mut at = start;
    for piece in body.split(',') {
        let trimmed = piece.trim_start_matches(is_space);
        let number = trimmed.trim_end_matches(is_space);
        // Empty only after a trailing comma.
        if !number.is_empty() {
            f(number, at + piece.len() - trimmed.len())?;
        }
        at += piece.len() + 1;
    }
    Ok(())
}

/// A non-negative integer (`TOP k`, `LIMIT n`).
pub(crate) fn count(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<u64> {
    pair.as_str()
        .parse::<u64>()
        .map_err(|_| src.error_at(pair, format!("integer out of range: {}", pair.as_str())))
}

/// A `string`: quotes removed, escapes resolved.
pub(crate) fn string(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<String> {
    let inner = only(src, pair)?;
    unescape(src, inner.as_str(), inner.as_span().start())
}

/// Resolves `\\ \' \" \n \t \r \0 \u{X..}`; `offset` is where `raw` starts,
/// for error positions.
fn unescape(src: &Source<'_>, raw: &str, offset: usize) -> Result<String> {
    if !raw.contains('\\') {
        return Ok(raw.to_string());
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((i, e)) = chars.next() else {
            return Err(src.error(offset + raw.len(), "unterminated string"));
        };
        let at = offset + i - 1;
        out.push(match e {
            '\\' => '\\',
            '\'' => '\'',
            '"' => '"',
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            'u' => {
                let (c, len) = unicode_escape(&raw[i + 1..]).ok_or_else(|| {
                    src.error(at, "invalid unicode escape: expected \\u{hex} (1-6 digits)")
                })?;
                // Skip the `{hex}` part that was just decoded.
                for _ in 0..len {
                    chars.next();
                }
                c
            }
            other => {
                return Err(src.error(at, format!("unknown escape `\\{other}` in string")));
            }
        });
    }
    Ok(out)
}

/// Decodes `{1F600}` at the start of `rest`: the char and the length of the
/// braced part (ASCII, so bytes = chars).
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let body = rest.strip_prefix('{')?;
    let close = body.find('}')?;
    let hex = &body[..close];
    if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((c, close + 2))
}

/// A tenant or collection `name`, bare or quoted, passed through unvalidated.
pub(crate) fn name(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<String> {
    let inner = only(src, pair)?;
    match inner.as_rule() {
        Rule::bare_name => Ok(inner.as_str().to_string()),
        Rule::string => string(src, inner),
        _ => Err(src.internal(&inner)),
    }
}

/// A `field` (identifier or quoted), or an object / option key.
pub(crate) fn key(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<String> {
    let inner = only(src, pair)?;
    match inner.as_rule() {
        Rule::ident => Ok(inner.as_str().to_string()),
        Rule::string => string(src, inner),
        _ => Err(src.internal(&inner)),
    }
}

/// `WITH (k: v, ...)` or `SET k = v, ...`: keys lower-cased, no duplicates.
pub(crate) fn options(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Vec<Opt>> {
    let mut out: Vec<Opt> = Vec::new();
    for item in significant(pair) {
        let mut parts = significant(item.clone());
        let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
            return Err(src.internal(&item));
        };
        let key = key(src, k.clone())?.to_lowercase();
        if out.iter().any(|o| o.key == key) {
            return Err(src.error_at(&k, format!("duplicate option `{key}`")));
        }
        out.push(Opt {
            key,
            value: value(src, v)?,
        });
    }
    Ok(out)
}
