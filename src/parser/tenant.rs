//! Tenant statements (`CREATE/ALTER/ARCHIVE/RESTORE/EXPORT/IMPORT/DROP/SHOW/
//! DESCRIBE/USE TENANT`) and the usage reports (`SHOW USAGE`, `SHOW STATS`).

use pest::iterators::Pair;

use super::ast::Statement;
use super::clauses::Clauses;
use super::errors::Source;
use super::Rule;
use crate::error::Result;

/// Builds a tenant or usage statement; `None` if `pair` is not one.
pub(crate) fn statement(src: &Source<'_>, pair: &Pair<'_, Rule>) -> Result<Option<Statement>> {
    let rule = pair.as_rule();
    if rule == Rule::show_stats {
        return Ok(Some(Statement::ShowStats));
    }
    if !matches!(
        rule,
        Rule::create_tenant
            | Rule::alter_tenant
            | Rule::archive_tenant
            | Rule::restore_tenant
            | Rule::offload_tenant
            | Rule::onload_tenant
            | Rule::attach_tenant
            | Rule::export_tenant
            | Rule::import_tenant
            | Rule::drop_tenant
            | Rule::show_tenants
            | Rule::describe_tenant
            | Rule::use_tenant
            | Rule::show_usage
    ) {
        return Ok(None);
    }
    let mut c = Clauses::of(src, pair)?;
    Ok(Some(match rule {
        Rule::show_tenants => Statement::ShowTenants {
            filter: c.filter,
            limit: c.limit,
        },
        Rule::show_usage => Statement::ShowUsage {
            tenant: c.tenant,
            period: c.period,
        },
        Rule::create_tenant => Statement::CreateTenant {
            name: c.name(src, pair)?,
            if_not_exists: c.if_flag,
            options: c.options,
        },
        Rule::alter_tenant => Statement::AlterTenant {
            name: c.name(src, pair)?,
            set: c.set,
        },
        Rule::archive_tenant => Statement::ArchiveTenant {
            name: c.name(src, pair)?,
        },
        Rule::restore_tenant => Statement::RestoreTenant {
            name: c.name(src, pair)?,
        },
        Rule::offload_tenant => Statement::OffloadTenant {
            name: c.name(src, pair)?,
        },
        Rule::onload_tenant => Statement::OnloadTenant {
            name: c.name(src, pair)?,
        },
        Rule::attach_tenant => Statement::AttachTenant {
            name: c.name(src, pair)?,
        },
        Rule::export_tenant => Statement::ExportTenant {
            name: c.name(src, pair)?,
            path: c.path(src, pair)?,
            options: c.options,
        },
        Rule::import_tenant => Statement::ImportTenant {
            path: c.path(src, pair)?,
            as_name: c.name.take(),
            replace: c.replace,
            options: c.options,
        },
        Rule::drop_tenant => Statement::DropTenant {
            name: c.name(src, pair)?,
            if_exists: c.if_flag,
        },
        Rule::describe_tenant => Statement::DescribeTenant {
            name: c.name(src, pair)?,
        },
        _ => Statement::UseTenant {
            name: c.name(src, pair)?,
        },
    }))
}
