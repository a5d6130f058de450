//! `pql serve --node-id NAME`: the cluster flags (docs/cluster.md), checked
//! before the server starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use pql::cluster::{ClusterStore, Node};
use pql::server::{Membership, DEFAULT_CHECKPOINT_EVERY};
use pql::Config;

/// Shortest `--lease-ms`: below it, a heartbeat or a renewal on a loaded
/// store could not keep up.
const MIN_LEASE_MS: u64 = 100;

/// Cluster flags of `pql serve`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Join a cluster as this node (needs an s3:// --object-store): nodes
    /// find each other, and share tenants, through the bucket
    #[arg(long, value_name = "NAME")]
    node_id: Option<String>,

    /// The URL the other nodes reach this one at [default: http:// and the
    /// address it listens on]
    #[arg(long, value_name = "URL", requires = "node_id")]
    advertise: Option<String>,

    /// How long a node's leases (and heartbeat) last, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5000, requires = "node_id")]
    lease_ms: u64,

    /// File holding the secret the nodes share (its first line, at least
    /// 16 characters): requests forwarded between nodes carry it. Required
    /// with --node-id
    #[arg(long, value_name = "FILE", requires = "node_id")]
    cluster_secret_file: Option<PathBuf>,

    /// Checkpoint a tenant (a copy in the bucket that a take-over starts
    /// from, its log up to there deleted) once its log has grown by this
    /// many entries since the last checkpoint; 0 turns off every automatic
    /// checkpoint (also at a tenant's creation, import and first lease)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHECKPOINT_EVERY, requires = "node_id")]
    checkpoint_every: u64,
}

/// What `open_store` checked: the store and the secret.
pub struct Opened {
    store: Arc<ClusterStore>,
    secret: String,
}

/// The cluster's store, opened before the server's runtime starts (it
/// blocks), and the secret: `None` without `--node-id`. A missing or
/// `file://` object store, a missing or short secret, and a bad
/// `--lease-ms` or `--advertise` are refused.
pub fn open_store(args: &ClusterArgs, config: &Config) -> Result<Option<Opened>, String> {
    let Some(id) = &args.node_id else {
        return Ok(None);
    };
    let Some(store) = &config.object_store else {
        return Err(format!(
            "--node-id {id} needs an s3:// object store (--object-store or PQL_OBJECT_STORE)"
        ));
    };
    if args.lease_ms < MIN_LEASE_MS {
        return Err(format!("--lease-ms must be at least {MIN_LEASE_MS}"));
    }
    if config.offload_after.is_some() {
        return Err(format!(
            "--node-id {id}: the idle-offload policy (--offload-idle, PQL_OFFLOAD_IDLE) is \
             not available in cluster mode: its uploads are not checkpoints a take-over can \
             continue from; offload with OFFLOAD TENANT, which records one"
        ));
    }
    if let Some(url) = &args.advertise {
        check_advertise(url)?;
    }
    let store =
        ClusterStore::open(store).map_err(|e| format!("--node-id {id}: {}", e.message()))?;
    let secret = secret(args)?;
    Ok(Some(Opened {
        store: Arc::new(store),
        secret,
    }))
}

/// The first line of `--cluster-secret-file`.
fn secret(args: &ClusterArgs) -> Result<String, String> {
    let Some(path) = &args.cluster_secret_file else {
        return Err("--node-id needs --cluster-secret-file (the secret the nodes share)".into());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read cluster secret file {}: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.len() < 16 || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(
            "the cluster secret must be at least 16 visible ASCII characters, without spaces"
                .into(),
        );
    }
    Ok(secret)
}

/// This node's membership, once the server listens on `addr`.
pub fn member(
    args: &ClusterArgs,
    opened: Opened,
    addr: SocketAddr,
) -> Result<Arc<Membership>, String> {
    let id = args.node_id.as_deref().unwrap_or_default();
    let address = match &args.advertise {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{addr}"),
    };
    let lease = Duration::from_millis(args.lease_ms);
    let node = Node::new(opened.store, id, &address, lease)
        .map_err(|e| format!("--node-id: {}", e.message()))?;
    Membership::new(Arc::new(node), opened.secret)
        .map(|m| Arc::new(m.with_checkpoint_every(args.checkpoint_every)))
        .map_err(|e| format!("--node-id: {}", e.message()))
}

/// `http://HOST:PORT` or `https://HOST:PORT`, nothing after.
fn check_advertise(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("--advertise {url:?}: expected http://HOST:PORT"))?;
    let host_port = rest.trim_end_matches('/');
    let ok = host_port
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        && !host_port.contains('/');
    if ok {
        Ok(())
    } else {
        Err(format!("--advertise {url:?}: expected http://HOST:PORT"))
    }
}
