//! Billing: the price table of [`Config`](crate::Config), report periods,
//! and the estimated cost of a tenant's usage.

use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};
use crate::parser::ast::Period;
use crate::tenant::usage::{Metric, N};

/// Prices of the estimated cost in `SHOW USAGE` (any currency; the defaults
/// read as US dollars). Set `Config::prices` before opening the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Prices {
    /// Per 1,000 similarity searches. Default 0.10.
    pub per_1k_searches: f64,
    /// Per 1,000 nodes inserted or upserted. Default 0.05.
    pub per_1k_inserts: f64,
    /// Per 1,000 nodes updated or deleted. Default 0.01.
    pub per_1k_writes: f64,
    /// Per million vectors scanned by searches. Default 0.02.
    pub per_1m_vectors_scanned: f64,
    /// Per GiB stored for a month (30 days), from the last storage gauge of
    /// the period. Default 0.25.
    pub per_gb_month: f64,
    /// Per million embedding tokens (texts embedded). Default 0.10.
    pub per_1m_embedding_tokens: f64,
    /// Per hour of compute time inside the engine. Default 0.50.
    pub per_compute_hour: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            per_1k_searches: 0.10,
            per_1k_inserts: 0.05,
            per_1k_writes: 0.01,
            per_1m_vectors_scanned: 0.02,
            per_gb_month: 0.25,
            per_1m_embedding_tokens: 0.10,
            per_compute_hour: 0.50,
        }
    }
}

impl Prices {
    /// The estimated cost of `counts` ([`METRICS`](super::usage::METRICS)
    /// order) with `storage_bytes` kept for `days`, rounded to 1/10,000.
    pub(crate) fn cost(&self, counts: &[u64; N], storage_bytes: u64, days: f64) -> f64 {
        let c = |m: Metric| counts[m as usize] as f64;
        let gib = storage_bytes as f64 / (1024.0 * 1024.0 * 1024.0);
        let total = c(Metric::Searches) / 1e3 * self.per_1k_searches
            + c(Metric::Inserts) / 1e3 * self.per_1k_inserts
            + (c(Metric::Updates) + c(Metric::Deletes)) / 1e3 * self.per_1k_writes
            + c(Metric::VectorsScanned) / 1e6 * self.per_1m_vectors_scanned
            + c(Metric::EmbeddingTokens) / 1e6 * self.per_1m_embedding_tokens
            + c(Metric::ComputeMicros) / 3.6e9 * self.per_compute_hour
            + gib * days / 30.0 * self.per_gb_month;
        (total * 1e4).round() / 1e4
    }
}

/// A report period: first day and the day after the last, both as dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) first: NaiveDate,
    pub(crate) end: NaiveDate,
}

impl Span {
    /// Unix seconds of the first day's start and of the end.
    pub(crate) fn seconds(&self) -> (i64, i64) {
        let s = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp())
        };
        (s(self.first), s(self.end))
    }

    /// The days of the span on which a tenant created on `since` (if
    /// known) can have stored data as of `today`: none before it existed,
    /// none in the future. Storage is charged for these days only.
    pub(crate) fn stored_days(&self, since: Option<NaiveDate>, today: NaiveDate) -> f64 {
        let first = since.map_or(self.first, |s| s.max(self.first));
        let end = self.end.min(today.succ_opt().unwrap_or(today));
        (end - first).num_days().max(0) as f64
    }

    /// The last day (inclusive).
    pub(crate) fn last(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end)
    }
}

fn bad(text: &str, expected: &str) -> Error {
    Error::invalid_option(format!(
        "invalid usage period '{text}': expected {expected}"
    ))
}

/// Whether `text` has the shape of `pattern` (`9` a digit, else literal).
fn shaped(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'9' => c.is_ascii_digit(),
            _ => c == p,
        })
}

fn month(text: &str) -> Result<Span> {
    if !shaped(text, "9999-99") {
        return Err(bad(text, "a month 'YYYY-MM', e.g. '2026-11'"));
    }
    let first = NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map_err(|_| bad(text, "a month 'YYYY-MM', e.g. '2026-11'"))?;
    let end = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| bad(text, "a month 'YYYY-MM'"))?;
    Ok(Span { first, end })
}

fn day(text: &str) -> Result<NaiveDate> {
    if !shaped(text, "9999-99-99") {
        return Err(bad(text, "a date 'YYYY-MM-DD', e.g. '2026-11-01'"));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| bad(text, "a date 'YYYY-MM-DD', e.g. '2026-11-01'"))
}

/// The span of `period`; `None` is the month of `today`.
pub(crate) fn span(period: Option<&Period>, today: NaiveDate) -> Result<Span> {
    match period {
        None => month(&today.format("%Y-%m").to_string()),
        Some(Period::Month(m)) => month(m),
        Some(Period::Range(from, to)) => {
            let (first, last) = (day(from)?, day(to)?);
            if last < first {
                return Err(Error::invalid_option(format!(
                    "invalid usage period: FROM '{from}' is after TO '{to}'"
                )));
            }
            let end = last
                .succ_opt()
                .ok_or_else(|| bad(to, "a date before 262143"))?;
            Ok(Span { first, end })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_refuse() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let s = span(None, today).unwrap();
        assert_eq!(s.stored_days(None, NaiveDate::MAX), 31.0);
        assert_eq!(s.end, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        let s = span(Some(&Period::Month("2026-02".into())), today).unwrap();
        assert_eq!(s.stored_days(None, NaiveDate::MAX), 28.0);
        let r = Period::Range("2026-11-01".into(), "2026-11-01".into());
        assert_eq!(
            span(Some(&r), today)
                .unwrap()
                .stored_days(None, NaiveDate::MAX),
            1.0
        );
        for bad in ["2026-13", "26-1", "nov"] {
            let e = span(Some(&Period::Month(bad.into())), today).unwrap_err();
            assert!(e.message().contains("expected a month"), "{e}");
        }
        let r = Period::Range("2026-11-05".into(), "2026-11-01".into());
        assert!(span(Some(&r), today)
            .unwrap_err()
            .message()
            .contains("after"));
    }

    #[test]
    fn storage_days_exist() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let created = NaiveDate::from_ymd_opt(2026, 11, 20);
        let all = Period::Range("0000-01-01".into(), "9999-12-31".into());
        let s = span(Some(&all), today).unwrap();
        // Nov 20 to Dec 5, both included.
        assert_eq!(s.stored_days(created, today), 16.0);
        assert_eq!(
            s.stored_days(None, today),
            s.stored_days(None, NaiveDate::MAX) - 2_912_104.0
        );
        let past = span(Some(&Period::Month("2026-10".into())), today).unwrap();
        assert_eq!(past.stored_days(created, today), 0.0);
        let month = span(None, today).unwrap();
        assert_eq!(month.stored_days(created, today), 5.0);
    }

    #[test]
    fn cost_adds_up() {
        let mut counts = [0u64; N];
        counts[Metric::Searches as usize] = 2_000;
        counts[Metric::Inserts as usize] = 1_000;
        let p = Prices::default();
        assert_eq!(p.cost(&counts, 0, 30.0), 0.25);
        assert_eq!(p.cost(&[0; N], 1024 * 1024 * 1024, 30.0), 0.25);
    }
}
