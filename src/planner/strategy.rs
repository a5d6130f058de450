//! The search strategy of a read: its `WITH` options, and the choice
//! between an exact scan and a graph search, made in one place from the
//! loaded collection's statistics and the filter's exact match count. Also
//! the text `EXPLAIN` prints for it.

use std::fmt;

use roaring::RoaringBitmap;

use crate::collection::meta::IndexKind;
use crate::collection::Collection;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::index::codes::rerank_count;
use crate::index::graph::filtered_walk_ef;
use crate::parser::ast::{Opt, Select};

/// k when `SIMILAR TO` has no `TOP`/`LIMIT`.
pub(crate) const DEFAULT_K: u64 = 10;

/// How a similarity query runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Strategy {
    /// Exact distances to every candidate.
    Exact {
        /// Why the exact scan was chosen.
        reason: String,
    },
    /// A scan of the one-byte codes of the candidates' vectors, then an
    /// exact re-rank of the best few (`Collection::quantized_search`).
    /// The codes hand [`rerank_count`] of the plan's `k` candidates to the
    /// re-rank.
    Quantized {
        /// Why a scan was chosen.
        reason: String,
    },
    /// HNSW graph search; with a filter, the filter is applied inside the
    /// walk (and, for hnsw_rs, `ef` raised by the filter's selectivity).
    Graph {
        /// Search breadth used.
        ef: usize,
    },
}

/// What the planner knew and decided for one similarity query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchPlan {
    /// Live vectors in the collection.
    pub(crate) total: u64,
    /// Nodes the filter matches (with vectors), if there is a filter.
    pub(crate) matches: Option<u64>,
    /// Nearest neighbours wanted.
    pub(crate) k: usize,
    /// The cost model's estimates for a filtered query on a graph.
    pub(crate) estimate: Option<Estimate>,
    /// The decision.
    pub(crate) strategy: Strategy,
}

/// Estimated costs of a filtered search, in distance evaluations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    /// An exact scan of the matches: one distance each.
    pub(crate) scan: f64,
    /// A scan of the matches' codes (`quantized_scan_cost` each) plus the
    /// exact re-rank, when there are enough matches for codes.
    pub(crate) codes: Option<f64>,
    /// A filtered graph walk: `filter_walk_cost × ef / pass rate`, with
    /// the `ef` the walk runs with.
    pub(crate) walk: f64,
}

impl Estimate {
    /// The estimates for `matches` of `total` vectors, for `k` results,
    /// with a walk at `ef`.
    fn new(config: &Config, matches: u64, total: u64, ef: usize, k: usize) -> Estimate {
        let rate = (matches as f64 / total.max(1) as f64).max(1e-9);
        let codes = (matches >= config.quantized_scan_min as u64)
            .then(|| matches as f64 * config.quantized_scan_cost + rerank_count(k) as f64);
        Estimate {
            scan: matches as f64,
            codes,
            walk: config.filter_walk_cost * ef as f64 / rate,
        }
    }

    /// The cheaper of the two scans.
    fn best_scan(&self) -> f64 {
        self.codes.map_or(self.scan, |c| c.min(self.scan))
    }
}

/// `WITH (ef: n, exact: bool)` of a read; without `ef`, the tenant's
/// `default_ef`, else the collection's `ef_search`.
pub(crate) struct ReadOptions {
    ef: Option<usize>,
    exact: bool,
}

/// Reads the options of a read statement.
pub(crate) fn read_options(opts: &[Opt]) -> Result<ReadOptions> {
    let mut out = ReadOptions {
        ef: None,
        exact: false,
    };
    for o in opts {
        read_option(&mut out, o).map_err(|e| e.with_span(o.span))?;
    }
    Ok(out)
}

impl ReadOptions {
    /// These options, with the `ef` of `default` (the tenant's `default_ef`)
    /// when the statement gives none.
    pub(crate) fn or_default_ef(mut self, default: Option<u64>) -> ReadOptions {
        if self.ef.is_none() {
            self.ef = default.and_then(|ef| usize::try_from(ef).ok());
        }
        self
    }
}

