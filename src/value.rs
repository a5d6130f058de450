//! Typed values: PQL literals, node attributes and result cells.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A PQL value: what a literal denotes, what an attribute holds, what a
/// result cell contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// `null`, and the value of a missing attribute in a projection.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    Str(String),
    /// An array `[a, b, ...]`.
    Array(Vec<Value>),
    /// An object `{ key: value, ... }`, keys sorted.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// The numeric value of an `Int` or `Float`, else `None`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The integer value of an `Int` (or of a `Float` with no fraction).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// The string of a `Str`, else `None`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean of a `Bool`, else `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Ordering used by filters: numbers with numbers, strings with strings,
    /// booleans with booleans. Any other pair is not comparable (`None`),
    /// which makes a comparison false rather than an error (PQL.md).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Float(a), Value::Float(b)) => a.partial_cmp(b),
            (Value::Int(a), Value::Float(b)) => cmp_int_float(*a, *b),
            (Value::Float(a), Value::Int(b)) => cmp_int_float(*b, *a).map(Ordering::reverse),
            _ => None,
        }
    }

    /// Equality as filters see it: `1 = 1.0`, arrays and objects compared
    /// element-wise with the same rule.
    pub fn loose_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.loose_eq(y))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.loose_eq(vb))
            }
            (Value::Null, Value::Null) => true,
            _ => self.compare(other) == Some(Ordering::Equal),
        }
    }

    /// Converts to a JSON value (used by the JSON and CSV renderers).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Value::to_json).collect()),
            Value::Object(o) => {
                serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

/// Compares an integer with a float exactly (no rounding of the integer to
/// f64, which would make 2^53 + 1 equal to 2^53). `None` for NaN.
pub(crate) fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // i64 range as floats: [-2^63, 2^63).
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    // `floor` is integral and in range, so the cast is exact.
    match i.cmp(&(floor as i64)) {
        Ordering::Equal if f > floor => Some(Ordering::Less),
        other => Some(other),
    }
}

/// Writes a string as a double-quoted PQL literal with escapes.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Writes an object key bare when it is an identifier, quoted otherwise.
pub(crate) fn write_key(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    let mut chars = key.chars();
    let ident = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        f.write_str(key)
    } else {
        write_quoted(f, key)
    }
}

/// Formats a float so that it reads back as a float (`1.0`, not `1`).
pub(crate) fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e16 {
        write!(f, "{x:.1}")
    } else if x.is_finite() && x.abs() >= 1e16 {
        // Plain digits would read back as an out-of-range integer.
        write!(f, "{x:e}")
    } else {
        write!(f, "{x}")
    }
}

/// `Display` prints canonical PQL literal syntax, so that printing a value and
/// parsing it again gives the same value.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write_float(f, *x),
            Value::Str(s) => write_quoted(f, s),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    f.write_str(if i > 0 { ", " } else { " " })?;
                    write_key(f, k)?;
                    write!(f, ": {v}")?;
                }
                f.write_str(if map.is_empty() { "}" } else { " }" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_across_int_and_float() {
        assert!(Value::Int(1).loose_eq(&Value::Float(1.0)));
        assert_eq!(
            Value::Int(2).compare(&Value::Float(1.5)),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn big_integers_compare_exactly() {
        let a = Value::Int(9_007_199_254_740_993);
        let b = Value::Float(9_007_199_254_740_992.0);
        assert_eq!(a.compare(&b), Some(Ordering::Greater));
        assert_eq!(b.compare(&a), Some(Ordering::Less));
        assert_eq!(
            Value::Int(-3).compare(&Value::Float(-2.5)),
            Some(Ordering::Less)
        );
        assert_eq!(
            Value::Int(i64::MAX).compare(&Value::Float(1e19)),
            Some(Ordering::Less)
        );
        assert_eq!(Value::Int(2).compare(&Value::Float(f64::NAN)), None);
    }

    #[test]
    fn string_and_number_are_not_comparable() {
        assert_eq!(Value::Str("1".into()).compare(&Value::Int(1)), None);
        assert!(!Value::Str("1".into()).loose_eq(&Value::Int(1)));
    }

    #[test]
    fn display_is_pql_literal_syntax() {
        let mut o = BTreeMap::new();
        o.insert("a b".to_string(), Value::Float(2.0));
        o.insert("k".to_string(), Value::Str("x\"y".into()));
        let v = Value::Array(vec![Value::Int(-7), Value::Object(o), Value::Null]);
        assert_eq!(v.to_string(), r#"[-7, { "a b": 2.0, k: "x\"y" }, null]"#);
        assert_eq!(Value::Float(1e20).to_string(), "1e20");
    }
}
