//! Planning: a statement becomes a [`Plan`]. First, with no I/O, the
//! tenants it touches and the access it needs (`access`); then admission
//! and, for reads, the search strategy (`plan`). The attribute indexes
//! give filters their exact match counts (`filter`).

pub(crate) mod access;
pub(crate) mod filter;
pub(crate) mod plan;

use crate::error::Result;
use crate::parser::ast::Statement;
pub use access::Access;

/// What a statement needs before it may run: the tenants it touches and
/// the access it needs on them. Built without I/O by
/// [`Session::plan`](crate::Session::plan), so that a caller can refuse a
/// statement before anything happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    tenants: Vec<String>,
    access: Access,
}

impl Plan {
    /// The tenants the statement touches, by name (empty for statements
    /// over all tenants: SHOW TENANTS, SHOW STATS, SHOW USAGE without
    /// `FOR TENANT`, which need [`Access::Admin`]).
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// The access the statement needs.
    pub fn access(&self) -> Access {
        self.access
    }
}

/// Resolves and authorises `stmt`: its tenants (named, or
/// `session_tenant`) and its access.
pub(crate) fn plan(stmt: &Statement, session_tenant: Option<&str>) -> Result<Plan> {
    Ok(Plan {
        tenants: access::tenants(stmt, session_tenant)?,
        access: access::required(stmt),
    })
}
