//! Filters: evaluation to a bitmap of matching internal ids through the
//! attribute indexes (exact, so its cardinality is the planner's estimate),
//! and evaluation against one row (for `SHOW TENANTS WHERE` and as the oracle
//! the bitmap evaluation is tested against).
//!
//! Semantics (PQL.md): a missing attribute never matches a comparison, `IN`
//! or `CONTAINS`; comparing values of different types (string with number)
//! is false, not an error; `NOT` negates the whole sub-filter, so
//! `NOT price > 5` matches nodes without a price. `EXISTS f` is true when the
//! attribute is present, even if null; `f IS NULL` when it is missing or null;
//! `f = null` and `f IN [.., null]` match an explicit null; `!=` and `NOT IN`
//! never match a null.

use std::cmp::Ordering;

use roaring::RoaringBitmap;

use crate::collection::attributes::{AttributeIndex, RangeOp};
use crate::parser::ast::{CmpOp, Expr};
use crate::value::Value;

/// The ids among `universe` that `expr` matches.
pub(crate) fn matching_ids(
    expr: &Expr,
    index: &AttributeIndex,
    universe: &RoaringBitmap,
) -> RoaringBitmap {
    let mut out = eval(expr, index, universe);
    out &= universe;
    out
}

fn eval(expr: &Expr, idx: &AttributeIndex, universe: &RoaringBitmap) -> RoaringBitmap {
    match expr {
        Expr::Cmp { field, op, value } => match op {
            CmpOp::Eq if matches!(value, Value::Null) => idx.eq(field, value),
            CmpOp::Eq => idx.eq(field, value),
            CmpOp::Ne if matches!(value, Value::Null) => idx.not_null(field),
            CmpOp::Ne => {
                let mut b = idx.same_class(field, value);
                b -= idx.eq(field, value);
                b
            }
            CmpOp::Lt => idx.range(field, RangeOp::Lt, value),
            CmpOp::Le => idx.range(field, RangeOp::Le, value),
            CmpOp::Gt => idx.range(field, RangeOp::Gt, value),
            CmpOp::Ge => idx.range(field, RangeOp::Ge, value),
        },
        Expr::In {
            field,
            values,
            negated,
        } => {
            let mut hit = RoaringBitmap::new();
            for v in values {
                hit |= idx.eq(field, v);
            }
            if *negated {
                let mut b = idx.not_null(field);
                b -= hit;
                b
            } else {
                hit
            }
        }
        Expr::Contains { field, value } => idx.contains(field, value),
        Expr::Exists(field) => idx.present(field),
        Expr::IsNull { field, negated } => {
            if *negated {
                idx.not_null(field)
            } else {
                let mut b = universe.clone();
                b -= idx.not_null(field);
                b
            }
        }
        Expr::And(a, b) => {
            let mut l = eval(a, idx, universe);
            if !l.is_empty() {
                l &= eval(b, idx, universe);
            }
            l
        }
        Expr::Or(a, b) => {
            let mut l = eval(a, idx, universe);
            l |= eval(b, idx, universe);
            l
        }
        Expr::Not(a) => {
            let mut all = universe.clone();
            all -= eval(a, idx, universe);
            all
        }
    }
}

