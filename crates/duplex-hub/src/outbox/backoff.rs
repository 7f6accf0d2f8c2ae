//! The delay between attempts to reach PostgreSQL again: short at first, so a restart costs
//! little, growing to a few seconds, so a database that stays down is not hammered, with jitter
//! so that many hubs do not retry in step.

use std::time::Duration;

use rand::Rng;

const FIRST: Duration = Duration::from_millis(50);
const LONGEST: Duration = Duration::from_secs(5);

/// Consecutive failures and the delay they call for.
#[derive(Debug, Default)]
pub(super) struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Counts a failure and returns how long to wait before the next attempt.
    pub(super) fn next(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doubled = FIRST.saturating_mul(1 << self.failures.min(10));
        let delay = doubled.min(LONGEST);
        delay.mul_f64(rand::rng().random_range(0.75..=1.0))
    }

    /// How many attempts failed in a row.
    pub(super) fn failures(&self) -> u32 {
        self.failures
    }

    /// An attempt succeeded.
    pub(super) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_a_ceiling_and_start_over_after_success() {
        let mut backoff = Backoff::default();
        let first = backoff.next();
        assert!(first <= FIRST * 2, "{first:?}");
        let later: Vec<Duration> = (0..20).map(|_| backoff.next()).collect();
        assert!(later.iter().all(|delay| *delay <= LONGEST));
        assert!(later[19] >= LONGEST.mul_f64(0.75));
        backoff.reset();
        assert!(backoff.next() <= FIRST * 2);
    }
}
