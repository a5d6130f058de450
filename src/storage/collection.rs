//! `<collection>.redb`: the collection's meta record, its nodes and its
//! vectors. Each statement's changes are one committed transaction: durable
//! when `commit` returns, all or nothing.
//!
//! Layout 2 (this one) keeps records in chunks of consecutive internal ids,
//! so that loading a collection reads a few thousand large values in id order
//! instead of one small value per node and per vector:
//! - `node_chunks`: `iid / NODES_PER_CHUNK` → the chunk's nodes (postcard
//!   `Vec<StoredNode>`, sorted by internal id);
//! - `vector_chunks`: `iid / rows` (`rows` = 64 KiB of vectors, at least 1)
//!   → the chunk's internal ids (u32 LE), then their vectors (f32 LE);
//! - `meta`: the collection's meta record and the layout record (version,
//!   node count).
//!
//! A statement rewrites only the chunks it touches. Files of layout 1 (one
//! record per node keyed by node id, one per vector) are converted when
//! opened, in one transaction, so a crash leaves the old file intact.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use redb::{
    Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};
use roaring::RoaringBitmap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::storage::codec;
use crate::storage::record::{self, Attrs};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NODE_CHUNKS: TableDefinition<u32, &[u8]> = TableDefinition::new("node_chunks");
const VECTOR_CHUNKS: TableDefinition<u32, &[u8]> = TableDefinition::new("vector_chunks");
/// Layout 1's tables, read only to convert a file.
const NODES_V1: TableDefinition<&str, &[u8]> = TableDefinition::new("nodes");
const VECTORS_V1: TableDefinition<u32, &[u8]> = TableDefinition::new("vectors");
const META_KEY: &str = "collection";
const LAYOUT_KEY: &str = "layout";
/// The layout this code writes.
const LAYOUT_VERSION: u32 = 2;
/// Nodes per node chunk.
const NODES_PER_CHUNK: u32 = 256;
/// Bytes of vectors per vector chunk.
const VECTOR_CHUNK_BYTES: usize = 64 * 1024;
/// redb page cache per open collection file.
const CACHE_BYTES: usize = 256 * 1024;

/// A node as stored: its internal id, id and attributes (the vector lives in
/// the vector chunks under the same internal id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredNode {
    pub(crate) iid: u32,
    pub(crate) id: String,
    pub(crate) attrs: Attrs,
}

/// A node record of layout 1 (its id was the table key).
#[derive(Deserialize)]
struct StoredNodeV1 {
    iid: u32,
    attrs: Attrs,
}

/// The layout record: which layout the file has, and how many nodes.
#[derive(Debug, Serialize, Deserialize)]
struct LayoutRecord {
    version: u32,
    nodes: u64,
}

/// The changes of one statement, applied in one transaction.
#[derive(Debug, Default)]
pub(crate) struct WriteBatch {
    /// Nodes to insert, or to replace (same internal id).
    pub(crate) put_nodes: Vec<StoredNode>,
    /// Vectors to insert, by internal id.
    pub(crate) put_vectors: Vec<(u32, Vec<f32>)>,
    /// Internal ids of nodes to remove.
    pub(crate) delete_nodes: Vec<u32>,
    /// Internal ids whose vectors to remove.
    pub(crate) delete_vectors: Vec<u32>,
}

/// The collection's meta record, as the file keeps it (the collection layer
/// owns the type; the store needs only its name and dimension).
pub(crate) trait MetaRecord: Serialize + DeserializeOwned {
    /// The collection's name, for errors.
    fn name(&self) -> &str;
    /// The vector dimension, once known.
    fn dimension(&self) -> Option<usize>;
}

/// Where [`CollectionStore::load`] puts the vectors it reads (the index
/// layer's vector arena).
pub(crate) trait VectorSink: Sized + Send {
    /// An empty sink for vectors of `dim` values.
    fn with_dim(dim: usize) -> Self;
    /// Room for internal ids below `slots`.
    fn reserve(&mut self, slots: usize);
    /// Stores the vector of internal id `iid`.
    fn set(&mut self, iid: u32, vector: &[f32]) -> Result<()>;
}

