//! The loop's clock: whole seconds, so that a connection's timers are `u32`s in its entry and
//! one sweep a second serves them all (uWebSockets keeps timeouts the same way). A deadline
//! computed here is never early and at most a second late, which is what keepalives and
//! handshake limits of seconds need, and a connection carries no timer object.

use std::time::{Duration, Instant};

/// Whole seconds since the loop started, counted from 1 (0 means "no deadline").
pub(crate) struct Clock {
    start: Instant,
    pub(crate) now: u32,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            start: Instant::now(),
            now: 1,
        }
    }

    pub(crate) fn tick(&mut self) {
        self.now = 1 + u32::try_from(self.start.elapsed().as_secs()).unwrap_or(u32::MAX - 1);
    }

    /// The tick at which `limit` has passed for certain: never early, at most a second late.
    pub(crate) fn after(&self, limit: Duration) -> u32 {
        self.now.saturating_add(ticks(limit)).saturating_add(1)
    }

    /// Until the next tick.
    pub(crate) fn until_next_tick(&self) -> Duration {
        let next = self.start + Duration::from_secs(u64::from(self.now));
        next.saturating_duration_since(Instant::now())
    }
}

/// A duration in whole seconds, rounded up.
pub(crate) fn ticks(limit: Duration) -> u32 {
    let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
    u32::try_from(secs).unwrap_or(u32::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(ticks(Duration::ZERO), 0);
        assert_eq!(ticks(Duration::from_millis(1)), 1);
        assert_eq!(ticks(Duration::from_secs(30)), 30);
        assert_eq!(ticks(Duration::from_millis(30_001)), 31);
    }

    #[test]
    fn a_deadline_is_never_early() {
        // At tick 10 the real time is anywhere in [9 s, 10 s): 5 s later is at most 15 s,
        // which tick 16 covers.
        let mut clock = Clock::new();
        clock.now = 10;
        assert_eq!(clock.after(Duration::from_secs(5)), 16);
    }
}
