//! Entry points for the criterion benches (`benches/quota.rs`) into the
//! quota and metering internals. Not a stable API.

use std::collections::BTreeMap;

use crate::error::Result;
use crate::tenant::quota::QuotaState;
use crate::tenant::usage::{Counters, Metric};
use crate::value::Value;

mod query_probe;
pub use query_probe::QueryProbe;

/// One tenant's quota state with every limit set (high enough never to
/// refuse), to time the checks a statement pays.
pub struct QuotaProbe(QuotaState);

impl QuotaProbe {
    /// A tenant with limits on everything.
    pub fn new() -> Self {
        let mut o = BTreeMap::new();
        o.insert("tier".to_string(), Value::Str("pro".into()));
        o.insert("max_qps".to_string(), Value::Float(1e12));
        o.insert("max_api_calls_per_minute".to_string(), Value::Int(i64::MAX));
        o.insert("max_vectors".to_string(), Value::Int(i64::MAX));
        QuotaProbe(QuotaState::new(&o))
    }

    /// The checks of one write statement: admission (rate windows and a
    /// concurrency permit), storage, and a node reservation given back.
    pub fn check(&self) -> Result<()> {
        let _permit = self.0.admit()?;
        self.0.check_storage()?;
        self.0.reserve(1)?;
        self.0.release(1);
        Ok(())
    }
}

impl Default for QuotaProbe {
    fn default() -> Self {
        QuotaProbe::new()
    }
}

/// One tenant's usage counters, to time recording an event.
#[derive(Default)]
pub struct UsageProbe(Counters);

impl UsageProbe {
    /// Records one search event.
    #[inline]
    pub fn record(&self) {
        self.0.add(Metric::Searches, 1);
    }
}
