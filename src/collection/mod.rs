//! A loaded collection: its nodes, attribute indexes, vectors and graph
//! index in memory, backed by its redb file.
//!
//! Invariant: memory only ever reflects committed data. A change is written
//! and committed to the file first (`CollectionStore::commit`), and applied
//! to memory only when the commit succeeded, so a failed statement leaves
//! both untouched.

pub(crate) mod attributes;
pub(crate) mod filter;
pub(crate) mod graph_stats;
mod load_times;
pub(crate) mod meta;
mod persist;

pub use load_times::LoadTimes;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use roaring::RoaringBitmap;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::index::codes::{rerank_count, ScanCodes};
use crate::index::vectors::VectorStore;
use crate::index::{flat, AnnIndex};
use crate::storage::collection::{CollectionStore, StoredNode, WriteBatch};
use compact_str::CompactString;

use crate::storage::record::Attrs;
use crate::value::Value;
use attributes::AttributeIndex;
use meta::{CollectionMeta, IndexKind};

/// A node in memory.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Its id, inline up to 24 bytes.
    pub(crate) id: CompactString,
    pub(crate) attrs: Attrs,
}

/// A node to write: its id, attributes and (prepared) vector, and the
/// internal id of the node it replaces, if any.
#[derive(Debug, Clone)]
pub(crate) struct NewNode {
    pub(crate) id: String,
    pub(crate) attrs: BTreeMap<String, Value>,
    pub(crate) vector: Option<Vec<f32>>,
    pub(crate) replaces: Option<u32>,
}

/// The graph index and which internal ids it holds.
struct Ann {
    index: Box<dyn AnnIndex>,
    /// Ids inserted into the graph; those no longer live are tombstones.
    indexed: RoaringBitmap,
    /// Generation of the data this graph was last saved at, if saved.
    saved_generation: Option<u64>,
    /// Whether the graph was read from disk or built by this process.
    loaded_from_disk: bool,
    /// Some tombstone could not be marked in the index itself, so searches
    /// must filter dead ids out (hnsw_rs cannot delete).
    filter_tombstones: bool,
    /// Nodes inserted since the graph was last saved.
    unsaved_inserts: u64,
    /// Vectors committed after the loaded checkpoint and not yet in the
    /// graph: searched exactly beside it until the next write or save
    /// inserts them, so no read waits for them. Always live, with vectors.
    pending: RoaringBitmap,
}

impl Ann {
    /// Tombstones `iid` in the graph (navigated through, never returned).
    fn tombstone(&mut self, iid: u32) {
        if self.indexed.contains(iid) && !self.index.mark_deleted(iid) {
            self.filter_tombstones = true;
        }
    }
}

/// A collection loaded into memory.
pub(crate) struct Collection {
    pub(crate) meta: CollectionMeta,
    store: CollectionStore,
    dir: PathBuf,
    nodes: NodeSlots,
    with_vector: RoaringBitmap,
    attrs: AttributeIndex,
    vectors: Option<VectorStore>,
    /// One-byte codes of the vectors, built by the first scan of many
    /// scattered ids (`quantized_search`) and kept up to date by writes.
    codes: OnceLock<ScanCodes>,
    ann: Option<Ann>,
}

/// Memory an open collection file costs beyond the records themselves (redb's
/// page cache, capped at 256 KiB, and its allocator state). Measured with
/// `examples/scale` on tmpfs (100 vectors per tenant, redb 4): peak RSS grew
/// by ~244 KB per extra loaded tenant, of which the records account for
/// ~45 KB. (redb 2 cost ~740 KB.)
pub(crate) const OPEN_FILE_BYTES: usize = 200 * 1024;

/// Nodes by internal id: slot `iid` holds node `iid`. Internal ids are
/// handed out in sequence and never reused, and the vector store and the
/// graph already keep a slot per id, so a slot per id (48 bytes) costs
/// little, and finding a node needs no hashing.
#[derive(Default)]
struct NodeSlots(Vec<Option<Node>>);

impl NodeSlots {
    fn get(&self, iid: u32) -> Option<&Node> {
        self.0.get(iid as usize)?.as_ref()
    }

