//! A collection's graph index: which backend, and its files on disk.
//!
//! The graph files are a cache of the collection file. Next to them,
//! `<name>.ann.state` records the data generation the graph indexes and the
//! set of internal ids inserted into it. A save removes the state file
//! first, writes the graph files, then writes the state (each atomically),
//! so a state file proves the graph files hold exactly its ids.
//!
//! The saved graph is a **checkpoint**: it may be older than the collection
//! (a crash after later commits). Vectors never change under an internal id
//! (a new vector gets a new id), so an older graph is still right for the
//! ids it holds: the load tombstones those deleted since, and the vectors
//! added since are searched exactly beside the graph until the next write or
//! save inserts them (`Collection::load`), instead of rebuilding. A state from a
//! later generation than the collection's, or a missing or damaged file,
//! means "rebuild".

use std::fs;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use crate::collection::meta::CollectionMeta;
use crate::collection::meta::IndexKind;
use crate::collection::Ann;
use crate::error::{Error, Result};
use crate::index::graph::{self, GraphIndex};
#[cfg(feature = "hnsw-rs")]
use crate::index::hnsw::HnswIndex;
use crate::index::AnnIndex;
use crate::storage::atomic::write_atomically;

const MAGIC: &[u8; 8] = b"PQLGST01";

fn state_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.ann.state"))
}

/// A new, empty graph index of the collection's kind.
pub(super) fn new_index(
    meta: &CollectionMeta,
    dim: usize,
    capacity: usize,
) -> crate::error::Result<Box<dyn AnnIndex>> {
    Ok(match meta.index {
        #[cfg(feature = "hnsw-rs")]
        IndexKind::HnswRs => Box::new(HnswIndex::new(meta.metric, dim, meta.params, capacity)?),
        #[cfg(not(feature = "hnsw-rs"))]
        IndexKind::HnswRs => return Err(meta.index.missing_backend(&meta.name)),
        IndexKind::Auto | IndexKind::Graph | IndexKind::Flat => {
            Box::new(GraphIndex::new(meta.metric, dim, meta.params, capacity))
        }
    })
}

/// Reads the graph index files of the collection's kind.
fn read_index(dir: &Path, meta: &CollectionMeta, dim: usize) -> Option<Box<dyn AnnIndex>> {
    match meta.index {
        #[cfg(feature = "hnsw-rs")]
        IndexKind::HnswRs => HnswIndex::load(dir, &meta.name, meta.metric, dim)
            .ok()
            .map(|i| Box::new(i) as Box<dyn AnnIndex>),
        #[cfg(not(feature = "hnsw-rs"))]
        IndexKind::HnswRs => None,
        IndexKind::Auto | IndexKind::Graph | IndexKind::Flat => {
            graph::load(dir, &meta.name, meta.metric, dim)
                .ok()
                .map(|i| Box::new(i) as Box<dyn AnnIndex>)
        }
    }
}

/// Loads the persisted graph checkpoint if its state is not newer than
/// `meta.generation`. Ids deleted since are tombstoned here; ids added since
/// (`with_vector` minus the returned `indexed`) are the caller's to handle.
pub(super) fn load_graph(
    dir: &Path,
    meta: &CollectionMeta,
    with_vector: &RoaringBitmap,
) -> Option<Ann> {
    let dim = meta.dimension?;
    let bytes = fs::read(state_path(dir, &meta.name)).ok()?;
    let (head, rest) = bytes.split_at_checked(16)?;
    if &head[..8] != MAGIC {
        return None;
    }
    let generation = u64::from_le_bytes(head[8..16].try_into().ok()?);
    if generation > meta.generation {
        return None;
    }
    let indexed = RoaringBitmap::deserialize_from(rest).ok()?;
    let index = read_index(dir, meta, dim)?;
    let mut ann = Ann {
        index,
        indexed,
        saved_generation: Some(generation),
        loaded_from_disk: true,
        filter_tombstones: false,
        unsaved_inserts: 0,
        pending: RoaringBitmap::new(),
    };
    // Ids in the graph that are no longer live: tombstone them again (the
    // native graph may have them marked already; hnsw_rs needs a filter).
    let dead: Vec<u32> = (&ann.indexed - with_vector).iter().collect();
    for iid in dead {
        ann.tombstone(iid);
    }
    Some(ann)
}

/// Removes the state file, saves the graph, then writes its state file
/// (each atomically): a crash in between leaves no state, so no graph file
/// is ever read with the ids of another.
pub(super) fn save_graph(
    dir: &Path,
    meta: &CollectionMeta,
    index: &dyn AnnIndex,
    indexed: &RoaringBitmap,
) -> Result<()> {
    let path = state_path(dir, &meta.name);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot remove {}", path.display()), e)),
    }
    index.save(dir, &meta.name)?;
    let mut bytes = Vec::with_capacity(16 + indexed.serialized_size());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&meta.generation.to_le_bytes());
    indexed
        .serialize_into(&mut bytes)
        .map_err(|e| Error::io("graph state", e))?;
    write_atomically(&path, &bytes)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Removes the graph files and state of collection `name` (best effort):
/// `<name>.hnsw.*` (hnsw_rs), `<name>.graph*` (native) and `<name>.ann.*`.
pub(super) fn remove_graph(dir: &Path, name: &str) {
    let prefixes = [
        format!("{name}.hnsw."),
        format!("{name}.graph"),
        format!("{name}.ann."),
    ];
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let file = e.file_name().to_string_lossy().into_owned();
            if prefixes.iter().any(|p| file.starts_with(p.as_str())) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}
