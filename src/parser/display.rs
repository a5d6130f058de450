//! Canonical PQL for the AST: keywords upper case, strings double-quoted,
//! names quoted unless they are plain, filters parenthesised only where
//! precedence needs it. `parse(&ast.to_string())` gives back `ast`.

use std::fmt::{self, Display, Formatter};

use super::ast::{
    CmpOp, Expr, FieldValue, Limit, Located, NodeLiteral, Opt, Period, Query, QueryOp, Returning,
    Script, Select, Similar, Statement, VectorExpr,
};
use crate::value::{write_float, write_quoted, Value};

/// Words that mean something to the grammar; a name or field spelled like
/// one is printed quoted so that it cannot be read as the keyword.
const KEYWORDS: &[&str] = &[
    "create",
    "alter",
    "archive",
    "restore",
    "drop",
    "show",
    "describe",
    "use",
    "query",
    "explain",
    "if",
    "tenant",
    "tenants",
    "collection",
    "collections",
    "usage",
    "stats",
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
];

fn is_keyword(s: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

/// A tenant or collection name: bare when the grammar reads it back as the
/// same name, quoted otherwise.
struct Name<'a>(&'a str);

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
struct Key<'a>(&'a str);

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
struct Quoted<'a>(&'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0)
    }
}

/// A value as a literal. Like `Value`'s `Display`, except that large floats
/// keep an exponent (`1e20`), which reads back as a float, not as an
/// out-of-range integer.
struct Lit<'a>(&'a Value);

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
struct Pair<A, B>(A, &'static str, B);

impl<A: Display, B: Display> Display for Pair<A, B> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.0, self.1, self.2)
    }
}

/// Items separated by `, `.
fn list<T: Display>(f: &mut Formatter<'_>, items: impl Iterator<Item = T>) -> fmt::Result {
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// ` WITH (k: v, ...)` when there are options.
fn with(f: &mut Formatter<'_>, options: &[Opt]) -> fmt::Result {
    if options.is_empty() {
        return Ok(());
    }
    f.write_str(" WITH (")?;
    list(
        f,
        options
            .iter()
            .map(|o| Pair(Key(&o.key), ": ", Lit(&o.value))),
    )?;
    f.write_str(")")
}

/// ` SET k = v, ...`
fn set(f: &mut Formatter<'_>, options: &[Opt]) -> fmt::Result {
    f.write_str(" SET ")?;
    list(
        f,
        options
            .iter()
            .map(|o| Pair(Key(&o.key), " = ", Lit(&o.value))),
    )
}

/// ` TENANT t` when a tenant is given.
fn tenant(f: &mut Formatter<'_>, tenant: &Option<String>) -> fmt::Result {
    match tenant {
        Some(t) => write!(f, " TENANT {}", Name(t)),
        None => Ok(()),
    }
}

impl Display for Script {
    /// Statements each ended by `;`, one per line.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{s};")?;
        }
        Ok(())
    }
}

impl Display for Located {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.statement.fmt(f)
    }
}

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let if_ = |b: bool, text: &'static str| if b { text } else { "" };
        match self {
            Statement::CreateTenant {
                name,
                if_not_exists,
                options,
            } => {
                let ine = if_(*if_not_exists, "IF NOT EXISTS ");
                write!(f, "CREATE TENANT {ine}{}", Name(name))?;
                with(f, options)
            }
            Statement::AlterTenant { name, set: s } => {
                write!(f, "ALTER TENANT {}", Name(name))?;
                set(f, s)
            }
            Statement::ArchiveTenant { name } => write!(f, "ARCHIVE TENANT {}", Name(name)),
            Statement::RestoreTenant { name } => write!(f, "RESTORE TENANT {}", Name(name)),
            Statement::DropTenant { name, if_exists } => {
                let ie = if_(*if_exists, "IF EXISTS ");
                write!(f, "DROP TENANT {ie}{}", Name(name))
            }
            Statement::ShowTenants { filter, limit } => {
                f.write_str("SHOW TENANTS")?;
                if let Some(e) = filter {
                    write!(f, " WHERE {e}")?;
                }
                if let Some(n) = limit {
                    write!(f, " LIMIT {n}")?;
                }
                Ok(())
            }
            Statement::DescribeTenant { name } => write!(f, "DESCRIBE TENANT {}", Name(name)),
            Statement::UseTenant { name } => write!(f, "USE TENANT {}", Name(name)),
            Statement::CreateCollection {
                name,
                tenant: t,
                if_not_exists,
                options,
            } => {
                let ine = if_(*if_not_exists, "IF NOT EXISTS ");
                write!(f, "CREATE COLLECTION {ine}{}", Name(name))?;
                tenant(f, t)?;
                with(f, options)
            }
            Statement::AlterCollection {
                name,
                tenant: t,
                set: s,
            } => {
                write!(f, "ALTER COLLECTION {}", Name(name))?;
                tenant(f, t)?;
                set(f, s)
            }
            Statement::DropCollection {
                name,
                tenant: t,
                if_exists,
            } => {
                let ie = if_(*if_exists, "IF EXISTS ");
                write!(f, "DROP COLLECTION {ie}{}", Name(name))?;
                tenant(f, t)
            }
            Statement::ShowCollections { tenant: t } => {
                f.write_str("SHOW COLLECTIONS")?;
                tenant(f, t)
            }
            Statement::Query(q) => q.fmt(f),
            Statement::Explain(q) => write!(f, "EXPLAIN {q}"),
            Statement::ShowUsage { tenant, period } => {
                f.write_str("SHOW USAGE")?;
                if let Some(t) = tenant {
                    write!(f, " FOR TENANT {}", Name(t))?;
                }
                match period {
                    Some(p) => write!(f, " {p}"),
                    None => Ok(()),
                }
            }
            Statement::ShowStats => f.write_str("SHOW STATS"),
        }
    }
}

