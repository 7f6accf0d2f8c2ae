//! The Redis servers of an engine and which one holds a channel.
//!
//! Between independent servers, channels are assigned with jump consistent hashing (Lamping and
//! Veach), over a 64-bit FNV-1a hash of the channel name, as centrifuge does: every node
//! computes the same server for a channel without talking to the others, and adding a server
//! moves only about 1/n of the channels. Each server has a command connection (redis-rs's
//! `ConnectionManager`, which reconnects on its own) and a [`Subscriber`] for pub/sub.
//!
//! A Redis Cluster is one shard: the cluster itself spreads channels over its primaries by hash
//! slot, and its client routes each command ([`Commands::Cluster`], [`ClusterListener`]).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::IntoConnectionInfo;
use tokio::task::JoinHandle;

use super::cluster::ClusterListener;
use super::commands::Commands;
use super::subscriber::Subscriber;
use super::{EngineError, RedisConfig};
use crate::engine::BrokerEvents;

/// One Redis server, or a whole Redis Cluster.
pub(super) struct Shard {
    /// Commands and scripts; cheap to clone (multiplexed connections underneath).
    pub connection: Commands,
    /// This node's pub/sub on the server or cluster.
    pub subscriber: Listener,
}

/// A shard's pub/sub, for one server or for a cluster.
pub(super) enum Listener {
    Server(Arc<Subscriber>),
    Cluster(Arc<ClusterListener>),
}

impl Listener {
    /// Listens to `channel` from now on (and after every reconnect).
    pub async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        match self {
            Listener::Server(subscriber) => subscriber.subscribe(channel).await,
            Listener::Cluster(listener) => listener.subscribe(channel).await,
        }
    }

    /// Stops listening to `channel`.
    pub async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        match self {
            Listener::Server(subscriber) => subscriber.unsubscribe(channel).await,
            Listener::Cluster(listener) => listener.unsubscribe(channel).await,
        }
    }

    /// Whether messages can be received now.
    pub fn is_connected(&self) -> bool {
        match self {
            Listener::Server(subscriber) => subscriber.is_connected(),
            Listener::Cluster(listener) => listener.is_connected(),
        }
    }

    /// Starts the task that reads messages and reconnects.
    pub fn spawn(&self, events: Arc<dyn BrokerEvents>) -> JoinHandle<()> {
        match self {
            Listener::Server(subscriber) => tokio::spawn(subscriber.clone().run(events)),
            Listener::Cluster(listener) => tokio::spawn(listener.clone().run(events)),
        }
    }
}

/// All the servers, and the settings every call needs.
pub(super) struct Shards {
    shards: Vec<Shard>,
    /// The key prefix.
    pub prefix: String,
    /// The bound of one call.
    pub io_timeout: Duration,
    connect_timeout: Duration,
    /// SPUBLISH rather than PUBLISH (a cluster with sharded pub/sub).
    sharded: bool,
}

