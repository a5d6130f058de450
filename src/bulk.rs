//! What `pql import` and `pql export` need from the engine besides
//! statements: which ids exist already (`--resume`), and the nodes of a
//! collection in chunks, so an export's memory is bounded by the chunk.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::tenant::lifecycle::{self, Entry, Use};
use crate::tenant::Tenant;
use crate::value::Value;
use crate::Engine;

/// One node as [`Engine::scan_nodes`] hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedNode {
    /// The node's id.
    pub id: String,
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Its vector as stored (unit length in a cosine collection), if any.
    pub vector: Option<Vec<f32>>,
}

impl Engine {
    /// The tenant `name`, ready to read (onloaded if it was offloaded);
    /// the statuses that refuse reads refuse here too.
    fn readable(&self, name: &str) -> Result<std::sync::Arc<Tenant>> {
        let catalog = &self.inner().catalog;
        let tenant = catalog.get(name)?;
        let r = tenant.record();
        if lifecycle::may_use(name, r.storage, r.access, Use::Read)? == Entry::Onload {
            // A read of the bulk export: not cancellable.
            catalog.onload(&tenant, &crate::CancelToken::new())?;
        }
        Ok(tenant)
    }

    /// Which of `ids` exist in `collection` of `tenant` (a missing
    /// collection holds none).
    pub fn existing_ids(
        &self,
        tenant: &str,
        collection: &str,
        ids: &[String],
    ) -> Result<Vec<bool>> {
        let t = self.readable(tenant)?;
        if !t.collection_names().iter().any(|c| c == collection) {
            return Ok(vec![false; ids.len()]);
        }
        let c = t.collection(collection, self.config())?;
        let c = c.read();
        Ok(ids.iter().map(|id| c.iid_of(id).is_some()).collect())
    }

    /// Hands the nodes of `collection` of `tenant` to `each`, `chunk` at a
    /// time, in internal-id order; the collection is read-locked for one
    /// chunk at a time only. Returns how many nodes were handed out.
    pub fn scan_nodes(
        &self,
        tenant: &str,
        collection: &str,
        chunk: usize,
        mut each: impl FnMut(&[ScannedNode]) -> Result<()>,
    ) -> Result<u64> {
        let t = self.readable(tenant)?;
        let shared = t.collection(collection, self.config())?;
        let chunk = chunk.max(1);
        let mut next = 0u32;
        let mut total = 0u64;
        loop {
            let nodes: Vec<ScannedNode> = {
                let c = shared.read();
                let from = next;
                let iids: Vec<u32> = c
                    .live()
                    .iter()
                    .skip_while(|&iid| iid < from)
                    .take(chunk)
                    .collect();
                if let Some(last) = iids.last() {
                    next = last.saturating_add(1);
                }
                iids.into_iter()
                    .filter_map(|iid| {
                        let node = c.node(iid)?;
                        Some(ScannedNode {
                            id: node.id.to_string(),
                            attributes: node.attrs.to_map(),
                            vector: c.vector(iid).map(<[f32]>::to_vec),
                        })
                    })
                    .collect()
            };
            if nodes.is_empty() {
                return Ok(total);
            }
            total += nodes.len() as u64;
            each(&nodes)?;
        }
    }
}
