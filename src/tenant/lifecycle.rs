//! The lifecycle state machine: the only place that decides which status
//! changes are allowed and what a tenant in each status may do. Every other
//! place (ALTER TENANT, lazy activation, the pool's unloads, ARCHIVE and
//! RESTORE, retention) asks it.
//!
//! The status has two independent parts ([`crate::tenant::status`]):
//! where the data is, and what the tenant may do.
//!
//! ```text
//!  storage:   lazy activation (any statement)
//!   inactive ─────────────────────────────▶ active
//!      ▲  ◀───────────────────────────────  │
//!      │        pool unload / ALTER          │
//!  RESTORE            ARCHIVE (from active or inactive)
//!      │                                     ▼
//!  archived ◀──────────────────────────────────
//!
//!   active | inactive ── OFFLOAD ──▶ offloaded ── ONLOAD / any statement ──▶ active
//!
//!  access:    normal ◀──▶ read_only | suspended | pending_deletion
//!             (ALTER status = ...; 'active'/'inactive' lift it;
//!              pending_deletion is purged after retention_days)
//! ```
//! `archived` is left only by RESTORE, and entered only by ARCHIVE; neither
//! touches the access part, so a restriction outlives them.

use crate::error::{Error, ErrorKind, Result};
use crate::tenant::record::TenantRecord;
use crate::tenant::status::{Access, StatusTarget, Storage};

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
    /// The tenant is offloaded: its data comes back from the object store
    /// first (lazy onload); the restriction stays as it is.
    Onload,
}

/// May a tenant with `storage` and `access` be used for `use_`? The
/// restriction is asked first; the error names the tenant and its status.
pub(crate) fn may_use(name: &str, storage: Storage, access: Access, use_: Use) -> Result<Entry> {
    match access {
        Access::Normal => {}
        Access::ReadOnly if use_ == Use::Read => {}
        Access::ReadOnly => {
            return Err(Error::new(
                ErrorKind::TenantReadOnly,
                format!("Tenant is read-only: {name}"),
            ))
        }
        Access::Suspended => {
            return Err(Error::new(
                ErrorKind::TenantSuspended,
                format!("Tenant is suspended: {name}"),
            ))
        }
        Access::PendingDeletion => {
            return Err(Error::new(
                ErrorKind::TenantPendingDeletion,
                format!("Tenant is pending deletion: {name}"),
            ))
        }
    }
    match storage {
        Storage::Active => Ok(Entry::Ready),
        Storage::Inactive => Ok(Entry::Activate),
        Storage::Offloaded => Ok(Entry::Onload),
        Storage::Archived => Err(Error::new(
            ErrorKind::TenantArchived,
            format!("Tenant is archived: {name}"),
        )),
    }
}

/// What `ALTER TENANT name SET status = 'to'` changes, for a tenant whose
/// data is in `storage`. A restriction can be set or changed wherever the
/// data is; `active`/`inactive` (which also lift a restriction) only while
/// the data is on the local disk.
pub(crate) fn altered(name: &str, storage: Storage, to: &str) -> Result<StatusTarget> {
    let target = StatusTarget::parse(to).ok_or_else(|| {
        Error::invalid_option(format!(
            "unknown status '{to}'; use 'active', 'inactive', 'suspended', 'read_only' or \
             'pending_deletion'"
        ))
    })?;
    match target {
        StatusTarget::Reserved(s) => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "cannot set status to {s}: use {} TENANT {name}",
                if s == Storage::Archived {
                    "ARCHIVE"
                } else {
                    "OFFLOAD"
                }
            ),
        )),
        StatusTarget::Storage(_) if storage == Storage::Archived => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "Tenant is archived: {name}; restore it with RESTORE TENANT {name} before \
                 making it active or inactive"
            ),
        )),
        StatusTarget::Storage(_) if storage == Storage::Offloaded => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "Tenant is offloaded: {name}; bring it back with ONLOAD TENANT {name} before \
                 making it active or inactive"
            ),
        )),
        other => Ok(other),
    }
}

/// Whether `target` unloads the tenant's collections first (they are
/// flushed before the status says "not in memory").
pub(crate) fn unloads(target: StatusTarget) -> bool {
    matches!(
        target,
        StatusTarget::Storage(Storage::Inactive)
            | StatusTarget::Access(Access::Suspended | Access::PendingDeletion)
    )
}

