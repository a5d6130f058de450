//! Runs admitted plans. Each file holds one kind of work: reads and
//! `EXPLAIN` (`read`), node writes (`write`), tenant and collection DDL
//! (`ddl`), tier templates (`tiers`), API keys (`keys`), EXPORT/IMPORT
//! (`transfer`), SHOW and DESCRIBE (`show`, `describe`, `report`, `pool_stats`);
//! `metering` counts what a data statement did.

#[cfg(feature = "s3")]
pub(crate) mod cold;
mod ddl;
mod describe;
mod keys;
pub(crate) mod metering;
mod pool_stats;
pub(crate) mod read;
mod report;
mod show;
mod tiers;
mod transfer;
mod write;

use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::config::Config;
use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::{Opt, Query, QueryOp, Statement};
#[cfg(feature = "s3")]
use crate::planner::admit::admit_deferring;
use crate::planner::admit::{admit, tenant_of};
use crate::planner::{access, Plan};
use crate::result::QueryResult;
use crate::tenant::usage::Metering;
use crate::tenant::{Catalog, Tenant};
use write::Mode;

/// What a statement runs against: the engine's parts and the session's
/// tenant.
pub(crate) struct Context<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) config: &'a Config,
    pub(crate) metering: &'a Metering,
    pub(crate) session_tenant: &'a mut Option<String>,
    /// The session's cancel request, checked at the safe points of long
    /// statements.
    pub(crate) cancel: &'a CancelToken,
    /// The engine, which a cold query's quick path leaves the tenant's
    /// onload to (`Engine::onload_behind`); without it, no quick path.
    #[cfg(feature = "s3")]
    pub(crate) engine: Option<&'a crate::Engine>,
}

impl Context<'_> {
    /// The embedder behind `embed()` for `tenant`: the one its `embedder`
    /// option (or its tier's) names, else the engine's default.
    pub(crate) fn embedder_for(&self, tenant: &Tenant) -> Result<Arc<dyn Embedder>> {
        match tenant.quota.embedder() {
            None => Ok(self.config.embedder.clone()),
            Some(name) => self.config.embedder_named(&name).ok_or_else(|| {
                unknown_embedder(self.config, &name, &format!("tenant {}", tenant.name))
            }),
        }
    }
}

/// The error of an `embedder` option naming an embedder this engine lacks;
/// `whose` says where the name came from (`tenant t`, `tier gold`).
pub(crate) fn unknown_embedder(config: &Config, name: &str, whose: &str) -> Error {
    Error::invalid_option(format!(
        "{whose} names embedder '{name}', which this engine does not have \
         (it has: {})",
        config.embedder_names().join(", ")
    ))
}

/// Refuses options whose `embedder` this engine lacks.
pub(crate) fn check_embedder(config: &Config, options: &[Opt], whose: &str) -> Result<()> {
    for o in options.iter().filter(|o| o.key == "embedder") {
        if let Some(name) = o.value.as_str() {
            if config.embedder_named(name).is_none() {
                return Err(unknown_embedder(config, name, whose).with_span(o.span));
            }
        }
    }
    Ok(())
}

/// Admits and runs one planned statement. An error about the tenant,
/// collection or tier the statement names (not found, a status that refuses
/// it, an invalid name, a tier in use) points at that name; others keep the
/// statement's start.
pub(crate) fn execute(ctx: &mut Context<'_>, plan: Plan<'_>) -> Result<QueryResult> {
    let statement = plan.statement();
    run(ctx, plan).map_err(|e| {
        let named = match e.kind() {
            ErrorKind::TenantNotFound
            | ErrorKind::TenantArchived
            | ErrorKind::TenantSuspended
            | ErrorKind::TenantReadOnly
            | ErrorKind::TenantPendingDeletion
            | ErrorKind::InvalidTransition => access::named_tenant(statement),
            ErrorKind::CollectionNotFound | ErrorKind::InvalidName => {
                access::named_collection(statement).or(access::named_tier(statement))
            }
            ErrorKind::TierNotFound | ErrorKind::TierExists | ErrorKind::TierInUse => {
                access::named_tier(statement)
            }
            _ => None,
        };
        match named {
            Some(name) => e.with_span(name.span),
            None => e,
        }
    })
}

/// The tenant of a statement that needs no more than its admission checks
/// before it runs (the collection DDL): looked up, then admitted.
fn admitted_tenant(plan: Plan<'_>, catalog: &Catalog) -> Result<Arc<Tenant>> {
    let tenant = tenant_of(&plan, catalog)?;
    admit(plan, &tenant, catalog)?;
    Ok(tenant)
}

