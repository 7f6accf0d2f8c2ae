//! The server API's requests as the backend receives them: validated, with every payload
//! already turned into the exact bytes to deliver.
//!
//! Decoding happens in [`super::wire`]: `data` arrives as raw JSON or as base64 in `b64data`,
//! optional strings arrive empty or missing, and Centrifugo's `{"value": true}` wrappers arrive
//! around override flags. None of that reaches the backend; it sees one shape per request, with
//! `Option` where "not given" differs from every given value.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// A position in a channel's stream: the offset of a publication within one epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    /// The publication's offset, counted from 1 in this epoch.
    #[serde(default)]
    pub offset: u64,
    /// The stream's epoch; a different epoch means the offsets restarted.
    #[serde(default)]
    pub epoch: String,
}

/// `publish`: one publication into one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    /// The channel to publish into.
    pub channel: String,
    /// The payload, byte for byte as sent (`data`'s JSON text, or `b64data` decoded).
    pub data: Bytes,
    /// Deliver without adding to the channel's history.
    pub skip_history: bool,
    /// Tags delivered with the publication.
    pub tags: BTreeMap<String, String>,
    /// A key that makes retries of the same publish land once per channel.
    pub idempotency_key: Option<String>,
    /// Ask for a delta against the previous publication when the channel allows it.
    pub delta: bool,
    /// The document version this publication carries (0: not versioned); an older or equal
    /// version than the channel has seen is dropped.
    pub version: u64,
    /// The epoch of `version`; a change resets the comparison.
    pub version_epoch: String,
}

/// `broadcast`: the same publication into many channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastRequest {
    /// The channels, in the order their replies are returned.
    pub channels: Vec<String>,
    /// The payload, byte for byte as sent.
    pub data: Bytes,
    /// Deliver without adding to history.
    pub skip_history: bool,
    /// Tags delivered with each publication.
    pub tags: BTreeMap<String, String>,
    /// Idempotency key, applied per channel.
    pub idempotency_key: Option<String>,
    /// Ask for deltas where the channel allows it.
    pub delta: bool,
    /// Document version (0: not versioned).
    pub version: u64,
    /// Epoch of `version`.
    pub version_epoch: String,
}

impl BroadcastRequest {
    /// The publish request this broadcast makes for one of its channels.
    pub fn publish_for(&self, channel: &str) -> PublishRequest {
        PublishRequest {
            channel: channel.to_owned(),
            data: self.data.clone(),
            skip_history: self.skip_history,
            tags: self.tags.clone(),
            idempotency_key: self.idempotency_key.clone(),
            delta: self.delta,
            version: self.version,
            version_epoch: self.version_epoch.clone(),
        }
    }
}

/// Per-subscription overrides of the namespace's options; `None` keeps the configured value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelOverride {
    /// Override `presence`.
    pub presence: Option<bool>,
    /// Override `join_leave`.
    pub join_leave: Option<bool>,
    /// Override `force_push_join_leave`.
    pub force_push_join_leave: Option<bool>,
    /// Override `force_positioning`.
    pub force_positioning: Option<bool>,
    /// Override `force_recovery`.
    pub force_recovery: Option<bool>,
}

/// `subscribe`: subscribe a user's live sessions to a channel from the server side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeRequest {
    /// The user whose connections subscribe (may be empty: anonymous connections).
    pub user: String,
    /// The channel.
    pub channel: String,
    /// Only this client id of the user.
    pub client: Option<String>,
    /// Only this session of the user.
    pub session: Option<String>,
    /// Channel info attached to the subscription (presence, join/leave).
    pub info: Option<Bytes>,
    /// Data sent to the client in the subscribe push.
    pub data: Option<Bytes>,
    /// Recover publications after this position.
    pub recover_since: Option<StreamPosition>,
    /// Option overrides for this subscription.
    pub channel_override: ChannelOverride,
    /// Unix seconds at which the subscription expires (`None`: never).
    pub expire_at: Option<i64>,
}

/// `unsubscribe`: remove a user's sessions from a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeRequest {
    /// The user.
    pub user: String,
    /// The channel.
    pub channel: String,
    /// Only this client id.
    pub client: Option<String>,
    /// Only this session.
    pub session: Option<String>,
}

/// The disconnect code and reason sent to the clients being disconnected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectReason {
    /// Close code (3000-3499 reconnect, 3500-3999 terminal).
    #[serde(default)]
    pub code: u32,
    /// Close reason.
    #[serde(default)]
    pub reason: String,
}

/// `disconnect`: close a user's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectRequest {
    /// The user.
    pub user: String,
    /// Only this client id.
    pub client: Option<String>,
    /// Only this session.
    pub session: Option<String>,
    /// Client ids to keep connected.
    pub whitelist: Vec<String>,
    /// Custom code and reason (`None`: the hub's default "force disconnect, no reconnect").
    pub disconnect: Option<DisconnectReason>,
}

/// `refresh`: extend or expire a user's connections (for connections without a token refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    /// The user.
    pub user: String,
    /// Only this client id.
    pub client: Option<String>,
    /// Only this session.
    pub session: Option<String>,
    /// Expire the connections now (they close with the expired disconnect).
    pub expired: bool,
    /// Unix seconds of the new expiry (`None`: unchanged).
    pub expire_at: Option<i64>,
    /// New connection info.
    pub info: Option<Bytes>,
}

/// `presence` and `presence_stats`: who is subscribed to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRequest {
    /// The channel.
    pub channel: String,
}

/// `history`: read a channel's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// The channel.
    pub channel: String,
    /// How many publications: 0 returns only the current position, a negative value all of them.
    pub limit: i32,
    /// Return publications after this position.
    pub since: Option<StreamPosition>,
    /// Newest first.
    pub reverse: bool,
}

/// `history_remove`: drop a channel's publications (its position is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRemoveRequest {
    /// The channel.
    pub channel: String,
}

/// `channels`: list active channels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelsRequest {
    /// Glob pattern to filter channel names (empty: all).
    pub pattern: String,
}
