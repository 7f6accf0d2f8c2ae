//! One node's pub/sub connection to one Redis server: the channels it listens to, the task that
//! reads messages and hands them to the hub, and reconnection.
//!
//! A pub/sub connection forgets its subscriptions when it drops, so the set of channels lives
//! here and is subscribed again, whole, after every reconnect (centrifuge does the same). While
//! the connection is down the subscriber reports unhealthy and new subscriptions fail with
//! [`EngineError::Unavailable`]: the client gets a temporary error and retries, rather than a
//! subscription that silently receives nothing. A periodic PING notices a connection that died
//! without closing.
//!
//! Messages of one Redis channel arrive in the order Redis published them, and this task hands
//! them to [`BrokerEvents`] one at a time, so the publish script's offset order reaches the hub.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink};
use redis::AsyncCommands;

use super::codec;
use super::{bounded, EngineError};
use crate::engine::BrokerEvents;

/// How often an idle pub/sub connection is checked.
const PING_EVERY: Duration = Duration::from_secs(1);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The pub/sub side of one Redis server.
pub(super) struct Subscriber {
    client: redis::Client,
    /// The shard's command connection, woken up before this node reports healthy again.
    commands: ConnectionManager,
    prefix: String,
    connect_timeout: Duration,
    io_timeout: Duration,
    /// The Redis channel names this node wants.
    channels: Mutex<HashSet<String>>,
    /// The live connection's command half; `None` while disconnected.
    sink: Mutex<Option<PubSubSink>>,
    connected: AtomicBool,
}

impl Subscriber {
    pub fn new(
        client: redis::Client,
        commands: ConnectionManager,
        prefix: String,
        connect_timeout: Duration,
        io_timeout: Duration,
    ) -> Self {
        Subscriber {
            client,
            commands,
            prefix,
            connect_timeout,
            io_timeout,
            channels: Mutex::new(HashSet::new()),
            sink: Mutex::new(None),
            connected: AtomicBool::new(false),
        }
    }

    /// The Redis pub/sub channel of a hub channel.
    fn redis_channel(&self, channel: &str) -> String {
        super::key(&self.prefix, channel, "c")
    }

    /// Whether the pub/sub connection is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    fn lock_channels(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding the lock leaves a plain set; keep using it.
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current_sink(&self) -> Option<PubSubSink> {
        self.sink.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_sink(&self, sink: Option<PubSubSink>) {
        self.connected.store(sink.is_some(), Ordering::Release);
        *self.sink.lock().unwrap_or_else(|e| e.into_inner()) = sink;
    }

    /// Listens to `channel` from now on (and after every reconnect).
    pub async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        let name = self.redis_channel(channel);
        if !self.lock_channels().insert(name.clone()) {
            return Ok(());
        }
        let result = match self.current_sink() {
            Some(mut sink) => bounded(self.io_timeout, sink.subscribe(&name)).await,
            None => Err(EngineError::Unavailable(
                "redis: pub/sub connection down".to_owned(),
            )),
        };
        if result.is_err() {
            self.lock_channels().remove(&name);
        }
        result
    }

