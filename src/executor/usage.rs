//! Quotas and metering around every data statement (`QUERY`, `EXPLAIN`):
//! admission (rate windows, concurrency permit, `TOP`/batch maxima) before
//! it runs, and its usage added to the tenant's counters after.
//!
//! The executor's write and search code report what they did through
//! [`note`] (a thread-local tally, since a statement runs on one thread);
//! [`metered`] moves the tally into the tenant's atomic counters.

use std::cell::Cell;
use std::time::Instant;

use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::executor::{resolve_tenant, Context};
use crate::parser::ast::{Query, QueryOp};
use crate::result::QueryResult;
use crate::storage::dir_size;
use crate::tenant::quota::check_max;
use crate::tenant::usage::{Metric, N};
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

/// Counts the tenant's stored nodes if not counted yet (before any
/// collection lock is taken), and its folder size with them.
pub(crate) fn ensure_counted(tenant: &Tenant) -> Result<()> {
    tenant.quota.ensure_counted(|| {
        tenant.quota.set_storage_bytes(dir_size(&tenant.dir));
        Ok(tenant.collection_infos()?.iter().map(|(_, n)| n).sum())
    })
}

/// Checks the limits a statement can be judged by before it runs.
fn admit_checks(tenant: &Tenant, q: &Query) -> Result<()> {
    let limits = tenant.quota.limits();
    match &q.op {
        QueryOp::CreateNodes(ns) | QueryOp::UpsertNodes(ns) => check_max(
            "batch_size",
            "Batch size exceeds limit",
            ns.len() as u64,
            limits.max_batch_size,
        )?,
        QueryOp::Select(s) => {
            if let Some(l) = s.limit {
                check_max(
                    "results",
                    "Query limit exceeds maximum",
                    l.count(),
                    limits.max_results_per_query,
                )?;
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

/// Runs data statement `q` through `run` under the tenant's quotas, and
/// meters it.
pub(super) fn metered(
    ctx: &mut Context<'_>,
    q: &Query,
    run: impl FnOnce(&mut Context<'_>, &Query) -> Result<QueryResult>,
) -> Result<QueryResult> {
    let tenant = resolve_tenant(ctx, q.tenant.as_deref())?;
    let start = Instant::now();
    take_tally();
    let outcome = tenant.quota.admit().and_then(|_permit| {
        admit_checks(&tenant, q)?;
        run(ctx, q)
    });
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
    let counters = tenant.quota.usage(&ctx.engine.metering, &tenant.name);
    if outcome.is_ok() && !matches!(q.op, QueryOp::Select(_)) {
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
