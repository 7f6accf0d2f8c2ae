//! Shared recovery reads: when many clients recover the same channel at once — every client of
//! a restarted server reconnecting — the engine reads the channel's missed range once, not once
//! per client.
//!
//! Single flight per (channel, epoch): a read that arrives while none is running for its key
//! starts one; reads that arrive while one runs wait and are served together by the next, which
//! reads the widest range they need (from the lowest position, far enough for the highest
//! position's limit) and gives each its slice. A read never joins a flight that started before
//! it arrived: the hub registers a subscriber before reading its stream, and the stream read
//! must begin after that for no publication to fall between the two. Position-only reads
//! (subscribes without recovery) share flights the same way.
//!
//! Every slice is checked (first offset right after the client's position, contiguous, as many
//! as the stream and the limit give); anything that does not check out — and a gap found only
//! for the lowest position — falls back to another flight or to a read of its own, so sharing
//! can cost an extra read but never changes an answer. Engine-independent: it needs only
//! [`Broker::history`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use crate::engine::{Broker, EngineError, HistoryPage, HistoryQuery, StreamOptions};

/// How many flights a read waits through (when a shared read could not answer it) before it
/// reads on its own.
const MAX_FLIGHTS: u8 = 3;

type Answer = Option<Result<HistoryPage, EngineError>>;

/// The reads waiting for or in a flight, by channel and epoch.
#[derive(Clone, Default)]
pub(crate) struct SharedReads {
    groups: Arc<Mutex<HashMap<Key, Group>>>,
    /// Every read that reached the engine (the `subscriber_history_reads` metric): what a mass
    /// reconnect costs the engine, which must grow with channels, not clients.
    reads: Counter,
}

/// Reads that can share a flight: recoveries in one epoch, or position-only reads (`None`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    channel: Box<str>,
    epoch: Option<String>,
}

#[derive(Default)]
struct Group {
    waiting: Vec<Waiter>,
    running: bool,
}

struct Waiter {
    since: u64,
    limit: Option<usize>,
    flights: u8,
    reply: oneshot::Sender<Answer>,
}

impl SharedReads {
    /// Shared reads counting each engine read in `reads`.
    pub(crate) fn counting(reads: Counter) -> SharedReads {
        SharedReads {
            groups: Arc::default(),
            reads,
        }
    }

    /// Reads `channel`'s history, sharing the engine read with concurrent readers when the
    /// query is a recovery (forward from a position) or position-only; any other query reads
    /// directly.
    pub(crate) async fn history(
        &self,
        broker: &Arc<dyn Broker>,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        let (key, since, limit) = match (&query.since, query.reverse, query.limit) {
            (Some(since), false, limit) => (Some(since.epoch.clone()), since.offset, limit),
            (None, false, Some(0)) => (None, 0, Some(0)),
            _ => return read(&self.reads, broker, channel, query, stream).await,
        };
        let key = Key {
            channel: channel.into(),
            epoch: key,
        };
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter {
            since,
            limit,
            flights: 0,
            reply,
        };
        let start = {
            let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
            let group = groups.entry(key.clone()).or_default();
            group.waiting.push(waiter);
            !std::mem::replace(&mut group.running, true)
        };
        if start {
            let runner = Runner {
                groups: self.groups.clone(),
                reads: self.reads.clone(),
                key,
                done: false,
            };
            tokio::spawn(runner.run(broker.clone(), stream.clone()));
        }
        match answer.await {
            Ok(Some(result)) => result,
            // No shared answer (or the runner is gone): read alone.
            _ => read(&self.reads, broker, channel, query, stream).await,
        }
    }
}

/// One read of the engine, counted: every path to the engine goes through here.
async fn read(
    reads: &Counter,
    broker: &Arc<dyn Broker>,
    channel: &str,
    query: &HistoryQuery,
    stream: &StreamOptions,
) -> Result<HistoryPage, EngineError> {
    reads.inc();
    broker.history(channel, query, stream).await
}

/// Runs one key's flights until nobody waits. Dropped before that (a panic in the engine, a
/// runtime shutting down), it forgets the group, so its waiters fall back to their own reads
/// instead of waiting forever.
struct Runner {
    groups: Arc<Mutex<HashMap<Key, Group>>>,
    reads: Counter,
    key: Key,
    /// Set once the runner removed its group itself.
    done: bool,
}

