//! [`AnnIndex`] over hnsw_rs 0.3.5 — the only file of the crate that imports
//! hnsw_rs. Read `shared/design/HNSW_RS_NOTES.md` before changing it; the
//! traps it lists are handled here as follows:
//!
//! 1. hnsw_rs asserts that distances are `≥ 0` and panics on NaN. Our
//!    [`HnswDistance`] never returns a negative number or NaN: cosine is
//!    clamped at 0, L2 is squared (≥ 0), dot is mapped through a strictly
//!    increasing function onto `[0, ∞)`, and NaN becomes `f32::MAX`.
//! 2. `max_layer` is always 16, or `file_dump` fails.
//! 3. Dumps go to a temporary basename (the one hnsw_rs *returns* is used),
//!    are fsynced, then renamed onto `<basename>.hnsw.data`,
//!    `<basename>.hnsw.graph` and last `<basename>.hnsw.meta`.
//! 4. Parallel builds are not deterministic; tests compare recall, not ids.
//! 5. hnsw_rs calls `process::exit` on bad parameters and on some corrupt
//!    input: parameters are validated before it is called, and files are
//!    checked (size and CRC-32 recorded in the `.meta` sidecar, `header.rs`) before it reads
//!    them; a panic while it reads is caught and reported as `Corrupt`.
//!
//! A reloaded `Hnsw` borrows the `HnswIo` that loaded it (invariant
//! lifetime); the two are kept together with `self_cell`, without `unsafe`
//! and without leaking.

// The executor that calls this layer is being written in another worktree;
// until it lands, some items here are only used by tests.
#![cfg_attr(not(test), allow(dead_code))]

use std::fs;
use std::io::{self, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hnsw_rs::prelude::{AnnT, DataId, Distance, Hnsw, HnswIo, Neighbour};
use parking_lot::RwLock;
use self_cell::self_cell;

use crate::error::{Error, ErrorKind, Result};
use crate::index::distance::{cosine_from_dot, dot, l2_squared};
use crate::index::{AnnIndex, GraphParams, IdFilter, Metric};
use crate::storage::atomic::{self, AtomicFile};

mod hash64;
mod header;

use header::{Checksum, Meta};

/// hnsw_rs must be built with 16 layers or `file_dump` fails (trap 2).
const MAX_LAYER: usize = 16;

/// Batches larger than this are inserted with `parallel_insert_slice`.
const PARALLEL_INSERT_MIN: usize = 64;

/// Accepted range of `GraphParams::m` (hnsw_rs exits the process above 256).
const M_RANGE: std::ops::RangeInclusive<usize> = 2..=128;

/// Accepted range of `GraphParams::ef_construction`.
const EF_CONSTRUCTION_RANGE: std::ops::RangeInclusive<usize> = 1..=4096;

/// Largest dimension accepted.
const MAX_DIM: usize = 65_536;

/// hnsw_rs pre-allocates 8 bytes per expected point from the capacity hint;
/// a hint past this is clamped so that a wild hint cannot abort on allocation.
const MAX_CAPACITY_HINT: usize = 1 << 22;

/// Estimated heap bytes per stored vector on top of its `dim · 4` bytes of
/// values and its links (fitted; see [`HnswIndex::memory_bytes`]).
const BYTES_PER_POINT_BASE: usize = 150;

/// Estimated heap bytes per neighbour link slot (an `Arc<PointWithOrder>`
/// allocation, its pointer in the neighbour list, list slack), fitted.
const BYTES_PER_LINK: usize = 86;

/// Suffix of hnsw_rs's graph file.
const GRAPH_SUFFIX: &str = ".hnsw.graph";
/// Suffix of hnsw_rs's data file.
const DATA_SUFFIX: &str = ".hnsw.data";
/// Suffix of our sidecar header.
const META_SUFFIX: &str = ".hnsw.meta";

/// Graph distances from here up stand for ∞ (and `f32::MAX` for NaN): room
/// above every real distance so that NaN ranks after ∞.
const BEYOND: f32 = f32::MAX / 2.0;

/// The metric's distance in the units hnsw_rs works with: never negative,
/// never NaN (trap 1), and a strictly increasing function of the metric's own
/// distance, so the graph built and the order of results are exactly those of
/// the metric. [`HnswDistance::to_metric_units`] converts back.
///
/// - Cosine: `max(0, 1 − a·b)` — already the metric's units.
/// - L2: `‖a − b‖²` — the square root is taken only of returned results.
/// - Dot: `x = −a·b` mapped to `1 + x` when `x ≥ 0` and `1 / (1 − x)` when
///   `x < 0`, a continuous increasing bijection of ℝ onto `(0, ∞)`.
///
/// NaN (from NaN inputs, or `∞ − ∞` in the dot product of huge vectors)
/// becomes `f32::MAX`: the farthest possible, after every distance of ∞,
/// which is held at [`BEYOND`].
///
/// hnsw_rs records this type's name in its dump and refuses to reload a dump
/// made with another name; renaming or moving the type makes old dumps load
/// as `Corrupt` (they are a rebuildable cache).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HnswDistance {
    /// The metric measured.
    metric: Metric,
}

