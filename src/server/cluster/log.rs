//! Writes in the bucket before the ack (docs/cluster.md, "Durability"):
//! every statement that changes a tenant's collections or nodes
//! (`Access::Write`), or its record (`ALTER TENANT`), and was committed
//! here is appended, as canonical PQL,
//! to the tenant's log in the bucket before the request is answered; and
//! a node taking a tenant over from a node that stopped without handing
//! it over replays that log on the bucket's copy.

use std::sync::Arc;

use parking_lot::MutexGuard;

use super::group::GroupLog;
use super::Membership;
use crate::ast::Statement;
use crate::cluster::{Checkpoint, WalEntry};
use crate::error::{Error, ErrorKind, Result};
use crate::server::state::AppState;
use crate::tenant::Catalog;
use crate::{Access, Engine, Plan};

/// The logs of the tenants a request writes (or offloads), in name order.
pub(crate) struct Writes {
    logs: Vec<(String, Arc<GroupLog>)>,
    /// This node, when in a cluster, and its engine: an `OFFLOAD TENANT`
    /// records its copy as the tenant's checkpoint.
    node: Option<(Arc<Membership>, Engine)>,
}

/// The order locks of [`Writes`]' logs, held while a statement runs and
/// its record is queued, so that each tenant's log is in the order of its
/// commits; let go while the request waits for its record's batch
/// ([`GroupLog`]), so that other requests' records join that batch or the
/// next.
pub(crate) struct Locked<'a> {
    writes: &'a Writes,
    logs: Vec<(&'a str, &'a GroupLog)>,
    /// The order locks, in name order, while held.
    held: Vec<MutexGuard<'a, ()>>,
    /// Records of this request appended so far.
    appended: usize,
}

impl Writes {
    /// The logs `plans` write to: none on a single node; on a cluster node
    /// the log of every tenant a logged plan touches, `NotOwner` if this
    /// node does not hold one (the lease moved while the request waited).
    pub(crate) fn of(state: &AppState, plans: &[Plan<'_>]) -> Result<Writes> {
        let Some(member) = &state.options.cluster else {
            return Ok(Writes {
                logs: Vec::new(),
                node: None,
            });
        };
        let mut tenants: Vec<&String> = plans
            .iter()
            .filter(|p| logged(p) || offloads(p) || creates(p))
            .flat_map(|p| p.tenants())
            .collect();
        tenants.sort();
        tenants.dedup();
        let logs = tenants
            .into_iter()
            .map(|t| Ok((t.clone(), member.log(t)?)))
            .collect::<Result<_>>()?;
        Ok(Writes {
            logs,
            node: Some((member.clone(), state.engine.clone())),
        })
    }

    /// Takes every order lock, in name order (so two requests cannot
    /// deadlock).
    pub(crate) fn lock(&self) -> Locked<'_> {
        let logs: Vec<(&str, &GroupLog)> = self
            .logs
            .iter()
            .map(|(tenant, log)| (tenant.as_str(), log.as_ref()))
            .collect();
        let held = logs.iter().map(|(_, log)| log.order()).collect();
        Locked {
            writes: self,
            logs,
            held,
            appended: 0,
        }
    }
}

