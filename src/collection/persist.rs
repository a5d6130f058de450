//! The persisted graph of a collection and its state file.
//!
//! The graph files are a cache of the collection file. Next to them,
//! `<name>.hnsw.state` records the data generation the graph indexes and the
//! set of internal ids inserted into it. It is written (atomically) only
//! after the graph files, so a state file that matches the collection's
//! current generation proves the graph files are complete and current;
//! anything else means "rebuild".

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use roaring::RoaringBitmap;

use crate::collection::meta::CollectionMeta;
use crate::collection::Ann;
use crate::error::{Error, Result};
use crate::index::hnsw::HnswIndex;
use crate::index::AnnIndex;

const MAGIC: &[u8; 8] = b"PQLGST01";

fn state_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.hnsw.state"))
}

/// Loads the persisted graph if its state matches `meta.generation`.
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
    if generation != meta.generation {
        return None;
    }
    let indexed = RoaringBitmap::deserialize_from(rest).ok()?;
    if !with_vector.is_subset(&indexed) {
        return None;
    }
    let index = HnswIndex::load(dir, &meta.name, meta.metric, dim).ok()?;
    Some(Ann {
        index: Box::new(index),
        indexed,
        saved_generation: Some(generation),
        loaded_from_disk: true,
    })
}

/// Saves the graph, then its state file (both atomically).
pub(super) fn save_graph(
    dir: &Path,
    meta: &CollectionMeta,
    index: &dyn AnnIndex,
    indexed: &RoaringBitmap,
) -> Result<()> {
    index.save(dir, &meta.name)?;
    let mut bytes = Vec::with_capacity(16 + indexed.serialized_size());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&meta.generation.to_le_bytes());
    indexed
        .serialize_into(&mut bytes)
        .map_err(|e| Error::io("graph state", e))?;
    let path = state_path(dir, &meta.name);
    let tmp = path.with_extension("state.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Removes the graph files and state of collection `name` (best effort).
pub(super) fn remove_graph(dir: &Path, name: &str) {
    let prefix = format!("{name}.hnsw.");
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}
