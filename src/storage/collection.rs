//! `<collection>.redb`: the collection's meta record, its nodes (id → record)
//! and its vectors (internal id → f32 bytes). Each statement's changes are
//! one committed transaction: durable when `commit` returns, all or nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::collection::meta::CollectionMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::storage::codec;
use crate::value::Value;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NODES: TableDefinition<&str, &[u8]> = TableDefinition::new("nodes");
const VECTORS: TableDefinition<u32, &[u8]> = TableDefinition::new("vectors");
const META_KEY: &str = "collection";
/// redb page cache per open collection file.
const CACHE_BYTES: usize = 256 * 1024;

/// A node as stored: its internal id and attributes (the vector lives in the
/// vectors table under the same internal id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredNode {
    pub(crate) iid: u32,
    pub(crate) attrs: BTreeMap<String, Value>,
}

/// The changes of one statement, applied in one transaction.
#[derive(Debug, Default)]
pub(crate) struct WriteBatch {
    /// Nodes to insert or replace, by id.
    pub(crate) put_nodes: Vec<(String, StoredNode)>,
    /// Vectors to insert, by internal id.
    pub(crate) put_vectors: Vec<(u32, Vec<f32>)>,
    /// Node ids to remove.
    pub(crate) delete_nodes: Vec<String>,
    /// Internal ids whose vectors to remove.
    pub(crate) delete_vectors: Vec<u32>,
}

/// An open collection file.
pub(crate) struct CollectionStore {
    db: Database,
    path: PathBuf,
}

impl CollectionStore {
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::io(format!("collection file {}", self.path.display()), e)
    }

    /// Creates a new collection file holding `meta`; fails if one exists.
    pub(crate) fn create(path: &Path, meta: &CollectionMeta) -> Result<Self> {
        if path.exists() {
            return Err(Error::new(
                ErrorKind::CollectionExists,
                format!("Collection already exists: {}", meta.name),
            ));
        }
        let err =
            |e: &dyn std::fmt::Display| Error::io(format!("collection file {}", path.display()), e);
        let meta_bytes = codec::encode(meta)?;
        super::create_db_atomically(path, |db| {
            let tx = db.begin_write().map_err(|e| err(&e))?;
            {
                tx.open_table(NODES).map_err(|e| err(&e))?;
                tx.open_table(VECTORS).map_err(|e| err(&e))?;
                let mut m = tx.open_table(META).map_err(|e| err(&e))?;
                m.insert(META_KEY, meta_bytes.as_slice())
                    .map_err(|e| err(&e))?;
            }
            tx.commit().map_err(|e| err(&e))
        })?;
        Ok(Self::open(path)?.0)
    }

    /// Opens an existing collection file and reads its meta record.
    ///
    /// The page cache is kept small: a loaded collection holds all its
    /// records in memory already and only writes to the file afterwards, so
    /// redb's default cache (up to 1 GiB per open file) would only inflate
    /// the memory of every loaded tenant.
    pub(crate) fn open(path: &Path) -> Result<(Self, CollectionMeta)> {
        let db = super::migrate::open(redb::Builder::new().set_cache_size(CACHE_BYTES), path)?;
        let store = CollectionStore {
            db,
            path: path.to_path_buf(),
        };
        let meta = store.read_meta()?;
        Ok((store, meta))
    }

    fn read_meta(&self) -> Result<CollectionMeta> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = tx.open_table(META).map_err(|e| self.err(e))?;
        let bytes = table
            .get(META_KEY)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::corrupt(self.path.display(), "no collection meta record"))?;
        codec::decode(bytes.value(), "collection meta")
    }

    /// Number of stored nodes.
    pub(crate) fn node_count(&self) -> Result<u64> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = tx.open_table(NODES).map_err(|e| self.err(e))?;
        table.len().map_err(|e| self.err(e))
    }

    /// Every node and every vector.
    #[allow(clippy::type_complexity)]
    pub(crate) fn load(&self) -> Result<(Vec<(String, StoredNode)>, Vec<(u32, Vec<f32>)>)> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let nodes_t = tx.open_table(NODES).map_err(|e| self.err(e))?;
        let mut nodes = Vec::with_capacity(nodes_t.len().unwrap_or(0) as usize);
        for row in nodes_t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            nodes.push((
                k.value().to_string(),
                codec::decode(v.value(), "node record")?,
            ));
        }
        let vec_t = tx.open_table(VECTORS).map_err(|e| self.err(e))?;
        let mut vectors = Vec::with_capacity(vec_t.len().unwrap_or(0) as usize);
        for row in vec_t.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            vectors.push((k.value(), codec::vector_from_bytes(v.value())?));
        }
        Ok((nodes, vectors))
    }

    /// Applies `batch` and writes `meta`, in one durable transaction.
    pub(crate) fn commit(&self, batch: &WriteBatch, meta: &CollectionMeta) -> Result<()> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut nodes = tx.open_table(NODES).map_err(|e| self.err(e))?;
            for id in &batch.delete_nodes {
                nodes.remove(id.as_str()).map_err(|e| self.err(e))?;
            }
            for (id, node) in &batch.put_nodes {
                nodes
                    .insert(id.as_str(), codec::encode(node)?.as_slice())
                    .map_err(|e| self.err(e))?;
            }
            let mut vectors = tx.open_table(VECTORS).map_err(|e| self.err(e))?;
            for iid in &batch.delete_vectors {
                vectors.remove(*iid).map_err(|e| self.err(e))?;
            }
            for (iid, v) in &batch.put_vectors {
                vectors
                    .insert(*iid, codec::vector_to_bytes(v).as_slice())
                    .map_err(|e| self.err(e))?;
            }
            let mut m = tx.open_table(META).map_err(|e| self.err(e))?;
            m.insert(META_KEY, codec::encode(meta)?.as_slice())
                .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }
}
