//! The clauses shared by the administrative statements (name, `TENANT t`,
//! `IF [NOT] EXISTS`, `WITH (...)`, `SET ...`, `WHERE`, `LIMIT`, period),
//! collected from a statement's children in one pass.

use pest::iterators::Pair;

use super::ast::{Expr, Name, Opt, Period};
use super::errors::Source;
use super::literal::{count, name, only, options, significant, string};
use super::{expr, Rule};
use crate::error::Result;

/// What an administrative statement said; each statement keeps what it needs.
#[derive(Default)]
pub(crate) struct Clauses {
    /// The statement's own name (tenant, collection or tier).
    pub name: Option<Name>,
    /// `TENANT t` / `FOR TENANT t`.
    pub tenant: Option<Name>,
    /// `IF NOT EXISTS` / `IF EXISTS`.
    pub if_flag: bool,
    /// `WITH (...)`.
    pub options: Vec<Opt>,
    /// `SET ...`.
    pub set: Vec<Opt>,
    /// `WHERE ...`.
    pub filter: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<u64>,
    /// `PERIOD '..'` / `FROM '..' TO '..'`.
    pub period: Option<Period>,
    /// The file of `EXPORT ... TO '..'` / `IMPORT ... FROM '..'`.
    pub path: Option<String>,
    /// `REPLACE`.
    pub replace: bool,
}

impl Clauses {
    /// Collects the clauses of `pair`'s children.
    pub(crate) fn of(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Clauses> {
        let mut c = Clauses::default();
        for p in significant(pair.clone()) {
            match p.as_rule() {
                Rule::name => c.name = Some(name(src, p)?),
                Rule::tenant_clause | Rule::for_tenant => {
                    c.tenant = Some(name(src, only(src, p)?)?)
                }
                Rule::if_exists | Rule::if_not_exists => c.if_flag = true,
                Rule::string => c.path = Some(string(src, p)?),
                Rule::replace_flag => c.replace = true,
                Rule::with_options => c.options = options(src, p)?,
                Rule::set_clause => c.set = options(src, p)?,
                Rule::where_clause => c.filter = Some(expr::filter(src, only(src, p)?)?),
                Rule::limit_clause => c.limit = Some(count(src, &only(src, p)?)?),
                Rule::period_month => c.period = Some(Period::Month(string(src, only(src, p)?)?)),
                Rule::period_range => {
                    let mut parts = significant(p.clone());
                    let (Some(from), Some(to)) = (parts.next(), parts.next()) else {
                        return Err(src.internal(&p));
                    };
                    c.period = Some(Period::Range(string(src, from)?, string(src, to)?));
                }
                _ => return Err(src.internal(&p)),
            }
        }
        Ok(c)
    }

    /// The file path, which the grammar makes mandatory where this is called.
    pub(crate) fn path(&mut self, src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<String> {
        self.path.take().ok_or_else(|| src.internal(pair))
    }

    /// The name, which the grammar makes mandatory where this is called.
    pub(crate) fn name(&mut self, src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Name> {
        self.name.take().ok_or_else(|| src.internal(pair))
    }
}
