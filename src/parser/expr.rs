//! Filters (`WHERE ...`): the grammar yields a flat `term (AND|OR term)*`
//! sequence with nested groups; this module applies precedence NOT > AND >
//! OR, left-associative, with a shunting-yard over the flattened pairs. It
//! uses no recursion (debug builds spend kilobytes of stack per recursive
//! level) and bounds both the nesting (parentheses and `NOT`) and the depth
//! of the tree it builds.

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

/// An expression and the depth of its tree.
type Built = (Expr, usize);

/// Operators waiting for their operands.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Not,
    And,
    Or,
    Open,
}

/// Binding strength; `(` never yields to an operator.
fn precedence(op: Op) -> u8 {
    match op {
        Op::Open => 0,
        Op::Or => 1,
        Op::And => 2,
        Op::Not => 3,
    }
}

/// Builds a `filter` pair.
pub(crate) fn filter(src: &Source<'_>, pair: Pair<'_, Rule>) -> Result<Expr> {
    let mut operands: Vec<Built> = Vec::new();
    let mut ops: Vec<(Op, Pair<'_, Rule>)> = Vec::new();
    // NOTs and parentheses not yet closed: the nesting at this point.
    let mut open = 0usize;
    // Predicates are built whole; their inner pairs are skipped.
    let mut skip_until = 0usize;
    for p in pair.clone().into_inner().flatten() {
        let span = p.as_span();
        if span.start() < skip_until {
            continue;
        }
        match p.as_rule() {
            Rule::kw_not | Rule::lparen => {
                open += 1;
                if open > MAX_NESTING {
                    return Err(src.error_at(
                        &p,
                        format!("filter nested deeper than {MAX_NESTING} levels"),
                    ));
                }
                let op = if p.as_rule() == Rule::kw_not {
                    Op::Not
                } else {
                    Op::Open
                };
                ops.push((op, p));
            }
            Rule::rparen => loop {
                match ops.pop() {
                    Some((Op::Open, _)) => {
                        open -= 1;
                        break;
                    }
                    Some((op, at)) => reduce(src, &mut operands, op, &at, &mut open)?,
                    None => return Err(src.internal(&p)),
                }
            },
            Rule::kw_and | Rule::kw_or => {
                let op = if p.as_rule() == Rule::kw_and {
                    Op::And
                } else {
                    Op::Or
                };
                while let Some((top, at)) = ops.pop() {
                    if precedence(top) < precedence(op) {
                        ops.push((top, at));
                        break;
                    }
                    reduce(src, &mut operands, top, &at, &mut open)?;
                }
                ops.push((op, p));
            }
            Rule::predicate => {
                skip_until = span.end();
                operands.push((predicate(src, p)?, 1));
            }
            Rule::exists_pred => {
                skip_until = span.end();
                operands.push((Expr::Exists(key(src, only(src, p)?)?), 1));
            }
            // `term`, `group`, `filter`: structure only.
            _ => {}
        }
    }
    while let Some((op, at)) = ops.pop() {
        reduce(src, &mut operands, op, &at, &mut open)?;
    }
    match (operands.pop(), operands.is_empty()) {
        (Some((e, _)), true) => Ok(e),
        _ => Err(src.internal(&pair)),
    }
}

/// Applies `op` to the operands on top of the stack.
fn reduce(
    src: &Source<'_>,
    operands: &mut Vec<Built>,
    op: Op,
    at: &Pair<'_, Rule>,
    open: &mut usize,
) -> Result<()> {
    let built = match op {
        Op::Not => {
            let (a, depth) = operands.pop().ok_or_else(|| src.internal(at))?;
            *open -= 1;
            (Expr::Not(Box::new(a)), depth + 1)
        }
        Op::And | Op::Or => {
            let (b, db) = operands.pop().ok_or_else(|| src.internal(at))?;
            let (a, da) = operands.pop().ok_or_else(|| src.internal(at))?;
            let (a, b) = (Box::new(a), Box::new(b));
            let e = if op == Op::And {
                Expr::And(a, b)
            } else {
                Expr::Or(a, b)
            };
            (e, da.max(db) + 1)
        }
        Op::Open => return Err(src.internal(at)),
    };
    if built.1 > MAX_FILTER_DEPTH {
        return Err(src.error_at(
            at,
            format!("filter too long: more than {MAX_FILTER_DEPTH} levels of AND/OR/NOT"),
        ));
    }
    operands.push(built);
    Ok(())
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
            // `array` and `tuple` both hold a list of values.
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
