//! Runs statements: tenant and collection DDL (`ddl`), node writes
//! (`write`), reads and `EXPLAIN` (`search`).

mod ddl;
mod keys;
mod pool_stats;
mod report;
pub(crate) mod search;
mod show;
pub(crate) mod usage;
mod write;

use std::sync::Arc;

use crate::engine::EngineInner;
use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::Statement;
use crate::result::QueryResult;
use crate::tenant::record::Status;
use crate::tenant::Tenant;

/// What a statement runs against: the engine and the session's tenant.
pub(crate) struct Context<'a> {
    pub(crate) engine: &'a EngineInner,
    pub(crate) session_tenant: &'a mut Option<String>,
}

/// Whether a statement reads or writes tenant data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

/// Executes one statement.
pub(crate) fn execute(ctx: &mut Context<'_>, stmt: &Statement) -> Result<QueryResult> {
    match stmt {
        Statement::CreateTenant {
            name,
            if_not_exists,
            options,
        } => ddl::create_tenant(ctx, name, *if_not_exists, options),
        Statement::AlterTenant { name, set } => ddl::alter_tenant(ctx, name, set),
        Statement::ArchiveTenant { name } => {
            let tenant = ctx.engine.catalog.get(name)?;
            ctx.engine.catalog.archive(&tenant)?;
            Ok(QueryResult::message(format!("Tenant {name} archived")))
        }
        Statement::RestoreTenant { name } => {
            let tenant = ctx.engine.catalog.get(name)?;
            ctx.engine.catalog.restore(&tenant)?;
            Ok(QueryResult::message(format!(
                "Tenant {name} restored (status inactive)"
            )))
        }
        Statement::DropTenant { name, if_exists } => ddl::drop_tenant(ctx, name, *if_exists),
        Statement::ShowTenants { filter, limit } => {
            show::show_tenants(ctx, filter.as_ref(), *limit)
        }
        Statement::DescribeTenant { name } => show::describe_tenant(ctx, name),
        Statement::UseTenant { name } => {
            let tenant = ctx.engine.catalog.get(name)?;
            *ctx.session_tenant = Some(tenant.name.clone());
            Ok(QueryResult::message(format!(
                "Using tenant {}",
                tenant.name
            )))
        }
        Statement::CreateCollection {
            name,
            tenant,
            if_not_exists,
            options,
        } => ddl::create_collection(ctx, name, tenant.as_deref(), *if_not_exists, options),
        Statement::AlterCollection { name, tenant, set } => {
            ddl::alter_collection(ctx, name, tenant.as_deref(), set)
        }
        Statement::DropCollection {
            name,
            tenant,
            if_exists,
        } => ddl::drop_collection(ctx, name, tenant.as_deref(), *if_exists),
        Statement::ShowCollections { tenant } => show::show_collections(ctx, tenant.as_deref()),
        Statement::Query(q) => usage::metered(ctx, q, search::run_query),
        Statement::Explain(q) => usage::metered(ctx, q, search::explain),
        Statement::ShowUsage { tenant, period } => {
            report::show_usage(ctx, tenant.as_deref(), period.as_ref())
        }
        Statement::ShowStats => show::show_stats(ctx),
        Statement::CreateApiKey { tenant } => keys::create(ctx, tenant),
        Statement::ShowApiKeys { tenant } => keys::show(ctx, tenant.as_deref()),
        Statement::DropApiKey { id, tenant } => keys::drop(ctx, id, tenant),
    }
}

/// The tenant a statement names, or the session's `USE TENANT`.
pub(crate) fn resolve_tenant(ctx: &Context<'_>, named: Option<&str>) -> Result<Arc<Tenant>> {
    let name = crate::planner::access::session_or(named, ctx.session_tenant.as_deref())?;
    ctx.engine.catalog.get(name)
}

/// Checks the tenant's status allows `access`, activating an inactive
/// tenant (lazy activation).
pub(crate) fn check_access(ctx: &Context<'_>, tenant: &Tenant, access: Access) -> Result<()> {
    let status = tenant.status();
    let name = &tenant.name;
    match status {
        Status::Active => Ok(()),
        Status::ReadOnly if access == Access::Read => Ok(()),
        Status::ReadOnly => Err(Error::new(
            ErrorKind::TenantReadOnly,
            format!("Tenant is read-only: {name}"),
        )),
        Status::Inactive => {
            ctx.engine.catalog.update_deferred(tenant, |r| {
                if r.status == Status::Inactive {
                    r.status = Status::Active;
                    r.updated_at_ms = crate::clock::now_ms();
                }
                Ok(())
            })?;
            Ok(())
        }
        Status::Archived => Err(Error::new(
            ErrorKind::TenantArchived,
            format!("Tenant is archived: {name}"),
        )),
        Status::Suspended => Err(Error::new(
            ErrorKind::TenantSuspended,
            format!("Tenant is suspended: {name}"),
        )),
        Status::PendingDeletion => Err(Error::new(
            ErrorKind::TenantPendingDeletion,
            format!("Tenant is pending deletion: {name}"),
        )),
    }
}
