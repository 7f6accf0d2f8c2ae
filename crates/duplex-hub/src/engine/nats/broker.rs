//! The NATS broker: publications, joins and leaves between nodes over NATS core pub/sub.
//!
//! Each channel this node has subscribers for is one NATS subscription on
//! `<prefix>.client.<encoded channel>` (see `subject.rs`), read by a task of its own that decodes
//! the envelope and hands it to the hub. NATS core delivers at most once and in order per
//! publisher connection; it keeps nothing, so this broker keeps no history: a publish whose
//! options ask for history and every history read fail with [`EngineError::Unavailable`]
//! naming the reason, rather than delivering without the positions the client was promised.
//!
//! After NATS restarts, async-nats reconnects on its own (with backoff, without limit) and
//! re-sends every live subscription before anything else; publications made while the
//! connection is down are refused with `Unavailable` instead of being buffered unseen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::envelope::{self, Envelope};
use super::subject::channel_subject;
use super::NatsConfig;
use crate::engine::memory::idempotency::IdempotencyCache;
use crate::engine::{
    BrokerEvents, ClientInfo, EngineError, HistoryPage, HistoryQuery, Publication, PublishOptions,
    PublishOutcome, StreamOptions, StreamPosition,
};

/// What every history-related failure says.
const NO_HISTORY: &str = "the NATS broker keeps no history (at most once pub/sub): set \
    history_size and history_ttl to 0 for this channel's namespace, or use an engine with \
    history";

/// The live subscriptions: channel → (generation, reader task). A reader delivers only while its
/// generation is the channel's current one, so nothing arrives after `unsubscribe` returns and a
/// quick unsubscribe/subscribe never delivers twice.
type Subscriptions = Arc<Mutex<HashMap<String, (u64, tokio::task::JoinHandle<()>)>>>;

/// A node's connection to NATS and its channel subscriptions.
pub struct NatsBroker {
    client: async_nats::Client,
    prefix: String,
    write_timeout: Duration,
    events: Arc<OnceLock<Arc<dyn BrokerEvents>>>,
    subscriptions: Subscriptions,
    next_generation: Mutex<u64>,
    /// Idempotency keys, remembered by this node only: a retry that reaches another node
    /// publishes again.
    idempotency: Mutex<IdempotencyCache>,
}

impl NatsBroker {
    /// Connects to the NATS server at `config.url` (failing after `config.connect_timeout`
    /// when it cannot be reached, so a misconfigured node says so at start).
    pub async fn connect(config: &NatsConfig) -> Result<NatsBroker, EngineError> {
        super::subject::validate_prefix(&config.prefix).map_err(EngineError::Internal)?;
        let client = async_nats::ConnectOptions::new()
            .name("duplex-hub")
            .connection_timeout(config.connect_timeout)
            .max_reconnects(None)
            .connect(config.url.as_str())
            .await
            .map_err(|error| {
                EngineError::Unavailable(format!("cannot reach NATS at {}: {error}", config.url))
            })?;
        Ok(NatsBroker {
            client,
            prefix: config.prefix.clone(),
            write_timeout: config.write_timeout,
            events: Arc::new(OnceLock::new()),
            subscriptions: Arc::new(Mutex::new(HashMap::new())),
            next_generation: Mutex::new(0),
            idempotency: Mutex::new(IdempotencyCache::new(config.idempotency_capacity)),
        })
    }

    /// Sends one message, refusing while the connection is down (async-nats would buffer it
    /// until a reconnect that may never come).
    async fn send(&self, channel: &str, payload: bytes::Bytes) -> Result<(), EngineError> {
        if self.events.get().is_none() {
            return Err(EngineError::Unavailable("broker not started".to_owned()));
        }
        if self.client.connection_state() != async_nats::connection::State::Connected {
            return Err(EngineError::Unavailable(
                "the connection to NATS is down".to_owned(),
            ));
        }
        let subject = channel_subject(&self.prefix, channel);
        match tokio::time::timeout(self.write_timeout, self.client.publish(subject, payload)).await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(EngineError::Unavailable(format!("NATS publish: {error}"))),
            Err(_) => Err(EngineError::Unavailable(
                "NATS publish timed out (broker.nats.write_timeout)".to_owned(),
            )),
        }
    }
}

