//! [`RedisPresence`]: presence in Redis, one set of keys per channel on the channel's server.
//!
//! Each call is one script (see [`super::scripts`]) that first drops the expired clients, so a
//! node that died without removing its clients stops showing them within their ttl, and the
//! user-level first-in/last-out answers stay right when several nodes add and remove at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::shard::Shards;
use super::{bounded, codec, scripts};
use crate::engine::{ClientInfo, EngineError, PresenceManager, PresenceStats};

/// The presence half of the Redis engine; see [`Engine::redis`](crate::engine::Engine::redis).
pub struct RedisPresence {
    shards: Arc<Shards>,
}

impl RedisPresence {
    pub(super) fn new(shards: Arc<Shards>) -> Self {
        RedisPresence { shards }
    }

    /// A presence script with the channel's four keys.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        channel: &str,
        args: &[&[u8]],
    ) -> Result<T, EngineError> {
        let prefix = &self.shards.prefix;
        let mut invocation = script.prepare_invoke();
        for kind in ["ph", "pz", "pc", "pu"] {
            invocation.key(super::key(prefix, channel, kind));
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.shards.for_channel(channel).connection.clone();
        bounded(
            self.shards.io_timeout,
            invocation.invoke_async(&mut connection),
        )
        .await
    }
}

#[async_trait]
impl PresenceManager for RedisPresence {
    async fn add_presence(
        &self,
        channel: &str,
        info: &ClientInfo,
        ttl: Duration,
    ) -> Result<bool, EngineError> {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let joined: i64 = self
            .run(
                &scripts::PRESENCE_ADD,
                channel,
                &[
                    info.client.as_bytes(),
                    info.user.as_bytes(),
                    &codec::encode_info(info),
                    ttl_ms.to_string().as_bytes(),
                ],
            )
            .await?;
        Ok(joined == 1)
    }

    async fn remove_presence(
        &self,
        channel: &str,
        client: &str,
        user: &str,
    ) -> Result<bool, EngineError> {
        let left: i64 = self
            .run(
                &scripts::PRESENCE_REMOVE,
                channel,
                &[client.as_bytes(), user.as_bytes()],
            )
            .await?;
        Ok(left == 1)
    }

    async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, EngineError> {
        let infos: Vec<Vec<u8>> = self.run(&scripts::PRESENCE_GET, channel, &[]).await?;
        Ok(infos
            .iter()
            // An entry another version wrote is left out rather than failing the whole answer.
            .filter_map(|bytes| codec::decode_info(bytes))
            .map(|info| (info.client.clone(), info))
            .collect())
    }

    async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, EngineError> {
        let (clients, users): (u32, u32) = self.run(&scripts::PRESENCE_STATS, channel, &[]).await?;
        Ok(PresenceStats {
            num_clients: clients,
            num_users: users,
        })
    }
}
