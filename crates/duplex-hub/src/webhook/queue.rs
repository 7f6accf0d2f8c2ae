//! The events owed to the application: kept from the moment they happen until a 2xx answer,
//! behind one trait with two homes — memory (lost on restart) and a SQLite file (kept).
//!
//! Bounded: at `max` events owed, the oldest is dropped to make room for the newest. The
//! newest is the likeliest to matter (who is still online); an endpoint down for long enough to
//! fill the queue has lost the old ones' meaning anyway. Every drop is counted and logged.
//!
//! Changes come in batches (`apply`), so that the SQLite queue commits many events in one
//! transaction when many clients leave at once (see `writer.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

/// One event owed: its body exactly as it will be posted, and its retry state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owed {
    pub(crate) id: String,
    pub(crate) body: Vec<u8>,
    /// Attempts made so far.
    pub(crate) attempts: u32,
    /// When the next attempt is due, Unix milliseconds.
    pub(crate) due_ms: i64,
}

/// One change to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Keep a new event (ignored if its id is known); the oldest goes first if the queue is
    /// full.
    Add(Owed),
    /// Forget a delivered event (a no-op if it was dropped meanwhile).
    Delivered(String),
    /// Record a failed attempt: the count so far and when to try again.
    Retry {
        id: String,
        attempts: u32,
        due_ms: i64,
    },
}

/// A queue that failed (the SQLite file could not be read or written).
#[derive(Debug, thiserror::Error)]
#[error("webhook queue: {0}")]
pub struct QueueError(pub(crate) String);

/// Where events wait until they are delivered.
pub(crate) trait Queue: Send + Sync {
    /// Applies `changes` in order, all or none. Returns how many events were dropped to make
    /// room.
    fn apply(&self, changes: &[Change]) -> Result<usize, QueueError>;
    /// Up to `limit` events due at `now_ms`, the earliest due first, leaving out `skip` (the
    /// ones being attempted).
    fn due(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &HashSet<String>,
    ) -> Result<Vec<Owed>, QueueError>;
    /// How many events are owed.
    fn len(&self) -> usize;
}

/// The queue in memory, for a hub without a queue file.
pub(crate) struct MemoryQueue {
    max: usize,
    inner: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    next_seq: u64,
    /// By id: the insertion sequence and the event.
    events: HashMap<String, (u64, Owed)>,
    /// Ids in insertion order, for dropping the oldest.
    by_seq: BTreeMap<u64, String>,
    /// (due, seq) of every event, for finding the due ones.
    by_due: BTreeSet<(i64, u64)>,
}

