//! Sliding rate windows in constant memory: the window is cut into
//! [`SLOTS`] slots, each counting the statements that started in it; a
//! statement is admitted while the slots of the last window hold fewer
//! than the limit. So a burst is cut exactly at the limit, and the window
//! slides by a tenth of its length (100 ms for `max_qps`).

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Slots per window.
const SLOTS: usize = 10;

/// One tenant's rate window (a per-tenant lock held for a few nanoseconds).
pub(crate) struct Window {
    origin: Instant,
    /// (slot number since `origin`, count), ring-indexed by slot number.
    slots: Mutex<[(u64, u64); SLOTS]>,
}

impl Window {
    /// An empty window.
    pub(crate) fn new() -> Self {
        Window {
            origin: Instant::now(),
            slots: Mutex::new([(u64::MAX, 0); SLOTS]),
        }
    }

    /// Admits one statement at `now` if fewer than `limit` started in the
    /// last `span`; otherwise returns how long until one would be admitted.
    pub(crate) fn admit(&self, now: Instant, span: Duration, limit: u64) -> Result<(), Duration> {
        let slot_len = (span / SLOTS as u32).max(Duration::from_micros(1));
        let since = now.saturating_duration_since(self.origin);
        let current = (since.as_nanos() / slot_len.as_nanos()) as u64;
        let first = current.saturating_sub(SLOTS as u64 - 1);
        let mut slots = self.slots.lock();
        let live = |(n, _): &(u64, u64)| *n != u64::MAX && *n >= first && *n <= current;
        let used: u64 = slots.iter().filter(|s| live(s)).map(|s| s.1).sum();
        if used < limit {
            let s = &mut slots[(current % SLOTS as u64) as usize];
            if s.0 != current {
                *s = (current, 0);
            }
            s.1 += 1;
            return Ok(());
        }
        // Wait until enough of the oldest slots have left the window.
        let mut live_slots: Vec<(u64, u64)> = slots.iter().copied().filter(live).collect();
        live_slots.sort_unstable();
        let mut remaining = used;
        let mut leaves_at = current + 1;
        for (n, count) in live_slots {
            remaining -= count;
            leaves_at = n + SLOTS as u64;
            if remaining < limit {
                break;
            }
        }
        let at = Duration::from_nanos((slot_len.as_nanos() * u128::from(leaves_at)) as u64);
        Err(at.saturating_sub(since).max(Duration::from_millis(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_cut_at_the_limit_and_recovers() {
        let w = Window::new();
        let t0 = Instant::now();
        let span = Duration::from_secs(1);
        for _ in 0..3 {
            assert!(w.admit(t0, span, 3).is_ok());
        }
        let wait = w.admit(t0, span, 3).unwrap_err();
        assert!(wait <= span && wait > Duration::ZERO, "{wait:?}");
        assert!(w.admit(t0 + wait, span, 3).is_ok());
        assert!(w.admit(t0 + span * 3, span, 3).is_ok());
    }
}
