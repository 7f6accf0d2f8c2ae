//! Commands: what a client sends — one request per command, matched to its reply by `id`.
//!
//! The request is one of several optional fields rather than a protobuf `oneof`, as in
//! client.proto (its JSON form is simpler that way); the session takes the first one set and
//! answers a command with none or several as a bad request. A command with `id` 0 gets no reply
//! (`send`, and the client's pong: an empty command `{}`). Subscription filters (`tf`) and the
//! map-subscription fields (`type`, `phase`, `cursor`, ...) are not implemented.

use bytes::Bytes;
use serde::Deserialize;
use std::collections::BTreeMap;

use super::json::{self, Object, WriteJson};
use super::EncodeError;

/// A command from a client.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct Command {
    /// Matches the reply to the command; 0 for commands that get no reply.
    #[prost(uint32, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub id: u32,
    /// Authenticate; must be the first command on a connection.
    #[prost(message, optional, tag = "4")]
    pub connect: Option<ConnectRequest>,
    /// Subscribe to a channel.
    #[prost(message, optional, tag = "5")]
    pub subscribe: Option<SubscribeRequest>,
    /// Unsubscribe from a channel.
    #[prost(message, optional, tag = "6")]
    pub unsubscribe: Option<UnsubscribeRequest>,
    /// Publish into a channel.
    #[prost(message, optional, tag = "7")]
    pub publish: Option<PublishRequest>,
    /// Who is in a channel.
    #[prost(message, optional, tag = "8")]
    pub presence: Option<PresenceRequest>,
    /// How many are in a channel.
    #[prost(message, optional, tag = "9")]
    pub presence_stats: Option<PresenceStatsRequest>,
    /// A channel's history.
    #[prost(message, optional, tag = "10")]
    pub history: Option<HistoryRequest>,
    /// A client-initiated ping (the reply is an empty `ping` result).
    #[prost(message, optional, tag = "11")]
    pub ping: Option<PingRequest>,
    /// An async message to the server; no reply.
    #[prost(message, optional, tag = "12")]
    pub send: Option<SendRequest>,
    /// A call of an application method.
    #[prost(message, optional, tag = "13")]
    pub rpc: Option<RpcRequest>,
    /// A new connection token.
    #[prost(message, optional, tag = "14")]
    pub refresh: Option<RefreshRequest>,
    /// A new subscription token.
    #[prost(message, optional, tag = "15")]
    pub sub_refresh: Option<SubRefreshRequest>,
}

impl WriteJson for Command {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .uint("id", self.id)
            .msg("connect", self.connect.as_ref())?
            .msg("subscribe", self.subscribe.as_ref())?
            .msg("unsubscribe", self.unsubscribe.as_ref())?
            .msg("publish", self.publish.as_ref())?
            .msg("presence", self.presence.as_ref())?
            .msg("presence_stats", self.presence_stats.as_ref())?
            .msg("history", self.history.as_ref())?
            .msg("ping", self.ping.as_ref())?
            .msg("send", self.send.as_ref())?
            .msg("rpc", self.rpc.as_ref())?
            .msg("refresh", self.refresh.as_ref())?
            .msg("sub_refresh", self.sub_refresh.as_ref())?
            .finish()
    }
}

/// `connect`: the first command on a connection.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct ConnectRequest {
    /// The connection JWT.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub token: String,
    /// Custom data for the server's connect callback (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "2")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
    /// Subscriptions to recover on reconnect (server-side ones), by channel.
    #[prost(btree_map = "string, message", tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub subs: BTreeMap<String, SubscribeRequest>,
    /// The SDK's name (`js`, `python`, ...).
    #[prost(string, tag = "4")]
    #[serde(deserialize_with = "json::or_default")]
    pub name: String,
    /// The SDK's version.
    #[prost(string, tag = "5")]
    #[serde(deserialize_with = "json::or_default")]
    pub version: String,
    /// Headers emulated by browser clients.
    #[prost(btree_map = "string, string", tag = "6")]
    #[serde(deserialize_with = "json::or_default")]
    pub headers: BTreeMap<String, String>,
    /// Connection-level feature flags.
    #[prost(int64, tag = "7")]
    #[serde(deserialize_with = "json::i64_lenient")]
    pub flag: i64,
}

impl WriteJson for ConnectRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("token", &self.token)
            .raw("data", &self.data)?
            .map("subs", &self.subs)?
            .str("name", &self.name)
            .str("version", &self.version)
            .string_map("headers", &self.headers)
            .int("flag", self.flag)
            .finish()
    }
}

/// `refresh`: a new connection token before the current one expires.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct RefreshRequest {
    /// The new connection JWT.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub token: String,
}

impl WriteJson for RefreshRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).str("token", &self.token).finish()
    }
}

