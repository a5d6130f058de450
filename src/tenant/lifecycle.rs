//! The lifecycle state machine: the only place that decides which status
//! changes are allowed and what a tenant in each status may do. Every other
//! place (ALTER TENANT, lazy activation, the pool's unloads, ARCHIVE and
//! RESTORE, retention) asks it.
//!
//! ```text
//!            lazy activation (any statement)
//!   inactive ─────────────────────────────▶ active
//!      ▲  ◀───────────────────────────────   │
//!      │        pool unload / ALTER           │ ALTER status = read_only |
//!      │                                      ▼ suspended | pending_deletion
//!  RESTORE            ARCHIVE (any          read_only, suspended,
//!      │             other status)          pending_deletion (purged after
//!  archived ◀──────────────────────────      retention_days)
//! ```
//! `archived` is left only by RESTORE, and entered only by ARCHIVE.

use crate::error::{Error, ErrorKind, Result};
use crate::tenant::record::{Status, TenantRecord};

/// What a statement does with a tenant's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Reads data.
    Read,
    /// Changes data.
    Write,
}

/// Whether a statement may go on, and what must happen first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The tenant is ready.
    Ready,
    /// The tenant is inactive: it becomes active (lazy activation).
    Activate,
}

/// May a tenant in `status` be used for `use_`? The error names the
/// tenant and its status.
pub(crate) fn may_use(name: &str, status: Status, use_: Use) -> Result<Entry> {
    match status {
        Status::Active => Ok(Entry::Ready),
        Status::Inactive => Ok(Entry::Activate),
        Status::ReadOnly if use_ == Use::Read => Ok(Entry::Ready),
        Status::ReadOnly => Err(Error::new(
            ErrorKind::TenantReadOnly,
            format!("Tenant is read-only: {name}"),
        )),
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

/// The status `ALTER TENANT name SET status = 'to'` leads to from `from`.
pub(crate) fn altered(name: &str, from: Status, to: &str) -> Result<Status> {
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

/// Whether entering `status` unloads the tenant's collections first (they
/// are flushed before the status says "not in memory").
pub(crate) fn unloads(status: Status) -> bool {
    matches!(
        status,
        Status::Inactive | Status::Suspended | Status::PendingDeletion
    )
}

/// Moves `record` to `status` at `now_ms`, noting when `pending_deletion`
/// was entered (the retention purge counts from there).
pub(crate) fn enter(record: &mut TenantRecord, status: Status, now_ms: i64) {
    if status == Status::PendingDeletion && record.status != status {
        record.pending_since_ms = Some(now_ms);
    } else if status != Status::PendingDeletion {
        record.pending_since_ms = None;
    }
    record.status = status;
    record.updated_at_ms = now_ms;
}

/// The status a tenant in `status` takes when the pool unloads it: an
/// active tenant becomes inactive; every other status is kept.
pub(crate) fn after_unload(status: Status) -> Status {
    match status {
        Status::Active => Status::Inactive,
        other => other,
    }
}

/// The status a tenant in `status` takes on lazy activation: an inactive
/// tenant becomes active; every other status is kept.
pub(crate) fn activated(status: Status) -> Status {
    match status {
        Status::Inactive => Status::Active,
        other => other,
    }
}

/// May a tenant in `status` be archived?
pub(crate) fn may_archive(name: &str, status: Status) -> Result<()> {
    if status == Status::Archived {
        return Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("Tenant is already archived: {name}"),
        ));
    }
    Ok(())
}

/// May `record` be restored? Returns the CRC of its archive.
pub(crate) fn may_restore(record: &TenantRecord) -> Result<u32> {
    match (record.status, record.archive_crc) {
        (Status::Archived, Some(crc)) => Ok(crc),
        _ => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "Tenant is not archived: {} (status {}); only an archived tenant can be \
                 restored",
                record.name, record.status
            ),
        )),
    }
}

/// The status a restored tenant gets: its data is back on disk, not loaded.
pub(crate) const RESTORED: Status = Status::Inactive;

/// Whether a tenant in `status` may be purged by the retention rule.
pub(crate) fn purgeable(status: Status) -> bool {
    status == Status::PendingDeletion
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Status; 6] = [
        Status::Active,
        Status::Inactive,
        Status::Archived,
        Status::Suspended,
        Status::ReadOnly,
        Status::PendingDeletion,
    ];

    #[test]
    fn what_each_status_may_do() {
        for s in ALL {
            let read = may_use("t", s, Use::Read);
            let write = may_use("t", s, Use::Write);
            match s {
                Status::Active => assert_eq!(
                    (read.ok(), write.ok()),
                    (Some(Entry::Ready), Some(Entry::Ready))
                ),
                Status::Inactive => {
                    assert_eq!(
                        (read.ok(), write.ok()),
                        (Some(Entry::Activate), Some(Entry::Activate))
                    )
                }
                Status::ReadOnly => {
                    assert_eq!(read.ok(), Some(Entry::Ready));
                    assert_eq!(write.unwrap_err().kind(), &ErrorKind::TenantReadOnly);
                }
                _ => assert!(read.is_err() && write.is_err(), "{s}"),
            }
        }
    }

    #[test]
    fn archived_is_entered_and_left_only_by_archive_and_restore() {
        for s in ALL {
            assert!(altered("t", s, "archived").is_err());
            assert!(altered("t", Status::Archived, s.name()).is_err());
        }
        assert!(may_archive("t", Status::Archived).is_err());
        assert!(may_archive("t", Status::Suspended).is_ok());
        assert!(altered("t", Status::Active, "nonsense").is_err());
    }

    #[test]
    fn pending_deletion_remembers_when_it_started() {
        let mut r = TenantRecord {
            name: "t".into(),
            status: Status::Active,
            options: Default::default(),
            created_at_ms: 0,
            updated_at_ms: 0,
            archive_crc: None,
            pending_since_ms: None,
            last_accessed_ms: None,
        };
        enter(&mut r, Status::PendingDeletion, 5);
        enter(&mut r, Status::PendingDeletion, 9);
        assert_eq!(r.pending_since_ms, Some(5));
        enter(&mut r, Status::Active, 10);
        assert_eq!(r.pending_since_ms, None);
        assert_eq!(after_unload(Status::Active), Status::Inactive);
        assert_eq!(after_unload(Status::Suspended), Status::Suspended);
    }
}
