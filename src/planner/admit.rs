//! Admission, the second step of planning: the tenant's status (asked of
//! the lifecycle state machine, activating an inactive tenant and onloading
//! an offloaded one), then its
//! quotas: the rate and concurrency windows, then the size limits a
//! statement can be judged by before it runs (`TOP`, batch size, storage).
//! A refused statement has changed nothing.

use std::sync::Arc;

use crate::cancel::CancelToken;
use crate::error::Result;
use crate::parser::ast::{QueryOp, Statement};
use crate::planner::{access, Plan};
use crate::storage::dir_size;
use crate::tenant::lifecycle::{self, Entry};
use crate::tenant::quota::{check_max, Permit};
use crate::tenant::{Catalog, Tenant};

/// A plan whose admission checks passed. Holds the statement's
/// concurrency permit until it is dropped.
pub(crate) struct Admitted<'s> {
    pub(crate) plan: Plan<'s>,
    _permit: Option<Permit>,
}

/// Runs `plan`'s admission checks on `tenant` (the tenant it touches,
/// looked up by the caller).
pub(crate) fn admit<'s>(
    plan: Plan<'s>,
    tenant: &Tenant,
    catalog: &Catalog,
) -> Result<Admitted<'s>> {
    admit_deferring(plan, tenant, catalog, false).map(|(admitted, _)| admitted)
}

/// [`admit`]; with `defer_onload`, an offloaded tenant the statement may
/// use is not onloaded but admitted, and `true` returned beside the plan:
/// the caller onloads it (a cold query's quick path: `executor::cold`).
/// Every other check is the same.
pub(crate) fn admit_deferring<'s>(
    plan: Plan<'s>,
    tenant: &Tenant,
    catalog: &Catalog,
    defer_onload: bool,
) -> Result<(Admitted<'s>, bool)> {
    let checks = plan.checks();
    let mut onload_deferred = false;
    if let Some(use_) = checks.status {
        let (storage, access) = tenant.state();
        match lifecycle::may_use(&tenant.name, storage, access, use_)? {
            Entry::Ready => {}
            Entry::Activate => catalog.activate(tenant)?,
            Entry::Onload if defer_onload => onload_deferred = true,
            // A lazy onload is not cancelled: it is short, and the
            // statement it serves has not started.
            Entry::Onload => catalog.onload(tenant, &CancelToken::new())?,
        }
    }
    let permit = if checks.quotas {
        let permit = tenant.quota.admit()?;
        sizes(plan.statement(), tenant)?;
        Some(permit)
    } else {
        None
    };
    Ok((
        Admitted {
            plan,
            _permit: permit,
        },
        onload_deferred,
    ))
}

/// Looks up the tenant a tenant statement touches.
pub(crate) fn tenant_of(plan: &Plan<'_>, catalog: &Catalog) -> Result<Arc<Tenant>> {
    catalog.get(plan.tenant().ok_or_else(access::no_tenant)?)
}

/// Whether a statement may add nodes or bytes.
fn grows(op: &QueryOp) -> bool {
    matches!(
        op,
        QueryOp::CreateNode(_)
            | QueryOp::CreateNodes(_)
            | QueryOp::UpsertNode(_)
            | QueryOp::UpsertNodes(_)
            | QueryOp::Update { .. }
    )
}

/// Checks the size limits a data statement can be judged by before it runs.
fn sizes(stmt: &Statement, tenant: &Tenant) -> Result<()> {
    let (Statement::Query(q) | Statement::Explain(q)) = stmt else {
        return Ok(());
    };
    let limits = tenant.quota.limits();
    match &q.op {
        QueryOp::CreateNodes(ns) | QueryOp::UpsertNodes(ns) => check_max(
            "batch_size",
            "Batch size exceeds limit",
            ns.len() as u64,
            limits.max_batch_size,
        )
        .map_err(|e| match (ns.first(), ns.last()) {
            (Some(first), Some(last)) => e.with_span(first.span.to(last.span)),
            _ => e,
        })?,
        QueryOp::Select(s) => {
            if let Some(l) = s.limit {
                check_max(
                    "results",
                    "Query limit exceeds maximum",
                    l.count(),
                    limits.max_results_per_query,
                )
                .map_err(|e| e.with_span(s.spans.limit))?;
            }
        }
        _ => {}
    }
    if grows(&q.op) {
        ensure_counted(tenant)?;
        tenant.quota.check_storage()?;
    } else if matches!(q.op, QueryOp::Delete { .. }) {
        ensure_counted(tenant)?;
    }
    Ok(())
}

/// Counts the tenant's stored nodes if not counted yet (before any
/// collection lock is taken), and its folder size with them.
pub(crate) fn ensure_counted(tenant: &Tenant) -> Result<()> {
    tenant.quota.ensure_counted(|| {
        tenant.quota.set_storage_bytes(dir_size(&tenant.dir));
        Ok(tenant.collection_infos()?.iter().map(|(_, n)| n).sum())
    })
}