/// Applies `target` (from [`altered`]) to `record` at `now_ms`. A storage
/// target lifts the restriction and its reason; a restriction notes when
/// `pending_deletion` was entered (the retention purge counts from there)
/// and, when it unloads, leaves an active tenant inactive.
pub(crate) fn enter(record: &mut TenantRecord, target: StatusTarget, now_ms: i64) {
    match target {
        StatusTarget::Storage(storage) => {
            record.storage = storage;
            record.access = Access::Normal;
            record.reason = None;
            record.pending_since_ms = None;
        }
        StatusTarget::Access(access) => {
            if access == Access::PendingDeletion && record.access != access {
                record.pending_since_ms = Some(now_ms);
            } else if access != Access::PendingDeletion {
                record.pending_since_ms = None;
            }
            record.access = access;
            if unloads(target) {
                record.storage = after_unload(record.storage);
            }
        }
        StatusTarget::Reserved(_) => {}
    }
    record.updated_at_ms = now_ms;
}

/// Moves `record`'s data to `storage` at `now_ms` (ARCHIVE, RESTORE, the
/// pool, lazy activation). The access part is never touched.
pub(crate) fn move_storage(record: &mut TenantRecord, storage: Storage, now_ms: i64) {
    if record.storage != storage {
        record.storage = storage;
        record.updated_at_ms = now_ms;
    }
}

/// Where the data of a tenant in `storage` is after the pool unloads it:
/// an active tenant becomes inactive; every other state is kept.
pub(crate) fn after_unload(storage: Storage) -> Storage {
    match storage {
        Storage::Active => Storage::Inactive,
        other => other,
    }
}

/// Where the data of a tenant in `storage` is after lazy activation: an
/// inactive tenant becomes active; every other state is kept.
pub(crate) fn activated(storage: Storage) -> Storage {
    match storage {
        Storage::Inactive => Storage::Active,
        other => other,
    }
}

/// May a tenant whose data is in `storage` be archived? Any restriction is
/// kept through the archive.
pub(crate) fn may_archive(name: &str, storage: Storage) -> Result<()> {
    match storage {
        Storage::Active | Storage::Inactive => Ok(()),
        other => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("Tenant is already {other}: {name}"),
        )),
    }
}

/// May a tenant whose data is in `storage` be offloaded? Only local data
/// can; the restriction is kept.
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub(crate) fn may_offload(name: &str, storage: Storage) -> Result<()> {
    match storage {
        Storage::Active | Storage::Inactive => Ok(()),
        other => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("Tenant is {other}: {name}; only a tenant on the local disk can be offloaded"),
        )),
    }
}

/// May a tenant whose data is in `storage` be onloaded?
#[cfg_attr(not(feature = "s3"), allow(dead_code))]
pub(crate) fn may_onload(name: &str, storage: Storage) -> Result<()> {
    match storage {
        Storage::Offloaded => Ok(()),
        other => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!("Tenant is not offloaded: {name} (its data is {other})"),
        )),
    }
}

/// May `record` be restored? Returns the CRC of its archive.
pub(crate) fn may_restore(record: &TenantRecord) -> Result<u32> {
    match (record.storage, record.archive_crc) {
        (Storage::Archived, Some(crc)) => Ok(crc),
        _ => Err(Error::new(
            ErrorKind::InvalidTransition,
            format!(
                "Tenant is not archived: {} (status {}); only an archived tenant can be \
                 restored",
                record.name,
                record.status()
            ),
        )),
    }
}

/// Where a restored tenant's data is: back on disk, not loaded.
pub(crate) const RESTORED: Storage = Storage::Inactive;

