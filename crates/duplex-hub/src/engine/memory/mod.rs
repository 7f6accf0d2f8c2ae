//! The memory engine: a single node's broker and presence in process memory.
//!
//! It is the default engine and the reference for the contract suite. Nothing here needs a
//! runtime or a background task: expired publications and presence entries are dropped lazily
//! when a channel is touched, and a sweep over all channels runs inline, at most once per
//! [`MemoryConfig::sweep_interval`], from whichever call comes next — so idle channels are
//! forgotten and memory stays bounded by what is live, without a timer to start or stop.

mod broker;
pub(crate) mod idempotency;
mod presence;
mod stream;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub use broker::MemoryBroker;
pub use presence::MemoryPresence;

/// Limits of the memory engine; every one bounds memory that callers could otherwise grow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// How often, at most, a call sweeps all channels for expired state (default 10 s). Tests
    /// set it short to watch idle channels being forgotten.
    pub sweep_interval: Duration,
    /// How many channel streams (history and meta) may exist at once (default 1,000,000). At the
    /// limit, streams that keep no publication are forgotten first (their clients fail their
    /// next recovery, loudly); when none can be, publishing to a new channel with history fails
    /// with `Unavailable`.
    pub max_streams: usize,
    /// How many idempotency keys are remembered at once (default 100,000); past that the oldest
    /// is forgotten before its ttl.
    pub idempotency_capacity: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            sweep_interval: Duration::from_secs(10),
            max_streams: 1_000_000,
            idempotency_capacity: 100_000,
        }
    }
}

/// Locks a mutex even if a panic elsewhere poisoned it: every critical section in this engine
/// leaves its state consistent before calling out (the only code that can panic while a lock is
/// held is the hub's event callback, and it runs after the state change), so the data behind a
/// poisoned lock is still valid.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A short random epoch (8 alphanumerics): a new one for every stream incarnation, so positions
/// from a forgotten stream never match its successor.
fn new_epoch() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 8)
}

#[cfg(test)]
mod tests;