impl Display for Period {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(m) => write!(f, "PERIOD {}", Quoted(m)),
            Period::Range(a, b) => write!(f, "FROM {} TO {}", Quoted(a), Quoted(b)),
        }
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "QUERY {}", Name(&self.collection))?;
        tenant(f, &self.tenant)?;
        self.op.fmt(f)
    }
}

impl Display for QueryOp {
    /// The operation with a leading space (nothing for a bare select-all).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let filter = |f: &mut Formatter<'_>, e: &Option<Expr>| match e {
            Some(e) => write!(f, " WHERE {e}"),
            None => Ok(()),
        };
        match self {
            QueryOp::CreateNode(n) => write!(f, " CREATE NODE {n}"),
            QueryOp::UpsertNode(n) => write!(f, " UPSERT NODE {n}"),
            QueryOp::CreateNodes(nodes) => {
                f.write_str(" CREATE NODES [")?;
                list(f, nodes.iter())?;
                f.write_str("]")
            }
            QueryOp::Update { filter: e, set } => {
                filter(f, e)?;
                f.write_str(" UPDATE SET ")?;
                list(f, set.iter().map(|(k, v)| Pair(Key(k), " = ", v)))
            }
            QueryOp::Delete { filter: e } => {
                filter(f, e)?;
                f.write_str(" DELETE")
            }
            QueryOp::Select(s) => s.fmt(f),
        }
    }
}

impl Display for NodeLiteral {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.fields.is_empty() {
            return f.write_str("{}");
        }
        f.write_str("{ ")?;
        list(f, self.fields.iter().map(|(k, v)| Pair(Key(k), ": ", v)))?;
        f.write_str(" }")
    }
}

impl Display for FieldValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Literal(v) => Lit(v).fmt(f),
            FieldValue::Embed(text) => write!(f, "embed({})", Quoted(text)),
        }
    }
}

impl Display for Select {
    /// The clauses, each with a leading space.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(e) = &self.filter {
            write!(f, " WHERE {e}")?;
        }
        if let Some(s) = &self.similar {
            write!(f, " {s}")?;
        }
        if let Some(l) = &self.limit {
            write!(f, " {l}")?;
        }
        with(f, &self.options)?;
        match &self.returning {
            Some(Returning::Count) => f.write_str(" RETURN COUNT(*)"),
            Some(Returning::Fields(fields)) => {
                f.write_str(" RETURN ")?;
                list(f, fields.iter().map(|k| Key(k)))
            }
            None => Ok(()),
        }
    }
}

impl Display for Similar {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SIMILAR TO {}", self.vector)?;
        match &self.using {
            Some(field) => write!(f, " USING {}", Key(field)),
            None => Ok(()),
        }
    }
}

impl Display for VectorExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            VectorExpr::Embed(text) => write!(f, "embed({})", Quoted(text)),
            VectorExpr::Node(id) => write!(f, "NODE {}", Quoted(id)),
            VectorExpr::Literal(xs) => {
                f.write_str("[")?;
                list(f, xs.iter())?;
                f.write_str("]")
            }
        }
    }
}

impl Display for Limit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Top(k) => write!(f, "TOP {k}"),
            Limit::Limit(k) => write!(f, "LIMIT {k}"),
        }
    }
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