impl Locked<'_> {
    /// Appends `statement`, planned as `plan` and committed, to its
    /// tenant's log if it is logged; when this returns Ok the record is in
    /// the bucket. Runs on the blocking pool: it waits for the append on
    /// the server's runtime, with the order locks let go meanwhile and
    /// taken again before it returns. `NotOwner` if another node fenced
    /// the log and nothing of the request is in a log yet (so that it may
    /// be sent again, whole, to the new owner, as a forwarding node does);
    /// once earlier records of the request are, `StorageUnavailable`
    /// saying so, since sending it again would apply those twice.
    pub(crate) fn append(&mut self, plan: &Plan<'_>, statement: &Statement) -> Result<()> {
        let Some(tenant) = plan.tenants().first() else {
            return Ok(());
        };
        let Some(&(_, log)) = self.logs.iter().find(|(t, _)| *t == tenant) else {
            return Ok(());
        };
        if offloads(plan) {
            self.checkpoint(tenant, log, Catalog::bucket_generation);
            return Ok(());
        }
        if creates(plan)
            && self
                .writes
                .node
                .as_ref()
                .is_some_and(|(m, _)| m.checkpoints())
        {
            // A new tenant can fail over as soon as it exists, and an
            // import's rows (not logged) are in its copy.
            self.checkpoint(tenant, log, Catalog::copy_to_bucket);
            return Ok(());
        }
        if !logged(plan) {
            return Ok(());
        }
        let ticket = log.queue(statement.to_string().into_bytes());
        self.held.clear();
        let written = log.wait(ticket, &tokio::runtime::Handle::current());
        self.held = self.logs.iter().map(|(_, log)| log.order()).collect();
        match written {
            Ok(seq) => {
                self.appended += 1;
                if let Some((member, engine)) = &self.writes.node {
                    if member.checkpoint_due(tenant, seq) {
                        let (member, engine, tenant) =
                            (member.clone(), engine.clone(), tenant.to_string());
                        tokio::task::spawn_blocking(move || {
                            member.periodic_checkpoint(&tenant, &engine)
                        });
                    }
                }
                Ok(())
            }
            Err(e) if e.kind() == &ErrorKind::NotOwner => {
                // Another node fenced the log: it took the tenant over.
                if let Some((member, engine)) = &self.writes.node {
                    super::fenced::drop_later(member, engine, tenant, log.epoch());
                }
                if self.appended == 0 {
                    return Err(e);
                }
                Err(Error::new(
                    ErrorKind::StorageUnavailable,
                    format!(
                        "{} The {} write statement(s) of this request before it are applied \
                         and in the tenant's log: send only the statements from this one on",
                        e.message(),
                        self.appended
                    ),
                ))
            }
            Err(e) => Err(e),
        }
    }
}

impl Locked<'_> {
    /// After an `OFFLOAD TENANT` or a `CREATE TENANT` of `tenant` (run with
    /// its order lock held, so no write committed during it): once the
    /// records queued before it are in the bucket, the tenant's copy in the
    /// bucket (`copy`: the one OFFLOAD put there, or a new one) holds
    /// exactly the log up to the last number written, so that pair becomes
    /// the tenant's checkpoint, and the tenant can fail over. Best effort:
    /// if it cannot be recorded, the tenant waits for this node after a
    /// crash, as it did before.
    fn checkpoint(
        &self,
        tenant: &str,
        log: &GroupLog,
        copy: fn(&Catalog, &str) -> Result<Option<String>>,
    ) {
        let Some((member, engine)) = &self.writes.node else {
            return;
        };
        let runtime = tokio::runtime::Handle::current();
        let seq = log.drained(&runtime);
        match copy(&engine.inner().catalog, tenant) {
            Ok(Some(generation_id)) => {
                runtime
                    .block_on(member.record_checkpoint(tenant, Checkpoint { generation_id, seq }));
            }
            Ok(None) => {}
            Err(e) => eprintln!(
                "pql serve: cannot checkpoint {tenant} in the bucket: {}",
                e.message()
            ),
        }
    }
}

/// Whether `plan` is an `OFFLOAD TENANT`, whose copy in the bucket becomes
/// the tenant's checkpoint.
fn offloads(plan: &Plan<'_>) -> bool {
    matches!(plan.statement(), Statement::OffloadTenant { .. })
}

/// Whether `plan` is a `CREATE TENANT`, or an `IMPORT TENANT ... AS t`
/// (a new tenant, or one whose rows it replaces), either of which puts a
/// copy of the tenant in the bucket as its checkpoint.
fn creates(plan: &Plan<'_>) -> bool {
    matches!(
        plan.statement(),
        Statement::CreateTenant { .. }
            | Statement::ImportTenant {
                as_name: Some(_),
                ..
            }
    )
}

/// Whether the statement of `plan` goes to its tenant's log: the writes
/// to its collections and nodes, and `ALTER TENANT` (the tenant's options,
/// status and tier), so that a take-over keeps them. The other admin
/// statements are not logged (docs/cluster.md).
fn logged(plan: &Plan<'_>) -> bool {
    plan.access() == Access::Write || matches!(plan.statement(), Statement::AlterTenant { .. })
}

/// Replays `records` of tenant `tenant`'s log on this node's copy, in
/// order, as the statements they are (with `USE TENANT tenant` first).
/// Blocking.
pub(super) fn replay(state: &AppState, tenant: &str, records: &[WalEntry]) -> Result<()> {
    let mut session = state.engine.session();
    let use_tenant = Statement::UseTenant {
        name: tenant.to_string().into(),
    };
    session.execute(&use_tenant.to_string())?;
    for entry in records {
        let text = std::str::from_utf8(&entry.payload).map_err(|e| {
            Error::corrupt(format!("entry {} of tenant {tenant:?}'s log", entry.seq), e)
        })?;
        session.execute(text)?;
    }
    Ok(())
}