impl HnswDistance {
    /// The graph distance for `metric`.
    pub(crate) fn new(metric: Metric) -> Self {
        HnswDistance { metric }
    }

    /// The distance between two prepared vectors in graph units.
    #[inline]
    pub(crate) fn graph_distance(&self, a: &[f32], b: &[f32]) -> f32 {
        let d = match self.metric {
            Metric::Cosine => cosine_from_dot(dot(a, b)),
            Metric::L2 => l2_squared(a, b),
            Metric::Dot => {
                let x = -dot(a, b);
                if x >= 0.0 {
                    1.0 + x
                } else {
                    1.0 / (1.0 - x)
                }
            }
        };
        // hnsw_rs wants finite distances: NaN (∞ − ∞ in a dot product of
        // huge vectors) is the largest, after every number, ∞ included.
        if d.is_nan() {
            f32::MAX
        } else {
            d.min(BEYOND)
        }
    }

    /// Converts a graph distance back to the metric's units
    /// ([`crate::index::distance::distance`]).
    #[inline]
    pub(crate) fn to_metric_units(self, g: f32) -> f32 {
        if g >= BEYOND {
            return f32::INFINITY;
        }
        match self.metric {
            Metric::Cosine => g,
            Metric::L2 => g.sqrt(),
            Metric::Dot => {
                if g >= 1.0 {
                    g - 1.0
                } else {
                    1.0 - 1.0 / g
                }
            }
        }
    }
}

impl Distance<f32> for HnswDistance {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        self.graph_distance(va, vb)
    }
}

/// The hnsw_rs graph type, for one lifetime of borrowed data.
type Graph<'a> = Hnsw<'a, f32, HnswDistance>;

self_cell!(
    /// A graph reloaded from files together with the `HnswIo` it borrows.
    struct LoadedGraph {
        owner: HnswIo,

        #[not_covariant]
        dependent: Graph,
    }
);

/// Where the graph lives: built in memory, or reloaded (borrowing its loader).
enum GraphCell {
    /// Built by [`HnswIndex::new`] and inserts.
    Built(Graph<'static>),
    /// Reloaded by [`HnswIndex::load`].
    Loaded(LoadedGraph),
}

/// An HNSW graph index (hnsw_rs) over internal `u32` ids, for one metric and
/// dimension. Inserts and searches take `&self` and may run concurrently;
/// [`AnnIndex::save`] waits for running inserts and holds new ones off.
pub(crate) struct HnswIndex {
    metric: Metric,
    dim: usize,
    params: GraphParams,
    graph: GraphCell,
    /// Inserts hold it shared, `save` exclusively, so that a dump never sees
    /// a half-inserted point (hnsw_rs would write a count that disagrees
    /// with the points it writes).
    write_gate: RwLock<()>,
}

impl std::fmt::Debug for HnswIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswIndex")
            .field("metric", &self.metric)
            .field("dim", &self.dim)
            .field("params", &self.params)
            .field("len", &self.len())
            .finish()
    }
}

/// Checks graph parameters and dimension before hnsw_rs sees them (it exits
/// the process on some bad values).
fn validate(dim: usize, params: &GraphParams) -> Result<()> {
    if !M_RANGE.contains(&params.m) {
        return Err(Error::invalid_option(format!(
            "m must be between {} and {}, not {}",
            M_RANGE.start(),
            M_RANGE.end(),
            params.m
        )));
    }
    if !EF_CONSTRUCTION_RANGE.contains(&params.ef_construction) {
        return Err(Error::invalid_option(format!(
            "ef_construction must be between {} and {}, not {}",
            EF_CONSTRUCTION_RANGE.start(),
            EF_CONSTRUCTION_RANGE.end(),
            params.ef_construction
        )));
    }
    if dim == 0 || dim > MAX_DIM {
        return Err(Error::invalid_option(format!(
            "dimension must be between 1 and {MAX_DIM}, not {dim}"
        )));
    }
    Ok(())
}