    fn insert(&mut self, iid: u32, node: Node) {
        let i = iid as usize;
        if i >= self.0.len() {
            self.0.resize_with(i + 1, || None);
        }
        self.0[i] = Some(node);
    }

    fn remove(&mut self, iid: u32) -> Option<Node> {
        self.0.get_mut(iid as usize)?.take()
    }

    fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.0.iter().flatten()
    }
}

/// File name of a collection's redb file inside the tenant folder.
pub(crate) fn file_name(name: &str) -> String {
    format!("{name}.redb")
}

impl Collection {
    /// Creates the collection's file in `dir`, now, or with `deferred` at
    /// its first commit, which then holds that commit's nodes (a collection
    /// made by its first insert: see [`CollectionStore::deferred`]). Refuses
    /// a reserved vector field before anything is written, whichever path
    /// chose it (an option or the first node's only `embed(...)` field).
    pub(crate) fn create(dir: &Path, meta: CollectionMeta, deferred: bool) -> Result<Self> {
        meta::check_vector_field(&meta.vector_field)?;
        let path = dir.join(file_name(&meta.name));
        // Graph files left by a dropped collection of the same name (a crash
        // while it was removed) must never be read as this one's checkpoint.
        // Only when there is no such collection: creating one that exists
        // fails below and must change nothing.
        if !path.exists() {
            persist::remove_graph(dir, &meta.name);
        }
        let store = if deferred {
            CollectionStore::deferred(&path, &meta)?
        } else {
            CollectionStore::create(&path, &meta)?
        };
        Ok(Self::empty(dir, meta, store))
    }

    fn empty(dir: &Path, meta: CollectionMeta, store: CollectionStore) -> Self {
        let vectors = meta.dimension.map(VectorStore::new);
        Collection {
            meta,
            store,
            dir: dir.to_path_buf(),
            nodes: NodeSlots::default(),
            with_vector: RoaringBitmap::new(),
            attrs: AttributeIndex::default(),
            vectors,
            codes: OnceLock::new(),
            ann: None,
        }
    }

    /// Loads collection `name` from `dir`: nodes, vectors, attribute indexes,
    /// and the persisted graph if it is current (else rebuilds it).
    pub(crate) fn load(dir: &Path, name: &str, config: &Config) -> Result<Self> {
        Self::load_timed(dir, name, config, &mut LoadTimes::default())
    }

    /// [`Collection::load`], noting how long each stage took in `times`.
    pub(crate) fn load_timed(
        dir: &Path,
        name: &str,
        config: &Config,
        times: &mut LoadTimes,
    ) -> Result<Self> {
        let mut clock = load_times::Lap::start();
        let (store, meta) = CollectionStore::open::<CollectionMeta>(&dir.join(file_name(name)))?;
        meta.index.check_built_in(name)?;
        times.open = clock.lap();
        let loaded = store.load::<VectorStore>(meta.dimension)?;
        times.records = clock.lap();
        // Slots are allocated up to the largest internal id: one past the
        // ids ever handed out can only come from a damaged file.
        let top = loaded
            .nodes
            .last()
            .map(|n| n.iid)
            .max(loaded.with_vector.max());
        if let Some(iid) = top.filter(|iid| *iid >= meta.next_iid) {
            return Err(Error::corrupt(
                format!("collection {name}"),
                format!("internal id {iid} is past the last one handed out"),
            ));
        }
        let mut c = Self::empty(dir, meta, store);
        c.with_vector = loaded.with_vector;
        if loaded.vectors.is_some() {
            c.vectors = loaded.vectors;
        }
        // The graph loads while the attribute indexes are built.
        let (attrs, ann) = rayon::join(
            || AttributeIndex::build(&loaded.nodes),
            || persist::load_graph(&c.dir, &c.meta, &c.with_vector),
        );
        c.attrs = attrs;
        c.ann = ann;
        times.indexes = clock.lap();
        if let Some(ann) = &mut c.ann {
            ann.pending = &c.with_vector - &ann.indexed;
            graph_stats::note_caught_up(ann.pending.len());
        }
        if let Some(last) = loaded.nodes.last() {
            c.nodes.0.reserve_exact(last.iid as usize + 1);
        }
        for n in loaded.nodes {
            c.nodes.insert(
                n.iid,
                Node {
                    id: n.id.into(),
                    attrs: n.attrs,
                },
            );
        }
        c.maintain_ann(config)?;
        times.finish = clock.lap();
        Ok(c)
    }

