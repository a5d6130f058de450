//! Retention purge: a tenant in `pending_deletion` whose `retention_days`
//! have passed since it entered that status is dropped, data and all.
//! Checked when the engine opens and by the periodic pass of the pool.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::tenant::lifecycle;
use crate::tenant::record::TenantRecord;
use crate::tenant::Catalog;
use crate::value::Value;

/// Milliseconds in a day.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// When `record` is due for purging (ms since the epoch), if it ever is: in
/// `pending_deletion` with a `retention_days` among its effective
/// `options` (its own, or its tier's).
pub(crate) fn purge_due_ms(
    record: &TenantRecord,
    options: &BTreeMap<String, Value>,
) -> Option<i64> {
    if !lifecycle::purgeable(record.access) {
        return None;
    }
    let days = match options.get("retention_days") {
        Some(Value::Int(d)) => *d,
        _ => return None,
    };
    let since = record.pending_since_ms.unwrap_or(record.updated_at_ms);
    Some(since.saturating_add(days.saturating_mul(DAY_MS)))
}

impl Catalog {
    /// Drops every tenant whose retention has passed at `now_ms`; returns
    /// their names.
    pub(crate) fn purge_expired(&self, now_ms: i64) -> Result<Vec<String>> {
        let mut purged = Vec::new();
        for tenant in self.list() {
            let record = tenant.record();
            let due = purge_due_ms(&record, &self.effective_options(&record.options));
            if due.is_some_and(|due| due <= now_ms) && self.drop_tenant(&tenant.name)? {
                purged.push(tenant.name.clone());
            }
        }
        Ok(purged)
    }
}