impl HnswIndex {
    /// An empty index for vectors of `dim` values prepared for `metric`.
    ///
    /// `capacity_hint` is the number of vectors expected (hnsw_rs reserves
    /// its tables from it; it is clamped to 4M). Fails with `InvalidOption`
    /// unless `params.m` is in `2..=128`, `params.ef_construction` in
    /// `1..=4096` and `dim` in `1..=65536`.
    pub(crate) fn new(
        metric: Metric,
        dim: usize,
        params: GraphParams,
        capacity_hint: usize,
    ) -> Result<Self> {
        validate(dim, &params)?;
        let graph = Hnsw::new(
            params.m,
            capacity_hint.min(MAX_CAPACITY_HINT),
            MAX_LAYER,
            params.ef_construction,
            HnswDistance::new(metric),
        );
        Ok(HnswIndex {
            metric,
            dim,
            params,
            graph: GraphCell::Built(graph),
            write_gate: RwLock::new(()),
        })
    }

    /// The metric of the index.
    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    /// The dimension of the vectors.
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// The build parameters.
    pub(crate) fn params(&self) -> GraphParams {
        self.params
    }

    /// Runs `f` on the hnsw_rs graph, wherever it lives.
    fn with_graph<R>(&self, f: impl FnOnce(&Graph<'_>) -> R) -> R {
        match &self.graph {
            GraphCell::Built(g) => f(g),
            GraphCell::Loaded(cell) => cell.with_dependent(|_, g| f(g)),
        }
    }

    /// Reloads an index saved by [`AnnIndex::save`] under `dir`/`basename`,
    /// expecting it to hold vectors of `dim` values for `metric`.
    ///
    /// Errors: `Io` when a file is missing or unreadable; `Corrupt` when a
    /// file is truncated, damaged, of another format version, or holds
    /// another metric or dimension. Never panics or exits on bad files: sizes
    /// and checksums recorded in `<basename>.hnsw.meta` are checked before
    /// hnsw_rs reads anything, and a panic inside hnsw_rs is caught.
    ///
    /// The reloaded index accepts further inserts and can be saved again
    /// (hnsw_rs reads the vectors into memory; no file stays mapped).
    pub(crate) fn load(dir: &Path, basename: &str, metric: Metric, dim: usize) -> Result<Self> {
        check_basename(basename)?;
        let meta_path = dir.join(format!("{basename}{META_SUFFIX}"));
        let meta = Meta::read(&meta_path)?;
        if meta.metric != metric || meta.dim != dim {
            return Err(Error::corrupt(
                meta_path.display(),
                format!(
                    "index holds {} vectors of dimension {}, expected {} of dimension {}",
                    meta.metric.name(),
                    meta.dim,
                    metric.name(),
                    dim
                ),
            ));
        }
        validate(dim, &meta.params)
            .map_err(|e| Error::corrupt(meta_path.display(), e.message()))?;
        if meta.count == 0 {
            return HnswIndex::new(metric, dim, meta.params, 0);
        }
        for (suffix, len, sum) in [
            (GRAPH_SUFFIX, meta.graph_len, meta.graph_sum),
            (DATA_SUFFIX, meta.data_len, meta.data_sum),
        ] {
            let path = dir.join(format!("{basename}{suffix}"));
            let (got_len, got_sum) = meta
                .checksum
                .of_file(&path)
                .map_err(|e| Error::io(path.display(), e))?;
            if got_len != len || got_sum != sum {
                return Err(Error::corrupt(
                    path.display(),
                    format!(
                        "file does not match its {META_SUFFIX} header \
                         ({got_len} bytes, expected {len}; or damaged content)"
                    ),
                ));
            }
        }

        let loader = HnswIo::new(dir, basename);
        let dist = HnswDistance::new(metric);
        let context = dir.join(basename).display().to_string();
        let cell = LoadedGraph::try_new(loader, |io| {
            match catch_unwind(AssertUnwindSafe(|| io.load_hnsw_with_dist(dist))) {
                Ok(Ok(graph)) => Ok(graph),
                Ok(Err(e)) => Err(Error::corrupt(&context, e)),
                Err(_) => Err(Error::corrupt(
                    &context,
                    "hnsw_rs panicked reading the files",
                )),
            }
        })?;
        let index = HnswIndex {
            metric,
            dim,
            params: meta.params,
            graph: GraphCell::Loaded(cell),
            write_gate: RwLock::new(()),
        };
        let (count, file_dim) = index.with_graph(|g| {
            (
                g.get_nb_point(),
                g.get_point_indexation().get_data_dimension(),
            )
        });
        if count as u64 != meta.count || file_dim != dim {
            return Err(Error::corrupt(
                &context,
                format!(
                    "reloaded {count} vectors of dimension {file_dim}, header says {} of {dim}",
                    meta.count
                ),
            ));
        }
        Ok(index)
    }

    /// Converts hnsw_rs results to `(id, distance)` in metric units, nearest
    /// first, ties by smaller id.
    ///
    /// Sorted by graph distance, which orders like the metric but keeps a
    /// NaN distance (`f32::MAX`) after an infinite one (`BEYOND`), both
    /// reported as ∞.
    fn convert(&self, found: Vec<Neighbour>, k: usize) -> Vec<(u32, f32)> {
        let dist = HnswDistance::new(self.metric);
        let mut out: Vec<(u32, f32)> = found
            .into_iter()
            .filter_map(|n| u32::try_from(n.d_id).ok().map(|id| (id, n.distance)))
            .collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        out.truncate(k);
        for (_, d) in &mut out {
            *d = dist.to_metric_units(*d);
        }
        out
    }
}

impl AnnIndex for HnswIndex {
    /// Items whose vector length differs from the index's dimension are
    /// skipped (the executor checks dimensions before; a wrong vector must not
    /// crash the process).
    fn insert(&self, items: &[(u32, &[f32])]) {
        let _gate = self.write_gate.read();
        let batch: Vec<(&[f32], DataId)> = items
            .iter()
            .filter(|(_, v)| v.len() == self.dim)
            .map(|&(id, v)| (v, id as DataId))
            .collect();
        self.with_graph(|g| {
            if batch.len() > PARALLEL_INSERT_MIN {
                g.parallel_insert_slice(&batch);
            } else {
                for &item in &batch {
                    g.insert_slice(item);
                }
            }
        });
    }

