//! Cluster mode in the server (docs/cluster.md): joining the cluster, the
//! heartbeat, `GET /v1/cluster` and `POST /v1/cluster/tenants/<t>/move`
//! (here); the leases this node holds, taking tenants in and handing them
//! over (`owners`); routing each tenant request to its owner (`route`) and
//! forwarding it there (`proxy`); each write appended to its tenant's log
//! in the bucket before the answer, and the log replayed by a node taking
//! a tenant over (`log`), with concurrent writers' records grouped into
//! one log entry (`group`); tenant API keys in the bucket, so that every
//! node knows every key (`keys`); tenant records and tier templates in the
//! bucket, so that every node lists every tenant and tier (`registry`); a
//! node fenced out of a tenant dropping its copy of it (`fenced`). The node
//! itself is
//! [`crate::cluster::Node`]; `pql serve --node-id` builds it.

mod fenced;
mod group;
pub(crate) mod keys;
pub(crate) mod log;
mod owners;
mod proxy;
pub(crate) mod registry;
mod route;

pub use owners::{Membership, DEFAULT_CHECKPOINT_EVERY};
pub(crate) use route::route;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::state::{AppState, Shared};
use super::{auth, body};
use crate::error::Error;
use crate::value::Value::{Bool, Str};
use crate::{Plan, QueryResult};

/// Registers the node in the bucket and starts its heartbeat, every third
/// of its lease time, for as long as the runtime runs; the heartbeat keeps
/// every lease the node holds (`LeaseRecord::backed`), with one write. A node id in use by a live node is refused here.
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
    let lease = member.node.lease_time();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            // Silent for the lease time: the leases may be another node's
            // now. Forgotten before the heartbeat makes this node look
            // live again, so each is checked in the bucket before use.
            if beating.node.beat_age() >= lease {
                beating.forget_held();
            }
            if let Err(e) = beating.node.heartbeat().await {
                eprintln!("pql serve: cluster heartbeat failed: {}", e.message());
            }
        }
    });
    Ok(())
}

