//! Literals and names: values, strings with escapes, numbers, identifiers,
//! tenant/collection names, `WITH (...)` options and `SET` assignments.

use std::collections::BTreeMap;

use pest::iterators::Pair;

use super::ast::{Name, Opt, Span};
use super::count::bytes_where;
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
    // One number per comma, give or take one: one allocation, not one per
    // doubling.
    let commas = bytes_where(pair.as_str().as_bytes(), |b| b == b',');
    let mut out = Vec::with_capacity(commas + 1);
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

/// Calls `f` with the text and byte offset of each number in `pair`: a
/// `number` token, or each number of a `plain_numbers` list (`1, -2.5 ]`).
///
/// A `plain_numbers` token that is not what the general list rules would
/// read as `number` tokens, commas and whitespace (no comments), with at
/// most one trailing comma, is an error: `parse` then lets the strict
/// grammar read the text.
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
    match walk_plain_list(text, |number, at| f(number, start + at))? {
        true => Ok(()),
        false => Err(src.internal(pair)),
    }
}

/// Walks a `plain_numbers` token, calling `f` with the text and byte offset
/// (in `token`) of each number, up to the first error `f` returns. `false`
/// when the token is not a plain list (see [`each_number`]); `f` has then
/// seen only the numbers before the fault.
fn walk_plain_list(token: &str, mut f: impl FnMut(&str, usize) -> Result<()>) -> Result<bool> {
    let b = token.as_bytes();
    // The closing `]` stops every scan below: it is no digit, dot, sign,
    // letter or space.
    if b.last() != Some(&b']') {
        return Ok(false);
    }
    let mut i = skip_space(b, 0);
    loop {
        let Some(end) = number_end(b, i) else {
            return Ok(false);
        };
        f(&token[i..end], i)?;
        i = skip_space(b, end);
        if b.get(i) != Some(&b',') {
            return Ok(i + 1 == b.len());
        }
        i = skip_space(b, i + 1);
        if i + 1 == b.len() {
            return Ok(true);
        }
    }
}

/// `i` moved past the grammar's WHITESPACE.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    const BOM: &[u8] = "\u{FEFF}".as_bytes();
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\r' | b'\n') => i += 1,
            Some(0xEF) if b[i..].starts_with(BOM) => i += BOM.len(),
            _ => return i,
        }
    }
}

/// The end of the grammar's `number` starting at `i` (`-`? digits,
/// `.digits`?, exponent?, then no identifier character), if one starts there.
fn number_end(b: &[u8], i: usize) -> Option<usize> {
    let digits = |start: usize| {
        let run = b
            .get(start..)?
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (run > 0).then_some(start + run)
    };
    let mut end = digits(if b.get(i) == Some(&b'-') { i + 1 } else { i })?;
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1).unwrap_or(end);
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        end = digits(end + 1 + sign).unwrap_or(end);
    }
    match b.get(end) {
        Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => None,
        _ => Some(end),
    }
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

/// Where `pair` is in the text.
pub(crate) fn span(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

/// A tenant or collection `name`, bare or quoted, passed through unvalidated.
pub(crate) fn name(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Name> {
    let at = span(&pair);
    let inner = only(src, pair)?;
    let text = match inner.as_rule() {
        Rule::bare_name => inner.as_str().to_string(),
        Rule::string => string(src, inner)?,
        _ => return Err(src.internal(&inner)),
    };
    Ok(Name::new(text, at))
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
            span: span(&item),
        });
    }
    Ok(out)
}
