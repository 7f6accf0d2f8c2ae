//! The events owed to the application: kept from the moment they happen until a 2xx answer,
//! behind one trait with two homes — memory (lost on restart) and a SQLite file (kept).
//!
//! Bounded: at `max` events owed, the oldest is dropped to make room for the newest. The
//! newest is the likeliest to matter (who is still online); an endpoint down for long enough to
//! fill the queue has lost the old ones' meaning anyway. Every drop is counted and logged.
//!
//! Every operation is short (a map update, or one SQLite statement in WAL mode without an
//! fsync), so they run inline where events happen rather than on a thread of their own: an
//! event is committed before the code that made it goes on, which is what lets a hub killed a
//! moment later still owe it.

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

/// A queue that failed (the SQLite file could not be read or written).
#[derive(Debug, thiserror::Error)]
#[error("webhook queue: {0}")]
pub struct QueueError(pub(crate) String);

/// Where events wait until they are delivered.
pub(crate) trait Queue: Send + Sync {
    /// Keeps an event, due at `due_ms`; drops the oldest first if the queue is full. Returns
    /// how many were dropped.
    fn push(&self, id: &str, body: &[u8], due_ms: i64) -> Result<usize, QueueError>;
    /// Up to `limit` events due at `now_ms`, the earliest due first, leaving out `skip` (the
    /// ones being attempted).
    fn due(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &HashSet<String>,
    ) -> Result<Vec<Owed>, QueueError>;
    /// Forgets a delivered event (a no-op if it was dropped meanwhile).
    fn delivered(&self, id: &str) -> Result<(), QueueError>;
    /// Records a failed attempt: the count so far and when to try again.
    fn retry_at(&self, id: &str, attempts: u32, due_ms: i64) -> Result<(), QueueError>;
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
    fn remove(&mut self, id: &str) -> Option<Owed> {
        let (seq, owed) = self.events.remove(id)?;
        self.by_seq.remove(&seq);
        self.by_due.remove(&(owed.due_ms, seq));
        Some(owed)
    }
}

impl Queue for MemoryQueue {
    fn push(&self, id: &str, body: &[u8], due_ms: i64) -> Result<usize, QueueError> {
        let mut memory = self.lock();
        if memory.events.contains_key(id) {
            return Ok(0);
        }
        let mut dropped = 0;
        while memory.events.len() >= self.max {
            let Some((_, oldest)) = memory.by_seq.pop_first() else {
                break;
            };
            memory.remove(&oldest);
            dropped += 1;
        }
        let seq = memory.next_seq;
        memory.next_seq += 1;
        memory.by_seq.insert(seq, id.to_owned());
        memory.by_due.insert((due_ms, seq));
        let owed = Owed {
            id: id.to_owned(),
            body: body.to_vec(),
            attempts: 0,
            due_ms,
        };
        memory.events.insert(id.to_owned(), (seq, owed));
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

    fn delivered(&self, id: &str) -> Result<(), QueueError> {
        self.lock().remove(id);
        Ok(())
    }

    fn retry_at(&self, id: &str, attempts: u32, due_ms: i64) -> Result<(), QueueError> {
        let mut memory = self.lock();
        let Some((seq, owed)) = memory.events.get_mut(id) else {
            return Ok(());
        };
        let (seq, old_due) = (*seq, owed.due_ms);
        owed.attempts = attempts;
        owed.due_ms = due_ms;
        memory.by_due.remove(&(old_due, seq));
        memory.by_due.insert((due_ms, seq));
        Ok(())
    }

    fn len(&self) -> usize {
        self.lock().events.len()
    }
}

/// The contract both queues keep, run against each.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;

    /// `queue` must be empty and hold at most 3 events.
    pub(crate) fn keeps_the_contract(queue: &dyn Queue) {
        let none = HashSet::new();
        assert_eq!(queue.push("a", b"A", 10).unwrap(), 0);
        assert_eq!(queue.push("b", b"B", 5).unwrap(), 0);
        assert_eq!(queue.push("c", b"C", 20).unwrap(), 0);
        assert_eq!(queue.push("c", b"C", 20).unwrap(), 0, "an id is kept once");
        assert_eq!(queue.len(), 3);
        // Due ones, earliest due first; later ones wait.
        let due: Vec<String> = queue
            .due(10, 10, &none)
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(due, ["b", "a"]);
        let skip: HashSet<String> = ["b".to_owned()].into();
        let due = queue.due(10, 10, &skip).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].id.as_str(), due[0].body.as_slice()),
            ("a", &b"A"[..])
        );
        // A failed attempt moves it later and counts.
        queue.retry_at("b", 1, 30).unwrap();
        let due = queue.due(25, 10, &none).unwrap();
        assert_eq!(
            due.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
            ["a", "c"]
        );
        let b = queue.due(30, 10, &none).unwrap();
        let b = b.iter().find(|o| o.id == "b").unwrap();
        assert_eq!((b.attempts, b.due_ms), (1, 30));
        // Full: the oldest pushed ("a") makes room, even though it is not the earliest due.
        assert_eq!(queue.push("d", b"D", 0).unwrap(), 1);
        assert_eq!(queue.len(), 3);
        let ids: HashSet<String> = queue
            .due(i64::MAX, 10, &none)
            .unwrap()
            .into_iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(ids, ["b", "c", "d"].map(String::from).into());
        queue.delivered("b").unwrap();
        queue.delivered("b").unwrap();
        queue.retry_at("gone", 3, 0).unwrap();
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.due(i64::MAX, 1, &none).unwrap()[0].id, "d");
    }

    #[test]
    fn the_memory_queue_keeps_the_contract() {
        keeps_the_contract(&MemoryQueue::new(3));
    }
}
