//! Ctrl-C while a statement runs. The shell runs each statement on a worker
//! thread and waits for it; SIGINT only sets a flag, and the waiting thread
//! passes it on to the session's [`CancelToken`]: the statement stops at its
//! next safe point, changing nothing, and fails with `Cancelled` (a short
//! one may finish first). Either way the shell returns to the prompt.
//!
//! At the prompt the line editor reads Ctrl-C as a key (the terminal is in
//! raw mode), so psql's behaviour there is unchanged: it clears the line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pql::CancelToken;

/// Set by the SIGINT handler, cleared when a statement starts.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGINT handler for the life of the shell (so that Ctrl-C
/// no longer ends the process while a statement runs).
pub fn install() {
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: `on_sigint` is async-signal-safe (one atomic store) and lives
    // for the whole program; `signal` only swaps the process's disposition.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Runs `work` on a worker thread and waits for it. A Ctrl-C meanwhile
/// cancels `cancel` and says so, once; the result is returned when `work`
/// ends either way. A request left over from before is cleared first.
pub fn run_guarded<T: Send>(cancel: &CancelToken, work: impl FnOnce() -> T + Send) -> T {
    INTERRUPTED.store(false, Ordering::SeqCst);
    cancel.reset();
    std::thread::scope(|scope| {
        let worker = scope.spawn(work);
        let mut told = false;
        while !worker.is_finished() {
            if !told && INTERRUPTED.swap(false, Ordering::SeqCst) {
                cancel.cancel();
                eprintln!("\nCancel requested: the statement stops at its next safe point.");
                told = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        match worker.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_reaches_the_work_as_a_cancel_request() {
        let cancel = CancelToken::new();
        let seen = cancel.clone();
        let got = run_guarded(&cancel, move || {
            INTERRUPTED.store(true, Ordering::SeqCst);
            // The wait loop passes the interrupt on; no timing involved.
            while !seen.is_cancelled() {
                std::thread::yield_now();
            }
            41 + 1
        });
        assert_eq!(got, 42);
        // The flag was taken by the wait loop, not left for the next one.
        assert!(!INTERRUPTED.load(Ordering::SeqCst));
        // The next statement starts without the old request.
        run_guarded(&cancel, || ());
        assert!(!cancel.is_cancelled());
    }
}
