//! A collection's settings and counters, stored in its file's meta record.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::index::{GraphParams, Metric};
use crate::parser::ast::Opt;
use crate::storage::collection::MetaRecord;
use crate::value::Value;

/// Which index serves similarity queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum IndexKind {
    /// Exact scan while small, the native graph past the engine's threshold.
    Auto,
    /// Always an exact scan.
    Flat,
    /// The hnsw_rs crate's HNSW as soon as there are vectors (kept to
    /// compare against; the native graph is faster and smaller).
    HnswRs,
    /// The native HNSW graph (`index/graph`) as soon as there are vectors.
    Graph,
}

impl IndexKind {
    /// An `Unsupported` error if this build lacks the backend (hnsw_rs
    /// without the `hnsw-rs` feature); `collection` names what needs it.
    pub(crate) fn check_built_in(self, collection: &str) -> Result<()> {
        if self == IndexKind::HnswRs && !cfg!(feature = "hnsw-rs") {
            return Err(self.missing_backend(collection));
        }
        Ok(())
    }

    /// The error for collection `collection` of this kind on a build
    /// without its backend.
    pub(crate) fn missing_backend(self, collection: &str) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "index '{}' of collection '{collection}' needs the `hnsw-rs` feature, which \
                 this build of PQL lacks (rebuild with `--features hnsw-rs`)",
                self.name()
            ),
        )
    }

    pub(crate) fn name(&self) -> &'static str {
        match self {
            IndexKind::Auto => "auto",
            IndexKind::Flat => "flat",
            IndexKind::HnswRs => "hnsw_rs",
            IndexKind::Graph => "graph",
        }
    }
}

/// Everything about a collection but its nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CollectionMeta {
    pub(crate) name: String,
    /// Vector dimension; `None` until the first vector arrives.
    pub(crate) dimension: Option<usize>,
    pub(crate) metric: Metric,
    pub(crate) params: GraphParams,
    /// Default search breadth for HNSW queries.
    pub(crate) ef_search: usize,
    pub(crate) index: IndexKind,
    /// The attribute holding the vector (`embedding` unless set).
    pub(crate) vector_field: String,
    /// Name of the embedder whose `embed()` vectors fill the collection.
    pub(crate) embedder: Option<String>,
    /// Next internal id to hand out; internal ids are never reused.
    pub(crate) next_iid: u32,
    /// Incremented by every committed change; the persisted graph records
    /// the generation it indexes, so a stale graph is detected.
    pub(crate) generation: u64,
    pub(crate) created_at_ms: i64,
}

impl MetaRecord for CollectionMeta {
    fn name(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> Option<usize> {
        self.dimension
    }
}

/// Names a node field may not take because they are result columns.
pub(crate) const RESERVED_FIELDS: [&str; 2] = ["_id", "_distance"];

/// Refuses a vector field name that is empty, the node key `id`, or a
/// reserved result column (which would make `_distance` or `_id` ambiguous).
pub(crate) fn check_vector_field(name: &str) -> Result<()> {
    if name.is_empty() || name == "id" {
        return Err(Error::invalid_option(format!(
            "'{name}' cannot be the vector field"
        )));
    }
    if RESERVED_FIELDS.contains(&name) {
        return Err(Error::invalid_option(format!(
            "'{name}' is a reserved result column and cannot be the vector field"
        )));
    }
    Ok(())
}

/// Defaults for a new collection.
pub(crate) const DEFAULT_M: usize = 16;
pub(crate) const DEFAULT_EF_CONSTRUCTION: usize = 100;
/// The search `ef` of a new collection: the smallest of 64, 80, ..., 160
/// whose recall@10 on GloVe-50 is at least 0.95 at both 100k (0.958) and
/// 399k (0.956) vectors with the default `m` and `ef_construction`
/// (BENCHMARKS.md, "The default ef"). At 64 it was 0.91 and 0.90.
pub(crate) const DEFAULT_EF_SEARCH: usize = 128;
pub(crate) const DEFAULT_VECTOR_FIELD: &str = "embedding";
/// Largest vector dimension accepted at all (a tenant quota may set less).
pub(crate) const MAX_DIMENSION: usize = 65_536;

fn int_in(opt: &Opt, lo: i64, hi: i64) -> Result<usize> {
    match opt.value.as_i64() {
        Some(n) if (lo..=hi).contains(&n) => Ok(n as usize),
        _ => Err(Error::invalid_option(format!(
            "collection option '{}' must be an integer from {lo} to {hi}, got {}",
            opt.key, opt.value
        ))),
    }
}

fn text(opt: &Opt) -> Result<&str> {
    opt.value.as_str().ok_or_else(|| {
        Error::invalid_option(format!(
            "collection option '{}' must be a string, got {}",
            opt.key, opt.value
        ))
    })
}

impl CollectionMeta {
    /// A new collection with defaults, then `opts` applied.
    pub(crate) fn new(name: &str, opts: &[Opt], now_ms: i64) -> Result<Self> {
        let mut meta = CollectionMeta {
            name: name.to_string(),
            dimension: None,
            metric: Metric::Cosine,
            params: GraphParams {
                m: DEFAULT_M,
                ef_construction: DEFAULT_EF_CONSTRUCTION,
            },
            ef_search: DEFAULT_EF_SEARCH,
            index: IndexKind::Auto,
            vector_field: DEFAULT_VECTOR_FIELD.to_string(),
            embedder: None,
            next_iid: 0,
            generation: 0,
            created_at_ms: now_ms,
        };
        for opt in opts {
            meta.apply(opt, true).map_err(|e| e.with_span(opt.span))?;
        }
        Ok(meta)
    }

