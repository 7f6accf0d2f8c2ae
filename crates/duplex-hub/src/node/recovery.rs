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
//!
//! A flight's page is also kept a few seconds for the readers that come after it. A reconnect
//! paced by the server's own work spreads a channel's subscribers over seconds, so they rarely
//! meet in one flight: 10,000 clients with 5 subscriptions each over 1,000 channels took 39.9
//! reads per channel. A kept page answers a later reader only while its channel's [`Stamp`]
//! is the one taken before the read began: this node kept subscribers in the channel, with
//! its broker subscription up, and was handed no publication in it since. Whatever was
//! published after the read began has then not reached this node yet, so it reaches the new
//! subscriber (already in the channel's table when it asks) live, after its reply.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::oneshot;

use super::channels::{Channels, Stamp};
use crate::engine::{Broker, EngineError, HistoryPage, HistoryQuery, StreamOptions};

/// How many flights a read waits through (when a shared read could not answer it) before it
/// reads on its own.
const MAX_FLIGHTS: u8 = 3;

/// How long a flight's page answers later readers (while its channel's stamp holds): longer
/// than a mass reconnect's spread, short enough that what a history's `ttl` removed since is
/// not served for long.
const KEEP: Duration = Duration::from_secs(5);

/// The largest page kept for later readers: one per channel at most, for `KEEP`.
const KEEP_MAX_PUBLICATIONS: usize = 1024;

type Answer = Option<Result<HistoryPage, EngineError>>;

/// The reads waiting for or in a flight, by channel and epoch, and the pages of recent flights.
#[derive(Clone, Default)]
pub(crate) struct SharedReads {
    groups: Arc<Mutex<HashMap<Key, Group>>>,
    kept: Arc<Mutex<Kept>>,
    /// The node's subscription table, whose stamps tell whether a kept page still holds.
    channels: Arc<Channels>,
    /// Every read that reached the engine (the `subscriber_history_reads` metric): what a mass
    /// reconnect costs the engine, which must grow with channels, not clients.
    reads: Counter,
}

/// Recent flights' pages, by key, and the order in which they expire.
#[derive(Default)]
struct Kept {
    pages: HashMap<Key, Arc<KeptPage>>,
    /// Keys in the order they were kept (a key kept again is listed again: only the entry
    /// whose time matches removes the page).
    expiry: VecDeque<(Key, Instant)>,
}

struct KeptPage {
    /// The channel's stamp from before the read began.
    stamp: Stamp,
    query: HistoryQuery,
    page: HistoryPage,
    at: Instant,
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
    /// Shared reads of the channels in `channels`, counting each engine read in `reads`.
    pub(crate) fn new(channels: Arc<Channels>, reads: Counter) -> SharedReads {
        SharedReads {
            groups: Arc::default(),
            kept: Arc::default(),
            channels,
            reads,
        }
    }

