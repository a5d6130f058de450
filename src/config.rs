//! Engine configuration: where data lives, which embedder serves `embed()`,
//! and the planner's thresholds.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::embed::{Embedder, HashEmbedder};
use crate::error::Result;
use crate::storage::object::ObjectStoreConfig;
use crate::tenant::billing::Prices;

/// Settings of an [`Engine`](crate::Engine). `Config::new(dir)` gives the
/// documented defaults; change fields before calling
/// [`Engine::open_with`](crate::Engine::open_with).
#[derive(Clone)]
pub struct Config {
    /// The data folder (`catalog.redb`, `tenants/`, `archive/`).
    pub data_dir: PathBuf,
    /// The embedder behind `embed("...")`. Default: [`HashEmbedder`] (384
    /// dims, lexical); [`Config::with_minilm`] sets the semantic
    /// all-MiniLM-L6-v2.
    pub embedder: Arc<dyn Embedder>,
    /// More embedders a tenant (or its tier) may pick by name with the
    /// option `embedder: 'name'`; [`Config::with_embedder`] adds one. The
    /// default embedder and the built-in `builtin-hash` are always
    /// available by their names.
    pub embedders: Vec<Arc<dyn Embedder>>,
    /// Collections with fewer live vectors than this are always searched
    /// exactly, and get no graph index. Default 5,000: measured with
    /// `cargo bench --bench query` (same run, loaded machine), a top-10 on
    /// 10,000 50-d vectors took 91 µs with the native graph against ~620 µs
    /// for an exact scan, so the graph pays off well below 10,000; under
    /// 5,000 an exact scan costs about the same and is exact.
    pub flat_threshold: usize,
    /// A filtered similarity query whose filter matches at most this many
    /// nodes is answered by an exact scan of just those nodes. Default 20,000.
    pub exact_filter_threshold: usize,
    /// ... or at most this fraction of the collection. Default 0.05.
    pub exact_filter_fraction: f64,
    /// Above those, the planner compares an exact scan of the matches (one
    /// distance each) with a filtered graph walk, costed at this many
    /// distances × the walk's `ef` (at least 128, see `filtered_walk_ef`) /
    /// the filter's pass rate. Default 40, measured on 399k GloVe-50 at ef
    /// 128 (BENCHMARKS.md): the walk took 272 µs at 50%, 516 µs at 20% and
    /// 906 µs at 10%, 30–44 × ef / rate at the ~24 ns a distance of the
    /// scans of the same matches.
    pub filter_walk_cost: f64,
    /// A scan the planner chooses over at least this many matches, in a
    /// collection with a graph index, reads one-byte codes of the vectors
    /// and re-ranks the best candidates exactly (`index/codes.rs`): about
    /// 3× faster where the matches are scattered. `WITH (exact: true)` and
    /// collections without a graph index always scan the exact vectors.
    /// Default 1,024 (the cost model then decides; codes are the cheaper
    /// scan from about 250 matches); `usize::MAX` turns the codes off.
    pub quantized_scan_min: usize,
    /// The cost of a match in a code scan, in the cost model's distances
    /// (an exact scan costs 1 a match). Default 0.6: on 399k GloVe-50 a
    /// code scan took 0.55–0.57 of the exact scan's time at 2–10%
    /// selectivity (BENCHMARKS.md, issue 15).
    pub quantized_scan_cost: f64,
    /// When tombstones pass this fraction of a graph index, it is rebuilt.
    /// Default 0.25.
    pub compact_fraction: f64,
    /// A graph index is saved as a checkpoint once at least this many nodes
    /// were inserted since its last save (and see
    /// `graph_checkpoint_fraction`), so that after a crash the next load
    /// inserts at most those instead of rebuilding. Default 10,000.
    pub graph_checkpoint_nodes: usize,
    /// ... and at least this fraction of the graph's nodes. Default 0.125:
    /// checkpoints then write about 9× the final graph size in total.
    pub graph_checkpoint_fraction: f64,
    /// Price table of the estimated cost in `SHOW USAGE` (defaults in
    /// [`Prices`]).
    pub prices: Prices,
    /// Most memory (bytes, estimated) the loaded tenants may hold; past it
    /// the least recently used tenants are unloaded. Default `None`: unlimited.
    pub memory_budget_bytes: Option<usize>,
    /// Most tenants loaded at once. Default `None`: unlimited.
    pub max_loaded_tenants: Option<usize>,
    /// Tenants unused this long are unloaded. Default `None`: never.
    pub idle_ttl: Option<Duration>,
    /// The wall clock (ms since the Unix epoch) the retention purge reads.
    /// Default: the system clock; tests move it forward.
    pub clock: fn() -> i64,
    /// Where offloaded tenants and archives live (docs/object-storage.md).
    /// Default `None`: no object store, everything stays in `data_dir`.
    pub object_store: Option<ObjectStoreConfig>,
    /// Tenants unused this long (by `clock`) are offloaded to the object
    /// store by the pool's periodic pass, keeping any access restriction.
    /// Default `None`: never. Needs `object_store`.
    pub offload_after: Option<Duration>,
    /// The admin key, which may do anything ([`Engine::key_scope`](crate::Engine::key_scope)).
    /// Default `None`: no admin key (the server's local development mode).
    pub admin_key: Option<String>,
    /// Folders besides the data folder's `exports/` that `EXPORT TENANT`
    /// may write to and `IMPORT TENANT` may read from. Default: none.
    pub export_dirs: Vec<PathBuf>,
}