impl Shards {
    /// Clients for every address; nothing connects yet.
    pub fn new(config: &RedisConfig) -> Result<Self, EngineError> {
        if config.addresses.is_empty() {
            return Err(EngineError::Internal(
                "redis: no address configured".to_owned(),
            ));
        }
        if config.cluster {
            return Ok(Shards {
                shards: vec![cluster(config)?],
                prefix: config.prefix.clone(),
                io_timeout: config.io_timeout,
                connect_timeout: config.connect_timeout,
                sharded: config.sharded_pubsub,
            });
        }
        let mut shards = Vec::new();
        for address in &config.addresses {
            let client = client(address, config)?;
            let manager_config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(config.connect_timeout))
                .set_response_timeout(Some(config.io_timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            let connection =
                ConnectionManager::new_lazy_with_config(client.clone(), manager_config)
                    .map_err(super::engine_error)?;
            let subscriber = Arc::new(Subscriber::new(
                client,
                connection.clone(),
                config.prefix.clone(),
                config.connect_timeout,
                config.io_timeout,
            ));
            shards.push(Shard {
                connection: Commands::Server(connection),
                subscriber: Listener::Server(subscriber),
            });
        }
        Ok(Shards {
            shards,
            prefix: config.prefix.clone(),
            io_timeout: config.io_timeout,
            connect_timeout: config.connect_timeout,
            sharded: false,
        })
    }

    /// The Redis pub/sub channel of a hub channel, in the channel's hash slot.
    pub fn redis_channel(&self, channel: &str) -> String {
        super::key(&self.prefix, channel, "c")
    }

    /// The command that publishes to a [`redis_channel`](Self::redis_channel).
    pub fn publish_command(&self) -> &'static str {
        if self.sharded {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// The server that holds `channel`.
    pub fn for_channel(&self, channel: &str) -> &Shard {
        let index = jump_hash(fnv1a(channel.as_bytes()), self.shards.len());
        &self.shards[index]
    }

    /// How long connecting may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Every server.
    pub fn all(&self) -> &[Shard] {
        &self.shards
    }
}

/// The cluster reached through the configured seed addresses, as one shard. Nothing connects
/// yet: the first command, or the listener's first check, does.
fn cluster(config: &RedisConfig) -> Result<Shard, EngineError> {
    let seeds: Vec<String> = config
        .addresses
        .iter()
        .map(|address| {
            if address.contains("://") {
                address.clone()
            } else {
                format!("redis://{address}")
            }
        })
        .collect();
    let invalid = |e: redis::RedisError| {
        EngineError::Internal(format!("redis cluster {:?}: {e}", config.addresses))
    };
    if config.db.is_some_and(|db| db != 0) {
        return Err(EngineError::Internal(
            "redis cluster: a cluster has only database 0".to_owned(),
        ));
    }
    let (pushes_in, pushes) = tokio::sync::mpsc::unbounded_channel();
    let mut builder = redis::cluster::ClusterClientBuilder::new(seeds)
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(pushes_in)
        .retries(2)
        .min_retry_wait(10)
        .max_retry_wait(500);
    if let Some(user) = &config.user {
        builder = builder.username(user);
    }
    if let Some(password) = &config.password {
        builder = builder.password(password);
    }
    let client = builder.build().map_err(invalid)?;
    let connection = client.get_pending_async_connection_with_config(
        redis::cluster::ClusterConfig::new()
            .set_connection_timeout(config.connect_timeout)
            .set_response_timeout(config.io_timeout),
    );
    let listener = ClusterListener::new(
        connection.clone(),
        pushes,
        config.prefix.clone(),
        config.io_timeout,
        config.sharded_pubsub,
    );
    Ok(Shard {
        connection: Commands::Cluster(connection),
        subscriber: Listener::Cluster(Arc::new(listener)),
    })
}

/// A client for one address (`redis://...` or `host:port`), with the configured credentials
/// and database where the address has none.
fn client(address: &str, config: &RedisConfig) -> Result<redis::Client, EngineError> {
    let url = if address.contains("://") {
        address.to_owned()
    } else {
        format!("redis://{address}")
    };
    let invalid =
        |e: redis::RedisError| EngineError::Internal(format!("redis address {address:?}: {e}"));
    let info = url.as_str().into_connection_info().map_err(invalid)?;
    let mut settings = info.redis_settings().clone();
    if let Some(user) = &config.user {
        if settings.username().is_none() {
            settings = settings.set_username(user);
        }
    }
    if let Some(password) = &config.password {
        if settings.password().is_none() {
            settings = settings.set_password(password);
        }
    }
    if let Some(db) = config.db {
        if settings.db() == 0 {
            settings = settings.set_db(db);
        }
    }
    redis::Client::open(info.set_redis_settings(settings)).map_err(invalid)
}

/// FNV-1a, 64 bits: stable across processes and versions, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Jump consistent hash: a bucket in `0..buckets` for `key` (`buckets` > 0).
fn jump_hash(mut key: u64, buckets: usize) -> usize {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    let buckets = i64::try_from(buckets).unwrap_or(i64::MAX);
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    usize::try_from(b).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hash_spreads_and_moves_few_keys_when_a_bucket_is_added() {
        let keys: Vec<u64> = (0..10_000)
            .map(|n| fnv1a(format!("chat:{n}").as_bytes()))
            .collect();
        let mut counts = [0usize; 4];
        for key in &keys {
            counts[jump_hash(*key, 4)] += 1;
        }
        assert!(
            counts.iter().all(|c| (2_000..3_000).contains(c)),
            "{counts:?}"
        );
        let moved = keys
            .iter()
            .filter(|key| jump_hash(**key, 4) != jump_hash(**key, 5))
            .count();
        assert!((1_500..2_500).contains(&moved), "about 1/5 move: {moved}");
        assert!(keys.iter().all(|key| jump_hash(*key, 1) == 0));
    }
}