    /// Applies one option; `creating` allows the options fixed at creation.
    pub(crate) fn apply(&mut self, opt: &Opt, creating: bool) -> Result<()> {
        let fixed = [
            "dimension",
            "metric",
            "m",
            "ef_construction",
            "vector_field",
            "index",
        ];
        if !creating && fixed.contains(&opt.key.as_str()) {
            return Err(Error::unsupported(format!(
                "collection option '{}' is fixed when the collection is created; \
                 only ef_search can be altered",
                opt.key
            )));
        }
        match opt.key.as_str() {
            "dimension" => self.dimension = Some(int_in(opt, 1, MAX_DIMENSION as i64)?),
            "metric" => {
                let s = text(opt)?;
                self.metric = Metric::parse(s).ok_or_else(|| {
                    Error::invalid_option(format!(
                        "unknown metric '{s}'; use 'cosine', 'l2' or 'dot'"
                    ))
                })?;
            }
            "m" => self.params.m = int_in(opt, 2, 128)?,
            "ef_construction" => self.params.ef_construction = int_in(opt, 1, 4096)?,
            "ef_search" => self.ef_search = int_in(opt, 1, 4096)?,
            "vector_field" => {
                let s = text(opt)?;
                check_vector_field(s)?;
                self.vector_field = s.to_string();
            }
            "index" => {
                self.index = match text(opt)?.to_ascii_lowercase().as_str() {
                    "auto" => IndexKind::Auto,
                    "flat" => IndexKind::Flat,
                    "graph" | "hnsw" => IndexKind::Graph,
                    "hnsw_rs" => {
                        IndexKind::HnswRs.check_built_in(&self.name)?;
                        IndexKind::HnswRs
                    }
                    other => {
                        return Err(Error::invalid_option(format!(
                            "unknown index '{other}'; use 'auto', 'flat', 'graph' (alias \
                             'hnsw') or 'hnsw_rs'"
                        )))
                    }
                }
            }
            other => {
                return Err(Error::invalid_option(format!(
                    "unknown collection option '{other}'; known options: dimension, metric, \
                     m, ef_construction, ef_search, vector_field, index"
                )))
            }
        }
        Ok(())
    }

    /// Hands out `n` new internal ids (never reused), returning the first.
    pub(crate) fn allocate_iids(&mut self, n: usize) -> Result<u32> {
        let first = self.next_iid;
        self.next_iid = u32::try_from(n)
            .ok()
            .and_then(|n| first.checked_add(n))
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "collection {} has used all 2^32 internal ids",
                    self.name
                ))
            })?;
        Ok(first)
    }

    /// The names of the values [`CollectionMeta::describe`] gives, in order.
    pub(crate) const DESCRIBED: [&'static str; 7] = [
        "dimension",
        "metric",
        "index",
        "m",
        "ef_construction",
        "ef_search",
        "vector_field",
    ];

    /// The options, for `SHOW COLLECTIONS` (after name and node count) and
    /// `DESCRIBE COLLECTION`; named by [`CollectionMeta::DESCRIBED`].
    pub(crate) fn describe(&self) -> Vec<Value> {
        vec![
            self.dimension
                .map(|d| Value::Int(d as i64))
                .unwrap_or(Value::Null),
            Value::Str(self.metric.name().into()),
            Value::Str(self.index.name().into()),
            Value::Int(self.params.m as i64),
            Value::Int(self.params.ef_construction as i64),
            Value::Int(self.ef_search as i64),
            Value::Str(self.vector_field.clone()),
        ]
    }
}