    fn index_node(&mut self, iid: u32, node: Node) {
        self.attrs.insert_node(iid, &node.id, &node.attrs);
        self.nodes.insert(iid, node);
    }

    fn unindex_node(&mut self, iid: u32) {
        if let Some(node) = self.nodes.remove(iid) {
            self.attrs.remove_id(iid, &node.id);
            for (k, v) in &node.attrs {
                self.attrs.remove(iid, k, v);
            }
        }
        self.with_vector.remove(iid);
    }

    /// Internal id of node `id`.
    pub(crate) fn iid_of(&self, id: &str) -> Option<u32> {
        self.attrs.iid_of(id)
    }

    /// The node with internal id `iid`.
    pub(crate) fn node(&self, iid: u32) -> Option<&Node> {
        self.nodes.get(iid)
    }

    /// The stored vector of `iid` (prepared for the metric).
    pub(crate) fn vector(&self, iid: u32) -> Option<&[f32]> {
        if !self.with_vector.contains(iid) {
            return None;
        }
        self.vectors.as_ref().map(|s| s.get(iid))
    }

    /// All live internal ids.
    pub(crate) fn live(&self) -> &RoaringBitmap {
        self.attrs.nodes()
    }

    /// Live internal ids that have a vector.
    pub(crate) fn with_vector(&self) -> &RoaringBitmap {
        &self.with_vector
    }

    /// The attribute indexes.
    pub(crate) fn attributes(&self) -> &AttributeIndex {
        &self.attrs
    }

    /// Whether a graph index is built.
    pub(crate) fn has_graph(&self) -> bool {
        self.ann.is_some()
    }

    /// Where the graph index came from, for `EXPLAIN`.
    pub(crate) fn graph_origin(&self) -> String {
        match &self.ann {
            None => "none".into(),
            Some(a) if !a.pending.is_empty() => format!(
                "loaded from a checkpoint; {} newer vectors scanned exactly beside it",
                a.pending.len()
            ),
            Some(a) if a.loaded_from_disk => "loaded from disk".into(),
            Some(_) => "built in this process".into(),
        }
    }

    /// Whether the graph index is saved as of the latest write, and how
    /// many vectors wait to be inserted into it; `None` without a graph.
    pub(crate) fn graph_checkpoint(&self) -> Option<(bool, u64)> {
        let ann = self.ann.as_ref()?;
        let saved = ann.saved_generation == Some(self.meta.generation);
        Some((saved, ann.pending.len()))
    }

    /// Number of live nodes.
    pub(crate) fn len(&self) -> u64 {
        self.live().len()
    }

    /// Exact top-k over `ids` (all with vectors).
    pub(crate) fn exact_search(
        &self,
        query: &[f32],
        k: usize,
        ids: &RoaringBitmap,
    ) -> Vec<(u32, f32)> {
        match &self.vectors {
            Some(store) => flat::exact_top_k(store, self.meta.metric, query, k, ids.iter()),
            None => Vec::new(),
        }
    }

    /// Top-k over `ids` (all with vectors) through the scan codes: they
    /// pick [`rerank_count`] candidates, whose exact distances decide. The
    /// distances are exact; a true neighbour can only be missed if the
    /// codes rank it below that many others. The codes are built by the
    /// first call (one pass over the vectors). Where the codes cannot rank
    /// (values overflowing `f32`), the exact vectors are scanned.
    pub(crate) fn quantized_search(
        &self,
        query: &[f32],
        k: usize,
        ids: &RoaringBitmap,
    ) -> Vec<(u32, f32)> {
        let Some(store) = &self.vectors else {
            return Vec::new();
        };
        let codes = self.codes.get_or_init(|| ScanCodes::build(store));
        match codes.nearest(self.meta.metric, query, rerank_count(k), ids) {
            Some(candidates) => flat::exact_top_k(store, self.meta.metric, query, k, candidates),
            None => self.exact_search(query, k, ids),
        }
    }