impl Runner {
    async fn run(mut self, broker: Arc<dyn Broker>, stream: StreamOptions) {
        // Before the first read, the tasks that are ready to run go first: in a reconnect
        // storm they are the other clients' subscribes, already read from their sockets, and
        // they join this flight instead of starting the next one. A lone subscribe loses
        // nothing but a turn of the scheduler.
        tokio::task::yield_now().await;
        loop {
            let waiters: Vec<Waiter> = {
                let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(group) = groups.get_mut(&self.key) else {
                    self.done = true;
                    return;
                };
                if group.waiting.is_empty() {
                    groups.remove(&self.key);
                    self.done = true;
                    return;
                }
                std::mem::take(&mut group.waiting)
            };
            let waiters: Vec<Waiter> = waiters
                .into_iter()
                .filter(|w| !w.reply.is_closed())
                .collect();
            let Some(query) = self.union(&waiters) else {
                continue;
            };
            let result = read(&self.reads, &broker, &self.key.channel, &query, &stream).await;
            let mut again = Vec::new();
            for mut waiter in waiters {
                match slice(&result, &query, &waiter) {
                    Some(answer) => {
                        let _ = waiter.reply.send(Some(answer));
                    }
                    None if waiter.flights + 1 < MAX_FLIGHTS => {
                        waiter.flights += 1;
                        again.push(waiter);
                    }
                    None => {
                        let _ = waiter.reply.send(None);
                    }
                }
            }
            if !again.is_empty() {
                let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(group) = groups.get_mut(&self.key) {
                    group.waiting.extend(again);
                }
            }
        }
    }

