//! The wall clock every part of the engine reads: one source of time, so
//! that no module imports another stage just to learn what time it is.

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
