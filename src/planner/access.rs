//! Resolve and authorise, the first step of planning: which tenants a
//! statement touches and the access it needs. No I/O and no side effects,
//! so that a caller (the HTTP server) can refuse a statement before
//! anything happens.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::parser::ast::{Name, Query, QueryOp, Statement};
use crate::tenant::names;

/// The access a statement needs.
///
/// | access | statements |
/// |---|---|
/// | `Admin` | CREATE/DROP/ALTER TENANT, ARCHIVE/RESTORE, OFFLOAD/ONLOAD/ATTACH, EXPORT/IMPORT, SHOW TENANTS, SHOW USAGE without `FOR TENANT`, SHOW STATS, CREATE/SHOW/DROP API KEY(S), CREATE/ALTER/DROP TIER, SHOW TIERS |
/// | `Write` | CREATE/ALTER/DROP COLLECTION, CREATE NODE(S), UPSERT, `WHERE … UPDATE SET`, `WHERE … DELETE` |
/// | `Read` | reads and `COUNT(*)`, EXPLAIN, SHOW COLLECTIONS, DESCRIBE COLLECTION, DESCRIBE TENANT, SHOW USAGE FOR TENANT, USE TENANT |
///
/// A key bound to a tenant may do `Read` and `Write` on that tenant only;
/// `Admin` needs the admin key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Reads one tenant's data or description.
    Read,
    /// Changes one tenant's collections or nodes.
    Write,
    /// An operator decision: tenants, their status and quotas, reports over
    /// all tenants.
    Admin,
}

