//! The Redis engine: broker, history and presence in Redis, shared by every hub node that
//! points at the same Redis servers, so a cluster of nodes behaves as one hub.
//!
//! Shaped after centrifuge's Redis engine: each channel's history is a Redis STREAM plus a meta
//! HASH (epoch, top offset), appended and published by one Lua script so offsets are assigned
//! atomically and pub/sub delivers in offset order ([`scripts`]); every node keeps one pub/sub
//! connection per Redis server and resubscribes its channels after a reconnect ([`subscriber`]);
//! presence lives in per-channel hashes and a ZSET of expiries, so the clients of a node that
//! died disappear within their ttl. With several addresses, channels are spread over the
//! servers by jump consistent hashing ([`shard`]). With `cluster` set, the addresses are seed
//! nodes of one Redis Cluster: all keys of a channel share the hash tag `{channel}`, so each
//! script runs on the primary that owns the channel's slot, and pub/sub is sharded pub/sub on
//! that same primary ([`cluster`]).
//!
//! Commands are Redis 6.2 / Valkey compatible (XTRIM MINID is the newest used).
//!
//! ```no_run
//! # async fn demo() -> Result<(), duplex_hub::engine::EngineError> {
//! use duplex_hub::engine::{redis::RedisConfig, Engine};
//!
//! let config = RedisConfig::new(["redis://127.0.0.1:6379/0"]);
//! let engine = Engine::redis(config).await?;
//! # Ok(())
//! # }
//! ```

mod broker;
mod cluster;
mod codec;
mod commands;
mod presence;
mod scripts;
mod shard;
mod subscriber;

use std::sync::Arc;
use std::time::Duration;

pub use broker::RedisBroker;
pub use presence::RedisPresence;

use super::{Engine, EngineError};
use shard::Shards;

/// How to reach Redis, with Centrifugo's `engine.redis.*` names in the hub's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// One address per Redis server, `redis://[user:password@]host:port/db` or `host:port`;
    /// channels are spread over several by consistent hashing, so every node must list the
    /// same addresses in the same order.
    pub addresses: Vec<String>,
    /// Prepended to every key and pub/sub channel, so several hubs can share a Redis.
    pub prefix: String,
    /// ACL user, when not in the address.
    pub user: Option<String>,
    /// Password, when not in the address.
    pub password: Option<String>,
    /// Database number, when not in the address.
    pub db: Option<i64>,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long one command may take, reconnecting included; past it the call fails with
    /// [`EngineError::Unavailable`].
    pub io_timeout: Duration,
    /// The addresses are seed nodes of one Redis Cluster (any of its nodes; the client learns
    /// the rest), not independent servers.
    pub cluster: bool,
    /// On a cluster, sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7 and Valkey): each channel's
    /// messages stay on the primary that owns it. Off, classic pub/sub, which Redis 6.2 has
    /// and which broadcasts every message to every node of the cluster. Every hub node of a
    /// deployment must agree. Ignored without `cluster`.
    pub sharded_pubsub: bool,
}

impl RedisConfig {
    /// Defaults (prefix `duplex`, 1 s to connect, 4 s per command) for these addresses.
    pub fn new<S: Into<String>>(addresses: impl IntoIterator<Item = S>) -> Self {
        RedisConfig {
            addresses: addresses.into_iter().map(Into::into).collect(),
            prefix: "duplex".to_owned(),
            user: None,
            password: None,
            db: None,
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(4),
            cluster: false,
            sharded_pubsub: true,
        }
    }

    /// Defaults for a Redis Cluster reached through these seed addresses, with sharded
    /// pub/sub.
    pub fn cluster<S: Into<String>>(seeds: impl IntoIterator<Item = S>) -> Self {
        RedisConfig {
            cluster: true,
            ..RedisConfig::new(seeds)
        }
    }
}

impl Engine {
    /// An engine in Redis. Connections are made lazily: building it succeeds while Redis is
    /// down, and calls fail with [`EngineError::Unavailable`] until it is reachable.
    pub async fn redis(config: RedisConfig) -> Result<Engine, EngineError> {
        let shards = Arc::new(Shards::new(&config)?);
        Ok(Engine {
            broker: Arc::new(RedisBroker::new(shards.clone())),
            presence: Arc::new(RedisPresence::new(shards)),
        })
    }
}

/// The key of one of a channel's values: `<prefix>:{<channel>}:<kind>`. The braces make the
/// channel Redis Cluster's hash tag, so all of a channel's keys live in one slot.
fn key(prefix: &str, channel: &str, kind: &str) -> String {
    format!("{prefix}:{{{channel}}}:{kind}")
}

/// A Redis failure as the engine reports it: not reaching Redis is worth a retry, anything else
/// (a script error, an unexpected reply) is internal.
fn engine_error(error: redis::RedisError) -> EngineError {
    if error.is_io_error()
        || error.is_timeout()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_unrecoverable_error()
    {
        EngineError::Unavailable(format!("redis: {error}"))
    } else {
        EngineError::Internal(format!("redis: {error}"))
    }
}

/// Runs one Redis call within `limit`, mapping both failures to [`EngineError`].
async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(engine_error),
        Err(_) => Err(EngineError::Unavailable("redis: timed out".to_owned())),
    }
}
