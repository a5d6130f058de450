//! Literals and names: values, strings with escapes, numbers, identifiers,
//! tenant/collection names, `WITH (...)` options and `SET` assignments.

use std::collections::BTreeMap;

use pest::iterators::Pair;

use super::ast::Opt;
use super::errors::{punctuation, Source};
use super::Rule;
use crate::error::Result;
use crate::value::Value;

/// The children of `pair` that carry meaning: punctuation and keywords,
/// which only shape the text, are skipped.
pub(crate) fn significant<'i>(pair: Pair<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pair.into_inner()
        .filter(|p| punctuation(p.as_rule()).is_none() && !is_keyword(p.as_rule()))
}

/// Keyword rules are the ones named `kw_*`.
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_create
            | Rule::kw_alter
            | Rule::kw_archive
            | Rule::kw_restore
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
    )
}

/// The first significant child of `pair`, or an internal error.
pub(crate) fn only<'i>(src: &Source<'_>, pair: Pair<'i, Rule>) -> Result<Pair<'i, Rule>> {
    match significant(pair.clone()).next() {
        Some(p) => Ok(p),
        None => Err(src.internal(&pair)),
    }
}

/// A `value` (or one of its alternatives) as a [`Value`].
pub(crate) fn value(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Value> {
    match pair.as_rule() {
        Rule::value => value(src, only(src, pair)?),
        Rule::string => Ok(Value::Str(string(src, pair)?)),
        Rule::number => number(src, &pair),
        Rule::lit_true => Ok(Value::Bool(true)),
        Rule::lit_false => Ok(Value::Bool(false)),
        Rule::lit_null => Ok(Value::Null),
        Rule::array => Ok(Value::Array(array(src, pair)?)),
        Rule::object => object(src, pair),
        _ => Err(src.internal(&pair)),
    }
}

/// The items of an `array`.
pub(crate) fn array(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Vec<Value>> {
    significant(pair).map(|p| value(src, p)).collect()
}

fn object(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Value> {
    let mut map = BTreeMap::new();
    for entry in significant(pair) {
        let mut parts = significant(entry.clone());
        let (Some(k), Some(v)) = (parts.next(), parts.next()) else {
            return Err(src.internal(&entry));
        };
        let key = key(src, k.clone())?;
        if map.insert(key.clone(), value(src, v)?).is_some() {
            return Err(src.error_at(&k, format!("duplicate key `{key}`")));
        }
    }
    Ok(Value::Object(map))
}

/// An integer (`i64`) or float (`f64`) literal; out-of-range numbers are errors.
fn number(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Value> {
    let text = pair.as_str();
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Float(x)),
            _ => Err(src.error_at(pair, format!("number out of range: {text}"))),
        }
    } else {
        text.parse::<i64>()
            .map(Value::Int)
            .map_err(|_| src.error_at(pair, format!("integer out of range (64-bit): {text}")))
    }
}

/// A vector component: any number, as `f32`.
pub(crate) fn vector_component(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<f32> {
    match pair.as_str().parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(src.error_at(
            pair,
            format!("vector component out of range: {}", pair.as_str()),
        )),
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
            'u' => unicode_escape(&raw[i + 1..])
                .and_then(|(c, len)| {
                    // Skip the `{hex}` part that was just decoded.
                    for _ in 0..len {
                        chars.next();
                    }
                    Some(c)
                })
                .ok_or_else(|| {
                    src.error(at, "invalid unicode escape: expected \\u{hex} (1-6 digits)")
                })?,
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