    /// Graph search over all live vectors, or only over `allowed` (a
    /// filter's matches, live ids with vectors) when given.
    pub(crate) fn graph_search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        allowed: Option<&RoaringBitmap>,
    ) -> Vec<(u32, f32)> {
        let Some(ann) = &self.ann else {
            return self.exact_search(query, k, allowed.unwrap_or(&self.with_vector));
        };
        let allowed = match allowed {
            Some(a) => Some(a),
            None if ann.filter_tombstones => Some(&self.with_vector),
            None => None,
        };
        let mut found = match allowed {
            Some(a) => {
                let filter = |iid: u32| a.contains(iid);
                ann.index.search(query, k, ef.max(k), Some(&filter))
            }
            None => ann.index.search(query, k, ef.max(k), None),
        };
        if !ann.pending.is_empty() {
            let newer = match allowed {
                Some(a) => &ann.pending & a,
                None => ann.pending.clone(),
            };
            found.extend(self.exact_search(query, k, &newer));
            found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            found.truncate(k);
        }
        found
    }

    /// Writes new or replacing nodes and deletes `deletes`, durably and
    /// atomically, then applies the change to memory. `meta` is the new meta
    /// record (dimension, embedder, next id); its generation is advanced here.
    pub(crate) fn apply(
        &mut self,
        mut meta: CollectionMeta,
        new_nodes: Vec<(u32, NewNode)>,
        deletes: Vec<u32>,
        config: &Config,
    ) -> Result<()> {
        meta.generation += 1;
        let mut batch = WriteBatch::default();
        for iid in &deletes {
            if self.nodes.get(*iid).is_some() {
                batch.delete_nodes.push(*iid);
                batch.delete_vectors.push(*iid);
            }
        }
        for (iid, n) in &new_nodes {
            if let Some(old) = n.replaces {
                batch.delete_nodes.push(old);
                batch.delete_vectors.push(old);
            }
            batch.put_nodes.push(StoredNode {
                iid: *iid,
                id: n.id.clone(),
                attrs: Attrs::from(n.attrs.clone()),
            });
            if let Some(v) = &n.vector {
                batch.put_vectors.push((*iid, v.clone()));
            }
        }
        self.store.commit(&batch, &meta)?;
        // Committed: from here on nothing may fail.
        self.meta = meta;
        if let Some(ann) = &mut self.ann {
            let replaced = new_nodes
                .iter()
                .filter_map(|(iid, n)| n.replaces.filter(|old| old != iid));
            for old in deletes.iter().copied().chain(replaced) {
                ann.tombstone(old);
            }
        }
        for iid in deletes {
            self.unindex_node(iid);
        }
        let mut fresh = Vec::new();
        for (iid, n) in new_nodes {
            if let Some(old) = n.replaces {
                self.unindex_node(old);
            }
            if let (Some(v), Some(dim)) = (&n.vector, self.meta.dimension) {
                // Lengths were checked against the dimension before the commit.
                let stored = self
                    .vectors
                    .get_or_insert_with(|| VectorStore::new(dim))
                    .set(iid, v);
                debug_assert!(stored.is_ok(), "vector length checked before commit");
                self.with_vector.insert(iid);
                fresh.push(iid);
            }
            self.index_node(
                iid,
                Node {
                    id: n.id.into(),
                    attrs: Attrs::from(n.attrs),
                },
            );
        }
        self.update_codes(&fresh);
        self.insert_pending();
        if let (Some(ann), Some(store)) = (&mut self.ann, &self.vectors) {
            // An attribute-only update keeps its internal id, already in the graph.
            fresh.retain(|i| !ann.indexed.contains(*i));
            let items: Vec<(u32, &[f32])> = fresh.iter().map(|i| (*i, store.get(*i))).collect();
            ann.index.insert(&items);
            ann.unsaved_inserts += items.len() as u64;
            ann.indexed.extend(fresh);
        }
        // Index maintenance failing (bad params) must not fail a committed write.
        let _ = self.maintain_ann(config);
        self.checkpoint_if_due(config);
        Ok(())
    }

    /// Codes the vectors just written into the scan codes, if built; drops
    /// the codes instead once the store has outgrown their fit (the next
    /// scan that wants them fits them again).
    fn update_codes(&mut self, fresh: &[u32]) {
        let Some(store) = &self.vectors else {
            return;
        };
        if self.codes.get().is_some_and(|c| c.is_stale(store.len())) {
            self.codes = OnceLock::new();
        } else if let Some(codes) = self.codes.get_mut() {
            for iid in fresh {
                codes.set(*iid, store.get(*iid));
            }
        }
    }

    /// Inserts into the graph the vectors committed after its checkpoint
    /// (those still live), so a crash costs those inserts, not a rebuild.
    fn insert_pending(&mut self) {
        let (Some(ann), Some(store)) = (&mut self.ann, &self.vectors) else {
            return;
        };
        if ann.pending.is_empty() {
            return;
        }
        let ids = std::mem::take(&mut ann.pending) & &self.with_vector;
        let items: Vec<(u32, &[f32])> = ids.iter().map(|i| (i, store.get(i))).collect();
        ann.index.insert(&items);
        ann.unsaved_inserts += items.len() as u64;
        ann.indexed |= ids;
    }

    /// Saves the graph as a checkpoint once the nodes inserted since the last
    /// save pass `config.graph_checkpoint_nodes` and
    /// `config.graph_checkpoint_fraction` of the graph, so that a crash costs
    /// at most that many inserts at the next load. The data is durable
    /// already: a failed save is retried at the next write.
    fn checkpoint_if_due(&mut self, config: &Config) {
        let Some(ann) = &self.ann else { return };
        let due = (config.graph_checkpoint_nodes as u64)
            .max((config.graph_checkpoint_fraction * ann.indexed.len() as f64) as u64);
        if ann.unsaved_inserts >= due.max(1) && self.flush().is_ok() {
            graph_stats::note_checkpoint();
        }
    }

    /// Builds the graph when the collection outgrows the exact scan, and
    /// rebuilds it when tombstones pass the configured fraction.
    fn maintain_ann(&mut self, config: &Config) -> Result<()> {
        let wanted = match self.meta.index {
            IndexKind::Flat => false,
            IndexKind::HnswRs | IndexKind::Graph => !self.with_vector.is_empty(),
            IndexKind::Auto => self.with_vector.len() as usize >= config.flat_threshold,
        };
        if !wanted {
            self.ann = None;
            return Ok(());
        }
        let stale = match &self.ann {
            None => true,
            Some(ann) => {
                let dead = ann.indexed.len() - (&ann.indexed & &self.with_vector).len();
                dead as f64 > config.compact_fraction * ann.indexed.len() as f64
            }
        };
        if stale {
            self.rebuild_ann()?;
        }
        Ok(())
    }

    fn rebuild_ann(&mut self) -> Result<()> {
        let (Some(store), Some(dim)) = (&self.vectors, self.meta.dimension) else {
            return Ok(());
        };
        let index = persist::new_index(&self.meta, dim, self.with_vector.len() as usize)?;
        let items: Vec<(u32, &[f32])> =
            self.with_vector.iter().map(|i| (i, store.get(i))).collect();
        index.insert(&items);
        graph_stats::note_full_rebuild();
        self.ann = Some(Ann {
            index,
            indexed: self.with_vector.clone(),
            saved_generation: None,
            loaded_from_disk: false,
            filter_tombstones: false,
            unsaved_inserts: items.len() as u64,
            pending: RoaringBitmap::new(),
        });
        Ok(())
    }

    /// Persists the graph index if it changed since it was last saved, so
    /// that the next load does not rebuild it.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.insert_pending();
        let generation = self.meta.generation;
        if let Some(ann) = &mut self.ann {
            if ann.saved_generation != Some(generation) {
                persist::save_graph(&self.dir, &self.meta, ann.index.as_ref(), &ann.indexed)?;
                ann.saved_generation = Some(generation);
                ann.unsaved_inserts = 0;
            }
        }
        Ok(())
    }

    /// Approximate bytes of memory the loaded collection holds, including
    /// the fixed cost of its open file ([`OPEN_FILE_BYTES`]).
    pub(crate) fn memory_bytes(&self) -> usize {
        let nodes: usize = self.nodes.0.capacity() * std::mem::size_of::<Option<Node>>()
            + self
                .nodes
                .nodes()
                .map(|n| {
                    let id = if n.id.is_heap_allocated() {
                        16 + n.id.len()
                    } else {
                        0
                    };
                    id + n.attrs.len() * 72
                })
                .sum::<usize>();
        OPEN_FILE_BYTES
            + nodes
            + self.attrs.memory_bytes()
            + self.vectors.as_ref().map_or(0, |v| v.memory_bytes())
            + self.codes.get().map_or(0, ScanCodes::memory_bytes)
            + self.ann.as_ref().map_or(0, |a| a.index.memory_bytes())
    }

    /// Removes the collection's files from `dir`.
    pub(crate) fn remove_files(dir: &Path, name: &str) -> Result<()> {
        persist::remove_graph(dir, name);
        let path = dir.join(file_name(name));
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))
    }

    /// Bytes on disk of collection `name` in `dir`: its redb file and its
    /// graph files, all named `<name>.…` (a name holds no dot, so no other
    /// collection's files share the prefix).
    pub(crate) fn disk_bytes(dir: &Path, name: &str) -> u64 {
        let prefix = format!("{name}.");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }

    /// Node count stored in the file of collection `name` (without loading it).
    pub(crate) fn stored_count(dir: &Path, name: &str) -> Result<(CollectionMeta, u64)> {
        let (store, meta) = CollectionStore::open::<CollectionMeta>(&dir.join(file_name(name)))?;
        Ok((meta, store.node_count()?))
    }
}

