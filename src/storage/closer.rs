//! Closing evicted collections off the statement path.
//!
//! When the pool evicts a tenant, the statement that needed the room would
//! otherwise pay for closing the evicted tenant's files and freeing its
//! structures. Closing a redb file that was written since it was opened
//! syncs it (its allocator state and header, several `fsync`s), about a
//! millisecond here, for a tenant the statement never touched. So the pool
//! hands the evicted collections to one closer thread, and the statement
//! goes on.
//!
//! A file being closed is still locked by its handle. Every open of a
//! collection file first waits for the file's pending close ([`wait`]);
//! whatever works on a tenant's folder as a whole waits for the folder
//! ([`wait_under`]); an engine waits for everything at close
//! ([`wait_all`]). Data is never at stake: every commit was durable before
//! the eviction, and a file left unclosed by a crash is repaired on open.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::LazyLock;

use parking_lot::{Condvar, Mutex};

/// Work for the closer thread: drops the handles of `paths`.
type Closing = (Vec<PathBuf>, Box<dyn FnOnce() + Send>);

struct Closer {
    /// Files with a close pending, and how many handles each.
    pending: Mutex<HashMap<PathBuf, usize>>,
    /// Entries in `pending`, read without the lock on every open.
    count: AtomicUsize,
    /// Signalled whenever a batch is closed.
    closed: Condvar,
    /// The closer thread's queue (`None` if it could not be started).
    queue: Mutex<Option<Sender<Closing>>>,
}

static CLOSER: LazyLock<Closer> = LazyLock::new(|| {
    let (tx, rx) = channel::<Closing>();
    let started = std::thread::Builder::new()
        .name("pql-closer".into())
        .spawn(move || {
            for (paths, close) in rx {
                // A close that panics must still be marked done, or the
                // opens waiting for it would wait forever.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(close));
                finish(&paths);
            }
        })
        .is_ok();
    Closer {
        pending: Mutex::new(HashMap::new()),
        count: AtomicUsize::new(0),
        closed: Condvar::new(),
        queue: Mutex::new(started.then_some(tx)),
    }
});

/// Runs `close`, which drops the last handles of the files `paths`, on the
/// closer thread; in place if that thread is not running.
pub(crate) fn close_later(paths: Vec<PathBuf>, close: impl FnOnce() + Send + 'static) {
    let closer = &*CLOSER;
    {
        let mut pending = closer.pending.lock();
        for p in &paths {
            *pending.entry(p.clone()).or_default() += 1;
        }
        closer.count.store(pending.len(), Ordering::Release);
    }
    let work: Closing = (paths, Box::new(close));
    let refused = match closer.queue.lock().as_ref() {
        Some(tx) => tx.send(work).err().map(|e| e.0),
        None => Some(work),
    };
    if let Some((paths, close)) = refused {
        close();
        finish(&paths);
    }
}

/// Marks the closes of `paths` done.
fn finish(paths: &[PathBuf]) {
    let closer = &*CLOSER;
    let mut pending = closer.pending.lock();
    for p in paths {
        if let Some(n) = pending.get_mut(p) {
            *n -= 1;
            if *n == 0 {
                pending.remove(p);
            }
        }
    }
    closer.count.store(pending.len(), Ordering::Release);
    closer.closed.notify_all();
}

/// Waits until no file matching `pending` has a close pending.
fn wait_while(pending: impl Fn(&Path) -> bool) {
    let closer = &*CLOSER;
    if closer.count.load(Ordering::Acquire) == 0 {
        return;
    }
    let mut map = closer.pending.lock();
    while map.keys().any(|p| pending(p)) {
        closer.closed.wait(&mut map);
    }
}

/// Waits for the pending close of the file `path`, if any.
pub(crate) fn wait(path: &Path) {
    wait_while(|p| p == path);
}

/// Waits for the pending closes of the files in folder `dir`.
pub(crate) fn wait_under(dir: &Path) {
    wait_while(|p| p.starts_with(dir));
}

/// Waits for every pending close.
pub(crate) fn wait_all() {
    wait_while(|_| true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::sync_channel;
    use std::time::Duration;

    #[test]
    fn a_wait_returns_once_the_close_has_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.redb");
        let (hold_tx, hold_rx) = sync_channel::<()>(0);
        let (ran_tx, ran_rx) = channel::<()>();
        close_later(vec![path.clone()], move || {
            // Held until the test lets it go.
            let _ = hold_rx.recv();
            let _ = ran_tx.send(());
        });
        let waiter = {
            let path = path.clone();
            std::thread::spawn(move || wait(&path))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "the wait returned before the close");
        // Another file's wait does not block on it.
        wait(&dir.path().join("b.redb"));
        hold_tx.send(()).unwrap();
        waiter.join().unwrap();
        assert!(
            ran_rx.try_recv().is_ok(),
            "the close ran before the wait ended"
        );
        wait_under(dir.path());
        wait_all();
    }
}
