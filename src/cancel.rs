//! Cancelling a running statement from another thread (the shell's Ctrl-C).
//!
//! Long statements check the token at safe points: between the files or
//! entries of ARCHIVE and RESTORE, before OFFLOAD uploads and before ONLOAD
//! moves what it downloaded into place, between chunks of a large node
//! batch, and before each of their commit points (the rename, the catalog
//! update, the redb commit). Past the commit point they no longer check, so
//! a statement either completes or changes nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// A cancel request for the statements of one [`Session`](crate::Session).
/// Cheap to clone; [`cancel`](CancelToken::cancel) may be called from any
/// thread (also from a signal handler's helper thread).
///
/// A request applies to the statement running when it is made, or to the
/// next one to start if none runs: the session clears it when that
/// statement ends, whether it stopped for it (with
/// [`ErrorKind::Cancelled`]) or finished first (it was past its last safe
/// point, or a read, which has none).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token with no request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the running (or next) statement to stop at its next safe point.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a request is pending.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears a pending request.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// A safe point: `Err(Cancelled)` if a request is pending (taking it),
    /// else `Ok`.
    pub(crate) fn check(&self) -> Result<()> {
        if self.0.swap(false, Ordering::SeqCst) {
            Err(cancelled())
        } else {
            Ok(())
        }
    }
}

/// The error of a statement that stopped for a cancel request.
fn cancelled() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "cancelled: the statement stopped at a safe point and changed nothing",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_taken_by_one_check() {
        let token = CancelToken::new();
        assert!(token.check().is_ok());
        let other_thread = token.clone();
        std::thread::spawn(move || other_thread.cancel())
            .join()
            .unwrap();
        assert!(token.is_cancelled());
        assert_eq!(token.check().unwrap_err().kind(), &ErrorKind::Cancelled);
        assert!(token.check().is_ok());
        token.cancel();
        token.reset();
        assert!(token.check().is_ok());
    }
}