impl Config {
    /// Defaults for the data folder `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            embedder: Arc::new(HashEmbedder::default()),
            embedders: Vec::new(),
            flat_threshold: 5_000,
            exact_filter_threshold: 20_000,
            exact_filter_fraction: 0.05,
            filter_walk_cost: 40.0,
            quantized_scan_min: 1_024,
            quantized_scan_cost: 0.6,
            compact_fraction: 0.25,
            graph_checkpoint_nodes: 10_000,
            graph_checkpoint_fraction: 0.125,
            prices: Prices::default(),
            memory_budget_bytes: None,
            max_loaded_tenants: None,
            idle_ttl: None,
            clock: crate::clock::now_ms,
            object_store: None,
            offload_after: None,
            admin_key: None,
            export_dirs: Vec::new(),
        }
    }
}

impl Config {
    /// Serves `embed()` with all-MiniLM-L6-v2 loaded from the model folder
    /// `dir` (`MiniLmEmbedder::load`), behind an LRU cache of
    /// [`CachedEmbedder::DEFAULT_CAPACITY`](crate::CachedEmbedder::DEFAULT_CAPACITY)
    /// texts. A missing or unreadable model is an error naming the file; on a
    /// build without the `minilm` feature it is an `Unsupported` error that
    /// says so.
    pub fn with_minilm(mut self, dir: impl AsRef<Path>) -> Result<Config> {
        self.embedder = crate::embed::minilm_cached(dir.as_ref())?;
        Ok(self)
    }
}

impl Config {
    /// Adds `embedder` to those a tenant may pick with `embedder: 'name'`
    /// (the default stays [`Config::embedder`]).
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Config {
        self.embedders.push(embedder);
        self
    }

    /// The embedder called `name`: the default, one of
    /// [`Config::embedders`], or the built-in `builtin-hash`.
    pub fn embedder_named(&self, name: &str) -> Option<Arc<dyn Embedder>> {
        if self.embedder.name() == name {
            return Some(self.embedder.clone());
        }
        if let Some(e) = self.embedders.iter().find(|e| e.name() == name) {
            return Some(e.clone());
        }
        (name == HashEmbedder::NAME).then(|| Arc::new(HashEmbedder::default()) as Arc<dyn Embedder>)
    }

    /// The names [`Config::embedder_named`] knows, the default first.
    pub fn embedder_names(&self) -> Vec<String> {
        let mut names = vec![self.embedder.name().to_string()];
        for name in self
            .embedders
            .iter()
            .map(|e| e.name().to_string())
            .chain([HashEmbedder::NAME.to_string()])
        {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

impl Config {
    /// Sets the object store to `url`: `s3://bucket/prefix` or
    /// `file:///path` ([`ObjectStoreConfig::parse`]). Nothing is contacted
    /// until the engine opens it.
    pub fn with_object_store(mut self, url: &str) -> Result<Config> {
        self.object_store = Some(ObjectStoreConfig::parse(url)?);
        Ok(self)
    }

    /// Offloads tenants that have not been used for `idle` to the object
    /// store (see [`Config::offload_after`]).
    pub fn with_offload_after(mut self, idle: Duration) -> Config {
        self.offload_after = Some(idle);
        self
    }
}

impl Config {
    /// Allows `EXPORT TENANT ... TO` and `IMPORT TENANT FROM` paths in
    /// `dir` (besides the data folder's `exports/`); may be called again
    /// for more folders.
    pub fn with_export_dir(mut self, dir: impl Into<PathBuf>) -> Config {
        self.export_dirs.push(dir.into());
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("embedder", &self.embedder.name())
            .field("embedders", &self.embedder_names())
            .field("flat_threshold", &self.flat_threshold)
            .field("exact_filter_threshold", &self.exact_filter_threshold)
            .field("exact_filter_fraction", &self.exact_filter_fraction)
            .field("filter_walk_cost", &self.filter_walk_cost)
            .field("quantized_scan_min", &self.quantized_scan_min)
            .field("quantized_scan_cost", &self.quantized_scan_cost)
            .field("compact_fraction", &self.compact_fraction)
            .field("graph_checkpoint_nodes", &self.graph_checkpoint_nodes)
            .field("graph_checkpoint_fraction", &self.graph_checkpoint_fraction)
            .field("prices", &self.prices)
            .field("memory_budget_bytes", &self.memory_budget_bytes)
            .field("max_loaded_tenants", &self.max_loaded_tenants)
            .field("idle_ttl", &self.idle_ttl)
            .field("object_store", &self.object_store)
            .field("offload_after", &self.offload_after)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "(set)"))
            .field("export_dirs", &self.export_dirs)
            .finish()
    }
}
