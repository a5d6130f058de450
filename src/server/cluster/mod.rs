//! Cluster mode in the server (docs/cluster.md): joining the cluster, the
//! heartbeat, and `GET /v1/cluster` (here); the leases this node holds
//! (`owners`); routing each tenant request to its owner (`route`) and
//! forwarding it there (`proxy`). The node itself is
//! [`crate::cluster::Node`]; `pql serve --node-id` builds it.

mod owners;
mod proxy;
mod route;

pub use owners::Membership;
pub(crate) use route::route;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use super::auth;
use super::errors::ApiError;
use super::state::Shared;

/// Registers the node in the bucket and starts its heartbeat, every third
/// of its lease time, for as long as the runtime runs; each beat renews the
/// leases the node holds. A node id in use by a live node is refused here.
/// `pql serve` calls this before it prints its `listening on` line, so a
/// node that says it listens is already in the cluster; call it before
/// [`serve`](super::serve) when building a server in code.
pub async fn join(member: &Arc<Membership>) -> std::io::Result<()> {
    member
        .node
        .join()
        .await
        .map_err(|e| std::io::Error::other(e.message().to_string()))?;
    let beating = member.clone();
    let every = member.node.lease_time() / 3;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = beating.node.heartbeat().await {
                eprintln!("pql serve: cluster heartbeat failed: {}", e.message());
            }
            beating.renew_all().await;
        }
    });
    Ok(())
}

/// `GET /v1/cluster` (admin key): this node, and every node in the bucket
/// with its heartbeat age, whether it is live, and the tenants whose live
/// lease it holds.
pub(crate) async fn cluster(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    auth::admin(&auth::scope(&state, &headers).await?)?;
    let Some(member) = &state.options.cluster else {
        return Err(ApiError::http(
            StatusCode::NOT_FOUND,
            "NotClustered",
            "cluster.disabled",
            "this server is not in cluster mode (start it with --node-id)",
        ));
    };
    let node = &member.node;
    let nodes = node.nodes().await.map_err(ApiError::from)?;
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for lease in node.leases().await.map_err(ApiError::from)? {
        if lease.is_live() {
            owned.entry(lease.owner).or_default().push(lease.tenant);
        }
    }
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|n| {
            json!({
                "node": n.node,
                "address": n.address,
                "heartbeat_age_ms": n.heartbeat_age_ms(),
                "live": n.is_live(),
                "tenants": owned.remove(&n.node).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({
        "node": node.id(),
        "lease_ms": node.lease_time().as_millis() as u64,
        "nodes": nodes,
    })))
}
