//! `pql serve --node-id NAME`: the cluster flags (docs/cluster.md), checked
//! before the server starts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use pql::cluster::{ClusterStore, Node};
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
}

/// The cluster's store, opened before the server's runtime starts (it
/// blocks): `None` without `--node-id`. A missing or `file://` object store
/// and a bad `--lease-ms` or `--advertise` are refused.
pub fn open_store(
    args: &ClusterArgs,
    config: &Config,
) -> Result<Option<Arc<ClusterStore>>, String> {
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
    if let Some(url) = &args.advertise {
        check_advertise(url)?;
    }
    ClusterStore::open(store)
        .map(|s| Some(Arc::new(s)))
        .map_err(|e| format!("--node-id {id}: {}", e.message()))
}

/// This node, once the server listens on `addr`.
pub fn node(
    args: &ClusterArgs,
    store: Arc<ClusterStore>,
    addr: SocketAddr,
) -> Result<Arc<Node>, String> {
    let id = args.node_id.as_deref().unwrap_or_default();
    let address = match &args.advertise {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{addr}"),
    };
    let lease = Duration::from_millis(args.lease_ms);
    Node::new(store, id, &address, lease)
        .map(Arc::new)
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