impl Access {
    /// `read`, `write` or `admin`.
    pub fn name(&self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The access `stmt` needs.
pub(crate) fn required(stmt: &Statement) -> Access {
    match stmt {
        Statement::CreateTenant { .. }
        | Statement::AlterTenant { .. }
        | Statement::ArchiveTenant { .. }
        | Statement::RestoreTenant { .. }
        | Statement::OffloadTenant { .. }
        | Statement::OnloadTenant { .. }
        | Statement::AttachTenant { .. }
        | Statement::ExportTenant { .. }
        | Statement::ImportTenant { .. }
        | Statement::DropTenant { .. }
        | Statement::ShowTenants { .. }
        | Statement::ShowStats
        | Statement::CreateApiKey { .. }
        | Statement::ShowApiKeys { .. }
        | Statement::DropApiKey { .. }
        | Statement::CreateTier { .. }
        | Statement::AlterTier { .. }
        | Statement::DropTier { .. }
        | Statement::ShowTiers
        | Statement::ShowUsage { tenant: None, .. } => Access::Admin,
        Statement::CreateCollection { .. }
        | Statement::AlterCollection { .. }
        | Statement::DropCollection { .. } => Access::Write,
        Statement::Query(q) => query_access(q),
        Statement::Explain(_)
        | Statement::ShowCollections { .. }
        | Statement::DescribeCollection { .. }
        | Statement::DescribeTenant { .. }
        | Statement::UseTenant { .. }
        | Statement::ShowUsage {
            tenant: Some(_), ..
        } => Access::Read,
    }
}

/// Reads and `COUNT(*)` read; every other `QUERY` writes.
fn query_access(q: &Query) -> Access {
    match q.op {
        QueryOp::Select(_) => Access::Read,
        QueryOp::CreateNode(_)
        | QueryOp::CreateNodes(_)
        | QueryOp::UpsertNode(_)
        | QueryOp::UpsertNodes(_)
        | QueryOp::Update { .. }
        | QueryOp::Delete { .. } => Access::Write,
    }
}

/// The tenants `stmt` touches, by name (validated, not looked up): the
/// tenant it names, else `session_tenant` where the statement may use it.
/// Statements over all tenants (SHOW TENANTS, SHOW STATS, SHOW USAGE
/// without `FOR TENANT`) and the tier statements touch none by name.
pub(crate) fn tenants(stmt: &Statement, session_tenant: Option<&str>) -> Result<Vec<String>> {
    if matches!(
        stmt,
        Statement::ShowTenants { .. }
            | Statement::ShowStats
            | Statement::ShowUsage { tenant: None, .. }
            | Statement::ShowApiKeys { tenant: None }
            | Statement::ImportTenant { as_name: None, .. }
            | Statement::CreateTier { .. }
            | Statement::AlterTier { .. }
            | Statement::DropTier { .. }
            | Statement::ShowTiers
    ) {
        return Ok(Vec::new());
    }
    // API key statements always name their tenant; the session's does not
    // apply to them.
    if let Statement::CreateApiKey { tenant }
    | Statement::DropApiKey { tenant, .. }
    | Statement::ShowApiKeys {
        tenant: Some(tenant),
    } = stmt
    {
        names::validate("tenant", tenant)?;
        return Ok(vec![tenant.clone()]);
    }
    let named = named_tenant(stmt);
    let name = session_or(named.map(|n| &**n), session_tenant)?;
    names::validate("tenant", name)
        .map_err(|e| named.map_or(e.clone(), |n| e.with_span(n.span)))?;
    Ok(vec![name.to_string()])
}

/// The tenant `stmt` names, if it names one (not the session's).
pub(crate) fn named_tenant(stmt: &Statement) -> Option<&Name> {
    match stmt {
        Statement::CreateTenant { name, .. }
        | Statement::AlterTenant { name, .. }
        | Statement::ArchiveTenant { name }
        | Statement::RestoreTenant { name }
        | Statement::OffloadTenant { name }
        | Statement::OnloadTenant { name }
        | Statement::AttachTenant { name }
        | Statement::ExportTenant { name, .. }
        | Statement::ImportTenant {
            as_name: Some(name),
            ..
        }
        | Statement::DropTenant { name, .. }
        | Statement::DescribeTenant { name }
        | Statement::UseTenant { name } => Some(name),
        Statement::ShowTenants { .. }
        | Statement::ShowStats
        | Statement::ImportTenant { as_name: None, .. }
        | Statement::CreateApiKey { .. }
        | Statement::ShowApiKeys { .. }
        | Statement::DropApiKey { .. }
        | Statement::CreateTier { .. }
        | Statement::AlterTier { .. }
        | Statement::DropTier { .. }
        | Statement::ShowTiers => None,
        Statement::ShowUsage { tenant, .. }
        | Statement::CreateCollection { tenant, .. }
        | Statement::AlterCollection { tenant, .. }
        | Statement::DropCollection { tenant, .. }
        | Statement::DescribeCollection { tenant, .. }
        | Statement::ShowCollections { tenant } => tenant.as_ref(),
        Statement::Query(q) | Statement::Explain(q) => q.tenant.as_ref(),
    }
}

/// The collection `stmt` names, if it names one.
pub(crate) fn named_collection(stmt: &Statement) -> Option<&Name> {
    match stmt {
        Statement::CreateCollection { name, .. }
        | Statement::AlterCollection { name, .. }
        | Statement::DropCollection { name, .. }
        | Statement::DescribeCollection { name, .. } => Some(name),
        Statement::Query(q) | Statement::Explain(q) => Some(&q.collection),
        _ => None,
    }
}

/// The tier `stmt` names, if it is a tier statement that names one.
pub(crate) fn named_tier(stmt: &Statement) -> Option<&Name> {
    match stmt {
        Statement::CreateTier { name, .. }
        | Statement::AlterTier { name, .. }
        | Statement::DropTier { name, .. } => Some(name),
        _ => None,
    }
}

/// The tenant a statement names, or the session's `USE TENANT`.
pub(crate) fn session_or<'a>(named: Option<&'a str>, session: Option<&'a str>) -> Result<&'a str> {
    named.or(session).ok_or_else(no_tenant)
}

/// The error of a tenant statement without a tenant.
pub(crate) fn no_tenant() -> Error {
    Error::new(
        ErrorKind::NoTenant,
        "no tenant given: add TENANT name to the statement, or run USE TENANT name first",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn plan_of(text: &str, session: Option<&str>) -> Result<(Vec<String>, Access)> {
        let script = parse(text)?;
        let stmt = &script.statements[0].statement;
        Ok((tenants(stmt, session)?, required(stmt)))
    }

    fn access_of(text: &str) -> Access {
        match plan_of(text, Some("s")) {
            Ok((_, a)) => a,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn the_access_table() {
        for admin in [
            "CREATE TENANT a;",
            "DROP TENANT a;",
            "ALTER TENANT a SET max_vectors = 5;",
            "ARCHIVE TENANT a;",
            "RESTORE TENANT a;",
            "OFFLOAD TENANT a;",
            "EXPORT TENANT a TO 'a.pqlt' WITH (usage: true);",
            "IMPORT TENANT FROM 'a.pqlt' AS b REPLACE;",
            "IMPORT TENANT FROM 'a.pqlt';",
            "ONLOAD TENANT a;",
            "ATTACH TENANT a FROM OBJECT STORE;",
            "SHOW TENANTS;",
            "SHOW USAGE;",
            "SHOW STATS;",
            "CREATE TIER gold WITH (max_vectors: 5);",
            "ALTER TIER gold SET max_qps = 2;",
            "DROP TIER gold;",
            "SHOW TIERS;",
        ] {
            assert_eq!(access_of(admin), Access::Admin, "{admin}");
        }
        for write in [
            "CREATE COLLECTION c;",
            "ALTER COLLECTION c SET ef_search = 10;",
            "DROP COLLECTION c;",
            r#"QUERY c CREATE NODE { id: "x" };"#,
            r#"QUERY c CREATE NODES [{ id: "x" }];"#,
            r#"QUERY c UPSERT NODE { id: "x" };"#,
            "QUERY c WHERE a = 1 UPDATE SET a = 2;",
            "QUERY c WHERE a = 1 DELETE;",
        ] {
            assert_eq!(access_of(write), Access::Write, "{write}");
        }
        for read in [
            "QUERY c WHERE a = 1;",
            "QUERY c RETURN COUNT(*);",
            r#"EXPLAIN QUERY c CREATE NODE { id: "x" };"#,
            "SHOW COLLECTIONS;",
            "DESCRIBE TENANT a;",
            "DESCRIBE COLLECTION c TENANT a;",
            "SHOW USAGE FOR TENANT a;",
            "USE TENANT a;",
        ] {
            assert_eq!(access_of(read), Access::Read, "{read}");
        }
    }

    #[test]
    fn tenants_are_named_or_the_sessions() {
        let named = plan_of("QUERY c TENANT acme WHERE a = 1;", Some("other")).unwrap();
        assert_eq!(named.0, vec!["acme".to_string()]);
        let session = plan_of("QUERY c WHERE a = 1;", Some("other")).unwrap();
        assert_eq!(session.0, vec!["other".to_string()]);
        assert!(plan_of("SHOW TENANTS;", Some("other"))
            .unwrap()
            .0
            .is_empty());
        let none = plan_of("QUERY c WHERE a = 1;", None).unwrap_err();
        assert_eq!(none.kind(), &ErrorKind::NoTenant);
        let bad = plan_of(r#"QUERY c TENANT "../x" WHERE a = 1;"#, None);
        assert!(bad.is_err());
    }
}
