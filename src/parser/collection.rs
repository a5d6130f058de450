//! Collection statements: `CREATE/ALTER/DROP/DESCRIBE COLLECTION`, `SHOW
//! COLLECTIONS`.

use pest::iterators::Pair;

use super::ast::Statement;
use super::clauses::Clauses;
use super::errors::Source;
use super::Rule;
use crate::error::Result;

/// Builds a collection statement; `None` if `pair` is not one.
pub(crate) fn statement(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Option<Statement>> {
    let rule = pair.as_rule();
    if !matches!(
        rule,
        Rule::create_collection
            | Rule::alter_collection
            | Rule::drop_collection
            | Rule::show_collections
            | Rule::describe_collection
    ) {
        return Ok(None);
    }
    let mut c = Clauses::of(src, pair)?;
    Ok(Some(match rule {
        Rule::show_collections => Statement::ShowCollections { tenant: c.tenant },
        Rule::describe_collection => Statement::DescribeCollection {
            name: c.name(src, pair)?,
            tenant: c.tenant,
        },
        Rule::create_collection => Statement::CreateCollection {
            name: c.name(src, pair)?,
            tenant: c.tenant,
            if_not_exists: c.if_flag,
            options: c.options,
        },
        Rule::alter_collection => Statement::AlterCollection {
            name: c.name(src, pair)?,
            tenant: c.tenant,
            set: c.set,
        },
        _ => Statement::DropCollection {
            name: c.name(src, pair)?,
            tenant: c.tenant,
            if_exists: c.if_flag,
        },
    }))
}
