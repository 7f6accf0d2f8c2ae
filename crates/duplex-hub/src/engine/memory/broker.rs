//! The memory broker: history streams in a map, delivery by direct call to the hub.
//!
//! Ordering comes from publish locks sharded by channel name (as centrifuge's memory broker):
//! a publish holds its channel's shard lock from the idempotency check through appending to the
//! stream and calling [`BrokerEvents::on_publication`], so concurrent publishers to one channel
//! are serialised and events leave in offset order. The stream map has its own short lock that
//! is never held while calling out, so a history read — even one made from inside the event
//! callback — never waits for delivery.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::idempotency::IdempotencyCache;
use super::stream::Stream;
use super::{lock, MemoryConfig};
use crate::engine::{
    Broker, BrokerEvents, ClientInfo, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions, StreamPosition,
};

/// How many publish locks channels hash onto: enough that unrelated channels rarely wait for
/// each other, few enough to allocate up front.
const PUBLISH_SHARDS: usize = 256;

/// The single-node broker of [`Engine::memory`](crate::engine::Engine::memory).
pub struct MemoryBroker {
    config: MemoryConfig,
    events: OnceLock<Arc<dyn BrokerEvents>>,
    publish_locks: Box<[Mutex<()>]>,
    streams: Mutex<Streams>,
    idempotency: Mutex<IdempotencyCache>,
    /// Channels this node subscribed to; events for others are not delivered, as a multi-node
    /// engine would not deliver them either.
    subscribed: RwLock<HashSet<String>>,
}

/// The stream map and its sweep bookkeeping, under one lock.
struct Streams {
    map: HashMap<String, Stream>,
    next_sweep: Instant,
    /// When a full map last failed to free room, so a flood of new channels at the limit does
    /// not rescan the map on every call.
    last_full_scan: Option<Instant>,
}

impl MemoryBroker {
    /// A broker with the given limits; it delivers nothing until [`Broker::start`].
    pub fn new(config: MemoryConfig) -> Self {
        let publish_locks = (0..PUBLISH_SHARDS).map(|_| Mutex::new(())).collect();
        MemoryBroker {
            idempotency: Mutex::new(IdempotencyCache::new(config.idempotency_capacity)),
            streams: Mutex::new(Streams {
                map: HashMap::new(),
                next_sweep: Instant::now() + config.sweep_interval,
                last_full_scan: None,
            }),
            config,
            events: OnceLock::new(),
            publish_locks,
            subscribed: RwLock::new(HashSet::new()),
        }
    }

    /// How many channel streams are held (kept publications or meta): bounded memory is
    /// observable.
    pub fn stream_count(&self) -> usize {
        lock(&self.streams).map.len()
    }

    fn events(&self) -> Result<&Arc<dyn BrokerEvents>, EngineError> {
        self.events
            .get()
            .ok_or_else(|| EngineError::Unavailable("broker not started".into()))
    }

    fn is_subscribed(&self, channel: &str) -> bool {
        self.subscribed
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(channel)
    }

    fn publish_lock(&self, channel: &str) -> &Mutex<()> {
        let mut hasher = DefaultHasher::new();
        channel.hash(&mut hasher);
        // The modulo keeps the index below the slice's length.
        &self.publish_locks[(hasher.finish() % PUBLISH_SHARDS as u64) as usize]
    }

    /// The whole publish, synchronous so that no lock is held across an await.
    fn publish_now(
        &self,
        channel: &str,
        mut publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        let events = self.events()?;
        let _order = lock(self.publish_lock(channel));
        let now = Instant::now();
        if let Some(key) = &options.idempotency_key {
            if let Some(position) = lock(&self.idempotency).get(channel, key, now) {
                return Ok(PublishOutcome {
                    position,
                    suppressed: true,
                });
            }
        }
        if publication.time_ms == 0 {
            publication.time_ms = unix_millis();
        }
        let position = match options.stream.as_ref().filter(|s| s.keeps_history()) {
            Some(stream) => {
                let mut streams = lock(&self.streams);
                streams.sweep_if_due(now, &self.config);
                let entry = streams.stream(channel, now, stream, &self.config)?;
                let (position, kept) = entry.append(publication, now, stream);
                publication = kept;
                position
            }
            None => {
                publication.offset = 0;
                StreamPosition::default()
            }
        };
        if let Some(key) = &options.idempotency_key {
            let expires = now + options.idempotent_ttl;
            lock(&self.idempotency).insert(channel, key, position.clone(), expires, now);
        }
        if self.is_subscribed(channel) {
            events.on_publication(channel, &publication, &position.epoch);
        }
        Ok(PublishOutcome {
            position,
            suppressed: false,
        })
    }