    /// `ef` is raised to `k` when smaller. A query whose length differs from
    /// the dimension, or `k == 0`, gives an empty result.
    fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        filter: Option<IdFilter<'_>>,
    ) -> Vec<(u32, f32)> {
        if k == 0 || query.len() != self.dim {
            return Vec::new();
        }
        let ef = ef.max(k);
        let found = self.with_graph(|g| match filter {
            None => g.search(query, k, ef),
            Some(allow) => {
                let pred = |id: &DataId| u32::try_from(*id).map(allow).unwrap_or(false);
                g.search_filter(query, k, ef, Some(&pred))
            }
        });
        self.convert(found, k)
    }

    fn len(&self) -> usize {
        self.with_graph(|g| g.get_nb_point())
    }

    /// An estimate: `len · (dim·4 + 150 + 86·(2m + 1))` bytes.
    ///
    /// Fitted to the resident-set growth while building (glibc malloc,
    /// Gaussian data, dim 48, ef_construction 32; `memory_estimate` test):
    /// m = 16 → 3,150 B/vector at 100,000 vectors and 3,154 at 30,000
    /// (estimate 3,180); m = 8 → 1,770 B/vector at 30,000 (estimate 1,804).
    /// So ~3 KB per vector at m = 16, of which only `dim·4` is the vector:
    /// the rest is hnsw_rs's per-point `Arc`s, locks and one allocation per
    /// neighbour link (layer 0 keeps up to `2m`). Not included: after a
    /// reload, HNSW_RS_NOTES.md measured ~1 KB/vector more RSS than a fresh
    /// build (the loader's temporary maps, kept by the allocator).
    fn memory_bytes(&self) -> usize {
        let per_point =
            self.dim * 4 + BYTES_PER_POINT_BASE + BYTES_PER_LINK * (2 * self.params.m + 1);
        self.len().saturating_mul(per_point)
    }

