//! Ctrl-C while a statement runs. The shell runs each statement on a worker
//! thread and waits for it; SIGINT then only sets a flag, and the waiting
//! thread says that the statement is finishing safely. Statements are atomic
//! (one transaction each), so letting one finish is always safe; stopping
//! long statements early at safe points (cancellation inside the engine) is
//! a later step.
//!
//! At the prompt the line editor reads Ctrl-C as a key (the terminal is in
//! raw mode), so psql's behaviour there is unchanged: it clears the line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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
/// prints, once, that the statement is finishing safely; the result is
/// returned when `work` ends either way.
pub fn run_guarded<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    INTERRUPTED.store(false, Ordering::SeqCst);
    std::thread::scope(|scope| {
        let worker = scope.spawn(work);
        let mut told = false;
        while !worker.is_finished() {
            if !told && INTERRUPTED.swap(false, Ordering::SeqCst) {
                eprintln!(
                    "\nCancel requested: the running statement is finishing safely \
                     (statements are atomic); back to the prompt when it ends."
                );
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
    fn the_work_runs_to_its_end_even_when_interrupted() {
        let got = run_guarded(|| {
            INTERRUPTED.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(60));
            41 + 1
        });
        assert_eq!(got, 42);
        // The flag was taken by the wait loop, not left for the next one.
        assert!(!INTERRUPTED.load(Ordering::SeqCst));
    }
}
