//! Tenant keys in cluster mode: the catalog's [`KeyDirectory`] over the
//! bucket's key records (`crate::cluster`'s `keys`), so a key created
//! through any node works on every node, and a dropped one on none.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::Membership;
use crate::cluster::ClusterStore;
use crate::error::Result;
use crate::storage::keys::KeyRecord;
use crate::tenant::keys::KeyDirectory;

/// The bucket's key records, waited for on the server's runtime from the
/// blocking pool (where statements and key lookups run).
pub(crate) struct BucketKeys {
    store: Arc<ClusterStore>,
    runtime: Handle,
}

/// Makes `engine` decide about tenant keys with the bucket's key records
/// of `member`'s cluster. Call it on the server's runtime.
pub(crate) fn share(engine: &crate::Engine, member: &Membership) {
    engine.set_key_directory(Arc::new(BucketKeys {
        store: member.node().store().clone(),
        runtime: Handle::current(),
    }));
}

impl KeyDirectory for BucketKeys {
    fn publish(&self, hash: &[u8; 32], record: &KeyRecord) -> Result<()> {
        self.runtime.block_on(self.store.publish_key(hash, record))
    }

    fn find(&self, hash: &[u8; 32]) -> Result<Option<KeyRecord>> {
        self.runtime.block_on(self.store.find_key(hash))
    }

    fn list(&self, tenant: Option<&str>) -> Result<Vec<([u8; 32], KeyRecord)>> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            for listed in self.store.list_keys(tenant).await? {
                if let Some(record) = self.store.key_record(&listed).await? {
                    out.push((listed.hash, record));
                }
            }
            Ok(out)
        })
    }

    fn ids(&self, tenant: &str) -> Result<Vec<([u8; 32], String)>> {
        let listed = self.runtime.block_on(self.store.list_keys(Some(tenant)))?;
        Ok(listed.into_iter().map(|l| (l.hash, l.id)).collect())
    }

    fn withdraw(&self, hash: &[u8; 32], tenant: &str, id: &str) -> Result<()> {
        self.runtime
            .block_on(self.store.withdraw_key(hash, tenant, id))
    }
}
