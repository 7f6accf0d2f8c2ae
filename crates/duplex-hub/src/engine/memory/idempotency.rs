//! Results of idempotent publishes, remembered for their ttl so that a retried publish returns
//! the first position instead of publishing twice.
//!
//! Bounded twice over: entries leave when their ttl passes (checked from the oldest on every
//! insert) and, when the capacity is reached, the oldest leave early — a publisher retrying after
//! that many newer idempotent publishes may publish twice, which is the price of bounded memory.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::engine::StreamPosition;

/// (channel, idempotency key): keys are scoped to their channel, as in Centrifugo.
type Key = (String, String);

/// The cache; not synchronised (the broker holds it in a mutex).
#[derive(Debug)]
pub(crate) struct IdempotencyCache {
    entries: HashMap<Key, (StreamPosition, Instant)>,
    /// Insertion order, for expiry and eviction; a record whose entry was since replaced (same
    /// key, re-published after expiry) no longer matches the entry's expiry and removes nothing.
    order: VecDeque<(Key, Instant)>,
    capacity: usize,
}

impl IdempotencyCache {
    /// An empty cache holding at most `capacity` keys (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        IdempotencyCache {
            entries: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The first outcome's position for this key, if still remembered.
    pub(crate) fn get(&self, channel: &str, key: &str, now: Instant) -> Option<StreamPosition> {
        let (position, expires) = self.entries.get(&(channel.to_owned(), key.to_owned()))?;
        (*expires > now).then(|| position.clone())
    }

    /// Remembers a publish's position until `expires`.
    pub(crate) fn insert(
        &mut self,
        channel: &str,
        key: &str,
        position: StreamPosition,
        expires: Instant,
        now: Instant,
    ) {
        while let Some((_, oldest)) = self.order.front() {
            if *oldest > now && self.order.len() < self.capacity {
                break;
            }
            self.pop_oldest();
        }
        let key = (channel.to_owned(), key.to_owned());
        self.entries.insert(key.clone(), (position, expires));
        self.order.push_back((key, expires));
    }

    /// How many keys are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn pop_oldest(&mut self) {
        if let Some((key, expires)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|(_, e)| *e == expires) {
                self.entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn position(offset: u64) -> StreamPosition {
        StreamPosition {
            offset,
            epoch: "e".into(),
        }
    }

    #[test]
    fn keys_are_scoped_to_their_channel_and_expire() {
        let now = Instant::now();
        let mut cache = IdempotencyCache::new(10);
        cache.insert("a", "k", position(1), now + Duration::from_secs(1), now);
        assert_eq!(cache.get("a", "k", now), Some(position(1)));
        assert_eq!(cache.get("b", "k", now), None);
        assert_eq!(cache.get("a", "k", now + Duration::from_secs(2)), None);
    }

    #[test]
    fn capacity_forgets_the_oldest_first() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let mut cache = IdempotencyCache::new(3);
        for n in 0..5u64 {
            cache.insert("c", &n.to_string(), position(n), later, now);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get("c", "1", now), None);
        assert_eq!(cache.get("c", "4", now), Some(position(4)));
    }

    #[test]
    fn expired_keys_leave_on_the_next_insert() {
        let now = Instant::now();
        let mut cache = IdempotencyCache::new(100);
        for n in 0..50u64 {
            cache.insert(
                "c",
                &n.to_string(),
                position(n),
                now + Duration::from_millis(1),
                now,
            );
        }
        let after = now + Duration::from_secs(1);
        cache.insert(
            "c",
            "fresh",
            position(99),
            after + Duration::from_secs(1),
            after,
        );
        assert_eq!(cache.len(), 1);
    }
}
