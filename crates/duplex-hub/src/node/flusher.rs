//! Deferred socket writes for fan-outs: a publication is queued to every subscriber at once,
//! and written to their sockets by the flusher's task a moment later, once per connection
//! for everything queued to it meanwhile.
//!
//! Writing on the publisher's path cost one system call per subscriber per publication, and
//! the publisher (a server API request, a client's publish) waited for all of them: 1,000
//! subscribers held an API request for about 6 ms. Deferred, the request is answered as soon
//! as the frames are queued, and publications that arrive while the flusher works — from
//! other channels, or the next one of the same channel — leave in the same write as the ones
//! before them (uWebSockets calls this corking). The flusher yields every few dozen
//! connections, so the node keeps serving requests while it writes to a large channel.
//!
//! A connection is listed at most once (its handle's flush mark), and every connection listed
//! gets its flush: nothing queued waits longer than the flusher's current round.
//!
//! While a round is under way, the channels' fan-outs themselves wait for the next one
//! ([`Flusher::defer_fan_out`]): the round starts by fanning out what each channel was handed
//! meanwhile, as one run per channel (see `channels.rs`), and then writes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::session::SessionHandle;

/// Connections flushed between two yields of the flusher's task.
const BETWEEN_YIELDS: usize = 64;

/// Subscribers the round's fan-outs reach between two yields (a fan-out is not cut short:
/// the task yields after the one that passes this).
const VISITS_BETWEEN_YIELDS: usize = 1024;

/// The node's deferred writes.
#[derive(Clone, Default)]
pub(crate) struct Flusher {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Default)]
struct Queue {
    sessions: Vec<SessionHandle>,
    /// Fan-outs left for the start of the next round (see [`Flusher::defer_fan_out`]).
    fan_outs: Vec<FanOutJob>,
    /// A task is flushing (or about to): new sessions join its next round.
    running: bool,
}

/// A fan-out the flusher runs at the start of a round: it queues to the subscribers, lists the
/// sessions it marked for that round, and returns how many subscribers it reached.
pub(crate) type FanOutJob = Box<dyn FnOnce(&mut Vec<SessionHandle>) -> usize + Send>;

impl Flusher {
    /// Takes `sessions` (emptied) to be flushed by the flusher's task. The caller lists only
    /// sessions it has just marked ([`SessionHandle::mark_for_flush`]): one already marked is
    /// listed already, and the fan-out skips it without cloning its handle. Outside a Tokio
    /// runtime they are flushed at once.
    pub(crate) fn defer(&self, sessions: &mut Vec<SessionHandle>) {
        if sessions.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            for session in sessions.drain(..) {
                session.flush_marked();
            }
            return;
        };
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.sessions.append(sessions);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let running = Running {
                queue: self.queue.clone(),
                fan_outs: VecDeque::new(),
                round: VecDeque::new(),
                finished: false,
            };
            runtime.spawn(running.run());
        }
    }

    /// While a round is under way, takes `job` (built by `make`) to run at the start of the
    /// next round and returns true; otherwise returns false, and the caller fans out at once.
    pub(crate) fn defer_fan_out(&self, make: impl FnOnce() -> FanOutJob) -> bool {
        if tokio::runtime::Handle::try_current().is_err() {
            return false;
        }
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if !queue.running {
            return false;
        }
        queue.fan_outs.push(make());
        true
    }
}

/// The flusher's task. Dropped before it finished (its runtime shutting down), it runs and
/// flushes what its round had left, and lets the next fan-out start another task, so that no
/// session waits for a task that is gone.
struct Running {
    queue: Arc<Mutex<Queue>>,
    /// The round's fan-outs not yet run.
    fan_outs: VecDeque<FanOutJob>,
    /// The round's sessions not yet flushed.
    round: VecDeque<SessionHandle>,
    /// Set when the task ended by itself, with `running` cleared.
    finished: bool,
}

impl Running {
    async fn run(mut self) {
        let mut listed = Vec::new();
        loop {
            {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.sessions.is_empty() && queue.fan_outs.is_empty() {
                    queue.running = false;
                    self.finished = true;
                    return;
                }
                self.round.extend(queue.sessions.drain(..));
                self.fan_outs.extend(queue.fan_outs.drain(..));
            }
            let mut visited = 0;
            while let Some(job) = self.fan_outs.pop_front() {
                visited += job(&mut listed);
                self.round.extend(listed.drain(..));
                if visited >= VISITS_BETWEEN_YIELDS {
                    visited = 0;
                    tokio::task::yield_now().await;
                }
            }
            let mut flushed = 0;
            while let Some(session) = self.round.pop_front() {
                session.flush_marked();
                flushed += 1;
                if flushed % BETWEEN_YIELDS == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Cancelled. A channel with deferred publications counts on its fan-out to run, so
        // the task stays `running` until none is left; then the next fan-out may start one.
        let mut listed = Vec::new();
        loop {
            let jobs = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                self.round.extend(queue.sessions.drain(..));
                if queue.fan_outs.is_empty() && self.fan_outs.is_empty() {
                    queue.running = false;
                    break;
                }
                std::mem::take(&mut queue.fan_outs)
            };
            for job in self.fan_outs.drain(..).chain(jobs) {
                job(&mut listed);
            }
            self.round.extend(listed.drain(..));
        }
        for session in self.round.drain(..) {
            session.flush_marked();
        }
    }
}
