//! Cluster mode (docs/cluster.md): several `pql serve` nodes on one bucket,
//! coordinated only through the object store's conditional writes
//! (`If-None-Match: *` to create, `If-Match: <etag>` to update). No
//! consensus of our own:
//!
//! - `registry`: node records at `PREFIX/nodes/<node>` with a heartbeat;
//! - `lease`: who owns a tenant, at `PREFIX/leases/<tenant>` (owner,
//!   advertised address, epoch, expiry), acquired, renewed, taken over and
//!   released with conditional writes;
//! - `fence`: a tenant's write-ahead log at `PREFIX/wal/<tenant>/<seq>`, each
//!   entry created if absent, so a new owner fences a stale one by claiming
//!   the next sequence number (SlateDB's WAL fencing);
//! - `keys`: tenant API key records at `PREFIX/keys/<hash>/<tenant>/<id>`,
//!   so that every node authenticates every tenant's keys;
//! - `records`: the registry of tenant records and tier templates at
//!   `PREFIX/registry/`, so that every node lists every tenant and
//!   resolves every tier;
//! - `store`: the conditional reads and writes the others share.
//!
//! Every call is async and meant for a tokio runtime (the server's); the
//! store is the object-storage tier's, opened once.

mod fence;
mod keys;
mod lease;
mod node;
mod records;
mod registry;
mod store;

pub use fence::{Wal, WalEntry};
pub use lease::{Acquired, Checkpoint, Lease, LeaseRecord};
pub use node::Node;
pub(crate) use records::Seen;
pub use registry::NodeRecord;
pub use store::ClusterStore;
