//! The quick path of a cold similarity query (docs/object-storage.md, "The
//! quick path"): a `SIMILAR TO` read without a filter, on a collection of
//! an offloaded tenant, answered from the collection's quick object in the
//! bucket instead of after the whole tenant's onload.
//!
//! It reads the object's header and one-byte codes, scans the codes for
//! the [`candidates`] nearest rows, fetches those rows (exact vector, id,
//! attributes) with ranged GETs, and re-ranks them with the same exact scan
//! a loaded collection runs, so ids, distances and columns are the loaded
//! tenant's (for a graph collection, those of its exact scan: the exact
//! top k, at least as close as the graph search). The caller then onloads the tenant behind the answer
//! (`Engine::onload_behind`); every later statement finds it loaded, or
//! waits for that onload as for any lazy one.

use std::collections::HashMap;
use std::ops::Range;
use std::time::{Duration, Instant};

use crate::collection::{file_name, Node};
use crate::error::{Error, Result};
use crate::executor::metering::note;
use crate::executor::read::{self, project, Rows};
use crate::executor::Context;
use crate::index::flat::exact_top_k;
use crate::index::vectors::VectorStore;
use crate::parser::ast::{Query, QueryOp, Returning, Select, Similar, VectorExpr};
use crate::planner::strategy::{read_options, DEFAULT_K};
use crate::result::QueryResult;
use crate::storage::object::quick::{self, Prefix, QuickHeader, PREFIX_LEN};
use crate::storage::object::{ManifestObject, ObjectTier};
use crate::tenant::usage::Metric;
use crate::tenant::Tenant;

/// Rows fetched for re-ranking: this many times `k`, and at least
/// [`MIN_CANDIDATES`]. One-byte codes keep the true 10 nearest within the
/// best 100 on the synthetic and random sets tested (recall 1.0).
const CANDIDATES_PER_RESULT: usize = 10;
const MIN_CANDIDATES: usize = 100;

/// Rows closer than this in the object are fetched in one ranged GET.
const COALESCE_GAP: u64 = 16 * 1024;

/// The candidates re-ranked for `k` results among `n` rows.
fn candidates(k: usize, n: usize) -> usize {
    (k.saturating_mul(CANDIDATES_PER_RESULT))
        .max(MIN_CANDIDATES)
        .min(n)
}

/// The read of `q`, if the quick path could answer it: a similarity search
/// with no filter, on a literal or `embed()` vector, not counting.
pub(crate) fn eligible(q: &Query) -> Option<(&Select, &Similar)> {
    let QueryOp::Select(s) = &q.op else {
        return None;
    };
    let sim = s.similar.as_ref()?;
    let plain = s.filter.is_none()
        && !matches!(s.returning, Some(Returning::Count))
        && matches!(sim.vector, VectorExpr::Literal(_) | VectorExpr::Embed(_));
    plain.then_some((s, sim))
}

/// The rows a cold query fetched, by internal id.
struct Fetched {
    vector_field: String,
    rows: HashMap<u32, (Node, Vec<f32>)>,
}

impl Rows for Fetched {
    fn node(&self, iid: u32) -> Option<&Node> {
        self.rows.get(&iid).map(|(n, _)| n)
    }

    fn vector(&self, iid: u32) -> Option<&[f32]> {
        self.rows.get(&iid).map(|(_, v)| v.as_slice())
    }

    fn vector_field(&self) -> &str {
        &self.vector_field
    }
}

/// How long each stage of the quick path took (`examples/offload_bench`,
/// through `bench_support::cold_query_stages`).
#[derive(Debug, Default, Clone, Copy)]
pub struct ColdTimes {
    /// Reading the manifest.
    pub manifest: Duration,
    /// The quick object's prefix, then its header and codes (ranged GETs).
    pub codes: Duration,
    /// Scanning the codes for the candidates.
    pub scan: Duration,
    /// Fetching the candidates' rows.
    pub rows: Duration,
    /// Re-ranking them and building the result.
    pub rerank: Duration,
}