/// `GET /v1/cluster` (admin key): this node, and every node in the bucket
/// with its heartbeat age, whether it is live, whether it is ready (a live
/// node whose `/readyz` answers 200 within a second), the tenants whose
/// live lease it holds, and the last log number of each one's checkpoint.
pub(crate) async fn cluster(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    auth::admin(&auth::scope(&state, &headers).await?)?;
    let node = &member_of(&state)?.node;
    let nodes = node.nodes().await.map_err(ApiError::from)?;
    let mut owned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checkpoints: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for lease in node.leases().await.map_err(ApiError::from)? {
        let owner = nodes.iter().find(|n| n.node == lease.owner);
        if lease.is_live_with(owner) {
            if let Some(c) = &lease.checkpoint {
                checkpoints
                    .entry(lease.owner.clone())
                    .or_default()
                    .insert(lease.tenant.clone(), c.seq);
            }
            owned.entry(lease.owner).or_default().push(lease.tenant);
        }
    }
    let member = member_of(&state)?;
    let ready = futures::future::join_all(
        nodes
            .iter()
            .map(|n| async { n.is_live() && proxy::is_ready(member, &n.address).await }),
    )
    .await;
    let nodes: Vec<Value> = nodes
        .into_iter()
        .zip(ready)
        .map(|(n, ready)| {
            json!({
                "node": n.node,
                "address": n.address,
                "heartbeat_age_ms": n.heartbeat_age_ms(),
                "live": n.is_live(),
                "ready": ready,
                "tenants": owned.remove(&n.node).unwrap_or_default(),
                "checkpoints": checkpoints.remove(&n.node).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({
        "node": node.id(),
        "lease_ms": node.lease_time().as_millis() as u64,
        "nodes": nodes,
    })))
}

/// This node's membership; 404 `cluster.disabled` for a single node.
fn member_of(state: &Shared) -> Result<&Arc<Membership>, ApiError> {
    state.options.cluster.as_ref().ok_or_else(|| {
        ApiError::http(
            StatusCode::NOT_FOUND,
            "NotClustered",
            "cluster.disabled",
            "this server is not in cluster mode (start it with --node-id)",
        )
    })
}

/// The body of a move.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Move {
    /// The node to move the tenant to.
    node: String,
}

/// `POST /v1/cluster/tenants/<t>/move` `{"node": "n2"}` (admin key): a
/// planned hand-over ([`move_to`]). The routing brings the request to the
/// tenant's owner (taking the lease here if no node holds it), without
/// entering the tenant's gate: the hand-over closes it.
pub(crate) async fn move_tenant(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    request: Body,
) -> Result<Json<Value>, ApiError> {
    auth::admin(&auth::scope(&state, &headers).await?)?;
    let member = member_of(&state)?;
    let wanted: Move = body::read_json(&state, &headers, request).await?;
    crate::tenant::names::validate("node", &wanted.node)?;
    let moved = move_to(&state, member, &tenant, &wanted.node).await?;
    Ok(Json(json!({
        "tenant": tenant,
        "node": moved.node,
        "address": moved.address,
        "moved": moved.moved,
    })))
}

/// Where a move left a tenant.
pub(crate) struct Moved {
    /// The node that holds the tenant now.
    pub(crate) node: String,
    /// Its advertised address.
    pub(crate) address: String,
    /// False if the tenant was on that node already.
    pub(crate) moved: bool,
}

/// Moves `tenant`, whose lease this node holds (the request was routed
/// here), to node `to` (a valid node name), for the move endpoint and
/// `ALTER TENANT t SET node = 'n2'`: waits for the tenant's requests in
/// flight, holds new ones back, puts the tenant in the bucket and grants
/// its lease to the live node `to`; the requests held back then go to
/// `to`, which brings the tenant in from the bucket. A move to this node
/// changes nothing; 404 `cluster.unknown_node` if `to` is not a live node.
/// Call it outside the tenant's gate.
pub(crate) async fn move_to(
    state: &Shared,
    member: &Membership,
    tenant: &str,
    to: &str,
) -> Result<Moved, ApiError> {
    if to == member.node.id() {
        return Ok(Moved {
            node: to.to_string(),
            address: member.node.address().to_string(),
            moved: false,
        });
    }
    let nodes = member.node.nodes().await?;
    let Some(to) = nodes.iter().find(|n| n.node == to && n.is_live()) else {
        return Err(ApiError::http(
            StatusCode::NOT_FOUND,
            "NodeNotFound",
            "cluster.unknown_node",
            format!("no live node {to:?} in the cluster (GET /v1/cluster lists them)"),
        ));
    };
    member.hand_over(state, tenant, Some(to)).await?;
    Ok(Moved {
        node: to.node.clone(),
        address: to.address.clone(),
        moved: true,
    })
}

/// The move `plans` ask for, `ALTER TENANT t SET node = 'n'`, as `(t, n)`,
/// when this server is a cluster node: it must be the only statement of
/// its request (after `X-Tenant-ID`'s `USE TENANT`, the first `offset`
/// plans) and sent as PQL text (`POST /v1/query`), else 400 and nothing
/// runs. `None` when no plan moves a tenant, or on a single node (whose
/// executor refuses the statement).
pub(crate) fn planned_move(
    state: &AppState,
    plans: &[Plan<'_>],
    offset: usize,
    text: bool,
) -> Result<Option<(String, String)>, ApiError> {
    if state.options.cluster.is_none() {
        return Ok(None);
    }
    let Some(plan) = plans.iter().find(|p| p.moves_to().is_some()) else {
        return Ok(None);
    };
    let refuse = |why: &str| Err(ApiError::from(Error::unsupported(why.to_string())));
    if !text {
        return refuse(
            "node is not a tenant option here: move a tenant with POST \
             /v1/cluster/tenants/<t>/move or ALTER TENANT t SET node = 'n2' through POST \
             /v1/query",
        );
    }
    if plans.len() != offset + 1 {
        return refuse(
            "ALTER TENANT ... SET node must be the only statement of its request: send the \
             other statements in a request of their own",
        );
    }
    match (plan.tenant(), plan.moves_to()) {
        (Some(tenant), Some(node)) => Ok(Some((tenant.to_string(), node.to_string()))),
        _ => Ok(None),
    }
}

/// Runs the move `ALTER TENANT tenant SET node = 'node'` asked for
/// ([`planned_move`]), as the move endpoint does ([`move_to`]); its result
/// is one row `tenant, node, address, moved`.
pub(crate) async fn move_statement(
    state: &Shared,
    tenant: &str,
    node: &str,
) -> Result<QueryResult, ApiError> {
    let member = member_of(state)?;
    let started = std::time::Instant::now();
    let moved = move_to(state, member, tenant, node).await?;
    let mut result = QueryResult::rows(
        ["tenant", "node", "address", "moved"]
            .map(String::from)
            .to_vec(),
        vec![vec![
            Str(tenant.to_string()),
            Str(moved.node.clone()),
            Str(moved.address),
            Bool(moved.moved),
        ]],
    );
    result.message = Some(if moved.moved {
        format!("Tenant {tenant} moved to node {}", moved.node)
    } else {
        format!("Tenant {tenant} is on node {} already", moved.node)
    });
    result.elapsed = started.elapsed();
    Ok(result)
}