/// Everything a collection file holds, as read by [`CollectionStore::load`].
pub(crate) struct Loaded<V> {
    /// All nodes, in internal id order.
    pub(crate) nodes: Vec<StoredNode>,
    /// All vectors (when the collection has a dimension).
    pub(crate) vectors: Option<V>,
    /// Internal ids that have a vector.
    pub(crate) with_vector: RoaringBitmap,
}

/// Vectors of `dim` values per vector chunk.
fn rows_per_chunk(dim: usize) -> u32 {
    (VECTOR_CHUNK_BYTES / (4 * dim.max(1))).clamp(1, u32::MAX as usize) as u32
}

/// A batch's changes by chunk number: internal ids to delete, then items
/// to put.
type ByChunk<T> = BTreeMap<u32, (Vec<u32>, Vec<T>)>;

/// Groups `deletes` and `puts` (internal id, item) by chunk of `per` ids.
fn by_chunk<T>(deletes: &[u32], puts: impl Iterator<Item = (u32, T)>, per: u32) -> ByChunk<T> {
    let mut chunks = ByChunk::new();
    for iid in deletes {
        chunks.entry(iid / per).or_default().0.push(*iid);
    }
    for (iid, item) in puts {
        chunks.entry(iid / per).or_default().1.push(item);
    }
    chunks
}

/// A vector chunk: sorted internal ids and their vectors, row after row.
#[derive(Default)]
struct VectorChunk {
    iids: Vec<u32>,
    data: Vec<f32>,
}

impl VectorChunk {
    fn decode(bytes: &[u8], dim: usize) -> Result<Self> {
        let row = 4 + 4 * dim;
        if !bytes.len().is_multiple_of(row) {
            return Err(Error::corrupt(
                "damaged vector chunk",
                format!(
                    "{} bytes is not a whole number of {dim}-d rows",
                    bytes.len()
                ),
            ));
        }
        let (ids, data) = bytes.split_at(bytes.len() / row * 4);
        Ok(VectorChunk {
            iids: ids
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            data: codec::vector_from_bytes(data)?,
        })
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * (self.iids.len() + self.data.len()));
        for iid in &self.iids {
            out.extend_from_slice(&iid.to_le_bytes());
        }
        out.extend_from_slice(&codec::vector_to_bytes(&self.data));
        out
    }

    fn remove(&mut self, iid: u32, dim: usize) {
        if let Ok(i) = self.iids.binary_search(&iid) {
            self.iids.remove(i);
            self.data.drain(i * dim..(i + 1) * dim);
        }
    }

    fn put(&mut self, iid: u32, v: &[f32], dim: usize) {
        match self.iids.binary_search(&iid) {
            Ok(i) => self.data[i * dim..(i + 1) * dim].copy_from_slice(v),
            Err(i) => {
                self.iids.insert(i, iid);
                self.data.splice(i * dim..i * dim, v.iter().copied());
            }
        }
    }
}

/// An open collection file: read-only until the first write. Opening and
/// closing a redb file writably costs a sync each (about 6.5 ms a cold
/// query on 1,000 tenants), which a tenant that is only read never needs.
pub(crate) struct CollectionStore {
    db: Db,
    path: PathBuf,
}

/// The redb handle, read-only or writable (`Closed` only if reopening
/// failed both ways), or `Deferred`: no file yet, the first commit creates
/// it holding that commit's batch (see [`CollectionStore::deferred`]).
enum Db {
    ReadOnly(ReadOnlyDatabase),
    Writable(Database),
    Closed,
    Deferred,
}

/// Opens the collection file at `path`, read-only if it can be. A file
/// that needs recovery after a crash or an upgrade from redb 2 is refused
/// that way, and opened writably (which repairs or migrates it), as is any
/// other refusal.
fn open_db(path: &Path) -> Result<Db> {
    super::closer::wait(path);
    Ok(match builder().open_read_only(path) {
        Ok(db) => Db::ReadOnly(db),
        Err(_) => Db::Writable(super::migrate::open(&builder(), path)?),
    })
}

