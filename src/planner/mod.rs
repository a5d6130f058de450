//! Planning: a statement becomes a [`Plan`] in two steps.
//!
//! 1. **Resolve and authorise** ([`plan`], `access`): the tenants the
//!    statement touches and the access it needs. No I/O and no side
//!    effects, so a caller (the HTTP server) can refuse a statement before
//!    anything happens.
//! 2. **Admit** (`admit`): the tenant's status (through the lifecycle state
//!    machine, activating an inactive tenant), then its quotas. For reads,
//!    the search strategy is chosen from the loaded collection's statistics
//!    and the filter's exact match count (`strategy`).

pub(crate) mod access;
pub(crate) mod admit;
pub(crate) mod node_move;
pub(crate) mod strategy;

use std::fmt;

use crate::error::Result;
use crate::parser::ast::{Query, QueryOp, Statement};
use crate::tenant::lifecycle::Use;
pub use access::Access;

/// A planned statement: the tenants it touches, the access it needs and
/// the admission checks it runs before execution. Built without I/O by
/// [`Session::plan`](crate::Session::plan), so that a caller can refuse a
/// statement before anything happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<'s> {
    statement: &'s Statement,
    tenants: Vec<String>,
    access: Access,
    checks: Checks,
}

/// The admission checks of a plan, run in this order before it executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Checks {
    /// The tenant's status must allow this use; an inactive tenant is
    /// activated.
    pub(crate) status: Option<Use>,
    /// Rate and concurrency windows, then the size limits (`TOP`, batch,
    /// storage) the statement can be judged by before it runs.
    pub(crate) quotas: bool,
}

impl<'s> Plan<'s> {
    /// The tenants the statement touches, by name (empty for statements
    /// over all tenants: SHOW TENANTS, SHOW STATS, SHOW USAGE without
    /// `FOR TENANT`, and for the tier statements, which need
    /// [`Access::Admin`]).
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// The access the statement needs.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The statement planned.
    pub(crate) fn statement(&self) -> &'s Statement {
        self.statement
    }

    /// The one tenant a tenant statement touches.
    pub(crate) fn tenant(&self) -> Option<&str> {
        self.tenants.first().map(String::as_str)
    }

    /// Its admission checks.
    pub(crate) fn checks(&self) -> Checks {
        self.checks
    }

    /// The node an `ALTER TENANT t SET node = 'n'` moves its tenant to
    /// (checked when it was planned); `None` for any other statement.
    pub(crate) fn moves_to(&self) -> Option<&'s str> {
        node_move::moved_to(self.statement).ok().flatten()
    }
}

/// Resolves and authorises `stmt`: its tenants (named, or
/// `session_tenant`), its access and its admission checks.
pub(crate) fn plan<'s>(stmt: &'s Statement, session_tenant: Option<&str>) -> Result<Plan<'s>> {
    node_move::moved_to(stmt)?;
    Ok(Plan {
        statement: stmt,
        tenants: access::tenants(stmt, session_tenant)?,
        access: access::required(stmt),
        checks: checks(stmt),
    })
}

/// The admission checks of each statement kind.
fn checks(stmt: &Statement) -> Checks {
    let status = |use_| Checks {
        status: Some(use_),
        quotas: false,
    };
    match stmt {
        Statement::Query(q) => Checks {
            status: Some(if matches!(q.op, QueryOp::Select(_)) {
                Use::Read
            } else {
                Use::Write
            }),
            quotas: true,
        },
        Statement::Explain(_) => Checks {
            status: Some(Use::Read),
            quotas: true,
        },
        Statement::CreateCollection { .. }
        | Statement::AlterCollection { .. }
        | Statement::DropCollection { .. } => status(Use::Write),
        _ => Checks {
            status: None,
            quotas: false,
        },
    }
}

/// What a data statement does, as `EXPLAIN` names it.
pub(crate) fn operation(q: &Query) -> String {
    match &q.op {
        QueryOp::Select(s) if s.similar.is_some() => "similarity search".into(),
        QueryOp::Select(_) => "filter scan in id order".into(),
        QueryOp::CreateNode(_) => "insert 1 node".into(),
        QueryOp::CreateNodes(n) => format!("insert {} nodes", n.len()),
        QueryOp::UpsertNode(_) => "upsert 1 node".into(),
        QueryOp::UpsertNodes(n) => format!("upsert {} nodes", n.len()),
        QueryOp::Update { .. } => "update matching nodes".into(),
        QueryOp::Delete { .. } => "delete matching nodes".into(),
    }
}

/// The head of `EXPLAIN`'s output: the collection and the operation. The
/// executor adds what only the loaded collection can tell (the strategy,
/// the filter's match count).
impl fmt::Display for Plan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.statement {
            Statement::Query(q) | Statement::Explain(q) => {
                let tenant = self.tenant().unwrap_or_default();
                writeln!(f, "collection: {tenant}.{}", q.collection)?;
                write!(f, "operation: {}", operation(q))
            }
            other => write!(f, "{}: {} access", statement_kind(other), self.access),
        }
    }
}

/// A short name of a statement kind.
fn statement_kind(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::CreateTenant { .. } => "CREATE TENANT",
        Statement::AlterTenant { .. } => "ALTER TENANT",
        Statement::ArchiveTenant { .. } => "ARCHIVE TENANT",
        Statement::RestoreTenant { .. } => "RESTORE TENANT",
        Statement::OffloadTenant { .. } => "OFFLOAD TENANT",
        Statement::OnloadTenant { .. } => "ONLOAD TENANT",
        Statement::AttachTenant { .. } => "ATTACH TENANT",
        Statement::ExportTenant { .. } => "EXPORT TENANT",
        Statement::ImportTenant { .. } => "IMPORT TENANT",
        Statement::DropTenant { .. } => "DROP TENANT",
        Statement::ShowTenants { .. } => "SHOW TENANTS",
        Statement::DescribeTenant { .. } => "DESCRIBE TENANT",
        Statement::UseTenant { .. } => "USE TENANT",
        Statement::CreateCollection { .. } => "CREATE COLLECTION",
        Statement::AlterCollection { .. } => "ALTER COLLECTION",
        Statement::DropCollection { .. } => "DROP COLLECTION",
        Statement::ShowCollections { .. } => "SHOW COLLECTIONS",
        Statement::DescribeCollection { .. } => "DESCRIBE COLLECTION",
        Statement::Query(_) => "QUERY",
        Statement::Explain(_) => "EXPLAIN",
        Statement::ShowUsage { .. } => "SHOW USAGE",
        Statement::ShowStats => "SHOW STATS",
        Statement::CreateApiKey { .. } => "CREATE API KEY",
        Statement::ShowApiKeys { .. } => "SHOW API KEYS",
        Statement::DropApiKey { .. } => "DROP API KEY",
        Statement::CreateTier { .. } => "CREATE TIER",
        Statement::AlterTier { .. } => "ALTER TIER",
        Statement::DropTier { .. } => "DROP TIER",
        Statement::ShowTiers => "SHOW TIERS",
    }
}
