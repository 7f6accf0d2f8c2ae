//! [`RedisBroker`]: publish/subscribe over Redis pub/sub, history in Redis streams.
//!
//! Publishing runs the publish script on the channel's server (one round trip: idempotency
//! check, offset, append, PUBLISH); reading runs the history script and checks the position
//! here, with the memory engine's rules, so every engine answers the same query the same way.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redis::Value;
use tokio::task::JoinHandle;

use super::shard::Shards;
use super::{bounded, codec, scripts};
use crate::engine::{
    Broker, BrokerEvents, ClientInfo, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions, StreamPosition,
};

/// The broker half of the Redis engine; see [`Engine::redis`](crate::engine::Engine::redis).
pub struct RedisBroker {
    shards: Arc<Shards>,
    events: OnceLock<Arc<dyn BrokerEvents>>,
    /// The subscribers' reading tasks, stopped at close.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl RedisBroker {
    pub(super) fn new(shards: Arc<Shards>) -> Self {
        RedisBroker {
            shards,
            events: OnceLock::new(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn started(&self) -> Result<(), EngineError> {
        match self.events.get() {
            Some(_) => Ok(()),
            None => Err(EngineError::Unavailable("broker not started".to_owned())),
        }
    }

    fn key(&self, channel: &str, kind: &str) -> String {
        super::key(&self.shards.prefix, channel, kind)
    }

    async fn publish_presence_event(
        &self,
        channel: &str,
        kind: u8,
        info: &ClientInfo,
    ) -> Result<(), EngineError> {
        self.started()?;
        let shard = self.shards.for_channel(channel);
        let mut message = vec![kind];
        message.extend_from_slice(&codec::encode_info(info));
        let mut connection = shard.connection.clone();
        let name = self.shards.redis_channel(channel);
        bounded(
            self.shards.io_timeout,
            redis::cmd(self.shards.publish_command())
                .arg(name)
                .arg(message)
                .query_async::<i64>(&mut connection),
        )
        .await
        .map(|_| ())
    }

    fn stop_tasks(&self) {
        for task in self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        self.events
            .set(events.clone())
            .map_err(|_| EngineError::Internal("broker already started".to_owned()))?;
        {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            for shard in self.shards.all() {
                tasks.push(shard.subscriber.spawn(events.clone()));
            }
        }
        // Give the pub/sub connections a moment, so subscriptions right after start succeed;
        // an unreachable Redis is no reason to fail start (calls report it).
        let deadline = tokio::time::Instant::now() + self.shards.connect_timeout();
        while !self
            .shards
            .all()
            .iter()
            .all(|s| s.subscriber.is_connected())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.started()?;
        self.shards
            .for_channel(channel)
            .subscriber
            .subscribe(channel)
            .await
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.started()?;
        self.shards
            .for_channel(channel)
            .subscriber
            .unsubscribe(channel)
            .await
    }

    async fn publish(
        &self,
        channel: &str,
        mut publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        self.started()?;
        if publication.time_ms == 0 {
            publication.time_ms = now_ms();
        }
        let stream = options.stream.as_ref().filter(|s| s.keeps_history());
        let (size, ttl_ms, meta_ms) = match stream {
            Some(stream) => (stream.size, millis(stream.ttl), millis(stream.meta_keep())),
            None => (0, 0, 0),
        };
        let idempotency = options
            .idempotency_key
            .as_deref()
            .filter(|_| !options.idempotent_ttl.is_zero());
        let idempotency_key = self.key(channel, &format!("i:{}", idempotency.unwrap_or("")));
        let shard = self.shards.for_channel(channel);
        let mut connection = shard.connection.clone();
        let mut invocation = scripts::PUBLISH.prepare_invoke();
        invocation
            .key(self.key(channel, "s"))
            .key(self.key(channel, "m"))
            .key(idempotency_key)
            .arg(codec::encode_publication(&publication))
            .arg(size)
            .arg(ttl_ms)
            .arg(meta_ms)
            .arg(new_epoch())
            .arg(self.shards.redis_channel(channel))
            .arg(idempotency.map_or(0, |_| millis(options.idempotent_ttl)))
            .arg(self.shards.publish_command());
        let (suppressed, offset, epoch): (i64, u64, String) = bounded(
            self.shards.io_timeout,
            invocation.invoke_async(&mut connection),
        )
        .await?;
        Ok(PublishOutcome {
            position: StreamPosition { offset, epoch },
            suppressed: suppressed == 1,
        })
    }

    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.publish_presence_event(channel, b'j', info).await
    }

    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.publish_presence_event(channel, b'l', info).await
    }

    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        let limit = query.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        // The range to read; a forward read from a position asks for at least one entry, the
        // one right after the position, to tell a gap from the edge of the kept window.
        let (mode, start, count) = match (&query.since, query.reverse) {
            (None, false) => ("f", "-".to_owned(), limit.unwrap_or(-1)),
            (None, true) => ("r", "+".to_owned(), limit.unwrap_or(-1)),
            (Some(since), false) => (
                "f",
                format!("{}-0", since.offset.saturating_add(1)),
                limit.map_or(-1, |l| l.max(1)),
            ),
            (Some(since), true) if since.offset > 1 => {
                ("r", format!("{}-0", since.offset - 1), limit.unwrap_or(-1))
            }
            (Some(_), true) => ("n", String::new(), 0),
        };
        let count = if limit == Some(0) && query.since.is_none() {
            0
        } else {
            count
        };
        let mode = if count == 0 { "n" } else { mode };
        let shard = self.shards.for_channel(channel);
        let mut connection = shard.connection.clone();
        let mut invocation = scripts::HISTORY.prepare_invoke();
        invocation
            .key(self.key(channel, "s"))
            .key(self.key(channel, "m"))
            .arg(millis(stream.meta_keep()))
            .arg(new_epoch())
            .arg(mode)
            .arg(start)
            .arg(count);
        let (epoch, top, now, entries): (String, u64, i64, Vec<Value>) = bounded(
            self.shards.io_timeout,
            invocation.invoke_async(&mut connection),
        )
        .await?;
        let mut publications = Vec::with_capacity(entries.len());
        for entry in &entries {
            if let Some(publication) = live_entry(entry, now)? {
                publications.push(publication);
            }
        }
        if let Some(since) = &query.since {
            if since.epoch != epoch || since.offset > top {
                return Err(EngineError::UnrecoverablePosition);
            }
            if !query.reverse && since.offset < top {
                // Recovery: the publication right after the position must still be kept.
                match publications.first() {
                    Some(first) if first.offset == since.offset + 1 => {}
                    _ => return Err(EngineError::UnrecoverablePosition),
                }
            }
        }
        if let Some(limit) = query.limit {
            publications.truncate(limit);
        }
        Ok(HistoryPage {
            position: StreamPosition { offset: top, epoch },
            publications,
        })
    }

    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        let shard = self.shards.for_channel(channel);
        let mut connection = shard.connection.clone();
        bounded(
            self.shards.io_timeout,
            redis::cmd("DEL")
                .arg(self.key(channel, "s"))
                .query_async::<i64>(&mut connection),
        )
        .await
        .map(|_| ())
    }

    async fn close(&self) -> Result<(), EngineError> {
        self.stop_tasks();
        Ok(())
    }

    fn healthy(&self) -> bool {
        self.events.get().is_none()
            || self
                .shards
                .all()
                .iter()
                .all(|shard| shard.subscriber.is_connected())
    }
}

