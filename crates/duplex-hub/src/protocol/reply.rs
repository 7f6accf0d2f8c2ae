//! Replies: the server's answer to a command (same `id`, one result or an error), and the
//! envelope of every push (`id` 0, `push` set). A reply with nothing set is the server's ping,
//! `{}` in JSON; a result with nothing set still appears, as `{"id":3,"publish":{}}`.

use bytes::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::json::{self, Object, WriteJson};
use super::push::{ClientInfo, Publication, Push};
use super::EncodeError;

/// A reply to a command, or a push, or (with nothing set) a server ping.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Reply {
    /// The command's `id`; 0 for pushes and pings.
    #[prost(uint32, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub id: u32,
    /// The command failed; no result is set.
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    /// A push (with `id` 0).
    #[prost(message, optional, tag = "4")]
    pub push: Option<Push>,
    /// Result of `connect`.
    #[prost(message, optional, tag = "5")]
    pub connect: Option<ConnectResult>,
    /// Result of `subscribe`.
    #[prost(message, optional, tag = "6")]
    pub subscribe: Option<SubscribeResult>,
    /// Result of `unsubscribe`.
    #[prost(message, optional, tag = "7")]
    pub unsubscribe: Option<UnsubscribeResult>,
    /// Result of `publish`.
    #[prost(message, optional, tag = "8")]
    pub publish: Option<PublishResult>,
    /// Result of `presence`.
    #[prost(message, optional, tag = "9")]
    pub presence: Option<PresenceResult>,
    /// Result of `presence_stats`.
    #[prost(message, optional, tag = "10")]
    pub presence_stats: Option<PresenceStatsResult>,
    /// Result of `history`.
    #[prost(message, optional, tag = "11")]
    pub history: Option<HistoryResult>,
    /// Result of `ping`.
    #[prost(message, optional, tag = "12")]
    pub ping: Option<PingResult>,
    /// Result of `rpc`.
    #[prost(message, optional, tag = "13")]
    pub rpc: Option<RpcResult>,
    /// Result of `refresh`.
    #[prost(message, optional, tag = "14")]
    pub refresh: Option<RefreshResult>,
    /// Result of `sub_refresh`.
    #[prost(message, optional, tag = "15")]
    pub sub_refresh: Option<SubRefreshResult>,
}

impl Reply {
    /// The error reply to command `id`.
    pub fn error(id: u32, error: impl Into<Error>) -> Reply {
        Reply {
            id,
            error: Some(error.into()),
            ..Reply::default()
        }
    }

    /// A push reply (`id` 0).
    pub fn push(push: Push) -> Reply {
        Reply {
            push: Some(push),
            ..Reply::default()
        }
    }
}

impl WriteJson for Reply {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .uint("id", self.id)
            .msg("error", self.error.as_ref())?
            .msg("push", self.push.as_ref())?
            .msg("connect", self.connect.as_ref())?
            .msg("subscribe", self.subscribe.as_ref())?
            .msg("unsubscribe", self.unsubscribe.as_ref())?
            .msg("publish", self.publish.as_ref())?
            .msg("presence", self.presence.as_ref())?
            .msg("presence_stats", self.presence_stats.as_ref())?
            .msg("history", self.history.as_ref())?
            .msg("ping", self.ping.as_ref())?
            .msg("rpc", self.rpc.as_ref())?
            .msg("refresh", self.refresh.as_ref())?
            .msg("sub_refresh", self.sub_refresh.as_ref())?
            .finish()
    }
}

/// An error on the wire; build it from a [`crate::codes::Error`].
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Error {
    /// The error code.
    #[prost(uint32, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub code: u32,
    /// The message.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub message: String,
    /// Whether a retry may succeed.
    #[prost(bool, tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub temporary: bool,
}

impl From<crate::codes::Error> for Error {
    fn from(e: crate::codes::Error) -> Self {
        Error {
            code: e.code,
            message: e.message.into_owned(),
            temporary: e.temporary,
        }
    }
}

impl WriteJson for Error {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .uint("code", self.code)
            .str("message", &self.message)
            .bool("temporary", self.temporary)
            .finish()
    }
}

/// Result of `connect`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ConnectResult {
    /// The connection ID.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub client: String,
    /// The server's version.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub version: String,
    /// Whether the connection expires and must be refreshed.
    #[prost(bool, tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "4")]
    #[serde(deserialize_with = "json::or_default")]
    pub ttl: u32,
    /// Custom data for the client (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "5")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
    /// Server-side subscriptions made on connect, by channel.
    #[prost(btree_map = "string, message", tag = "6")]
    #[serde(deserialize_with = "json::or_default")]
    pub subs: BTreeMap<String, SubscribeResult>,
    /// The server's ping interval in seconds (0 = no pings).
    #[prost(uint32, tag = "7")]
    #[serde(deserialize_with = "json::or_default")]
    pub ping: u32,
    /// Whether the client must answer each ping with an empty command.
    #[prost(bool, tag = "8")]
    #[serde(deserialize_with = "json::or_default")]
    pub pong: bool,
    /// The session ID.
    #[prost(string, tag = "9")]
    #[serde(deserialize_with = "json::or_default")]
    pub session: String,
    /// The node's ID.
    #[prost(string, tag = "10")]
    #[serde(deserialize_with = "json::or_default")]
    pub node: String,
    /// Server time, Unix milliseconds (0 = not sent).
    #[prost(int64, tag = "11")]
    #[serde(deserialize_with = "json::i64_lenient")]
    pub time: i64,
}