/// [`execute`], before errors are located.
fn run(ctx: &mut Context<'_>, plan: Plan<'_>) -> Result<QueryResult> {
    let catalog = ctx.catalog;
    match plan.statement() {
        Statement::Query(q) => {
            let tenant = tenant_of(&plan, catalog)?;
            let writes = !matches!(q.op, QueryOp::Select(_));
            metering::metered(ctx.metering, &tenant, writes, || {
                #[cfg(feature = "s3")]
                if let Some(read) = cold::eligible(q) {
                    let (_admitted, deferred) =
                        admit_deferring(plan, &tenant, catalog, ctx.engine.is_some())?;
                    if deferred {
                        return cold_query(ctx, &tenant, q, read);
                    }
                    return query(ctx, &tenant, q);
                }
                let _admitted = admit(plan, &tenant, catalog)?;
                query(ctx, &tenant, q)
            })
        }
        Statement::Explain(q) => {
            let tenant = tenant_of(&plan, catalog)?;
            metering::metered(ctx.metering, &tenant, false, || {
                let admitted = admit(plan, &tenant, catalog)?;
                read::explain(ctx, &admitted.plan, &tenant, q)
            })
        }
        Statement::CreateCollection {
            name,
            if_not_exists,
            options,
            ..
        } => {
            let tenant = admitted_tenant(plan, catalog)?;
            ddl::create_collection(&tenant, name, *if_not_exists, options)
        }
        Statement::AlterCollection { name, set, .. } => {
            let tenant = admitted_tenant(plan, catalog)?;
            ddl::alter_collection(ctx, &tenant, name, set)
        }
        Statement::DropCollection {
            name, if_exists, ..
        } => {
            let tenant = admitted_tenant(plan, catalog)?;
            ddl::drop_collection(&tenant, name, *if_exists)
        }
        Statement::ShowCollections { .. } => show::show_collections(&*tenant_of(&plan, catalog)?),
        Statement::DescribeCollection { name, .. } => {
            let tenant = admitted_tenant(plan, catalog)?;
            describe::describe_collection(&tenant, name, ctx.config)
        }
        Statement::CreateTenant {
            name,
            if_not_exists,
            options,
        } => {
            check_embedder(ctx.config, options, &format!("tenant {}", &**name))?;
            ddl::create_tenant(ctx, name, *if_not_exists, options)
        }
        Statement::AlterTenant { .. } if plan.moves_to().is_some() => {
            Err(crate::planner::node_move::single_node())
        }
        Statement::AlterTenant { name, set } => {
            check_embedder(ctx.config, set, &format!("tenant {}", &**name))?;
            ddl::alter_tenant(ctx, name, set)
        }
        Statement::ArchiveTenant { name } => ddl::archive_tenant(ctx, name),
        Statement::RestoreTenant { name } => ddl::restore_tenant(ctx, name),
        Statement::OffloadTenant { name } => ddl::offload_tenant(ctx, name),
        Statement::OnloadTenant { name } => ddl::onload_tenant(ctx, name),
        Statement::AttachTenant { name } => ddl::attach_tenant(ctx, name),
        Statement::ExportTenant {
            name,
            path,
            options,
        } => transfer::export_tenant(ctx, name, path, options),
        Statement::ImportTenant {
            path,
            as_name,
            replace,
            options,
        } => transfer::import_tenant(ctx, path, as_name.as_deref(), *replace, options),
        Statement::DropTenant { name, if_exists } => ddl::drop_tenant(ctx, name, *if_exists),
        Statement::UseTenant { name } => ddl::use_tenant(ctx, name),
        Statement::ShowTenants { filter, limit } => {
            show::show_tenants(ctx, filter.as_ref(), *limit)
        }
        Statement::DescribeTenant { name } => show::describe_tenant(ctx, name),
        Statement::ShowUsage { tenant, period } => {
            report::show_usage(ctx, tenant.as_deref(), period.as_ref())
        }
        Statement::ShowStats => show::show_stats(ctx),
        Statement::CreateApiKey { tenant } => keys::create(ctx, tenant),
        Statement::ShowApiKeys { tenant } => keys::show(ctx, tenant.as_deref()),
        Statement::DropApiKey { id, tenant } => keys::drop(ctx, id, tenant),
        Statement::CreateTier {
            name,
            if_not_exists,
            options,
        } => {
            check_embedder(ctx.config, options, &format!("tier {}", &**name))?;
            tiers::create(ctx, name, *if_not_exists, options)
        }
        Statement::AlterTier { name, set } => {
            check_embedder(ctx.config, set, &format!("tier {}", &**name))?;
            tiers::alter(ctx, name, set)
        }
        Statement::DropTier { name, if_exists } => tiers::drop(ctx, name, *if_exists),
        Statement::ShowTiers => tiers::show(ctx),
    }
}

/// Runs an admitted [`cold::eligible`] read on the offloaded `tenant`:
/// from its quick object when it has one, the onload then started behind
/// the answer; else (or when the quick object is damaged) onloaded first,
/// as any statement on an offloaded tenant.
#[cfg(feature = "s3")]
fn cold_query(
    ctx: &Context<'_>,
    tenant: &Arc<Tenant>,
    q: &Query,
    read: (&crate::parser::ast::Select, &crate::parser::ast::Similar),
) -> Result<QueryResult> {
    match cold::answer(ctx, tenant, q, read, &mut cold::ColdTimes::default()) {
        Ok(Some(answer)) => {
            if let Some(engine) = ctx.engine {
                engine.onload_behind(tenant.clone(), q.collection.to_string());
            }
            return Ok(answer);
        }
        Ok(None) => {}
        // The full onload checks every object it uses on its own.
        Err(e) if *e.kind() == ErrorKind::Corrupt => {}
        Err(e) => return Err(e),
    }
    ctx.catalog.onload(tenant, &CancelToken::new())?;
    query(ctx, tenant, q)
}

/// Runs an admitted `QUERY` on `tenant`.
fn query(ctx: &Context<'_>, tenant: &Tenant, q: &Query) -> Result<QueryResult> {
    match &q.op {
        QueryOp::CreateNode(n) => {
            write::insert(ctx, tenant, q, std::slice::from_ref(n), Mode::Create)
        }
        QueryOp::CreateNodes(ns) => write::insert(ctx, tenant, q, ns, Mode::Create),
        QueryOp::UpsertNode(n) => {
            write::insert(ctx, tenant, q, std::slice::from_ref(n), Mode::Upsert)
        }
        QueryOp::UpsertNodes(ns) => write::insert(ctx, tenant, q, ns, Mode::Upsert),
        QueryOp::Update { filter, set } => write::update(ctx, tenant, q, filter.as_ref(), set),
        QueryOp::Delete { filter } => write::delete(ctx, tenant, q, filter.as_ref()),
        QueryOp::Select(s) => read::select(ctx, tenant, q, s),
    }
}