    fn save(&self, dir: &Path, basename: &str) -> Result<()> {
        check_basename(basename)?;
        // No insert runs while the graph is written.
        let _gate = self.write_gate.write();
        let count = self.len();
        let mut meta = Meta {
            metric: self.metric,
            dim: self.dim,
            params: self.params,
            count: count as u64,
            graph_len: 0,
            graph_sum: 0,
            data_len: 0,
            data_sum: 0,
            checksum: Checksum::Crc32,
        };
        let final_graph = dir.join(format!("{basename}{GRAPH_SUFFIX}"));
        let final_data = dir.join(format!("{basename}{DATA_SUFFIX}"));
        let final_meta = dir.join(format!("{basename}{META_SUFFIX}"));
        // The header's temporary file is created first: it proves the
        // directory writable before hnsw_rs (which panics and prints when it
        // cannot create its files) is called.
        let meta_out =
            AtomicFile::create(&final_meta).map_err(|e| Error::io(final_meta.display(), e))?;

        if count > 0 {
            // hnsw_rs cannot dump an empty graph ("entry point not
            // initialized"); an empty index is the header alone.
            let written = self.dump_to_temp(dir, &temp_basename(basename))?;
            let graph_tmp = dir.join(format!("{written}{GRAPH_SUFFIX}"));
            let data_tmp = dir.join(format!("{written}{DATA_SUFFIX}"));
            let moved = (|| -> io::Result<()> {
                (meta.graph_len, meta.graph_sum) = meta.checksum.of_file(&graph_tmp)?;
                (meta.data_len, meta.data_sum) = meta.checksum.of_file(&data_tmp)?;
                atomic::move_into_place(&data_tmp, &final_data)?;
                atomic::move_into_place(&graph_tmp, &final_graph)
            })();
            if let Err(e) = moved {
                remove_quietly(&[&graph_tmp, &data_tmp]);
                return Err(Error::io(dir.join(&written).display(), e));
            }
        }
        // The header goes last: until it is renamed, a reader sees the old
        // header, whose sizes and checksums no longer match the new graph and
        // data files, so a crash in between loads as `Corrupt` (and the graph,
        // a cache, is rebuilt) — never as a wrong index.
        meta_out
            .file()
            .write_all(&meta.encode())
            .and_then(|()| meta_out.commit())
            .map_err(|e| Error::io(final_meta.display(), e))?;
        if count == 0 {
            // Leftovers of an earlier, non-empty save are no longer described.
            remove_quietly(&[&final_graph, &final_data]);
        }
        Ok(())
    }
}

impl HnswIndex {
    /// `file_dump` to `dir`/`tmp`; returns the basename hnsw_rs actually
    /// used (it may pick another one, trap 3). Removes partial files on
    /// failure.
    fn dump_to_temp(&self, dir: &Path, tmp: &str) -> Result<String> {
        let dumped = self.with_graph(|g| catch_unwind(AssertUnwindSafe(|| g.file_dump(dir, tmp))));
        let err = match dumped {
            Ok(Ok(name)) if check_basename(&name).is_ok() => return Ok(name),
            Ok(Ok(name)) => format!("hnsw_rs wrote an unexpected basename {name:?}"),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "hnsw_rs panicked while writing (unwritable directory?)".to_string(),
        };
        let graph_tmp = dir.join(format!("{tmp}{GRAPH_SUFFIX}"));
        let data_tmp = dir.join(format!("{tmp}{DATA_SUFFIX}"));
        remove_quietly(&[&graph_tmp, &data_tmp]);
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "{}: saving the graph failed: {err}",
                dir.join(tmp).display()
            ),
        ))
    }
}

/// A basename must be a plain file-name prefix: non-empty, no path
/// separator, no `..`.
fn check_basename(basename: &str) -> Result<()> {
    if basename.is_empty()
        || basename.contains(['/', '\\', '\0'])
        || basename == "."
        || basename == ".."
    {
        return Err(Error::invalid_option(format!(
            "invalid index file basename {basename:?}"
        )));
    }
    Ok(())
}

/// A basename no other save (in this or another process) uses at the same
/// time.
fn temp_basename(basename: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{basename}.tmp-{}-{n}", std::process::id())
}

/// Best-effort removal of temporary or stale files.
fn remove_quietly(paths: &[&Path]) {
    for p in paths {
        let _ = fs::remove_file(p);
    }
}

/// Paths of the three files of a saved index, for callers that copy or
/// delete them (e.g. archiving a tenant): graph, data, header.
pub(crate) fn file_paths(dir: &Path, basename: &str) -> [PathBuf; 3] {
    [
        dir.join(format!("{basename}{GRAPH_SUFFIX}")),
        dir.join(format!("{basename}{DATA_SUFFIX}")),
        dir.join(format!("{basename}{META_SUFFIX}")),
    ]
}

#[cfg(test)]
mod tests;