/// Whether a tenant with `access` may be purged by the retention rule.
pub(crate) fn purgeable(access: Access) -> bool {
    access == Access::PendingDeletion
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::status::shown;

    const STORAGES: [Storage; 4] = [
        Storage::Active,
        Storage::Inactive,
        Storage::Archived,
        Storage::Offloaded,
    ];
    const ACCESSES: [Access; 4] = [
        Access::Normal,
        Access::ReadOnly,
        Access::Suspended,
        Access::PendingDeletion,
    ];

    fn record() -> TenantRecord {
        TenantRecord::new("t", 1, Default::default(), 0)
    }

    #[test]
    fn what_each_status_may_do() {
        for s in STORAGES {
            for a in ACCESSES {
                let read = may_use("t", s, a, Use::Read);
                let write = may_use("t", s, a, Use::Write);
                let local = match s {
                    Storage::Active => Some(Entry::Ready),
                    Storage::Inactive => Some(Entry::Activate),
                    Storage::Offloaded => Some(Entry::Onload),
                    Storage::Archived => None,
                };
                match a {
                    Access::Normal => assert_eq!((read.ok(), write.ok()), (local, local)),
                    Access::ReadOnly => {
                        assert_eq!(read.ok(), local);
                        assert_eq!(write.unwrap_err().kind(), &ErrorKind::TenantReadOnly);
                    }
                    Access::Suspended => {
                        assert_eq!(read.unwrap_err().kind(), &ErrorKind::TenantSuspended);
                        assert_eq!(write.unwrap_err().kind(), &ErrorKind::TenantSuspended);
                    }
                    Access::PendingDeletion => {
                        assert_eq!(read.unwrap_err().kind(), &ErrorKind::TenantPendingDeletion);
                        assert!(write.is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn archived_is_entered_and_left_only_by_archive_and_restore() {
        for s in STORAGES {
            assert!(altered("t", s, "archived").is_err());
            assert!(altered("t", s, "offloaded").is_err());
        }
        assert!(altered("t", Storage::Archived, "active").is_err());
        assert!(altered("t", Storage::Archived, "inactive").is_err());
        assert!(altered("t", Storage::Offloaded, "active").is_err());
        assert!(altered("t", Storage::Offloaded, "suspended").is_ok());
        assert!(may_offload("t", Storage::Offloaded).is_err());
        assert!(may_offload("t", Storage::Archived).is_err());
        assert!(may_onload("t", Storage::Active).is_err());
        assert!(may_archive("t", Storage::Offloaded).is_err());
        assert!(may_archive("t", Storage::Archived).is_err());
        assert!(may_archive("t", Storage::Inactive).is_ok());
        assert!(altered("t", Storage::Active, "nonsense").is_err());
    }

    /// ARCHIVE then RESTORE keeps a restriction, its reason and its purge
    /// clock; only ALTER to active/inactive lifts it.
    #[test]
    fn archive_and_restore_keep_the_restriction() {
        for a in [Access::ReadOnly, Access::Suspended, Access::PendingDeletion] {
            let mut r = record();
            enter(&mut r, StatusTarget::Access(a), 5);
            r.reason = Some("unpaid".into());
            let pending = r.pending_since_ms;
            may_archive("t", r.storage).unwrap();
            move_storage(&mut r, Storage::Archived, 6);
            assert_eq!(shown(r.storage, r.access), a.name());
            r.archive_crc = Some(1);
            may_restore(&r).unwrap();
            move_storage(&mut r, RESTORED, 7);
            assert_eq!((r.storage, r.access), (Storage::Inactive, a));
            assert_eq!(r.reason.as_deref(), Some("unpaid"));
            assert_eq!(r.pending_since_ms, pending);
            let target = altered("t", r.storage, "active").unwrap();
            enter(&mut r, target, 8);
            assert_eq!(
                (r.storage, r.access, r.reason),
                (Storage::Active, Access::Normal, None)
            );
        }
    }

    /// A restriction can be set on an archived tenant, and it stays archived.
    #[test]
    fn a_restriction_can_be_set_wherever_the_data_is() {
        let mut r = record();
        move_storage(&mut r, Storage::Archived, 1);
        let target = altered("t", r.storage, "suspended").unwrap();
        enter(&mut r, target, 2);
        assert_eq!(
            (r.storage, r.access),
            (Storage::Archived, Access::Suspended)
        );
        assert_eq!(r.status(), "suspended");
    }

    #[test]
    fn pending_deletion_remembers_when_it_started() {
        let mut r = record();
        enter(&mut r, StatusTarget::Access(Access::PendingDeletion), 5);
        enter(&mut r, StatusTarget::Access(Access::PendingDeletion), 9);
        assert_eq!(r.pending_since_ms, Some(5));
        assert_eq!(r.storage, Storage::Inactive, "pending_deletion unloads");
        enter(&mut r, StatusTarget::Storage(Storage::Active), 10);
        assert_eq!(r.pending_since_ms, None);
        assert_eq!(after_unload(Storage::Active), Storage::Inactive);
        assert_eq!(after_unload(Storage::Archived), Storage::Archived);
        assert_eq!(activated(Storage::Inactive), Storage::Active);
    }
}
