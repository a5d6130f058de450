//! A node fenced out of a tenant drops its copy of it (docs/cluster.md,
//! "A fenced node drops its copy"): once it learns that another node took
//! the tenant over (its log append was refused as fenced, or it found the
//! tenant's lease another node's in a later epoch), it closes the tenant
//! here, records it `offloaded` and removes its local folder, as a take-in
//! discards an older copy. The bucket holds the truth: the checkpoint the
//! new owner's lease names plus the log after it hold every write this
//! node acknowledged, since each was in the log before its ack.

use std::sync::Arc;

use super::Membership;
use crate::error::{Error, Result};
use crate::Engine;

/// Drops this node's copy of `tenant`, whose lease it held in `epoch`, in
/// the background, if another node took the tenant over since
/// ([`drop_if_fenced`]). The outcome is logged.
pub(super) fn drop_later(member: &Arc<Membership>, engine: &Engine, tenant: &str, epoch: u64) {
    let (member, engine, tenant) = (member.clone(), engine.clone(), tenant.to_string());
    tokio::spawn(async move {
        match drop_if_fenced(&member, &engine, &tenant, epoch).await {
            Ok(true) => eprintln!(
                "pql serve: tenant {tenant} was taken over by another node: dropped its \
                 local copy (the bucket has its data)"
            ),
            Ok(false) => {}
            Err(e) => eprintln!(
                "pql serve: cannot drop the local copy of tenant {tenant}, taken over by \
                 another node: {}",
                e.message()
            ),
        }
    });
}

/// Drops this node's copy of `tenant`, whose lease it held in `epoch`:
/// with the tenant's requests here finished and new ones held back, and
/// only if this node does not hold the tenant again, the lease names
/// another node in a later epoch and a checkpoint, and the bucket's
/// manifest is still that checkpoint's copy (then the new owner took the
/// tenant over from it and the log; a node that took the lease but found
/// no such copy gives it back to this node instead, and this node's copy
/// is kept). Returns whether the copy was dropped.
async fn drop_if_fenced(
    member: &Membership,
    engine: &Engine,
    tenant: &str,
    epoch: u64,
) -> Result<bool> {
    let _closed = member.close(tenant).await;
    if !member.forget_fenced(tenant, epoch) {
        return Ok(false);
    }
    let checkpoint = match member.node.lease(tenant).await? {
        Some(lease) if lease.owner != member.node.id() && lease.epoch > epoch => {
            match lease.checkpoint {
                Some(checkpoint) => checkpoint,
                None => return Ok(false),
            }
        }
        _ => return Ok(false),
    };
    let (engine, name) = (engine.clone(), tenant.to_string());
    tokio::task::spawn_blocking(move || {
        engine
            .inner()
            .catalog
            .drop_stale(&name, &checkpoint.generation_id)
    })
    .await
    .map_err(|e| Error::io("dropping a fenced copy", e))?
}