/// Answers `s` (an [`eligible`] read of `q`) on the offloaded `tenant` from
/// its quick object, or `None` when there is none (a snapshot written
/// before quick objects, or of a `flat` collection only before graph
/// collections got them, a collection without vectors, or no such
/// collection): the caller then onloads as usual. A damaged quick
/// object is `Corrupt`, naming it; nothing local is read or written. Notes
/// how long each stage took in `times`.
pub(crate) fn answer(
    ctx: &Context<'_>,
    tenant: &Tenant,
    q: &Query,
    (s, sim): (&Select, &Similar),
    times: &mut ColdTimes,
) -> Result<Option<QueryResult>> {
    let mut clock = Instant::now();
    let mut lap = || {
        let now = Instant::now();
        let took = now - clock;
        clock = now;
        took
    };
    // Checked as the loaded path checks them; the answer is exact anyway.
    read_options(&s.options)?;
    let tier = ctx.catalog.tier()?;
    let manifest = tier.read_manifest(&tenant.name)?;
    times.manifest = lap();
    let Some(manifest) = manifest else {
        return Ok(None);
    };
    let has = |file: &str| manifest.objects.iter().find(|o| o.file == file);
    let (Some(_), Some(object)) = (
        has(&file_name(&q.collection)),
        has(&quick::file_for(&q.collection)),
    ) else {
        return Ok(None);
    };
    let what = format!("quick object {}", object.key);
    let first = tier.read_range(object, 0..PREFIX_LEN.min(object.size))?;
    let prefix = Prefix::parse(&first, object.size, &what)?;
    let mut parts = tier.read_ranges(object, vec![prefix.header(), prefix.codes()])?;
    let (codes, header) = (
        parts.pop().unwrap_or_default(),
        parts.pop().unwrap_or_default(),
    );
    let header = QuickHeader::parse(&header, &prefix, &what)?;
    header.check_codes(&codes, &what)?;
    times.codes = lap();
    let meta = &header.meta;
    let Some(v) = read::query_vector_of(ctx, tenant, meta, sim, |id| {
        Err(Error::unsupported(format!(
            "SIMILAR TO NODE {id:?} on the quick path"
        )))
    })
    .map_err(|e| e.with_span(s.spans.vector))?
    else {
        return Ok(None);
    };
    let n = header.iids.len();
    let requested = s.limit.map_or(DEFAULT_K, |l| l.count());
    let k = usize::try_from(requested).unwrap_or(usize::MAX).min(n);
    let rows =
        header
            .quantizer
            .nearest_rows(&codes, &header.sq_norms, meta.metric, &v, candidates(k, n));
    times.scan = lap();
    let fetched = fetch_rows(tier, object, &header, &prefix, &rows, &what)?;
    times.rows = lap();
    // Slots in internal id order, so ties break as in the loaded scan.
    let mut store = VectorStore::new(header.quantizer.dim());
    store.reserve(fetched.len());
    for (slot, (_, _, vector)) in fetched.iter().enumerate() {
        store.set(slot as u32, vector)?;
    }
    let top = exact_top_k(&store, meta.metric, &v, k, 0..fetched.len() as u32);
    let mut by_slot: Vec<Option<(u32, Node, Vec<f32>)>> = fetched.into_iter().map(Some).collect();
    let mut found = Fetched {
        vector_field: meta.vector_field.clone(),
        rows: HashMap::with_capacity(top.len()),
    };
    let mut hits = Vec::with_capacity(top.len());
    for (slot, distance) in top {
        if let Some((iid, node, vector)) = by_slot.get_mut(slot as usize).and_then(Option::take) {
            found.rows.insert(iid, (node, vector));
            hits.push((iid, Some(distance)));
        }
    }
    let result = project(&found, &hits, s);
    times.rerank = lap();
    // Only once answered: a statement that falls back is metered by the
    // loaded path.
    note(Metric::Searches, 1);
    note(Metric::VectorsScanned, n as u64);
    Ok(Some(result))
}

/// Fetches `rows` (increasing) of the quick object, rows near each other in
/// one ranged GET: (internal id, node, exact vector) in row order.
fn fetch_rows(
    tier: &ObjectTier,
    object: &ManifestObject,
    header: &QuickHeader,
    prefix: &Prefix,
    rows: &[u32],
    what: &str,
) -> Result<Vec<(u32, Node, Vec<f32>)>> {
    let mut groups: Vec<(Range<u64>, Vec<usize>)> = Vec::new();
    for row in rows.iter().map(|r| *r as usize) {
        let range = header.row_range(row, prefix);
        match groups.last_mut() {
            Some((g, members)) if range.start <= g.end.saturating_add(COALESCE_GAP) => {
                g.end = g.end.max(range.end);
                members.push(row);
            }
            _ => groups.push((range, vec![row])),
        }
    }
    let bytes = tier.read_ranges(object, groups.iter().map(|(g, _)| g.clone()).collect())?;
    let mut out = Vec::with_capacity(rows.len());
    for ((group, members), bytes) in groups.iter().zip(&bytes) {
        for row in members {
            let range = header.row_range(*row, prefix);
            let at = (range.start - group.start) as usize..(range.end - group.start) as usize;
            let r = header.row(*row, &bytes[at], what)?;
            let node = Node {
                id: r.id.into(),
                attrs: r.attrs,
            };
            out.push((header.iids[*row], node, r.vector));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn candidates_are_bounded_by_the_rows() {
        assert_eq!(candidates(10, 100_000), 100);
        assert_eq!(candidates(50, 100_000), 500);
        assert_eq!(candidates(10, 30), 30);
        assert_eq!(candidates(usize::MAX, 7), 7);
    }
}
