//! Tenant and collection DDL: CREATE, ALTER, DROP, ARCHIVE, RESTORE,
//! OFFLOAD, ONLOAD, ATTACH, USE.

use crate::clock::now_ms;
use crate::collection::meta::CollectionMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::executor::Context;
use crate::parser::ast::Opt;
use crate::result::QueryResult;
use crate::tenant::record::{apply, validate_options, TenantRecord};
use crate::tenant::status::{Access, StatusTarget};
use crate::tenant::{lifecycle, names, Tenant};
use crate::value::Value;

pub(super) fn create_tenant(
    ctx: &mut Context<'_>,
    name: &str,
    if_not_exists: bool,
    options: &[Opt],
) -> Result<QueryResult> {
    names::validate("tenant", name)?;
    if let Some(o) = options.iter().find(|o| o.key == "status") {
        return Err(Error::invalid_option(format!(
            "status cannot be set at creation (got {}); a new tenant is active — use \
             ALTER TENANT {name} SET status = ... afterwards",
            o.value
        )));
    }
    let mut validated = validate_options(options)?;
    validated.retain(|_, v| *v != Value::Null);
    let record = TenantRecord::new(name, ctx.catalog.new_incarnation(), validated, now_ms());
    if ctx
        .catalog
        .create(record, if_not_exists)
        .map_err(|e| at_tier(e, options))?
    {
        Ok(QueryResult::message(format!("Tenant {name} created")))
    } else {
        Ok(QueryResult::message(format!(
            "Tenant {name} already exists, skipped"
        )))
    }
}

pub(super) fn alter_tenant(ctx: &mut Context<'_>, name: &str, set: &[Opt]) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    let current = tenant.record();
    let mut new_status = None;
    let mut reason = None;
    let mut others = Vec::new();
    for opt in set {
        let text = || {
            opt.value.as_str().map(str::to_string).ok_or_else(|| {
                Error::type_error(format!("{} must be a string, got {}", opt.key, opt.value))
            })
        };
        match opt.key.as_str() {
            "status" => new_status = Some(lifecycle::altered(name, current.storage, &text()?)?),
            "reason" => reason = Some(text()?),
            _ => others.push(opt.clone()),
        }
    }
    let restricted = match new_status {
        Some(StatusTarget::Access(_)) => true,
        Some(_) => false,
        None => current.access != Access::Normal,
    };
    if reason.is_some() && !restricted {
        return Err(Error::invalid_option(format!(
            "reason applies to a restriction: set status = 'read_only', 'suspended' or \
             'pending_deletion' with it (tenant {name} is {})",
            current.status()
        )));
    }
    let options = validate_options(&others)?;
    ctx.catalog
        .know_tier(crate::tenant::tiers::tier_of(&options))?;
    if new_status.is_some_and(lifecycle::unloads) {
        // Flush before the status says "not in memory".
        tenant.unload()?;
    }
    let now = now_ms();
    let record = ctx
        .catalog
        .update(&tenant, |r| {
            if let Some(s) = new_status {
                lifecycle::enter(r, s, now);
            }
            if reason.is_some() {
                r.reason = reason;
            }
            apply(&mut r.options, options);
            r.updated_at_ms = now;
            Ok(())
        })
        .map_err(|e| at_tier(e, set))?;
    Ok(QueryResult::message(format!(
        "Tenant {name} altered (status {})",
        record.status()
    )))
}

/// `err`, pointing at the `tier` option when it is about a missing tier.
fn at_tier(err: Error, options: &[Opt]) -> Error {
    match options.iter().find(|o| o.key == "tier") {
        Some(o) if *err.kind() == ErrorKind::TierNotFound => err.with_span(o.span),
        _ => err,
    }
}

pub(super) fn archive_tenant(ctx: &Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    ctx.catalog.archive(&tenant, ctx.cancel)?;
    Ok(QueryResult::message(format!("Tenant {name} archived")))
}