    /// The one query that covers every waiter: from the lowest position, up to the furthest
    /// offset any of them may take. `None` when nobody is left.
    fn union(&self, waiters: &[Waiter]) -> Option<HistoryQuery> {
        let lowest = waiters.iter().map(|w| w.since).min()?;
        let Some(epoch) = &self.key.epoch else {
            return Some(HistoryQuery {
                since: None,
                limit: Some(0),
                reverse: false,
            });
        };
        let mut limit = Some(0usize);
        for waiter in waiters {
            limit = match (limit, waiter.limit) {
                (Some(furthest), Some(own)) => {
                    let reach = waiter.since.saturating_add(own as u64) - lowest;
                    Some(furthest.max(usize::try_from(reach).unwrap_or(usize::MAX)))
                }
                _ => None,
            };
        }
        Some(HistoryQuery {
            since: Some(crate::engine::StreamPosition {
                offset: lowest,
                epoch: epoch.clone(),
            }),
            limit,
            reverse: false,
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if !self.done {
            self.groups
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.key);
        }
    }
}

/// A waiter's answer from the shared read, or `None` when the shared read cannot tell.
fn slice(
    result: &Result<HistoryPage, EngineError>,
    query: &HistoryQuery,
    waiter: &Waiter,
) -> Answer {
    let lowest = query.since.as_ref().map_or(0, |since| since.offset);
    let page = match result {
        Ok(page) => page,
        // A gap after the lowest position says nothing about higher ones.
        Err(EngineError::UnrecoverablePosition) if waiter.since != lowest => return None,
        Err(error) => return Some(Err(error.clone())),
    };
    if query.since.is_none() {
        return Some(Ok(page.clone()));
    }
    let top = page.position.offset;
    if waiter.since > top {
        return Some(Err(EngineError::UnrecoverablePosition));
    }
    let wanted = waiter.limit.unwrap_or(usize::MAX);
    let due = usize::try_from(top - waiter.since)
        .unwrap_or(usize::MAX)
        .min(wanted);
    let start = page
        .publications
        .iter()
        .position(|p| p.offset > waiter.since)
        .unwrap_or(page.publications.len());
    let publications: Vec<_> = page.publications[start..]
        .iter()
        .take(due)
        .cloned()
        .collect();
    let contiguous = publications
        .iter()
        .zip(waiter.since + 1..)
        .all(|(p, offset)| p.offset == offset);
    (publications.len() == due && contiguous).then(|| {
        Ok(HistoryPage {
            position: page.position.clone(),
            publications,
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::engine::memory::{MemoryBroker, MemoryConfig};
    use crate::engine::{
        BrokerEvents, ClientInfo, Publication, PublishOptions, PublishOutcome, StreamPosition,
    };

    /// The memory broker, slowed down and counting its history reads.
    struct Counting {
        inner: MemoryBroker,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl Broker for Counting {
        async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
            self.inner.start(events).await
        }
        async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
            self.inner.subscribe(channel).await
        }
        async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
            self.inner.unsubscribe(channel).await
        }
        async fn publish(
            &self,
            channel: &str,
            publication: Publication,
            options: &PublishOptions,
        ) -> Result<PublishOutcome, EngineError> {
            self.inner.publish(channel, publication, options).await
        }
        async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
            self.inner.publish_join(channel, info).await
        }
        async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
            self.inner.publish_leave(channel, info).await
        }
        async fn history(
            &self,
            channel: &str,
            query: &HistoryQuery,
            stream: &StreamOptions,
        ) -> Result<HistoryPage, EngineError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            self.inner.history(channel, query, stream).await
        }
        async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
            self.inner.remove_history(channel).await
        }
    }

    struct Ignore;
    impl BrokerEvents for Ignore {
        fn on_publication(&self, _: &str, _: &Publication, _: &str) {}
        fn on_join(&self, _: &str, _: &ClientInfo) {}
        fn on_leave(&self, _: &str, _: &ClientInfo) {}
    }

    /// A counting broker with `count` publications in "ch", size-limited to `size`.
    async fn filled(count: usize, size: usize) -> (Arc<Counting>, StreamOptions, String) {
        let broker = Arc::new(Counting {
            inner: MemoryBroker::new(MemoryConfig::default()),
            reads: AtomicUsize::new(0),
        });
        broker.start(Arc::new(Ignore)).await.unwrap();
        let stream = StreamOptions::new(size, Duration::from_secs(60));
        let options = PublishOptions {
            stream: Some(stream.clone()),
            ..PublishOptions::default()
        };
        let mut epoch = String::new();
        for n in 0..count {
            let publication = Publication {
                data: n.to_string().into(),
                ..Publication::default()
            };
            epoch = broker
                .publish("ch", publication, &options)
                .await
                .unwrap()
                .position
                .epoch;
        }
        (broker, stream, epoch)
    }

    fn recovery(offset: u64, epoch: &str, limit: usize) -> HistoryQuery {
        HistoryQuery {
            since: Some(StreamPosition {
                offset,
                epoch: epoch.to_owned(),
            }),
            limit: Some(limit),
            reverse: false,
        }
    }

    /// Runs the queries at once, through the shared reads and directly, and checks that every
    /// answer is the one a direct read gives.
    async fn concurrently(
        broker: &Arc<Counting>,
        stream: &StreamOptions,
        queries: Vec<HistoryQuery>,
    ) -> usize {
        let shared = SharedReads::default();
        let dyn_broker: Arc<dyn Broker> = broker.clone();
        let tasks: Vec<_> = queries
            .iter()
            .cloned()
            .map(|query| {
                let (shared, broker, stream) = (shared.clone(), dyn_broker.clone(), stream.clone());
                tokio::spawn(async move { shared.history(&broker, "ch", &query, &stream).await })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let reads = broker.reads.swap(0, Ordering::SeqCst);
        for (query, answer) in queries.iter().zip(answers) {
            let direct = broker.inner.history("ch", query, stream).await;
            assert_eq!(answer, direct, "{query:?}");
        }
        assert!(
            shared.groups.lock().unwrap().is_empty(),
            "nothing left behind"
        );
        reads
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_identical_recoveries_share_one_read() {
        let (broker, stream, epoch) = filled(20, 100).await;
        let queries = (0..50).map(|_| recovery(10, &epoch, 301)).collect();
        let reads = concurrently(&broker, &stream, queries).await;
        assert!(reads <= 2, "{reads} engine reads for 50 recoveries");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn overlapping_recoveries_get_their_own_slices() {
        let (broker, stream, epoch) = filled(40, 100).await;
        // Positions 5..=39, limits small enough that some slices are cut by the limit.
        let queries = (0..50)
            .map(|n| recovery(5 + (n % 35) as u64, &epoch, 3 + n % 7))
            .collect();
        let reads = concurrently(&broker, &stream, queries).await;
        assert!(reads <= 2, "{reads} engine reads for 50 recoveries");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_gap_for_some_positions_does_not_spoil_the_others() {
        // Size 10 keeps offsets 21..=30: positions below 20 are unrecoverable.
        let (broker, stream, epoch) = filled(30, 10).await;
        let mut queries: Vec<_> = (0..25).map(|_| recovery(25, &epoch, 100)).collect();
        queries.extend((0..25).map(|_| recovery(12, &epoch, 100)));
        queries.push(recovery(31, &epoch, 100));
        queries.push(recovery(20, "another-epoch", 100));
        queries.push(HistoryQuery {
            since: None,
            limit: Some(0),
            reverse: false,
        });
        let reads = concurrently(&broker, &stream, queries).await;
        assert!(reads <= 8, "{reads} engine reads");
    }
}