    /// Stops listening to `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        let name = self.redis_channel(channel);
        if !self.lock_channels().remove(&name) {
            return Ok(());
        }
        match self.current_sink() {
            Some(mut sink) => bounded(self.io_timeout, sink.unsubscribe(&name)).await,
            // Disconnected: the reconnect will not subscribe it again.
            None => Ok(()),
        }
    }

    /// Connects, reads and reconnects until the task is aborted.
    pub async fn run(self: Arc<Self>, events: Arc<dyn BrokerEvents>) {
        let mut backoff = Duration::from_millis(50);
        loop {
            if self.session(&events).await {
                backoff = Duration::from_millis(50);
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection's life; true when it got connected at all.
    async fn session(&self, events: &Arc<dyn BrokerEvents>) -> bool {
        let pubsub = match tokio::time::timeout(
            self.connect_timeout,
            self.client.get_async_pubsub(),
        )
        .await
        {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(error)) => {
                tracing::debug!(%error, "redis pub/sub: cannot connect");
                return false;
            }
            Err(_) => return false,
        };
        let (mut sink, mut stream) = pubsub.split();
        let names: Vec<String> = self.lock_channels().iter().cloned().collect();
        if !names.is_empty()
            && bounded(self.io_timeout, sink.subscribe(&names))
                .await
                .is_err()
        {
            return false;
        }
        // The command connection died with the server too, but notices only when used: the
        // first call after a restart fails and makes it reconnect. Spend that failure on a
        // ping here, before this node says it is healthy again, rather than on the first
        // publish after /health answered 200.
        let mut commands = self.commands.clone();
        for _ in 0..3 {
            if bounded(self.io_timeout, commands.ping::<String>())
                .await
                .is_ok()
            {
                break;
            }
        }
        self.set_sink(Some(sink.clone()));
        tracing::debug!(channels = names.len(), "redis pub/sub: connected");
        // Whatever was published while the connection was down never reached this node; it is
        // in the channels' history, which their subscribers now recover from.
        report_lost(events.as_ref(), &self.prefix, &names);
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => deliver(
                        events.as_ref(),
                        &self.prefix,
                        message.get_channel_name(),
                        message.get_payload_bytes(),
                    ),
                    None => break,
                },
                _ = ping.tick() => {
                    let pong = bounded(self.io_timeout, sink.ping::<redis::Value>()).await;
                    if pong.is_err() {
                        break;
                    }
                }
            }
        }
        self.set_sink(None);
        tracing::warn!("redis pub/sub: connection lost, reconnecting");
        true
    }
}

/// The hub channel of a Redis pub/sub channel (`<prefix>:{<channel>}:c`).
fn hub_channel<'a>(prefix: &str, name: &'a str) -> Option<&'a str> {
    name.strip_prefix(prefix)?
        .strip_prefix(":{")?
        .strip_suffix("}:c")
}

/// Tells the hub that the channels behind these Redis channel names may have lost events.
pub(super) fn report_lost(events: &dyn BrokerEvents, prefix: &str, names: &[String]) {
    let channels: Vec<String> = names
        .iter()
        .filter_map(|name| hub_channel(prefix, name))
        .map(str::to_owned)
        .collect();
    if !channels.is_empty() {
        events.on_events_lost(&channels);
    }
}

/// Hands one message of the Redis channel `name` to the hub; a message this node cannot read
/// is skipped.
pub(super) fn deliver(events: &dyn BrokerEvents, prefix: &str, name: &str, payload: &[u8]) {
    let Some(channel) = hub_channel(prefix, name) else {
        return;
    };
    let Some((&kind, rest)) = payload.split_first() else {
        return;
    };
    match kind {
        b'p' => {
            let Some((offset, epoch, publication)) = split_publication(rest) else {
                return;
            };
            if let Some(publication) = codec::decode_publication(publication, offset) {
                events.on_publication(channel, &publication, epoch);
            }
        }
        b'j' => {
            if let Some(info) = codec::decode_info(rest) {
                events.on_join(channel, &info);
            }
        }
        b'l' => {
            if let Some(info) = codec::decode_info(rest) {
                events.on_leave(channel, &info);
            }
        }
        _ => {}
    }
}

/// `<offset>:<epoch>:<publication>` as the publish script writes it.
fn split_publication(bytes: &[u8]) -> Option<(u64, &str, &[u8])> {
    let first = bytes.iter().position(|b| *b == b':')?;
    let offset = std::str::from_utf8(&bytes[..first]).ok()?.parse().ok()?;
    let rest = &bytes[first + 1..];
    let second = rest.iter().position(|b| *b == b':')?;
    let epoch = std::str::from_utf8(&rest[..second]).ok()?;
    Some((offset, epoch, &rest[second + 1..]))
}
