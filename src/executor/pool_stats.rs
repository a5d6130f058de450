//! The pool rows of `SHOW STATS`.

use crate::tenant::pool::PoolStats;
use crate::value::Value;

/// `(metric, value)` rows for the pool's statistics and the process's graph
/// counters.
pub(super) fn rows(s: &PoolStats) -> Vec<Vec<Value>> {
    let g = crate::collection::graph_stats::snapshot();
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let opt = |n: Option<usize>| n.map_or(Value::Null, |n| int(n as u64));
    [
        ("memory_used_bytes", int(s.memory_bytes as u64)),
        ("memory_budget_bytes", opt(s.memory_budget_bytes)),
        ("pool_hits", int(s.hits)),
        ("pool_misses", int(s.misses)),
        ("pool_evictions", int(s.evictions)),
        ("pool_idle_unloads", int(s.idle_unloads)),
        ("pool_loads", int(s.loads)),
        ("avg_load_ms", Value::Float(s.avg_load_ms())),
        ("graph_full_rebuilds", int(g.full_rebuilds)),
        ("graph_caught_up_nodes", int(g.caught_up_nodes)),
        ("graph_checkpoints", int(g.checkpoints)),
    ]
    .into_iter()
    .map(|(k, v)| vec![Value::Str(k.into()), v])
    .collect()
}
