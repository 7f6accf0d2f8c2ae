//! The node's clock and its once-a-second sweep: how a connected session's timers (pings,
//! pong deadlines, token expiries, presence refreshes) fire without a timer of its own; the
//! sweep also forgets recovery pages kept past their time (`recovery.rs`).
//!
//! Those deadlines are seconds apart and need no finer resolution than a second, so a session
//! keeps each as a tick of the node's clock (a `u32` of whole seconds since the node started)
//! and publishes the earliest in its handle. One task per node looks at every connected session
//! once a second and wakes those that are due. An idle connection then holds no `Sleep` (112
//! bytes in its task, and an entry in tokio's timer wheel): the same choice as
//! `duplex::event_loop`, whose connections keep whole-second ticks compared by one sweep.
//!
//! A deadline is never early: a session computes it by rounding up (see [`Clock::after`]).
//! It is at most about a second late. What needs finer timing (the wait for `connect`, the
//! backlog of a slow consumer) keeps a `Sleep` for just that while.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use super::Node;

/// A tick that never comes: a session with nothing due.
pub(crate) const NEVER: u32 = u32::MAX;

/// Whole seconds since the node started, on tokio's clock (so paused-time tests drive it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            origin: Instant::now(),
        }
    }

    /// The current tick.
    pub(crate) fn now(&self) -> u32 {
        self.origin.elapsed().as_secs().min(u64::from(NEVER - 1)) as u32
    }

    /// When `tick` begins, as an instant for a timer.
    pub(crate) fn instant(&self, tick: u32) -> Instant {
        self.origin + Duration::from_secs(u64::from(tick))
    }

    /// The first tick at which `wait` has surely passed since now: rounded up, plus the tick
    /// already begun, so a deadline is never early.
    pub(crate) fn after(&self, wait: Duration) -> u32 {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0) + 1;
        (u64::from(self.now()) + seconds).min(u64::from(NEVER - 1)) as u32
    }

    /// The tick at which Unix time `at` (seconds) has surely passed.
    pub(crate) fn at_unix(&self, at: i64, unix_now: i64) -> u32 {
        self.after(Duration::from_secs((at - unix_now).max(0) as u64))
    }
}

/// Wakes, once a second, every connected session whose deadline has come. Ends when the node
/// is dropped.
pub(crate) async fn run(node: Weak<Node>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(node) = node.upgrade() else {
            return;
        };
        let now = node.clock().now();
        for session in node.sessions_due(now) {
            session.wake();
        }
        node.shared_reads.expire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadlines_round_up_and_never_come_early() {
        let clock = Clock::new();
        assert_eq!(clock.now(), 0);
        // 0.4 s into tick 0, a 1 s wait ends at 1.4 s: tick 2 is the first surely past it.
        tokio::time::advance(Duration::from_millis(400)).await;
        assert_eq!(clock.after(Duration::from_secs(1)), 2);
        assert_eq!(clock.after(Duration::from_millis(1500)), 3);
        assert_eq!(clock.after(Duration::ZERO), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(clock.now(), 2);
        assert_eq!(clock.at_unix(1_000_010, 1_000_000), 13);
        assert_eq!(
            clock.at_unix(999_990, 1_000_000),
            3,
            "a past time is due next tick"
        );
    }
}
