//! Canonical PQL for the AST's statements: keywords upper case, one line per
//! statement, clauses in grammar order. `parse(&ast.to_string())` gives back
//! `ast` (names, literals and filters are printed by `display_lit`).

use std::fmt::{self, Display, Formatter};

use super::ast::{
    self, Expr, FieldValue, Limit, Located, NodeLiteral, Opt, Period, Query, QueryOp, Returning,
    Script, Select, Similar, Statement, VectorExpr,
};
use super::display_lit::{list, Key, Lit, Name, Pair, Quoted};

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
fn tenant(f: &mut Formatter<'_>, tenant: &Option<ast::Name>) -> fmt::Result {
    match tenant {
        Some(t) => write!(f, " TENANT {}", Name(t)),
        None => Ok(()),
    }
}

impl Display for Script {
    /// The statements joined with `;\n` (the last `;` is optional in PQL).
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, s) in self.statements.iter().enumerate() {
            if i > 0 {
                f.write_str(";\n")?;
            }
            write!(f, "{s}")?;
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
            Statement::OffloadTenant { name } => write!(f, "OFFLOAD TENANT {}", Name(name)),
            Statement::OnloadTenant { name } => write!(f, "ONLOAD TENANT {}", Name(name)),
            Statement::AttachTenant { name } => {
                write!(f, "ATTACH TENANT {} FROM OBJECT STORE", Name(name))
            }
            Statement::ExportTenant {
                name,
                path,
                options,
            } => {
                write!(f, "EXPORT TENANT {} TO {}", Name(name), Quoted(path))?;
                with(f, options)
            }
            Statement::ImportTenant {
                path,
                as_name,
                replace,
                options,
            } => {
                write!(f, "IMPORT TENANT FROM {}", Quoted(path))?;
                if let Some(n) = as_name {
                    write!(f, " AS {}", Name(n))?;
                }
                f.write_str(if_(*replace, " REPLACE"))?;
                with(f, options)
            }
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
            Statement::DescribeCollection { name, tenant: t } => {
                write!(f, "DESCRIBE COLLECTION {}", Name(name))?;
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
            Statement::CreateApiKey { tenant } => {
                write!(f, "CREATE API KEY FOR TENANT {}", Name(tenant))
            }
            Statement::ShowApiKeys { tenant } => {
                f.write_str("SHOW API KEYS")?;
                match tenant {
                    Some(t) => write!(f, " FOR TENANT {}", Name(t)),
                    None => Ok(()),
                }
            }
            Statement::DropApiKey { id, tenant } => {
                write!(f, "DROP API KEY {} FOR TENANT {}", Quoted(id), Name(tenant))
            }
            Statement::CreateTier {
                name,
                if_not_exists,
                options,
            } => {
                let ine = if_(*if_not_exists, "IF NOT EXISTS ");
                write!(f, "CREATE TIER {ine}{}", Name(name))?;
                with(f, options)
            }
            Statement::AlterTier { name, set: s } => {
                write!(f, "ALTER TIER {}", Name(name))?;
                set(f, s)
            }
            Statement::DropTier { name, if_exists } => {
                let ie = if_(*if_exists, "IF EXISTS ");
                write!(f, "DROP TIER {ie}{}", Name(name))
            }
            Statement::ShowTiers => f.write_str("SHOW TIERS"),
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
            QueryOp::UpsertNodes(nodes) => {
                f.write_str(" UPSERT NODES [")?;
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
