//! Metering around every data statement (`QUERY`, `EXPLAIN`): its usage,
//! and its refusal if admission refused it, added to the tenant's counters.
//!
//! The executor's write and search code report what they did through
//! [`note`] (a thread-local tally, since a statement runs on one thread);
//! [`metered`] moves the tally into the tenant's atomic counters.

use std::cell::Cell;
use std::time::Instant;

use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::result::QueryResult;
use crate::storage::dir_size;
use crate::tenant::usage::{Metering, Metric, N};
use crate::tenant::Tenant;

thread_local! {
    /// What the running statement did so far, by [`Metric`].
    static TALLY: [Cell<u64>; N] = Default::default();
}

/// Adds `n` to `metric` of the statement running on this thread.
pub(crate) fn note(metric: Metric, n: u64) {
    TALLY.with(|t| {
        let c = &t[metric as usize];
        c.set(c.get().saturating_add(n));
    });
}

/// Embeds `texts` through the embedder's metering hook
/// ([`Embedder::embed_counted`]) and notes the tokens it read: one vector
/// per text, in order, or an error.
pub(super) fn embed_metered(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let embedded = embedder.embed_counted(texts)?;
    if embedded.len() != texts.len() {
        return Err(Error::io(
            format!("embedder {}", embedder.name()),
            format!(
                "returned {} vectors for {} texts",
                embedded.len(),
                texts.len()
            ),
        ));
    }
    note(
        Metric::EmbeddingTokens,
        embedded.iter().map(|e| e.tokens).sum(),
    );
    Ok(embedded.into_iter().map(|e| e.vector).collect())
}

/// Takes this thread's tally, leaving zero.
fn take_tally() -> [u64; N] {
    TALLY.with(|t| std::array::from_fn(|i| t[i].take()))
}

/// Runs data statement `run` (admission included) on `tenant` and meters
/// it: its tally, its compute time, a refusal by kind, and for a statement
/// that `writes`, the tenant's storage.
pub(super) fn metered(
    metering: &Metering,
    tenant: &Tenant,
    writes: bool,
    run: impl FnOnce() -> Result<QueryResult>,
) -> Result<QueryResult> {
    let start = Instant::now();
    take_tally();
    let outcome = run();
    let mut tally = take_tally();
    tally[Metric::Statements as usize] = 1;
    tally[Metric::ComputeMicros as usize] = start.elapsed().as_micros() as u64;
    if let Err(e) = &outcome {
        let m = match e.kind() {
            ErrorKind::RateLimited { .. } => Metric::RateLimited,
            ErrorKind::QuotaExceeded { .. } => Metric::QuotaExceeded,
            _ => Metric::Errors,
        };
        tally[m as usize] += 1;
    }
    let counters = tenant.quota.usage(metering, &tenant.usage_key);
    if outcome.is_ok() && writes {
        let bytes = dir_size(&tenant.dir);
        tenant.quota.set_storage_bytes(bytes);
        counters.set_storage(bytes);
    } else if counters.storage() == 0 {
        // A process that only reads must not report the tenant's storage as
        // 0: start the gauge from the folder's size (measured once, then
        // kept current by writes).
        let bytes = match tenant.quota.storage_bytes() {
            0 => dir_size(&tenant.dir),
            known => known,
        };
        counters.set_storage(bytes);
    }
    counters.add_all(&tally);
    outcome
}