impl Drop for RedisBroker {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// One stream entry (`[id, ['d', publication, 'x', expires]]`) as a publication, `None` when it
/// expired; an entry this node cannot read is an internal error (never skipped: a skipped entry
/// would be a silent gap).
fn live_entry(entry: &Value, now_ms: i64) -> Result<Option<Publication>, EngineError> {
    let bad = || EngineError::Internal("redis: unreadable history entry".to_owned());
    let Value::Array(parts) = entry else {
        return Err(bad());
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return Err(bad());
    };
    let id: String = redis::from_redis_value_ref(id).map_err(|_| bad())?;
    let offset: u64 = id
        .split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    let (mut data, mut expires) = (None, None);
    for pair in fields.chunks(2) {
        if let [Value::BulkString(name), value] = pair {
            match name.as_slice() {
                b"d" => data = Some(value),
                b"x" => expires = redis::from_redis_value_ref::<i64>(value).ok(),
                _ => {}
            }
        }
    }
    if expires.ok_or_else(bad)? <= now_ms {
        return Ok(None);
    }
    let Some(Value::BulkString(data)) = data else {
        return Err(bad());
    };
    codec::decode_publication(data, offset)
        .map(Some)
        .ok_or_else(bad)
}

/// A fresh epoch for a stream that has none: 12 random alphanumerics, as short as centrifuge's.
fn new_epoch() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 12)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds for Redis, at least 1 (PEXPIRE 0 would delete the key at once).
fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}