    fn history_now(
        &self,
        channel: &str,
        query: &HistoryQuery,
        options: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        streams.sweep_if_due(now, &self.config);
        match streams.stream(channel, now, options, &self.config) {
            Ok(stream) => {
                stream.expire(now);
                stream.touch(now, options);
                stream.read(query)
            }
            // At the stream limit a read does not take a place: it answers with an epoch nobody
            // else will use, so a later recovery from it fails loudly rather than wrongly.
            Err(_) => Stream::new(now, options).read(&HistoryQuery {
                since: None,
                limit: Some(0),
                reverse: false,
            }),
        }
    }
}

impl Streams {
    /// Runs the sweep if its interval has passed: drops expired publications everywhere and
    /// forgets streams whose meta expired, so idle channels cost nothing after their meta ttl.
    fn sweep_if_due(&mut self, now: Instant, config: &MemoryConfig) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + config.sweep_interval;
        self.map.retain(|_, stream| {
            stream.expire(now);
            !stream.is_forgotten(now)
        });
    }

    /// The channel's live stream, created (or re-created with a new epoch, if its meta expired)
    /// as needed; fails only at the stream limit with nothing to forget.
    fn stream(
        &mut self,
        channel: &str,
        now: Instant,
        options: &StreamOptions,
        config: &MemoryConfig,
    ) -> Result<&mut Stream, EngineError> {
        if !self.map.contains_key(channel) && self.map.len() >= config.max_streams {
            self.make_room(now, config)?;
        }
        match self.map.entry(channel.to_owned()) {
            Entry::Occupied(entry) => {
                let stream = entry.into_mut();
                if stream.is_forgotten(now) {
                    *stream = Stream::new(now, options);
                }
                Ok(stream)
            }
            Entry::Vacant(entry) => Ok(entry.insert(Stream::new(now, options))),
        }
    }

    /// Forgets streams that keep no publication (forgotten meta first), at most one scan per
    /// sweep interval when nothing can be freed.
    fn make_room(&mut self, now: Instant, config: &MemoryConfig) -> Result<(), EngineError> {
        let full = || EngineError::Unavailable("memory engine stream limit reached".into());
        if self
            .last_full_scan
            .is_some_and(|at| now < at + config.sweep_interval)
        {
            return Err(full());
        }
        self.map.retain(|_, stream| {
            stream.expire(now);
            !stream.is_forgotten(now) && !stream.is_empty()
        });
        if self.map.len() >= config.max_streams {
            self.last_full_scan = Some(now);
            return Err(full());
        }
        self.last_full_scan = None;
        Ok(())
    }
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        self.events
            .set(events)
            .map_err(|_| EngineError::Internal("broker already started".into()))
    }

    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.subscribed
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(channel.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.subscribed
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(channel);
        Ok(())
    }

    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        self.publish_now(channel, publication, options)
    }

    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        let events = self.events()?;
        if self.is_subscribed(channel) {
            events.on_join(channel, info);
        }
        Ok(())
    }

    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        let events = self.events()?;
        if self.is_subscribed(channel) {
            events.on_leave(channel, info);
        }
        Ok(())
    }

    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        self.history_now(channel, query, stream)
    }

    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        if let Some(stream) = lock(&self.streams).map.get_mut(channel) {
            stream.clear();
        }
        Ok(())
    }
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker")
            .field("config", &self.config)
            .field("started", &self.events.get().is_some())
            .finish_non_exhaustive()
    }
}

/// Now as Unix milliseconds; a clock before 1970 reads as 0 rather than failing a publish.
fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