/// `subscribe`: join a channel, optionally recovering from a stream position.
#[derive(Clone, PartialEq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SubscribeRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
    /// The subscription JWT, for channels that require one.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub token: String,
    /// Recover missed publications since `offset` in `epoch`.
    #[prost(bool, tag = "3")]
    #[serde(deserialize_with = "json::or_default")]
    pub recover: bool,
    /// The stream epoch the client last saw.
    #[prost(string, tag = "6")]
    #[serde(deserialize_with = "json::or_default")]
    pub epoch: String,
    /// The last offset the client saw.
    #[prost(uint64, tag = "7")]
    #[serde(deserialize_with = "json::u64_lenient")]
    pub offset: u64,
    /// Custom data for the server's subscribe callback (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "8")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
    /// The client asks for a positioned subscription.
    #[prost(bool, tag = "9")]
    #[serde(deserialize_with = "json::or_default")]
    pub positioned: bool,
    /// The client asks for a recoverable subscription.
    #[prost(bool, tag = "10")]
    #[serde(deserialize_with = "json::or_default")]
    pub recoverable: bool,
    /// The client asks for join/leave pushes.
    #[prost(bool, tag = "11")]
    #[serde(deserialize_with = "json::or_default")]
    pub join_leave: bool,
    /// The delta format the client accepts (`fossil`), empty for none.
    #[prost(string, tag = "12")]
    #[serde(deserialize_with = "json::or_default")]
    pub delta: String,
    /// Subscription-level feature flags.
    #[prost(int64, tag = "14")]
    #[serde(deserialize_with = "json::i64_lenient")]
    pub flag: i64,
}

impl WriteJson for SubscribeRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("channel", &self.channel)
            .str("token", &self.token)
            .bool("recover", self.recover)
            .str("epoch", &self.epoch)
            .uint("offset", self.offset)
            .raw("data", &self.data)?
            .bool("positioned", self.positioned)
            .bool("recoverable", self.recoverable)
            .bool("join_leave", self.join_leave)
            .str("delta", &self.delta)
            .int("flag", self.flag)
            .finish()
    }
}

/// `sub_refresh`: a new subscription token before the current one expires.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SubRefreshRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
    /// The new subscription JWT.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub token: String,
}

impl WriteJson for SubRefreshRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("channel", &self.channel)
            .str("token", &self.token)
            .finish()
    }
}

/// `unsubscribe`: leave a channel.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct UnsubscribeRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
}

impl WriteJson for UnsubscribeRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).str("channel", &self.channel).finish()
    }
}

/// `publish`: publish into a channel.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct PublishRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
    /// The payload (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "2")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
}

impl WriteJson for PublishRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("channel", &self.channel)
            .raw("data", &self.data)?
            .finish()
    }
}

/// `presence`: who is in a channel.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct PresenceRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
}

impl WriteJson for PresenceRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).str("channel", &self.channel).finish()
    }
}

/// `presence_stats`: how many clients and users are in a channel.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct PresenceStatsRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
}

impl WriteJson for PresenceStatsRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).str("channel", &self.channel).finish()
    }
}

/// A position in a channel's stream.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct StreamPosition {
    /// The offset of a publication in the stream.
    #[prost(uint64, tag = "1")]
    #[serde(deserialize_with = "json::u64_lenient")]
    pub offset: u64,
    /// The stream's epoch: a new epoch means the old offsets mean nothing.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub epoch: String,
}

impl WriteJson for StreamPosition {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .uint("offset", self.offset)
            .str("epoch", &self.epoch)
            .finish()
    }
}

/// `history`: publications from a channel's stream.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct HistoryRequest {
    /// The channel.
    #[prost(string, tag = "1")]
    #[serde(deserialize_with = "json::or_default")]
    pub channel: String,
    /// How many publications at most: 0 asks for the stream position only, -1 for all the
    /// server allows.
    #[prost(int32, tag = "7")]
    #[serde(deserialize_with = "json::or_default")]
    pub limit: i32,
    /// Start after this position (absent = from the start, or the end with `reverse`).
    #[prost(message, optional, tag = "8")]
    pub since: Option<StreamPosition>,
    /// Newest first.
    #[prost(bool, tag = "9")]
    #[serde(deserialize_with = "json::or_default")]
    pub reverse: bool,
}

impl WriteJson for HistoryRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .str("channel", &self.channel)
            .int("limit", self.limit)
            .msg("since", self.since.as_ref())?
            .bool("reverse", self.reverse)
            .finish()
    }
}

/// `ping`: a client-initiated round trip.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message, Deserialize)]
pub struct PingRequest {}

impl WriteJson for PingRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).finish()
    }
}

/// `rpc`: call an application method.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct RpcRequest {
    /// The arguments (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "1")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
    /// The method's name.
    #[prost(string, tag = "2")]
    #[serde(deserialize_with = "json::or_default")]
    pub method: String,
}

impl WriteJson for RpcRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out)
            .raw("data", &self.data)?
            .str("method", &self.method)
            .finish()
    }
}

/// `send`: an async message to the server; no reply.
#[derive(Clone, PartialEq, Eq, prost::Message, Deserialize)]
#[serde(default)]
pub struct SendRequest {
    /// The payload (raw JSON on JSON connections).
    #[prost(bytes = "bytes", tag = "1")]
    #[serde(deserialize_with = "json::raw")]
    pub data: Bytes,
}

impl WriteJson for SendRequest {
    fn write_json(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        Object::new(out).raw("data", &self.data)?.finish()
    }
}