/// Applies one read option to `out`.
fn read_option(out: &mut ReadOptions, o: &Opt) -> Result<()> {
    match o.key.as_str() {
        "ef" => match o.value.as_i64() {
            Some(n) if (1..=4096).contains(&n) => out.ef = Some(n as usize),
            _ => {
                return Err(Error::invalid_option(format!(
                    "ef must be an integer from 1 to 4096, got {}",
                    o.value
                )))
            }
        },
        "exact" => {
            out.exact = o.value.as_bool().ok_or_else(|| {
                Error::invalid_option(format!("exact must be true or false, got {}", o.value))
            })?
        }
        other => {
            return Err(Error::invalid_option(format!(
                "unknown query option '{other}'; use ef or exact"
            )))
        }
    }
    Ok(())
}

/// Plans a similarity search: its candidates and strategy.
pub(crate) fn search_plan(
    config: &Config,
    c: &Collection,
    s: &Select,
    opts: &ReadOptions,
    matches: Option<&RoaringBitmap>,
) -> (Option<RoaringBitmap>, SearchPlan) {
    // Without a filter every vector is a candidate, and no bitmap is built
    // (on 399k vectors the copy alone cost tens of microseconds a query).
    let candidates = matches.map(|m| m & c.with_vector());
    let n = candidates
        .as_ref()
        .map_or(c.with_vector().len(), RoaringBitmap::len);
    // No more results than candidates: a huge TOP must not size the search.
    let requested = s.limit.map_or(DEFAULT_K, |l| l.count());
    let k = requested.min(n) as usize;
    let facts = Facts {
        total: c.with_vector().len(),
        matches: candidates.as_ref().map(RoaringBitmap::len),
        has_graph: c.has_graph(),
        exact_requested: opts.exact,
        ef: opts.ef.unwrap_or(c.meta.ef_search),
        k,
        // The native graph widens its own filtered walk; hnsw_rs needs ef raised.
        raise_ef_for_filters: c.meta.index == IndexKind::HnswRs,
    };
    (candidates, choose(&facts, config))
}

/// Inputs of [`choose`].
pub(crate) struct Facts {
    pub(crate) total: u64,
    pub(crate) matches: Option<u64>,
    pub(crate) has_graph: bool,
    pub(crate) exact_requested: bool,
    pub(crate) ef: usize,
    pub(crate) k: usize,
    /// Scale `ef` by 1/selectivity for a filtered graph search (for a
    /// backend that does not widen its own filtered walk).
    pub(crate) raise_ef_for_filters: bool,
}

/// Largest `ef` a selective filter may raise the search breadth to.
const MAX_EF: usize = 2048;