/// Whether one row matches `expr`; `get` returns a field's value or `None`
/// when the field is missing.
pub(crate) fn matches_row<'a, F>(expr: &Expr, get: &F) -> bool
where
    F: Fn(&str) -> Option<&'a Value>,
{
    match expr {
        Expr::Cmp { field, op, value } => match get(field) {
            None => false,
            Some(v) => match (op, value) {
                (CmpOp::Eq, Value::Null) => matches!(v, Value::Null),
                (CmpOp::Ne, Value::Null) => !matches!(v, Value::Null),
                (CmpOp::Eq, _) => v.loose_eq(value),
                (CmpOp::Ne, _) => comparable(v, value) && !v.loose_eq(value),
                (op, _) => match ordering(v, value) {
                    None => false,
                    Some(o) => match op {
                        CmpOp::Lt => o == Ordering::Less,
                        CmpOp::Le => o != Ordering::Greater,
                        CmpOp::Gt => o == Ordering::Greater,
                        CmpOp::Ge => o != Ordering::Less,
                        CmpOp::Eq | CmpOp::Ne => false,
                    },
                },
            },
        },
        Expr::In {
            field,
            values,
            negated,
        } => match get(field) {
            None => false,
            // Like `= null`, `IN [.., null]` matches a null; `NOT IN` never does.
            Some(Value::Null) => !*negated && values.iter().any(|c| matches!(c, Value::Null)),
            Some(v) => values.iter().any(|c| v.loose_eq(c)) != *negated,
        },
        Expr::Contains { field, value } => match (get(field), value) {
            (Some(Value::Array(items)), _) => items.iter().any(|i| i.loose_eq(value)),
            (Some(Value::Str(s)), Value::Str(needle)) => s.contains(needle.as_str()),
            _ => false,
        },
        Expr::Exists(field) => get(field).is_some(),
        Expr::IsNull { field, negated } => {
            let is_null = matches!(get(field), None | Some(Value::Null));
            is_null != *negated
        }
        Expr::And(a, b) => matches_row(a, get) && matches_row(b, get),
        Expr::Or(a, b) => matches_row(a, get) || matches_row(b, get),
        Expr::Not(a) => !matches_row(a, get),
    }
}

/// Same class of value (what the index's `same_class` groups together).
fn comparable(a: &Value, b: &Value) -> bool {
    use crate::collection::attributes::Key;
    Key::of(a).class() == Key::of(b).class()
}

/// Ordering for range comparisons: numbers, strings and booleans only.
fn ordering(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Array(_) | Value::Object(_) | Value::Null, _)
        | (_, Value::Array(_) | Value::Object(_) | Value::Null) => None,
        _ => a.compare(b),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    use crate::test_rng::Rng;

    fn value(r: &mut Rng) -> Value {
        match r.pick(7) {
            0 => Value::Null,
            1 => Value::Bool(r.pick(2) == 0),
            2 => Value::Int(r.pick(5) as i64),
            3 => Value::Float(r.pick(5) as f64 + 0.5),
            4 => Value::Str(["a", "b", "ab", "c"][r.pick(4) as usize].into()),
            5 => Value::Array(vec![Value::Int(r.pick(3) as i64), Value::Str("a".into())]),
            _ => Value::Int(2),
        }
    }

    fn expr(r: &mut Rng, depth: u32) -> Expr {
        let field = ["x", "y", "z"][r.pick(3) as usize].to_string();
        let op = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][r.pick(6) as usize];
        match if depth > 2 { r.pick(5) } else { r.pick(8) } {
            0 | 1 => Expr::Cmp {
                field,
                op,
                value: value(r),
            },
            2 => Expr::In {
                field,
                values: vec![value(r), value(r)],
                negated: r.pick(2) == 0,
            },
            3 => Expr::Contains {
                field,
                value: value(r),
            },
            4 => Expr::IsNull {
                field,
                negated: r.pick(2) == 0,
            },
            5 => Expr::And(Box::new(expr(r, depth + 1)), Box::new(expr(r, depth + 1))),
            6 => Expr::Or(Box::new(expr(r, depth + 1)), Box::new(expr(r, depth + 1))),
            _ => Expr::Not(Box::new(expr(r, depth + 1))),
        }
    }

    /// The bitmap evaluation agrees with the row evaluation on random rows
    /// and random filters of every operator.
    #[test]
    fn bitmap_evaluation_matches_row_evaluation() {
        let mut r = Rng(42);
        let mut rows: Vec<BTreeMap<String, Value>> = Vec::new();
        let mut idx = AttributeIndex::default();
        let mut universe = RoaringBitmap::new();
        for iid in 0..300u32 {
            let mut row = BTreeMap::new();
            for f in ["x", "y", "z"] {
                if r.pick(4) != 0 {
                    let v = value(&mut r);
                    idx.insert(iid, f, &v);
                    row.insert(f.to_string(), v);
                }
            }
            rows.push(row);
            universe.insert(iid);
        }
        for _ in 0..2000 {
            let e = expr(&mut r, 0);
            let fast = matching_ids(&e, &idx, &universe);
            for (iid, row) in rows.iter().enumerate() {
                let slow = matches_row(&e, &|f: &str| row.get(f));
                assert_eq!(fast.contains(iid as u32), slow, "{e:?} on {row:?}");
            }
        }
    }
}
