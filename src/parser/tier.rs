//! Tier statements: `CREATE TIER`, `ALTER TIER`, `DROP TIER`, `SHOW TIERS`.

use pest::iterators::Pair;

use super::ast::Statement;
use super::clauses::Clauses;
use super::errors::Source;
use super::Rule;
use crate::error::Result;

/// Builds a tier statement; `None` if `pair` is not one.
pub(crate) fn statement(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Option<Statement>> {
    let rule = pair.as_rule();
    if rule == Rule::show_tiers {
        return Ok(Some(Statement::ShowTiers));
    }
    if !matches!(rule, Rule::create_tier | Rule::alter_tier | Rule::drop_tier) {
        return Ok(None);
    }
    let mut c = Clauses::of(src, pair)?;
    let name = c.name(src, pair)?;
    Ok(Some(match rule {
        Rule::create_tier => Statement::CreateTier {
            name,
            if_not_exists: c.if_flag,
            options: c.options,
        },
        Rule::alter_tier => Statement::AlterTier { name, set: c.set },
        _ => Statement::DropTier {
            name,
            if_exists: c.if_flag,
        },
    }))
}
