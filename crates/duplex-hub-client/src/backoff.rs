//! Reconnect delays: exponential backoff with full jitter, as centrifuge-js computes them.
//!
//! Attempt `n` (from 0) waits `min + random(0 ..= min(max, min * 2^n))`, capped at `max`. The
//! random part spreads the clients a restarting hub dropped all at once over the whole window
//! instead of bringing them back in waves ("full jitter", AWS architecture blog); the `min`
//! floor keeps a refused client from hammering the hub. A good connection resets the count.
//!
//! The randomness is an argument of [`Backoff::delay_with`], so tests check the bounds with a
//! fixed draw; [`Backoff::next_delay`] draws from the thread's generator.

use std::time::Duration;

/// Exponential backoff with full jitter between a minimum and a maximum delay.
///
/// ```
/// use std::time::Duration;
/// use duplex_hub_client::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
/// for _ in 0..20 {
///     let delay = backoff.next_delay();
///     assert!(delay >= Duration::from_millis(100) && delay <= Duration::from_secs(5));
/// }
/// backoff.reset(); // after a good connection
/// assert_eq!(backoff.attempts(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    attempts: u32,
}

impl Backoff {
    /// Delays from `min` to `max` (a `max` below `min` is taken as `min`).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            attempts: 0,
        }
    }

    /// The smallest delay.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The largest delay.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// How many delays were handed out since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The window the next delay is drawn from: `(min, min(max, min + min * 2^attempts))`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use duplex_hub_client::Backoff;
    ///
    /// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    /// assert_eq!(backoff.window(), (Duration::from_millis(100), Duration::from_millis(200)));
    /// ```
    pub fn window(&self) -> (Duration, Duration) {
        let spread = self
            .min
            .checked_mul(1u32 << self.attempts.min(31))
            .unwrap_or(self.max)
            .min(self.max);
        (self.min, (self.min + spread).min(self.max))
    }

    /// The next delay, drawn from [`Backoff::window`] with the thread's random generator.
    pub fn next_delay(&mut self) -> Duration {
        self.delay_with(rand::random::<f64>())
    }

    /// The next delay for a random draw `unit` in `[0, 1)`: the window's low end at 0, its
    /// high end at 1. Counts an attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use duplex_hub_client::Backoff;
    ///
    /// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    /// assert_eq!(backoff.delay_with(0.0), Duration::from_millis(100));
    /// assert_eq!(backoff.delay_with(1.0), Duration::from_millis(300)); // 100 + 100 * 2
    /// ```
    pub fn delay_with(&mut self, unit: f64) -> Duration {
        let (low, high) = self.window();
        self.attempts = self.attempts.saturating_add(1);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        low + (high - low).mul_f64(unit)
    }

    /// Starts over from the smallest window: call it once a connection is good.
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(10);

    #[test]
    fn windows_double_until_the_maximum() {
        let mut backoff = Backoff::new(MIN, MAX);
        let mut highs = Vec::new();
        for _ in 0..10 {
            highs.push(backoff.window().1.as_millis());
            backoff.delay_with(0.5);
        }
        assert_eq!(
            highs,
            [200, 300, 500, 900, 1700, 3300, 6500, 10000, 10000, 10000]
        );
    }

    #[test]
    fn delays_stay_within_bounds_for_every_draw() {
        let mut backoff = Backoff::new(MIN, MAX);
        for attempt in 0..100 {
            for unit in [0.0, 0.25, 0.999, 1.0, -3.0, 7.0, f64::NAN] {
                let mut probe = backoff.clone();
                let delay = probe.delay_with(unit);
                assert!(
                    delay >= MIN && delay <= MAX,
                    "{attempt}: {unit} -> {delay:?}"
                );
            }
            backoff.next_delay();
        }
        // Far past any overflow of the exponent.
        assert_eq!(backoff.window(), (MIN, MAX));
    }

    #[test]
    fn jitter_spreads_over_the_window() {
        let mut backoff = Backoff::new(MIN, MAX);
        for _ in 0..6 {
            backoff.next_delay();
        }
        let (low, high) = backoff.window();
        let delays: Vec<Duration> = (0..200).map(|_| backoff.clone().next_delay()).collect();
        assert!(delays.iter().all(|d| *d >= low && *d <= high));
        let lower_half = delays.iter().filter(|d| **d < (low + high) / 2).count();
        // 200 fair draws put fewer than 60 in one half with probability below 1e-8.
        assert!((60..=140).contains(&lower_half), "{lower_half} of 200");
    }

    #[test]
    fn reset_starts_over_after_a_good_connection() {
        let mut backoff = Backoff::new(MIN, MAX);
        for _ in 0..8 {
            backoff.next_delay();
        }
        assert_eq!(backoff.window().1, MAX);
        backoff.reset();
        assert_eq!(backoff.attempts(), 0);
        assert_eq!(backoff.window(), (MIN, MIN * 2));
        assert!(backoff.next_delay() <= MIN * 2);
    }

    #[test]
    fn a_maximum_below_the_minimum_is_the_minimum() {
        let mut backoff = Backoff::new(MIN, Duration::from_millis(10));
        assert_eq!(backoff.next_delay(), MIN);
        let mut zero = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.next_delay(), Duration::ZERO);
    }
}
