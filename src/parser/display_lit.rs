//! Printing of names, literals and filters in canonical PQL: names quoted
//! unless the grammar reads them back unchanged, floats that keep reading as
//! floats, filters parenthesised only where precedence needs it.

use std::fmt::{self, Display, Formatter};

use super::ast::{CmpOp, Expr};
use crate::value::{write_float, write_quoted, Value};

/// Words that mean something to the grammar; a name or field spelled like
/// one is printed quoted so that it cannot be read as the keyword.
pub(super) const KEYWORDS: &[&str] = &[
    "create",
    "alter",
    "archive",
    "restore",
    "offload",
    "onload",
    "attach",
    "object",
    "store",
    "drop",
    "show",
    "describe",
    "use",
    "query",
    "explain",
    "if",
    "tenant",
    "as",
    "replace",
    "export",
    "import",
    "tenants",
    "collection",
    "collections",
    "usage",
    "stats",
    "api",
    "key",
    "keys",
    "for",
    "period",
    "from",
    "nodes",
    "node",
    "upsert",
    "where",
    "update",
    "delete",
    "similar",
    "to",
    "using",
    "top",
    "limit",
    "with",
    "return",
    "count",
    "set",
    "embed",
    "and",
    "or",
    "not",
    "exists",
    "in",
    "contains",
    "is",
    "null",
    "true",
    "false",
    "tier",
    "tiers",
];

fn is_keyword(s: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

/// A tenant or collection name: bare when the grammar reads it back as the
/// same name, quoted otherwise.
pub(super) struct Name<'a>(pub &'a str);

impl Display for Name<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut chars = s.chars();
        let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !s.contains("--")
            && !is_keyword(s);
        if plain {
            f.write_str(s)
        } else {
            write_quoted(f, s)
        }
    }
}

/// A field, option or object key: bare when it is a non-keyword identifier.
pub(super) struct Key<'a>(pub &'a str);

impl Display for Key<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut chars = s.chars();
        let ident = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !is_keyword(s);
        if ident {
            f.write_str(s)
        } else {
            write_quoted(f, s)
        }
    }
}

/// A string literal.
pub(super) struct Quoted<'a>(pub &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0)
    }
}

/// A value as a literal. Like `Value`'s `Display`, except that large floats
/// keep an exponent (`1e20`), which reads back as a float, not as an
/// out-of-range integer.
pub(super) struct Lit<'a>(pub &'a Value);

impl Display for Lit<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Float(x) if x.is_finite() && x.abs() >= 1e16 => write!(f, "{x:e}"),
            Value::Float(x) => write_float(f, *x),
            Value::Array(items) => {
                f.write_str("[")?;
                list(f, items.iter().map(Lit))?;
                f.write_str("]")
            }
            Value::Object(map) if map.is_empty() => f.write_str("{}"),
            Value::Object(map) => {
                f.write_str("{ ")?;
                list(f, map.iter().map(|(k, v)| Pair(Key(k), ": ", Lit(v))))?;
                f.write_str(" }")
            }
            other => write!(f, "{other}"),
        }
    }
}

/// `a<sep>b`, e.g. `key: value` or `key = value`.
pub(super) struct Pair<A, B>(pub A, pub &'static str, pub B);

impl<A: Display, B: Display> Display for Pair<A, B> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.0, self.1, self.2)
    }
}

/// Items separated by `, `.
pub(super) fn list<T: Display>(
    f: &mut Formatter<'_>,
    items: impl Iterator<Item = T>,
) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for CmpOp {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        })
    }
}

/// Binding strength: OR 1, AND 2, NOT 3, predicates 4.
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Or(..) => 1,
        Expr::And(..) => 2,
        Expr::Not(_) => 3,
        _ => 4,
    }
}

/// `e`, in parentheses if it binds less tightly than `min`.
fn operand(f: &mut Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if precedence(e) < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            // Left-associative: the right operand of the same operator needs
            // parentheses, the left one does not.
            Expr::Or(a, b) => {
                operand(f, a, 1)?;
                f.write_str(" OR ")?;
                operand(f, b, 2)
            }
            Expr::And(a, b) => {
                operand(f, a, 2)?;
                f.write_str(" AND ")?;
                operand(f, b, 3)
            }
            Expr::Not(a) => {
                f.write_str("NOT ")?;
                operand(f, a, 3)
            }
            Expr::Cmp { field, op, value } => write!(f, "{} {op} {}", Key(field), Lit(value)),
            Expr::In {
                field,
                values,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} {not}IN [", Key(field))?;
                list(f, values.iter().map(Lit))?;
                f.write_str("]")
            }
            Expr::Contains { field, value } => {
                write!(f, "{} CONTAINS {}", Key(field), Lit(value))
            }
            Expr::Exists(field) => write!(f, "EXISTS {}", Key(field)),
            Expr::IsNull { field, negated } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{} IS {not}NULL", Key(field))
            }
        }
    }
}
