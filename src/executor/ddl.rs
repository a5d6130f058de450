//! Tenant and collection DDL: CREATE, ALTER, DROP.

use crate::clock::now_ms;
use crate::collection::meta::CollectionMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::executor::{check_access, resolve_tenant, Access, Context};
use crate::parser::ast::Opt;
use crate::result::QueryResult;
use crate::tenant::names;
use crate::tenant::record::{validate_options, Status, TenantRecord};

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
    let now = now_ms();
    let record = TenantRecord {
        name: name.to_string(),
        status: Status::Active,
        options: validate_options(options)?,
        created_at_ms: now,
        updated_at_ms: now,
        archive_crc: None,
        pending_since_ms: None,
        last_accessed_ms: None,
    };
    if ctx.engine.catalog.create(record, if_not_exists)? {
        Ok(QueryResult::message(format!("Tenant {name} created")))
    } else {
        Ok(QueryResult::message(format!(
            "Tenant {name} already exists, skipped"
        )))
    }
}

/// Checks a status change requested with `ALTER TENANT ... SET status`.
fn transition(name: &str, from: Status, to: &str) -> Result<Status> {
    let to_status = Status::parse(to).ok_or_else(|| {
        Error::invalid_option(format!(
            "unknown status '{to}'; use 'active', 'inactive', 'suspended', 'read_only' or \
             'pending_deletion'"
        ))
    })?;
    if to_status == Status::Archived {
        return Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("cannot set status to archived: use ARCHIVE TENANT {name}"),
        ));
    }
    if from == Status::Archived {
        return Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "Tenant is archived: {name}; restore it with RESTORE TENANT {name} before \
                 changing its status"
            ),
        ));
    }
    Ok(to_status)
}

pub(super) fn alter_tenant(ctx: &mut Context<'_>, name: &str, set: &[Opt]) -> Result<QueryResult> {
    let tenant = ctx.engine.catalog.get(name)?;
    let current = tenant.record();
    let mut new_status = None;
    let mut others = Vec::new();
    for opt in set {
        if opt.key == "status" {
            let to = opt.value.as_str().ok_or_else(|| {
                Error::type_error(format!("status must be a string, got {}", opt.value))
            })?;
            new_status = Some(transition(name, current.status, to)?);
        } else {
            others.push(opt.clone());
        }
    }
    let options = validate_options(&others)?;
    let unload = matches!(
        new_status,
        Some(Status::Inactive | Status::Suspended | Status::PendingDeletion)
    );
    if unload {
        // Flush before the status says "not in memory".
        tenant.unload()?;
    }
    let now = now_ms();
    let record = ctx.engine.catalog.update(&tenant, |r| {
        if let Some(s) = new_status {
            r.set_status(s, now);
        }
        r.options.extend(options);
        r.updated_at_ms = now;
        Ok(())
    })?;
    Ok(QueryResult::message(format!(
        "Tenant {name} altered (status {})",
        record.status
    )))
}

pub(super) fn drop_tenant(
    ctx: &mut Context<'_>,
    name: &str,
    if_exists: bool,
) -> Result<QueryResult> {
    if ctx.engine.catalog.drop_tenant(name)? {
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
    ctx: &mut Context<'_>,
    name: &str,
    tenant: Option<&str>,
    if_not_exists: bool,
    options: &[Opt],
) -> Result<QueryResult> {
    let tenant = resolve_tenant(ctx, tenant)?;
    check_access(ctx, &tenant, Access::Write)?;
    names::validate("collection", name)?;
    let meta = CollectionMeta::new(name, options, now_ms())?;
    match tenant.create_collection(meta, if_not_exists)? {
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
    ctx: &mut Context<'_>,
    name: &str,
    tenant: Option<&str>,
    set: &[Opt],
) -> Result<QueryResult> {
    let tenant = resolve_tenant(ctx, tenant)?;
    check_access(ctx, &tenant, Access::Write)?;
    let shared = tenant.collection(name, &ctx.engine.config)?;
    let mut c = shared.write();
    let mut meta = c.meta.clone();
    for opt in set {
        meta.apply(opt, false)?;
    }
    c.apply(meta, Vec::new(), Vec::new(), &ctx.engine.config)?;
    Ok(QueryResult::message(format!(
        "Collection {name} altered in tenant {}",
        tenant.name
    )))
}

pub(super) fn drop_collection(
    ctx: &mut Context<'_>,
    name: &str,
    tenant: Option<&str>,
    if_exists: bool,
) -> Result<QueryResult> {
    let tenant = resolve_tenant(ctx, tenant)?;
    check_access(ctx, &tenant, Access::Write)?;
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
