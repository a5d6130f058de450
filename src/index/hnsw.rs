//! TEMPORARY stub (exact search) until the hnsw_rs backend lands.
#![allow(missing_docs, dead_code)]
use std::path::Path;
use parking_lot::RwLock;
use crate::error::{Error, Result};
use crate::index::{flat, vectors::VectorStore, AnnIndex, GraphParams, IdFilter, Metric};
pub(crate) struct HnswIndex { metric: Metric, store: RwLock<VectorStore>, n: RwLock<usize> }
impl HnswIndex {
    pub(crate) fn new(metric: Metric, dim: usize, _p: GraphParams, _c: usize) -> Result<Self> {
        Ok(HnswIndex { metric, store: RwLock::new(VectorStore::new(dim)), n: RwLock::new(0) })
    }
}
impl AnnIndex for HnswIndex {
    fn insert(&self, items: &[(u32, &[f32])]) { let mut s = self.store.write(); for (i, v) in items { let _ = s.set(*i, v); } *self.n.write() += items.len(); }
    fn search(&self, q: &[f32], k: usize, _ef: usize, filter: Option<IdFilter<'_>>) -> Vec<(u32, f32)> {
        let s = self.store.read(); let n = s.len() as u32;
        flat::exact_top_k(&s, self.metric, q, k, (0..n).filter(|i| filter.map_or(true, |f| f(*i))))
    }
    fn len(&self) -> usize { *self.n.read() }
    fn memory_bytes(&self) -> usize { 0 }
    fn save(&self, _d: &Path, _b: &str) -> Result<()> { Ok(()) }
}
pub(crate) fn load(_d: &Path, _b: &str, _m: Metric, _dim: usize) -> Result<HnswIndex> { Err(Error::unsupported("stub")) }
