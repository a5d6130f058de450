//! API key statements: `CREATE API KEY FOR TENANT t`, `SHOW API KEYS [FOR
//! TENANT t]`, `DROP API KEY 'id' FOR TENANT t`.

use pest::iterators::Pair;

use super::ast::Statement;
use super::errors::Source;
use super::literal::{name, only, significant, string};
use super::Rule;
use crate::error::Result;

/// Builds an API key statement; `None` if `pair` is not one.
pub(crate) fn statement(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Option<Statement>> {
    let rule = pair.as_rule();
    if !matches!(
        rule,
        Rule::create_api_key | Rule::show_api_keys | Rule::drop_api_key
    ) {
        return Ok(None);
    }
    let mut id = None;
    let mut tenant = None;
    for p in significant(pair.clone()) {
        match p.as_rule() {
            Rule::string => id = Some(string(src, p)?),
            Rule::for_tenant => tenant = Some(name(src, only(src, p)?)?.text),
            _ => return Err(src.internal(&p)),
        }
    }
    let required = |t: Option<String>| t.ok_or_else(|| src.internal(pair));
    Ok(Some(match rule {
        Rule::create_api_key => Statement::CreateApiKey {
            tenant: required(tenant)?,
        },
        Rule::show_api_keys => Statement::ShowApiKeys { tenant },
        _ => Statement::DropApiKey {
            id: id.ok_or_else(|| src.internal(pair))?,
            tenant: required(tenant)?,
        },
    }))
}
