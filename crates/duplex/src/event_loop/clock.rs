//! The loop's clock: whole seconds, so that a connection's timers are `u32`s in its protocol
//! core and one sweep a second serves them all (uWebSockets keeps timeouts the same way). The
//! limits are converted to the same seconds by `Timeouts` (rounded up, plus one), so a
//! deadline is never early and at most a second late, which is what keepalives and handshake
//! limits of seconds need, and a connection carries no timer object.

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

    /// Until the next tick.
    pub(crate) fn until_next_tick(&self) -> Duration {
        let next = self.start + Duration::from_secs(u64::from(self.now));
        next.saturating_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_count_whole_seconds_from_one() {
        let mut clock = Clock::new();
        clock.tick();
        assert_eq!(clock.now, 1, "no whole second has passed yet");
        assert!(clock.until_next_tick() <= Duration::from_secs(1));
    }
}
