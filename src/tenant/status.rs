//! The two parts of a tenant's status: where its data is ([`Storage`]) and
//! what it may do ([`Access`]). They are independent: ARCHIVE, RESTORE,
//! OFFLOAD and onload move the storage and never the access, so archiving a
//! suspended tenant cannot lift its suspension.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a tenant's data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Storage {
    /// On the local disk, may be loaded.
    Active,
    /// On the local disk, not loaded (the next statement activates it).
    Inactive,
    /// Packed into one archive file (locally, or in the object store).
    Archived,
    /// In the object store only (the next statement onloads it).
    Offloaded,
}

/// What a tenant may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Access {
    /// No restriction.
    Normal,
    /// Reads only.
    ReadOnly,
    /// Nothing.
    Suspended,
    /// Nothing; purged after `retention_days`.
    PendingDeletion,
}

impl Storage {
    /// The name shown in `status` and `storage`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Storage::Active => "active",
            Storage::Inactive => "inactive",
            Storage::Archived => "archived",
            Storage::Offloaded => "offloaded",
        }
    }
}

impl Access {
    /// The name shown in `status` and `access`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Access::Normal => "normal",
            Access::ReadOnly => "read_only",
            Access::Suspended => "suspended",
            Access::PendingDeletion => "pending_deletion",
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value of `ALTER TENANT t SET status = '...'`: it sets one of the two
/// parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusTarget {
    /// `active` / `inactive`: the storage, and the restriction is lifted.
    Storage(Storage),
    /// `read_only` / `suspended` / `pending_deletion`: the restriction.
    Access(Access),
    /// `archived` / `offloaded`: only ARCHIVE / OFFLOAD enter these.
    Reserved(Storage),
}

impl StatusTarget {
    /// Parses a status name (case-insensitive).
    pub(crate) fn parse(s: &str) -> Option<StatusTarget> {
        Some(match s.to_ascii_lowercase().as_str() {
            "active" => StatusTarget::Storage(Storage::Active),
            "inactive" => StatusTarget::Storage(Storage::Inactive),
            "archived" => StatusTarget::Reserved(Storage::Archived),
            "offloaded" => StatusTarget::Reserved(Storage::Offloaded),
            "suspended" => StatusTarget::Access(Access::Suspended),
            "read_only" | "readonly" => StatusTarget::Access(Access::ReadOnly),
            "pending_deletion" => StatusTarget::Access(Access::PendingDeletion),
            _ => return None,
        })
    }
}

/// The one-column `status`: the restriction when there is one, else where
/// the data is.
pub(crate) fn shown(storage: Storage, access: Access) -> &'static str {
    match access {
        Access::Normal => storage.name(),
        restricted => restricted.name(),
    }
}