    /// Forgets the pages kept longer than [`KEEP`]; the node's sweep calls it every second.
    pub(crate) fn expire(&self) {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expire(Instant::now());
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
        let kept = kept_page(&self.kept, &self.channels, &key);
        if let Some(answer) = kept.and_then(|kept| kept.answer(since, limit)) {
            return answer;
        }
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
                kept: self.kept.clone(),
                channels: self.channels.clone(),
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

/// A recent flight's page that still holds for readers whose subscribers are in the channel's
/// table already.
fn kept_page(kept: &Mutex<Kept>, channels: &Channels, key: &Key) -> Option<Arc<KeptPage>> {
    let kept = kept
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pages
        .get(key)
        .filter(|kept| kept.at.elapsed() < KEEP)
        .cloned()?;
    // Taken after the readers' subscribers joined the channel's table: unchanged since before
    // the read, nothing was published between the read and the subscribers.
    (channels.stamp(&key.channel) == Some(kept.stamp)).then_some(kept)
}

impl KeptPage {
    /// Its answer to a read from `since`, if it can tell.
    fn answer(&self, since: u64, limit: Option<usize>) -> Answer {
        slice_page(&self.page, &self.query, since, limit)
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
    kept: Arc<Mutex<Kept>>,
    channels: Arc<Channels>,
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
            // Those that came while the last flight read are answered by its page, if it holds.
            let kept = kept_page(&self.kept, &self.channels, &self.key);
            let waiters: Vec<Waiter> = waiters
                .into_iter()
                .filter(|w| !w.reply.is_closed())
                .filter_map(|waiter| {
                    match kept
                        .as_ref()
                        .and_then(|k| k.answer(waiter.since, waiter.limit))
                    {
                        Some(answer) => {
                            let _ = waiter.reply.send(Some(answer));
                            None
                        }
                        None => Some(waiter),
                    }
                })
                .collect();
            let Some(query) = self.union(&waiters) else {
                continue;
            };
            let stamp = self.channels.stamp(&self.key.channel);
            let result = read(&self.reads, &broker, &self.key.channel, &query, &stream).await;
            if let (Some(stamp), Ok(page)) = (stamp, &result) {
                self.keep(stamp, &query, page);
            }
            let mut again = Vec::new();
            for mut waiter in waiters {
                match slice(&result, &query, waiter.since, waiter.limit) {
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

    /// Keeps a flight's page for later readers, unless it is too large to.
    fn keep(&self, stamp: Stamp, query: &HistoryQuery, page: &HistoryPage) {
        if page.publications.len() > KEEP_MAX_PUBLICATIONS {
            return;
        }
        let now = Instant::now();
        let kept = Arc::new(KeptPage {
            stamp,
            query: query.clone(),
            page: page.clone(),
            at: now,
        });
        let mut all = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        all.expire(now);
        all.pages.insert(self.key.clone(), kept);
        all.expiry.push_back((self.key.clone(), now));
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

impl Kept {
    fn expire(&mut self, now: Instant) {
        while let Some((key, at)) = self.expiry.front() {
            if now.duration_since(*at) < KEEP {
                break;
            }
            if self.pages.get(key).is_some_and(|page| page.at == *at) {
                self.pages.remove(key);
            }
            self.expiry.pop_front();
        }
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

/// The answer to a read from position `since` (at most `limit` publications) that a shared
/// read's result gives, or `None` when it cannot tell.
fn slice(
    result: &Result<HistoryPage, EngineError>,
    query: &HistoryQuery,
    since: u64,
    limit: Option<usize>,
) -> Answer {
    let lowest = query.since.as_ref().map_or(0, |since| since.offset);
    match result {
        Ok(page) => slice_page(page, query, since, limit),
        // A gap after the lowest position says nothing about higher ones.
        Err(EngineError::UnrecoverablePosition) if since != lowest => None,
        Err(error) => Some(Err(error.clone())),
    }
}

/// [`slice`] of a page read: copies only the publications the reader is due.
fn slice_page(
    page: &HistoryPage,
    query: &HistoryQuery,
    since: u64,
    limit: Option<usize>,
) -> Answer {
    if query.since.is_none() {
        return Some(Ok(page.clone()));
    }
    let top = page.position.offset;
    if since > top {
        return Some(Err(EngineError::UnrecoverablePosition));
    }
    let wanted = limit.unwrap_or(usize::MAX);
    let due = usize::try_from(top - since)
        .unwrap_or(usize::MAX)
        .min(wanted);
    let start = page
        .publications
        .iter()
        .position(|p| p.offset > since)
        .unwrap_or(page.publications.len());
    let publications: Vec<_> = page.publications[start..]
        .iter()
        .take(due)
        .cloned()
        .collect();
    let contiguous = publications
        .iter()
        .zip(since + 1..)
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

    #[test]
    fn kept_pages_are_forgotten_after_their_time_and_not_before() {
        let now = Instant::now();
        let key = |name: &str| Key {
            channel: name.into(),
            epoch: Some("e".to_owned()),
        };
        let mut kept = Kept::default();
        let mut keep = |name: &str, age: Duration| {
            let at = now - age;
            let page = KeptPage {
                stamp: Stamp::default(),
                query: recovery(0, "e", 10),
                page: HistoryPage::default(),
                at,
            };
            kept.pages.insert(key(name), Arc::new(page));
            kept.expiry.push_back((key(name), at));
        };
        keep("old", KEEP + Duration::from_secs(1));
        keep("again", KEEP + Duration::from_millis(500));
        keep("again", Duration::from_secs(1));
        keep("new", Duration::from_secs(1));
        kept.expire(now);
        assert!(!kept.pages.contains_key(&key("old")));
        assert!(
            kept.pages.contains_key(&key("again")),
            "kept again since: its earlier listing does not remove it"
        );
        assert!(kept.pages.contains_key(&key("new")));
        assert_eq!(kept.expiry.len(), 2);
        kept.expire(now + KEEP);
        assert!(kept.pages.is_empty() && kept.expiry.is_empty());
    }
}