/// Locks a mutex even if a panic elsewhere poisoned it: the maps here are consistent after every
/// statement.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads one channel's subscription until it is dropped, handing each envelope to the hub.
async fn read(
    channel: String,
    generation: u64,
    mut subscriber: async_nats::Subscriber,
    events: Arc<OnceLock<Arc<dyn BrokerEvents>>>,
    subscriptions: Subscriptions,
) {
    while let Some(message) = subscriber.next().await {
        let current = lock(&subscriptions)
            .get(&channel)
            .is_some_and(|(live, _)| *live == generation);
        if !current {
            break;
        }
        let Some(events) = events.get() else { continue };
        match envelope::decode(&message.payload) {
            Ok(Envelope::Publication(publication)) => {
                events.on_publication(&channel, &publication, "");
            }
            Ok(Envelope::Join(info)) => events.on_join(&channel, &info),
            Ok(Envelope::Leave(info)) => events.on_leave(&channel, &info),
            Err(problem) => tracing::warn!(
                subject = %message.subject,
                "ignoring a NATS message that is not a duplex envelope: {problem}"
            ),
        }
    }
}

#[async_trait]
impl crate::engine::Broker for NatsBroker {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        self.events
            .set(events)
            .map_err(|_| EngineError::Internal("broker already started".to_owned()))
    }

    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        if lock(&self.subscriptions).contains_key(channel) {
            return Ok(());
        }
        let subject = channel_subject(&self.prefix, channel);
        let subscriber = self
            .client
            .subscribe(subject)
            .await
            .map_err(|error| EngineError::Unavailable(format!("NATS subscribe: {error}")))?;
        // The SUB is queued before any later publish on this connection, and NATS keeps one
        // connection's order: a publish made after this returns is seen.
        let generation = {
            let mut next = lock(&self.next_generation);
            *next += 1;
            *next
        };
        let mut subscriptions = lock(&self.subscriptions);
        if subscriptions.contains_key(channel) {
            // A concurrent subscribe won; dropping ours unsubscribes it.
            return Ok(());
        }
        let task = tokio::spawn(read(
            channel.to_owned(),
            generation,
            subscriber,
            self.events.clone(),
            self.subscriptions.clone(),
        ));
        subscriptions.insert(channel.to_owned(), (generation, task));
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        if let Some((_, task)) = lock(&self.subscriptions).remove(channel) {
            // Dropping the subscriber (with the task) sends NATS the UNSUB.
            task.abort();
        }
        Ok(())
    }

    async fn publish(
        &self,
        channel: &str,
        mut publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        if options
            .stream
            .as_ref()
            .is_some_and(StreamOptions::keeps_history)
        {
            return Err(EngineError::Unavailable(NO_HISTORY.to_owned()));
        }
        let now = std::time::Instant::now();
        if let Some(key) = &options.idempotency_key {
            if let Some(position) = lock(&self.idempotency).get(channel, key, now) {
                return Ok(PublishOutcome {
                    position,
                    suppressed: true,
                });
            }
        }
        publication.offset = 0;
        if publication.time_ms == 0 {
            publication.time_ms = now_ms();
        }
        self.send(channel, envelope::encode_publication(&publication))
            .await?;
        if let Some(key) = &options.idempotency_key {
            let expires = now + options.idempotent_ttl;
            lock(&self.idempotency).insert(channel, key, StreamPosition::default(), expires, now);
        }
        Ok(PublishOutcome {
            position: StreamPosition::default(),
            suppressed: false,
        })
    }

    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.send(channel, envelope::encode_presence(info, true))
            .await
    }

    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.send(channel, envelope::encode_presence(info, false))
            .await
    }

    async fn history(
        &self,
        _channel: &str,
        _query: &HistoryQuery,
        _stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        Err(EngineError::Unavailable(NO_HISTORY.to_owned()))
    }

    async fn remove_history(&self, _channel: &str) -> Result<(), EngineError> {
        // Nothing is kept, so there is nothing to remove: removing succeeds, as it would for a
        // channel without history on any engine.
        Ok(())
    }

    async fn close(&self) -> Result<(), EngineError> {
        for (_, (_, task)) in lock(&self.subscriptions).drain() {
            task.abort();
        }
        // Sends what is buffered; bounded so a dead server cannot hold shutdown.
        let _ = tokio::time::timeout(self.write_timeout, self.client.flush()).await;
        Ok(())
    }
}

/// Unix time in milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}