impl WriteJson for ConnectResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("client", &self.client)
            .str("version", &self.version)
            .bool("expires", self.expires)
            .uint("ttl", self.ttl)
            .raw("data", &self.data)?
            .map("subs", &self.subs)?
            .uint("ping", self.ping)
            .bool("pong", self.pong)
            .str("session", &self.session)
            .str("node", &self.node)
            .int("time", self.time)
            .finish()
    }
}

/// Result of `refresh`.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct RefreshResult {
    /// The connection ID.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub client: String,
    /// The server's version.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub version: String,
    /// Whether the connection expires.
    #[prost(bool, tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "4")]
    #[serde(deserialize_with = "json::or_default")]
    pub ttl: u32,
}

impl WriteJson for RefreshResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("client", &self.client)
            .str("version", &self.version)
            .bool("expires", self.expires)
            .uint("ttl", self.ttl)
            .finish()
    }
}

/// Result of `subscribe` (also inside connect results, for server-side subscriptions).
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SubscribeResult {
    /// Whether the subscription expires and must be refreshed.
    #[prost(bool, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub ttl: u32,
    /// Whether the stream can be recovered after a reconnect.
    #[prost(bool, tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub recoverable: bool,
    /// The stream's epoch.
    #[prost(string, tag = "6")]
    #[serde(deserialize_with = "json::or_default")]
    pub epoch: String,
    /// Recovered publications, oldest first.
    #[prost(message, repeated, tag = "7")]
    #[serde(deserialize_with = "json::or_default")]
    pub publications: Vec<Publication>,
    /// Whether recovery filled the whole gap; false means publications were lost.
    #[prost(bool, tag = "8")]
    #[serde(deserialize_with = "json::or_default")]
    pub recovered: bool,
    /// The stream's current offset.
    #[prost(uint64, tag = "9")]
    #[serde(deserialize_with = "json::u64_lenient")]
    pub offset: u64,
    /// Whether the client should track the stream position.
    #[prost(bool, tag = "10")]
    #[serde(deserialize_with = "json::or_default")]
    pub positioned: bool,
    /// Custom data for the subscriber (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "11")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
    /// Whether the client asked to recover (tells SDKs how to read `recovered`).
    #[prost(bool, tag = "12")]
    #[serde(deserialize_with = "json::or_default")]
    pub was_recovering: bool,
    /// Whether publications in this subscription may come as deltas.
    #[prost(bool, tag = "13")]
    #[serde(deserialize_with = "json::or_default")]
    pub delta: bool,
}

impl WriteJson for SubscribeResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .bool("expires", self.expires)
            .uint("ttl", self.ttl)
            .bool("recoverable", self.recoverable)
            .str("epoch", &self.epoch)
            .list("publications", &self.publications)?
            .bool("recovered", self.recovered)
            .uint("offset", self.offset)
            .bool("positioned", self.positioned)
            .raw("data", &self.data)?
            .bool("was_recovering", self.was_recovering)
            .bool("delta", self.delta)
            .finish()
    }
}

/// Result of `sub_refresh`.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SubRefreshResult {
    /// Whether the subscription expires.
    #[prost(bool, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub expires: bool,
    /// Seconds until expiry.
    #[prost(uint32, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub ttl: u32,
}

impl WriteJson for SubRefreshResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .bool("expires", self.expires)
            .uint("ttl", self.ttl)
            .finish()
    }
}

/// Result of `unsubscribe`: empty.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message, Deserialize)]
pub struct UnsubscribeResult {}

impl WriteJson for UnsubscribeResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).finish()
    }
}

/// Result of `publish`: empty.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message, Deserialize)]
pub struct PublishResult {}

impl WriteJson for PublishResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).finish()
    }
}

/// Result of `presence`: the connections in the channel, by connection ID.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct PresenceResult {
    /// Who is subscribed, by connection ID.
    #[prost(btree_map = "string, message", tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub presence: BTreeMap<String, ClientInfo>,
}

impl WriteJson for PresenceResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).map("presence", &self.presence)?.finish()
    }
}

/// Result of `presence_stats`.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct PresenceStatsResult {
    /// Connections subscribed.
    #[prost(uint32, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub num_clients: u32,
    /// Distinct users among them.
    #[prost(uint32, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub num_users: u32,
}

impl WriteJson for PresenceStatsResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .uint("num_clients", self.num_clients)
            .uint("num_users", self.num_users)
            .finish()
    }
}

/// Result of `history`.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct HistoryResult {
    /// The publications asked for.
    #[prost(message, repeated, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub publications: Vec<Publication>,
    /// The stream's epoch.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub epoch: String,
    /// The stream's current (top) offset.
    #[prost(uint64, tag = "3")]
    #[serde(deserialize_with = "json::u64_lenient")]
    pub offset: u64,
}

impl WriteJson for HistoryResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .list("publications", &self.publications)?
            .str("epoch", &self.epoch)
            .uint("offset", self.offset)
            .finish()
    }
}

/// Result of `ping`: empty.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message, Deserialize)]
pub struct PingResult {}

impl WriteJson for PingResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).finish()
    }
}

/// Result of `rpc`.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct RpcResult {
    /// The method's answer (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "1")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
}

impl WriteJson for RpcResult {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).raw("data", &self.data)?.finish()
    }
}