/// Picks exact scan or graph search.
///
/// - `WITH (exact: true)`, or no graph index (small collection, `index: 'flat'`):
///   exact scan.
/// - A filter matching at most `exact_filter_threshold` nodes, or at most
///   `exact_filter_fraction` of the collection: exact scan of just those
///   nodes — exact recall at a cost proportional to the matches.
/// - Above that, the cost model: an exact scan of the matches costs one
///   distance per match, a filtered walk `filter_walk_cost × ef / rate`
///   (the walk visits about `1 / rate` nodes per allowed one); the cheaper
///   wins. The scan grows with the matches and the walk shrinks, so the
///   crossover is at a pass rate of `sqrt(filter_walk_cost × ef / total)`
///   (12% on 399k vectors at a walk `ef` of 128).
/// - Otherwise graph search with the filter inside the walk. The native
///   graph walks a filter at an `ef` of at least 128
///   ([`filtered_walk_ef`]; it may itself still choose a scan); for
///   hnsw_rs `ef` is scaled by 1/selectivity (capped) so that enough allowed
///   nodes are visited.
pub(crate) fn choose(f: &Facts, config: &Config) -> SearchPlan {
    let base = f.ef.max(f.k);
    // The native graph walks a filter at no less than its own minimum `ef`.
    // hnsw_rs walks were never measured apart: they are priced as a native
    // walk at twice the `ef`, as the native walk ran before that minimum.
    let walk_ef = if f.raise_ef_for_filters {
        2 * base
    } else {
        filtered_walk_ef(base)
    };
    let estimate = match f.matches {
        Some(m) if f.has_graph => Some(Estimate::new(config, m, f.total, walk_ef, f.k)),
        _ => None,
    };
    // A scan chosen below: through the codes when they are the cheaper.
    let scan = |reason: String| match estimate {
        Some(e) if e.codes.is_some_and(|c| c < e.scan) => Strategy::Quantized { reason },
        _ => Strategy::Exact { reason },
    };
    let strategy = if f.exact_requested {
        Strategy::Exact {
            reason: "exact: true requested".into(),
        }
    } else if !f.has_graph {
        Strategy::Exact {
            reason: format!(
                "no graph index (collection below {} vectors or index 'flat')",
                config.flat_threshold
            ),
        }
    } else if let Some(m) = f.matches {
        let fraction_limit = (config.exact_filter_fraction * f.total as f64) as u64;
        if m <= config.exact_filter_threshold as u64 || m <= fraction_limit {
            scan(format!(
                "filter matches {m} <= max({}, {:.0}% of {})",
                config.exact_filter_threshold,
                config.exact_filter_fraction * 100.0,
                f.total
            ))
        } else if let Some(e) = estimate.filter(|e| e.best_scan() <= e.walk) {
            scan(format!(
                "cost model: scan of {m} matches ≈ {:.0} distances <= walk ≈ {:.0}",
                e.best_scan(),
                e.walk
            ))
        } else if f.raise_ef_for_filters {
            let selectivity = m as f64 / f.total.max(1) as f64;
            let raised = (base as f64 / selectivity).ceil() as usize;
            Strategy::Graph {
                ef: raised.clamp(base, MAX_EF.max(base)),
            }
        } else {
            Strategy::Graph { ef: walk_ef }
        }
    } else {
        Strategy::Graph { ef: base }
    };
    SearchPlan {
        total: f.total,
        matches: f.matches,
        k: f.k,
        estimate,
        strategy,
    }
}

