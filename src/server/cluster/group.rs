//! Group commit of a tenant's log in the bucket: the records of requests
//! that commit while another batch is being written go into the bucket
//! together, as one log entry, so concurrent writers to one tenant share
//! the round trip instead of queueing for one each.
//!
//! A writer commits its statement here while it holds the tenant's order
//! lock and queues the statement's record before it lets go, so the queue
//! is in commit order. It then waits for its record's batch: if no batch
//! is being written, it writes everything queued (its own record among
//! them) as the next entry; else it waits for that write to end and looks
//! again. There is no timer: the batching window is the write in flight,
//! so a lone writer pays one round trip, as without batching.

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex, MutexGuard};
use tokio::runtime::Handle;

use crate::cluster::Wal;
use crate::error::Result;

/// A tenant's open log, shared by the requests that write the tenant.
#[derive(Debug)]
pub(crate) struct GroupLog {
    /// Held while a statement commits here and queues its record.
    order: Mutex<()>,
    state: Mutex<State>,
    /// Signalled when a batch has been written.
    written: Condvar,
    /// Touched by the writer of a batch only.
    wal: Mutex<Wal>,
    /// The epoch of the lease the log was opened under.
    epoch: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Records waiting for the next batch, in commit order.
    queued: Vec<Vec<u8>>,
    /// The number of the batch the queued records will go in.
    next_batch: u64,
    /// True while a batch is being written.
    writing: bool,
    /// The outcome of each batch written, and how many of its writers
    /// have not collected it yet.
    outcomes: HashMap<u64, (Result<u64>, usize)>,
}

impl GroupLog {
    /// Group commit over `wal`, opened (and fenced) by this node.
    pub(crate) fn new(wal: Wal) -> GroupLog {
        GroupLog {
            epoch: wal.epoch(),
            order: Mutex::new(()),
            state: Mutex::new(State::default()),
            written: Condvar::new(),
            wal: Mutex::new(wal),
        }
    }

    /// The order lock: hold it from a statement's commit until its record
    /// is queued.
    pub(crate) fn order(&self) -> MutexGuard<'_, ()> {
        self.order.lock()
    }

    /// Queues `record` (under the order lock) and returns its ticket for
    /// [`GroupLog::wait`].
    pub(crate) fn queue(&self, record: Vec<u8>) -> u64 {
        let mut state = self.state.lock();
        state.queued.push(record);
        state.next_batch
    }

    /// Waits until the batch of `ticket` is in the bucket and returns the
    /// log entry's sequence number, writing the batch on `runtime` if no
    /// other writer is. Blocking: call it from the blocking pool, without
    /// the order lock. `NotOwner` when another node fenced the log, for
    /// every record of the batch.
    pub(crate) fn wait(&self, ticket: u64, runtime: &Handle) -> Result<u64> {
        let mut state = self.state.lock();
        loop {
            if let Some((outcome, left)) = state.outcomes.get_mut(&ticket) {
                let outcome = outcome.clone();
                *left -= 1;
                if *left == 0 {
                    state.outcomes.remove(&ticket);
                }
                return outcome;
            }
            if state.writing {
                self.written.wait(&mut state);
                continue;
            }
            // Nobody is writing and this ticket has no outcome: its record
            // is queued.
            self.write_queued(&mut state, runtime);
        }
    }

    /// Waits until every record queued is in the bucket (writing them if
    /// no one is) and returns the last sequence number written. Call it
    /// with the order lock held, so that nothing is queued meanwhile: a
    /// copy of the tenant taken now holds every record up to the number
    /// returned, and no later one.
    pub(crate) fn drained(&self, runtime: &Handle) -> u64 {
        let mut state = self.state.lock();
        loop {
            if state.writing {
                self.written.wait(&mut state);
            } else if state.queued.is_empty() {
                break;
            } else {
                self.write_queued(&mut state, runtime);
            }
        }
        drop(state);
        self.last()
    }

    /// Writes every queued record as the next entry (no other writer is
    /// writing) and records the outcome for their writers.
    fn write_queued(&self, state: &mut MutexGuard<'_, State>, runtime: &Handle) {
        let records = std::mem::take(&mut state.queued);
        let batch = state.next_batch;
        state.next_batch += 1;
        state.writing = true;
        let count = records.len();
        let outcome = MutexGuard::unlocked(state, || {
            runtime.block_on(self.wal.lock().append_all(records))
        });
        state.writing = false;
        state.outcomes.insert(batch, (outcome, count));
        self.written.notify_all();
    }

    /// The epoch of the lease this node opened the log under.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The last sequence number this node's log wrote (see [`Wal::last`]);
    /// for a hand-over, when no request runs.
    pub(crate) fn last(&self) -> u64 {
        self.wal.lock().last()
    }
}