pub(super) fn restore_tenant(ctx: &Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    ctx.catalog.restore(&tenant, ctx.cancel)?;
    Ok(QueryResult::message(format!(
        "Tenant {name} restored (status {})",
        tenant.status()
    )))
}

pub(super) fn offload_tenant(ctx: &Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    // The usage history goes into the manifest: counted statements first.
    ctx.metering.flush();
    ctx.catalog.offload(&tenant, ctx.cancel)?;
    Ok(QueryResult::message(format!(
        "Tenant {name} offloaded (status {})",
        tenant.status()
    )))
}

pub(super) fn onload_tenant(ctx: &Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    ctx.catalog.onload(&tenant, ctx.cancel)?;
    Ok(QueryResult::message(format!(
        "Tenant {name} onloaded (status {})",
        tenant.status()
    )))
}

pub(super) fn attach_tenant(ctx: &Context<'_>, name: &str) -> Result<QueryResult> {
    ctx.catalog.attach(name)?;
    let tenant = ctx.catalog.get(name)?;
    Ok(QueryResult::message(format!(
        "Tenant {name} attached from the object store (status {})",
        tenant.status()
    )))
}

pub(super) fn use_tenant(ctx: &mut Context<'_>, name: &str) -> Result<QueryResult> {
    let tenant = ctx.catalog.get(name)?;
    *ctx.session_tenant = Some(tenant.name.clone());
    Ok(QueryResult::message(format!(
        "Using tenant {}",
        tenant.name
    )))
}

pub(super) fn drop_tenant(
    ctx: &mut Context<'_>,
    name: &str,
    if_exists: bool,
) -> Result<QueryResult> {
    if ctx.catalog.drop_tenant(name)? {
        if ctx.session_tenant.as_deref() == Some(name) {
            *ctx.session_tenant = None;
        }
        Ok(QueryResult::message(format!("Tenant {name} dropped")))
    } else if if_exists {
        Ok(QueryResult::message(format!(
            "Tenant {name} does not exist, skipped"
        )))
    } else {
        Err(crate::tenant::not_found(name))
    }
}

pub(super) fn create_collection(
    tenant: &Tenant,
    name: &str,
    if_not_exists: bool,
    options: &[Opt],
) -> Result<QueryResult> {
    names::validate("collection", name)?;
    let meta = CollectionMeta::new(name, options, now_ms())?;
    match tenant.create_collection(meta, if_not_exists, false)? {
        Some(_) => Ok(QueryResult::message(format!(
            "Collection {name} created in tenant {}",
            tenant.name
        ))),
        None => Ok(QueryResult::message(format!(
            "Collection {name} already exists in tenant {}, skipped",
            tenant.name
        ))),
    }
}

pub(super) fn alter_collection(
    ctx: &Context<'_>,
    tenant: &Tenant,
    name: &str,
    set: &[Opt],
) -> Result<QueryResult> {
    let shared = tenant.collection(name, ctx.config)?;
    let mut c = shared.write();
    let mut meta = c.meta.clone();
    for opt in set {
        meta.apply(opt, false).map_err(|e| e.with_span(opt.span))?;
    }
    c.apply(meta, Vec::new(), Vec::new(), ctx.config)?;
    Ok(QueryResult::message(format!(
        "Collection {name} altered in tenant {}",
        tenant.name
    )))
}

pub(super) fn drop_collection(tenant: &Tenant, name: &str, if_exists: bool) -> Result<QueryResult> {
    if tenant.drop_collection(name)? {
        Ok(QueryResult::message(format!(
            "Collection {name} dropped from tenant {}",
            tenant.name
        )))
    } else if if_exists {
        Ok(QueryResult::message(format!(
            "Collection {name} does not exist in tenant {}, skipped",
            tenant.name
        )))
    } else {
        Err(crate::collection::not_found(&tenant.name, name))
    }
}