impl MemoryQueue {
    pub(crate) fn new(max: usize) -> MemoryQueue {
        MemoryQueue {
            max: max.max(1),
            inner: Mutex::new(Memory::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Memory {
    fn add(&mut self, max: usize, owed: &Owed) -> usize {
        if self.events.contains_key(&owed.id) {
            return 0;
        }
        let mut dropped = 0;
        while self.events.len() >= max {
            let Some((_, oldest)) = self
                .by_seq
                .first_key_value()
                .map(|(s, id)| (*s, id.clone()))
            else {
                break;
            };
            self.remove(&oldest);
            dropped += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_seq.insert(seq, owed.id.clone());
        self.by_due.insert((owed.due_ms, seq));
        self.events.insert(owed.id.clone(), (seq, owed.clone()));
        dropped
    }

    fn remove(&mut self, id: &str) {
        if let Some((seq, owed)) = self.events.remove(id) {
            self.by_seq.remove(&seq);
            self.by_due.remove(&(owed.due_ms, seq));
        }
    }

    fn retry(&mut self, id: &str, attempts: u32, due_ms: i64) {
        let Some((seq, owed)) = self.events.get_mut(id) else {
            return;
        };
        let (seq, old_due) = (*seq, owed.due_ms);
        owed.attempts = attempts;
        owed.due_ms = due_ms;
        self.by_due.remove(&(old_due, seq));
        self.by_due.insert((due_ms, seq));
    }
}

impl Queue for MemoryQueue {
    fn apply(&self, changes: &[Change]) -> Result<usize, QueueError> {
        let mut memory = self.lock();
        let mut dropped = 0;
        for change in changes {
            match change {
                Change::Add(owed) => dropped += memory.add(self.max, owed),
                Change::Delivered(id) => memory.remove(id),
                Change::Retry {
                    id,
                    attempts,
                    due_ms,
                } => memory.retry(id, *attempts, *due_ms),
            }
        }
        Ok(dropped)
    }

    fn due(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &HashSet<String>,
    ) -> Result<Vec<Owed>, QueueError> {
        let memory = self.lock();
        Ok(memory
            .by_due
            .iter()
            .take_while(|(due, _)| *due <= now_ms)
            .filter_map(|(_, seq)| memory.by_seq.get(seq))
            .filter(|id| !skip.contains(*id))
            .take(limit)
            .filter_map(|id| memory.events.get(id).map(|(_, owed)| owed.clone()))
            .collect())
    }

    fn len(&self) -> usize {
        self.lock().events.len()
    }
}

/// The contract both queues keep, run against each.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;

    fn add(id: &str, due_ms: i64) -> Change {
        Change::Add(Owed {
            id: id.to_owned(),
            body: id.to_uppercase().into_bytes(),
            attempts: 0,
            due_ms,
        })
    }

    fn ids(owed: Vec<Owed>) -> Vec<String> {
        owed.into_iter().map(|o| o.id).collect()
    }

    /// `queue` must be empty and hold at most 3 events.
    pub(crate) fn keeps_the_contract(queue: &dyn Queue) {
        let none = HashSet::new();
        assert_eq!(queue.apply(&[add("a", 10), add("b", 5)]).unwrap(), 0);
        assert_eq!(queue.apply(&[add("c", 20), add("c", 20)]).unwrap(), 0);
        assert_eq!(queue.len(), 3, "an id is kept once");
        // Due ones, earliest due first; later ones wait.
        assert_eq!(ids(queue.due(10, 10, &none).unwrap()), ["b", "a"]);
        let skip: HashSet<String> = ["b".to_owned()].into();
        let due = queue.due(10, 10, &skip).unwrap();
        assert_eq!(
            due,
            [Owed {
                id: "a".into(),
                body: b"A".to_vec(),
                attempts: 0,
                due_ms: 10
            }]
        );
        // A failed attempt moves it later and counts.
        let retry = |id: &str, attempts, due_ms| Change::Retry {
            id: id.to_owned(),
            attempts,
            due_ms,
        };
        queue.apply(&[retry("b", 1, 30)]).unwrap();
        assert_eq!(ids(queue.due(25, 10, &none).unwrap()), ["a", "c"]);
        let due = queue.due(30, 10, &none).unwrap();
        let b = due.iter().find(|o| o.id == "b").unwrap();
        assert_eq!((b.attempts, b.due_ms), (1, 30));
        // Full: the oldest added ("a") makes room, though it is not the earliest due.
        assert_eq!(queue.apply(&[add("d", 0)]).unwrap(), 1);
        assert_eq!(queue.len(), 3);
        let mut all = ids(queue.due(i64::MAX, 10, &none).unwrap());
        all.sort();
        assert_eq!(all, ["b", "c", "d"]);
        let delivered = Change::Delivered("b".into());
        queue
            .apply(&[delivered.clone(), delivered, retry("gone", 3, 0)])
            .unwrap();
        assert_eq!(queue.len(), 2);
        assert_eq!(ids(queue.due(i64::MAX, 1, &none).unwrap()), ["d"]);
        // A batch that overflows drops within itself, oldest first.
        assert_eq!(
            queue
                .apply(&[add("e", 1), add("f", 1), add("g", 1)])
                .unwrap(),
            2
        );
        let mut all = ids(queue.due(i64::MAX, 10, &none).unwrap());
        all.sort();
        assert_eq!(all, ["e", "f", "g"]);
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn the_memory_queue_keeps_the_contract() {
        keeps_the_contract(&MemoryQueue::new(3));
    }
}
