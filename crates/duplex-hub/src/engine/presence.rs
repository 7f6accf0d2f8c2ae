//! Presence: which clients are in a channel right now, across the cluster.
//!
//! Shaped after centrifuge's `PresenceManager`, with two changes the hub needs. Entries carry a
//! ttl that the owning node refreshes, so the clients of a node that died stop being present
//! without anyone removing them. And add/remove report user-level transitions (a user's first
//! client in, last client out), which is what user-level join/leave pushes need and which only
//! the store can answer atomically when several nodes add and remove at once.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;

use super::{ClientInfo, EngineError, PresenceStats};

/// Live presence of clients in channels.
#[async_trait]
pub trait PresenceManager: Send + Sync {
    /// Marks `info.client` present in the channel for `ttl` (re-adding refreshes the expiry and
    /// the info). Returns true when this is the user's first live client in the channel: a
    /// user-level join. Re-adding a client that is already present returns false.
    async fn add_presence(
        &self,
        channel: &str,
        info: &ClientInfo,
        ttl: Duration,
    ) -> Result<bool, EngineError>;

    /// Removes the client. Returns true when the client was there (live or lately expired) and
    /// its user has no live client left in the channel: a user-level leave.
    async fn remove_presence(
        &self,
        channel: &str,
        client: &str,
        user: &str,
    ) -> Result<bool, EngineError>;

    /// The live clients of the channel, by client id.
    async fn presence(&self, channel: &str) -> Result<HashMap<String, ClientInfo>, EngineError>;

    /// How many live clients and distinct users the channel has.
    async fn presence_stats(&self, channel: &str) -> Result<PresenceStats, EngineError>;
}