impl fmt::Display for SearchPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.strategy {
            Strategy::Exact { reason } => writeln!(f, "strategy: exact scan ({reason})")?,
            Strategy::Quantized { reason } => writeln!(
                f,
                "strategy: code scan, exact re-rank of the best {} ({reason})",
                rerank_count(self.k)
            )?,
            Strategy::Graph { ef } => writeln!(f, "strategy: hnsw graph search (ef={ef})")?,
        }
        match self.matches {
            Some(m) => writeln!(
                f,
                "filter: {m} of {} vectors match ({:.2}%)",
                self.total,
                100.0 * m as f64 / self.total.max(1) as f64
            )?,
            None => writeln!(f, "filter: none ({} vectors)", self.total)?,
        }
        if let Some(e) = self.estimate {
            write!(f, "cost estimate: exact scan ≈ {:.0} distances", e.scan)?;
            if let Some(c) = e.codes {
                write!(f, ", code scan ≈ {c:.0}")?;
            }
            writeln!(f, ", graph walk ≈ {:.0}", e.walk)?;
        }
        write!(f, "k: {}", self.k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(total: u64, matches: Option<u64>) -> Facts {
        Facts {
            total,
            matches,
            has_graph: true,
            exact_requested: false,
            ef: 64,
            k: 10,
            raise_ef_for_filters: true,
        }
    }

    #[test]
    fn selective_filters_scan_through_codes_from_their_minimum() {
        let mut c = Config::new("unused");
        let p = choose(&facts(1_000_000, Some(10_000)), &c);
        assert_eq!(
            p.strategy,
            Strategy::Quantized {
                reason: "filter matches 10000 <= max(20000, 5% of 1000000)".into(),
            }
        );
        assert!(
            p.to_string().contains(&format!(
                "code scan, exact re-rank of the best {} (",
                rerank_count(10)
            )),
            "{p}"
        );
        assert!(
            p.to_string().contains("code scan ≈ 6100, graph walk"),
            "{p}"
        );
        let p = choose(&facts(1_000_000, Some(1_000)), &c);
        assert!(matches!(p.strategy, Strategy::Exact { .. }), "{p}");
        assert!(!p.to_string().contains("code scan"), "{p}");
        c.quantized_scan_min = usize::MAX;
        let p = choose(&facts(1_000_000, Some(10_000)), &c);
        assert!(matches!(p.strategy, Strategy::Exact { .. }), "{p}");
        let mut exact = facts(1_000_000, Some(10_000));
        exact.exact_requested = true;
        c.quantized_scan_min = 0;
        assert!(matches!(
            choose(&exact, &c).strategy,
            Strategy::Exact { .. }
        ));
    }

    #[test]
    fn broad_filters_search_the_graph_with_raised_ef() {
        let c = Config::new("unused");
        let p = choose(&facts(1_000_000, Some(500_000)), &c);
        assert_eq!(p.strategy, Strategy::Graph { ef: 128 });
        let p = choose(&facts(1_000_000, None), &c);
        assert_eq!(p.strategy, Strategy::Graph { ef: 64 });
        // The native graph walks a filter at an ef of at least 128, and
        // keeps a larger one.
        let mut native = facts(1_000_000, Some(500_000));
        native.raise_ef_for_filters = false;
        assert_eq!(choose(&native, &c).strategy, Strategy::Graph { ef: 128 });
        native.ef = 200;
        assert_eq!(choose(&native, &c).strategy, Strategy::Graph { ef: 200 });
        native.matches = None;
        native.ef = 64;
        assert_eq!(choose(&native, &c).strategy, Strategy::Graph { ef: 64 });
    }

    /// The cost model at 399k vectors, for the native graph (its walk at
    /// an ef of 128). Without codes the crossover is at
    /// sqrt(40 × 128 / 399,000) = 11%: 10% scans, 12% and up walk. With
    /// codes (0.6 a match) 12% scans too; 15% walks either way (measured
    /// at 20%: the walk 516 µs, the code scan 1,010 µs).
    #[test]
    fn the_cost_model_scans_up_to_the_crossover() {
        let mut c = Config::new("unused");
        for codes in [false, true] {
            c.quantized_scan_min = if codes { 4_096 } else { usize::MAX };
            for (share, scan) in [
                (0.5, false),
                (0.2, false),
                (0.15, false),
                (0.12, codes),
                (0.1, true),
            ] {
                let m = (399_000.0 * share) as u64;
                let mut f = facts(399_000, Some(m));
                f.raise_ef_for_filters = false;
                let p = choose(&f, &c);
                let (exact, quantized) = match p.strategy {
                    Strategy::Exact { .. } => (true, false),
                    Strategy::Quantized { .. } => (false, true),
                    Strategy::Graph { ef } => {
                        assert_eq!(ef, 128, "{share}: {p}");
                        (false, false)
                    }
                };
                assert_eq!(exact || quantized, scan, "{share}: {p}");
                assert!(codes || !quantized, "{share}: {p}");
                let e = p.estimate.unwrap();
                assert_eq!(e.scan, m as f64);
                assert_eq!(e.codes.is_some(), codes);
                assert_eq!(e.walk, 40.0 * 128.0 / (m as f64 / 399_000.0));
                assert!(p.to_string().contains("cost estimate: exact scan"), "{p}");
            }
        }
    }

    #[test]
    fn no_graph_means_exact() {
        let c = Config::new("unused");
        let mut f = facts(100, None);
        f.has_graph = false;
        assert!(matches!(choose(&f, &c).strategy, Strategy::Exact { .. }));
    }
}
