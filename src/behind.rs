//! The onloads running behind cold queries' answers
//! (`Engine::onload_behind`): each thread holds the engine's shared state,
//! so the application's last handle waits for them when it is dropped;
//! the engine then closes (graphs saved, usage flushed, the data folder
//! released) when the application drops it, as it did before.

use parking_lot::{Condvar, Mutex};

/// How many onload threads are running.
#[derive(Default)]
pub(crate) struct Behind {
    running: Mutex<usize>,
    done: Condvar,
}

impl Behind {
    /// One more thread, counted before it is spawned.
    pub(crate) fn start(&self) {
        *self.running.lock() += 1;
    }

    /// A thread is done (after it dropped its hold on the engine).
    pub(crate) fn end(&self) {
        let mut n = self.running.lock();
        *n = n.saturating_sub(1);
        self.done.notify_all();
    }

    /// Called as a handle is dropped, `handles` counting the handles alive
    /// (this one included): while the only other handles are the running
    /// threads', waits for them.
    pub(crate) fn wait_if_last(&self, handles: impl Fn() -> usize) {
        let mut n = self.running.lock();
        while *n > 0 && handles() <= *n + 1 {
            self.done.wait(&mut n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_last_handle_waits_for_the_threads_and_others_do_not() {
        let behind = Arc::new(Behind::default());
        behind.wait_if_last(|| 1);
        behind.start();
        // Another application handle is alive: no wait.
        behind.wait_if_last(|| 3);
        let b = behind.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            b.end();
        });
        // Only the thread's handle besides this one: waits for its end.
        behind.wait_if_last(|| 2);
        assert_eq!(*behind.running.lock(), 0);
        thread.join().unwrap();
    }
}