/// Compacts the collection file at `path`, which no one has open, so that
/// pages freed by past transactions are neither kept nor uploaded with it
/// (OFFLOAD). redb compacts in transactions of its own: a crash leaves a
/// valid file. Returns whether anything moved.
#[cfg(feature = "s3")]
pub(crate) fn compact_file(path: &Path) -> Result<bool> {
    super::closer::wait(path);
    let mut db = super::migrate::open(&builder(), path)?;
    db.compact()
        .map_err(|e| Error::io(format!("cannot compact {}", path.display()), e))
}

fn builder() -> redb::Builder {
    let mut b = redb::Builder::new();
    b.set_cache_size(CACHE_BYTES);
    b
}

impl CollectionStore {
    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::io(format!("collection file {}", self.path.display()), e)
    }

    fn begin_read(&self) -> Result<ReadTransaction> {
        match &self.db {
            Db::ReadOnly(db) => db.begin_read(),
            Db::Writable(db) => db.begin_read(),
            Db::Closed => return Err(self.err("the file is closed")),
            Db::Deferred => return Err(self.err("the file is not created yet")),
        }
        .map_err(|e| self.err(e))
    }

    /// The writable handle, reopening the file writably on first use. If
    /// that fails nothing was changed, and the file stays readable if it can.
    fn writable(&mut self) -> Result<&mut Database> {
        if matches!(self.db, Db::Deferred) {
            return Err(self.err("the file is not created yet"));
        }
        if !matches!(self.db, Db::Writable(_)) {
            // The read-only handle holds the file lock: release it first.
            self.db = Db::Closed;
            match super::migrate::open(&builder(), &self.path) {
                Ok(db) => self.db = Db::Writable(db),
                Err(e) => {
                    if let Ok(db) = builder().open_read_only(&self.path) {
                        self.db = Db::ReadOnly(db);
                    }
                    return Err(e);
                }
            }
        }
        let err = self.err("the file could not be reopened for writing");
        match &mut self.db {
            Db::Writable(db) => Ok(db),
            _ => Err(err),
        }
    }

    /// A write transaction, on the file reopened writably if need be.
    fn begin_write(&mut self) -> Result<WriteTransaction> {
        let tx = self.writable()?.begin_write();
        tx.map_err(|e| self.err(e))
    }

    /// Whether the file is open for writing (it is after the first write).
    #[cfg(test)]
    pub(crate) fn is_writable(&self) -> bool {
        matches!(self.db, Db::Writable(_))
    }

    /// Creates a new collection file holding `meta`; fails if one exists.
    pub(crate) fn create<M: MetaRecord>(path: &Path, meta: &M) -> Result<Self> {
        let mut store = Self::deferred(path, meta)?;
        store.commit(&WriteBatch::default(), meta)?;
        Ok(store)
    }

    /// A store for a new collection whose file is created by its first
    /// commit, holding that commit's batch: a collection made by its first
    /// insert exists on disk only with that insert's nodes, so a refused
    /// insert, or a crash before its commit, leaves no empty collection.
    /// Fails if the file exists.
    pub(crate) fn deferred<M: MetaRecord>(path: &Path, meta: &M) -> Result<Self> {
        if path.exists() {
            return Err(Error::new(
                ErrorKind::CollectionExists,
                format!("Collection already exists: {}", meta.name()),
            ));
        }
        Ok(CollectionStore {
            db: Db::Deferred,
            path: path.to_path_buf(),
        })
    }

    /// Creates the file of a deferred store, in its folder (created if
    /// need be), holding `batch` and `meta`, under a temporary name renamed
    /// into place once complete; then opens it.
    fn create_with(&mut self, batch: &WriteBatch, meta: &impl MetaRecord) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        super::create_db_atomically(&self.path, |db| {
            let tx = db.begin_write().map_err(|e| self.err(e))?;
            tx.open_table(NODE_CHUNKS).map_err(|e| self.err(e))?;
            tx.open_table(VECTOR_CHUNKS).map_err(|e| self.err(e))?;
            self.write(&tx, batch, meta)?;
            tx.commit().map_err(|e| self.err(e))
        })?;
        self.db = open_db(&self.path)?;
        Ok(())
    }

    /// Opens an existing collection file and reads its meta record. A file
    /// of layout 1 is converted first, in one transaction, then compacted.
    ///
    /// The page cache is kept small: a loaded collection holds all its
    /// records in memory already and only writes to the file afterwards, so
    /// redb's default cache (up to 1 GiB per open file) would only inflate
    /// the memory of every loaded tenant.
    pub(crate) fn open<M: MetaRecord>(path: &Path) -> Result<(Self, M)> {
        let mut store = CollectionStore {
            db: open_db(path)?,
            path: path.to_path_buf(),
        };
        let meta = store.read_meta()?;
        if store.read_layout()?.is_none() {
            store.convert_v1(&meta)?;
            // The old tables' pages are free but still in the file, which
            // would keep twice its size. Compaction only moves pages, in
            // transactions of its own: if it fails, the file stays valid,
            // just larger.
            let _ = store.writable()?.compact();
        }
        Ok((store, meta))
    }

    fn read_meta<M: DeserializeOwned>(&self) -> Result<M> {
        let tx = self.begin_read()?;
        let table = tx.open_table(META).map_err(|e| self.err(e))?;
        let bytes = table
            .get(META_KEY)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| Error::corrupt(self.path.display(), "no collection meta record"))?;
        codec::decode(bytes.value(), "collection meta")
    }

    /// The layout record; `None` for a file of layout 1 (which has none).
    fn read_layout(&self) -> Result<Option<LayoutRecord>> {
        let tx = self.begin_read()?;
        let table = tx.open_table(META).map_err(|e| self.err(e))?;
        let Some(bytes) = table.get(LAYOUT_KEY).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let layout: LayoutRecord = codec::decode(bytes.value(), "layout record")?;
        if layout.version != LAYOUT_VERSION {
            return Err(Error::corrupt(
                self.path.display(),
                format!(
                    "layout {} is not known to this version of PQL (it writes layout \
                     {LAYOUT_VERSION})",
                    layout.version
                ),
            ));
        }
        Ok(Some(layout))
    }

    /// Converts a file of layout 1 to this layout, in one transaction.
    fn convert_v1(&mut self, meta: &impl MetaRecord) -> Result<()> {
        let tx = self.begin_write()?;
        let mut batch = WriteBatch::default();
        {
            // Opening a table in a write transaction creates it if missing;
            // both are deleted below either way.
            let t = tx.open_table(NODES_V1).map_err(|e| self.err(e))?;
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                let old: StoredNodeV1 = codec::decode(v.value(), "node record")?;
                batch.put_nodes.push(StoredNode {
                    iid: old.iid,
                    id: k.value().to_string(),
                    attrs: old.attrs,
                });
            }
            let t = tx.open_table(VECTORS_V1).map_err(|e| self.err(e))?;
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                batch
                    .put_vectors
                    .push((k.value(), codec::vector_from_bytes(v.value())?));
            }
        }
        self.write(&tx, &batch, meta)?;
        tx.delete_table(NODES_V1).map_err(|e| self.err(e))?;
        tx.delete_table(VECTORS_V1).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Number of stored nodes.
    pub(crate) fn node_count(&self) -> Result<u64> {
        Ok(self.read_layout()?.map_or(0, |l| l.nodes))
    }

    /// Every node and every vector. The node chunks are decoded in parallel
    /// while the vectors are read.
    pub(crate) fn load<V: VectorSink>(&self, dim: Option<usize>) -> Result<Loaded<V>> {
        let (nodes, vectors) = rayon::join(|| self.load_nodes(), || self.load_vectors(dim));
        let (vectors, with_vector) = vectors?;
        Ok(Loaded {
            nodes: nodes?,
            vectors,
            with_vector,
        })
    }

    fn load_nodes(&self) -> Result<Vec<StoredNode>> {
        let tx = self.begin_read()?;
        let table = tx.open_table(NODE_CHUNKS).map_err(|e| self.err(e))?;
        let mut raw = Vec::new();
        for row in table.iter().map_err(|e| self.err(e))? {
            raw.push(row.map_err(|e| self.err(e))?.1.value().to_vec());
        }
        let chunks = raw
            .par_iter()
            .map(|b| record::shared_names(|| codec::decode::<Vec<StoredNode>>(b, "node chunk")))
            .collect::<Result<Vec<_>>>()?;
        Ok(chunks.into_iter().flatten().collect())
    }

    fn load_vectors<V: VectorSink>(
        &self,
        dim: Option<usize>,
    ) -> Result<(Option<V>, RoaringBitmap)> {
        let mut with_vector = RoaringBitmap::new();
        let Some(dim) = dim else {
            return Ok((None, with_vector));
        };
        let mut store = V::with_dim(dim);
        let tx = self.begin_read()?;
        let table = tx.open_table(VECTOR_CHUNKS).map_err(|e| self.err(e))?;
        if let Some(last) = table.last().map_err(|e| self.err(e))? {
            let rows = rows_per_chunk(dim) as usize;
            store.reserve((last.0.value() as usize + 1) * rows);
        }
        for row in table.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            let chunk = VectorChunk::decode(v.value(), dim)?;
            for (iid, v) in chunk.iids.iter().zip(chunk.data.chunks_exact(dim)) {
                store.set(*iid, v)?;
                with_vector.insert(*iid);
            }
        }
        Ok((Some(store), with_vector))
    }

    /// Applies `batch` and writes `meta`, in one durable transaction.
    /// The first commit reopens the file writably.
    pub(crate) fn commit(&mut self, batch: &WriteBatch, meta: &impl MetaRecord) -> Result<()> {
        if matches!(self.db, Db::Deferred) {
            return self.create_with(batch, meta);
        }
        let tx = self.begin_write()?;
        self.write(&tx, batch, meta)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Applies `batch` to the chunks it touches and writes `meta` and the
    /// layout record with the new node count.
    fn write(
        &self,
        tx: &WriteTransaction,
        batch: &WriteBatch,
        meta: &impl MetaRecord,
    ) -> Result<()> {
        let mut m = tx.open_table(META).map_err(|e| self.err(e))?;
        let nodes = match m.get(LAYOUT_KEY).map_err(|e| self.err(e))? {
            Some(v) => codec::decode::<LayoutRecord>(v.value(), "layout record")?.nodes,
            None => 0,
        };
        let node_chunks = by_chunk(
            &batch.delete_nodes,
            batch.put_nodes.iter().map(|n| (n.iid, n)),
            NODES_PER_CHUNK,
        );
        let mut count = nodes as i64;
        {
            let mut table = tx.open_table(NODE_CHUNKS).map_err(|e| self.err(e))?;
            for (key, (deletes, puts)) in node_chunks {
                let mut recs: Vec<Cow<'_, StoredNode>> = match table.get(key) {
                    Ok(Some(v)) => codec::decode::<Vec<StoredNode>>(v.value(), "node chunk")?
                        .into_iter()
                        .map(Cow::Owned)
                        .collect(),
                    Ok(None) => Vec::new(),
                    Err(e) => return Err(self.err(e)),
                };
                count -= recs.len() as i64;
                recs.retain(|r| !deletes.contains(&r.iid));
                for n in puts {
                    match recs.binary_search_by_key(&n.iid, |r| r.iid) {
                        Ok(i) => recs[i] = Cow::Borrowed(n),
                        Err(i) => recs.insert(i, Cow::Borrowed(n)),
                    }
                }
                count += recs.len() as i64;
                if recs.is_empty() {
                    table.remove(key).map_err(|e| self.err(e))?;
                } else {
                    table
                        .insert(key, codec::encode(&recs)?.as_slice())
                        .map_err(|e| self.err(e))?;
                }
            }
        }
        if let Some(dim) = meta.dimension() {
            self.write_vectors(tx, batch, dim)?;
        } else if !batch.put_vectors.is_empty() {
            return Err(Error::corrupt(
                self.path.display(),
                "vectors written to a collection without a dimension",
            ));
        }
        let layout = LayoutRecord {
            version: LAYOUT_VERSION,
            nodes: count.max(0) as u64,
        };
        m.insert(META_KEY, codec::encode(meta)?.as_slice())
            .map_err(|e| self.err(e))?;
        m.insert(LAYOUT_KEY, codec::encode(&layout)?.as_slice())
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn write_vectors(&self, tx: &WriteTransaction, batch: &WriteBatch, dim: usize) -> Result<()> {
        if let Some((_, v)) = batch.put_vectors.iter().find(|(_, v)| v.len() != dim) {
            return Err(Error::new(
                ErrorKind::DimensionMismatch,
                format!(
                    "vector has {} dimensions, the collection has {dim}",
                    v.len()
                ),
            ));
        }
        let chunks = by_chunk(
            &batch.delete_vectors,
            batch
                .put_vectors
                .iter()
                .map(|(iid, v)| (*iid, (*iid, v.as_slice()))),
            rows_per_chunk(dim),
        );
        let mut table = tx.open_table(VECTOR_CHUNKS).map_err(|e| self.err(e))?;
        for (key, (deletes, puts)) in chunks {
            let mut chunk = match table.get(key) {
                Ok(Some(v)) => VectorChunk::decode(v.value(), dim)?,
                Ok(None) => VectorChunk::default(),
                Err(e) => return Err(self.err(e)),
            };
            for iid in deletes {
                chunk.remove(iid, dim);
            }
            for (iid, v) in puts {
                chunk.put(iid, v, dim);
            }
            if chunk.iids.is_empty() {
                table.remove(key).map_err(|e| self.err(e))?;
            } else {
                table
                    .insert(key, chunk.encode().as_slice())
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use crate::value::Value;

    const DIM: usize = 1024; // 16 vectors per vector chunk

    /// A meta record with what the store reads of one.
    #[derive(Serialize, Deserialize)]
    struct TestMeta {
        name: String,
        dimension: Option<usize>,
    }

    impl MetaRecord for TestMeta {
        fn name(&self) -> &str {
            &self.name
        }
        fn dimension(&self) -> Option<usize> {
            self.dimension
        }
    }

    fn meta() -> TestMeta {
        TestMeta {
            name: "c".into(),
            dimension: Some(DIM),
        }
    }

    /// Loaded vectors by internal id.
    struct TestVectors(BTreeMap<u32, Vec<f32>>);

    impl VectorSink for TestVectors {
        fn with_dim(_dim: usize) -> Self {
            TestVectors(BTreeMap::new())
        }
        fn reserve(&mut self, _slots: usize) {}
        fn set(&mut self, iid: u32, vector: &[f32]) -> Result<()> {
            self.0.insert(iid, vector.to_vec());
            Ok(())
        }
    }

    fn vector(iid: u32, round: u32) -> Vec<f32> {
        (0..DIM)
            .map(|i| (iid * 7 + round + i as u32) as f32)
            .collect()
    }

    /// What `load` must return, from a model of the stored nodes and vectors.
    fn check(store: &CollectionStore, model: &BTreeMap<u32, (StoredNode, Option<Vec<f32>>)>) {
        let loaded = store.load::<TestVectors>(Some(DIM)).unwrap();
        let want: Vec<&StoredNode> = model.values().map(|(n, _)| n).collect();
        assert_eq!(loaded.nodes.iter().collect::<Vec<_>>(), want);
        let with: Vec<u32> = model
            .iter()
            .filter(|(_, (_, v))| v.is_some())
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(loaded.with_vector.iter().collect::<Vec<_>>(), with);
        let vectors = loaded.vectors.unwrap();
        for (iid, (_, v)) in model {
            if let Some(v) = v {
                assert_eq!(vectors.0[iid], *v, "vector {iid}");
            }
        }
        assert_eq!(store.node_count().unwrap(), model.len() as u64);
    }

    /// Random batches of inserts, replacements and deletions over ids that
    /// span many node and vector chunks; after each batch the file holds
    /// exactly the model, chunks emptied on the way included.
    #[test]
    fn chunks_follow_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CollectionStore::create(&dir.path().join("c.redb"), &meta()).unwrap();
        let mut model = BTreeMap::new();
        let mut rng = Rng(9);
        for round in 0..40u32 {
            let mut batch = WriteBatch::default();
            let mut seen = std::collections::HashSet::new();
            // Round 30 empties the whole range, chunk by chunk.
            let ops = if round == 30 { 0 } else { rng.pick(60) };
            for _ in 0..ops {
                let iid = rng.pick(700) as u32;
                if !seen.insert(iid) {
                    continue;
                }
                if rng.pick(3) == 0 {
                    batch.delete_nodes.push(iid);
                    batch.delete_vectors.push(iid);
                    model.remove(&iid);
                } else {
                    let node = StoredNode {
                        iid,
                        id: format!("n{iid}"),
                        attrs: Attrs::from(BTreeMap::from([(
                            "r".to_string(),
                            Value::Int(round as i64),
                        )])),
                    };
                    let v = (rng.pick(4) != 0).then(|| vector(iid, round));
                    batch.put_nodes.push(node.clone());
                    batch.delete_vectors.push(iid);
                    if let Some(v) = &v {
                        batch.put_vectors.push((iid, v.clone()));
                    }
                    model.insert(iid, (node, v));
                }
            }
            if round == 30 {
                for iid in model.keys() {
                    batch.delete_nodes.push(*iid);
                    batch.delete_vectors.push(*iid);
                }
                model.clear();
            }
            store.commit(&batch, &meta()).unwrap();
            check(&store, &model);
        }
    }

    /// A file opens read-only; the first commit reopens it writably, and
    /// what it wrote is there after a reopen. (`tests/durability.rs` covers
    /// files left by a crash, which read-only opening refuses and the
    /// writable open repairs.)
    #[test]
    fn files_open_read_only_until_the_first_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        drop(CollectionStore::create(&path, &meta()).unwrap());
        let (mut store, _) = CollectionStore::open::<TestMeta>(&path).unwrap();
        assert!(!store.is_writable());
        assert_eq!(store.node_count().unwrap(), 0);
        let batch = WriteBatch {
            put_nodes: vec![StoredNode {
                iid: 0,
                id: "a".into(),
                attrs: Attrs::default(),
            }],
            put_vectors: vec![(0, vector(0, 0))],
            ..WriteBatch::default()
        };
        store.commit(&batch, &meta()).unwrap();
        assert!(store.is_writable());
        assert_eq!(store.node_count().unwrap(), 1);
        drop(store);
        let (store, _) = CollectionStore::open::<TestMeta>(&path).unwrap();
        assert!(!store.is_writable());
        let loaded = store.load::<TestVectors>(Some(DIM)).unwrap();
        assert_eq!(loaded.nodes.len(), 1);
        assert_eq!(loaded.with_vector.len(), 1);
    }

    /// A deferred store has no file until its first commit, which creates
    /// it holding that batch; a commit that fails leaves no file.
    #[test]
    fn a_deferred_file_is_created_by_its_first_commit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t").join("c.redb");
        let mut store = CollectionStore::deferred(&path, &meta()).unwrap();
        assert!(!path.exists());
        let node = StoredNode {
            iid: 0,
            id: "a".into(),
            attrs: Attrs::default(),
        };
        let wrong = WriteBatch {
            put_nodes: vec![node.clone()],
            put_vectors: vec![(0, vec![1.0; DIM + 1])],
            ..WriteBatch::default()
        };
        assert!(store.commit(&wrong, &meta()).is_err());
        assert!(!path.exists());
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(names.is_empty(), "{names:?}");
        let batch = WriteBatch {
            put_nodes: vec![node],
            put_vectors: vec![(0, vector(0, 0))],
            ..WriteBatch::default()
        };
        store.commit(&batch, &meta()).unwrap();
        assert_eq!(store.node_count().unwrap(), 1);
        drop(store);
        let (store, _) = CollectionStore::open::<TestMeta>(&path).unwrap();
        assert_eq!(store.load::<TestVectors>(Some(DIM)).unwrap().nodes.len(), 1);
        assert!(CollectionStore::deferred(&path, &meta()).is_err());
    }

    /// A file whose layout record names a layout this code does not know is
    /// refused rather than misread.
    #[test]
    fn an_unknown_layout_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.redb");
        drop(CollectionStore::create(&path, &meta()).unwrap());
        {
            let db = Database::open(&path).unwrap();
            let tx = db.begin_write().unwrap();
            {
                let mut m = tx.open_table(META).unwrap();
                let rec = codec::encode(&LayoutRecord {
                    version: 3,
                    nodes: 0,
                })
                .unwrap();
                m.insert(LAYOUT_KEY, rec.as_slice()).unwrap();
            }
            tx.commit().unwrap();
        }
        let e = CollectionStore::open::<TestMeta>(&path).err().unwrap();
        assert_eq!(e.kind(), &ErrorKind::Corrupt);
        assert!(e.to_string().contains("layout 3"), "{e}");
    }
}