/// Error for a missing collection.
pub(crate) fn not_found(tenant: &str, name: &str) -> Error {
    Error::new(
        ErrorKind::CollectionNotFound,
        format!("Collection not found: {name} (tenant {tenant})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::collection::{StoredNode, WriteBatch};

    /// A node whose internal id was never handed out (a damaged file) is
    /// refused at load instead of sizing the node slots by it.
    #[test]
    fn an_internal_id_past_next_iid_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = CollectionMeta::new("c", &[], 0).unwrap();
        meta.next_iid = 3;
        let mut store = CollectionStore::create(&dir.path().join(file_name("c")), &meta).unwrap();
        let batch = WriteBatch {
            put_nodes: vec![StoredNode {
                iid: 7,
                id: "x".into(),
                attrs: Attrs::default(),
            }],
            ..WriteBatch::default()
        };
        store.commit(&batch, &meta).unwrap();
        drop(store);
        let config = Config::new(dir.path());
        let e = Collection::load(dir.path(), "c", &config).err().unwrap();
        assert_eq!(e.kind(), &ErrorKind::Corrupt);
        assert!(e.to_string().contains("internal id 7"), "{e}");
    }

    /// Creating a collection removes graph files a dropped one of the same
    /// name left behind, but creating one that exists fails and keeps its
    /// graph files.
    #[test]
    fn create_clears_leftover_graph_files_only_for_a_new_collection() {
        let dir = tempfile::tempdir().unwrap();
        let leftover = dir.path().join("c.ann.state");
        std::fs::write(&leftover, b"old").unwrap();
        let meta = CollectionMeta::new("c", &[], 0).unwrap();
        drop(Collection::create(dir.path(), meta.clone(), false).unwrap());
        assert!(!leftover.exists());
        std::fs::write(&leftover, b"current").unwrap();
        let e = Collection::create(dir.path(), meta, false).err().unwrap();
        assert_eq!(e.kind(), &ErrorKind::CollectionExists);
        assert_eq!(std::fs::read(&leftover).unwrap(), b"current");
    }

    /// A collection file that names the hnsw_rs backend, on a build
    /// without it, is refused with a clear error rather than loaded.
    #[cfg(not(feature = "hnsw-rs"))]
    #[test]
    fn a_collection_on_a_missing_backend_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut meta = CollectionMeta::new("c", &[], 0).unwrap();
        meta.index = IndexKind::HnswRs;
        drop(CollectionStore::create(&dir.path().join(file_name("c")), &meta).unwrap());
        let config = Config::new(dir.path());
        let e = Collection::load(dir.path(), "c", &config).err().unwrap();
        assert_eq!(e.kind(), &ErrorKind::Unsupported);
        assert!(e.to_string().contains("`hnsw-rs` feature"), "{e}");
    }
}
