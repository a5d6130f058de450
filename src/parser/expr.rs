//! Filters (`WHERE ...`): the grammar yields a flat `term (AND|OR term)*`
//! sequence; this module applies precedence NOT > AND > OR, left-associative,
//! by precedence climbing without recursion over the sequence, and bounds
//! both the nesting (parentheses and `NOT`) and the depth of the tree.

use pest::iterators::Pair;

use super::ast::{CmpOp, Expr};
use super::errors::Source;
use super::literal::{array, key, only, significant, value};
use super::nesting::MAX_NESTING;
use super::Rule;
use crate::error::Result;

/// Deepest filter tree accepted (a chain of `n` ANDs/ORs is `n` deep).
/// Consumers walk filters recursively; this keeps them off the stack's edge.
pub(crate) const MAX_FILTER_DEPTH: usize = 256;

/// Builds a `filter` pair.
pub(crate) fn filter(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Expr> {
    build_filter(src, pair, 0).map(|(e, _)| e)
}

/// An expression and the depth of its tree.
type Built = (Expr, usize);

fn join(
    src: &Source<'_>,
    at: &Pair<'_, Rule>,
    (a, da): Built,
    (b, db): Built,
    or: bool,
) -> Result<Built> {
    let depth = da.max(db) + 1;
    if depth > MAX_FILTER_DEPTH {
        return Err(src.error_at(
            at,
            format!("filter too long: more than {MAX_FILTER_DEPTH} levels of AND/OR"),
        ));
    }
    let e = if or {
        Expr::Or(Box::new(a), Box::new(b))
    } else {
        Expr::And(Box::new(a), Box::new(b))
    };
    Ok((e, depth))
}

fn build_filter(src: &Source<'_>, pair: Pair<'_, Rule>, nesting: usize) -> Result<Built> {
    // `ors` holds everything left of the last OR; `and` the AND-chain since.
    let mut ors: Option<Built> = None;
    let mut and: Option<Built> = None;
    let mut last_op: Option<Pair<'_, Rule>> = None;
    for p in pair.clone().into_inner() {
        match p.as_rule() {
            Rule::kw_and | Rule::kw_or => last_op = Some(p),
            Rule::term => {
                let t = term(src, p, nesting)?;
                and = Some(match (and.take(), &last_op) {
                    (None, _) => t,
                    (Some(a), Some(op)) if op.as_rule() == Rule::kw_and => {
                        join(src, op, a, t, false)?
                    }
                    (Some(a), Some(op)) => {
                        ors = Some(match ors.take() {
                            None => a,
                            Some(o) => join(src, op, o, a, true)?,
                        });
                        t
                    }
                    (Some(_), None) => return Err(src.internal(&pair)),
                });
            }
            _ => return Err(src.internal(&p)),
        }
    }
    let and = and.ok_or_else(|| src.internal(&pair))?;
    match (ors, &last_op) {
        (None, _) => Ok(and),
        (Some(o), Some(op)) => join(src, op, o, and, true),
        (Some(_), None) => Err(src.internal(&pair)),
    }
}

fn term(src: &Source<'_>, pair: Pair<'_, Rule>, nesting: usize) -> Result<Built> {
    let mut nots = 0usize;
    for p in pair.clone().into_inner() {
        if p.as_rule() == Rule::kw_not {
            nots += 1;
            if nesting + nots > MAX_NESTING {
                return Err(src.error_at(&p, too_deep()));
            }
            continue;
        }
        let (mut e, mut depth) = match p.as_rule() {
            Rule::group => {
                if nesting + nots + 1 > MAX_NESTING {
                    return Err(src.error_at(&p, too_deep()));
                }
                build_filter(src, only(src, p)?, nesting + nots + 1)?
            }
            Rule::exists_pred => (Expr::Exists(key(src, only(src, p)?)?), 1),
            Rule::predicate => (predicate(src, p)?, 1),
            _ => return Err(src.internal(&p)),
        };
        for _ in 0..nots {
            e = Expr::Not(Box::new(e));
            depth += 1;
        }
        if depth > MAX_FILTER_DEPTH {
            return Err(src.error_at(&pair, too_deep()));
        }
        return Ok((e, depth));
    }
    Err(src.internal(&pair))
}

fn too_deep() -> String {
    format!("filter nested deeper than {MAX_NESTING} levels")
}

/// `field <op> value`, `field [NOT] IN [..]`, `field CONTAINS v`,
/// `field IS [NOT] NULL`.
fn predicate(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Expr> {
    let mut parts = significant(pair.clone());
    let (Some(f), Some(tail)) = (parts.next(), parts.next()) else {
        return Err(src.internal(&pair));
    };
    let field = key(src, f)?;
    Ok(match tail.as_rule() {
        Rule::in_pred | Rule::not_in_pred => Expr::In {
            field,
            negated: tail.as_rule() == Rule::not_in_pred,
            values: array(src, only(src, tail)?)?,
        },
        Rule::contains_pred => Expr::Contains {
            field,
            value: value(src, only(src, tail)?)?,
        },
        Rule::is_null_pred => Expr::IsNull {
            field,
            negated: tail.into_inner().any(|p| p.as_rule() == Rule::kw_not),
        },
        Rule::cmp_pred => {
            let mut parts = significant(tail.clone());
            let (Some(op), Some(v)) = (parts.next(), parts.next()) else {
                return Err(src.internal(&tail));
            };
            let op = match op.as_str() {
                "=" => CmpOp::Eq,
                "!=" | "<>" => CmpOp::Ne,
                "<" => CmpOp::Lt,
                "<=" => CmpOp::Le,
                ">" => CmpOp::Gt,
                ">=" => CmpOp::Ge,
                _ => return Err(src.internal(&op)),
            };
            Expr::Cmp {
                field,
                op,
                value: value(src, v)?,
            }
        }
        _ => return Err(src.internal(&tail)),
    })
}
