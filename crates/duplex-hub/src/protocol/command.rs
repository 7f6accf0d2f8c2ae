//! Commands: what a client sends — one request per command, matched to its reply by `id`.
//!
//! The request is one of several optional fields rather than a protobuf `oneof`, as in
//! client.proto (its JSON form is simpler that way); the session takes the first one set and
//! answers a command with none or several as a bad request. A command with `id` 0 gets no reply
//! (`send`, and the client's pong: an empty command `{}`). Subscription filters (`tf`) and the
//! map-subscription fields (`type`, `phase`, `cursor`, ...) are not implemented.

use bytes::Bytes;
use std::collections::BTreeMap;

use super::json::message;

message! {
    /// A command from a client.
    #[derive(Clone, PartialEq)]
    pub struct Command {
        /// Matches the reply to the command; 0 for commands that get no reply.
        #[prost(uint32, tag = "1")]
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
}

message! {
    /// `connect`: the first command on a connection.
    #[derive(Clone, PartialEq)]
    pub struct ConnectRequest {
        /// The connection JWT.
        #[prost(string, tag = "1")]
        pub token: String,
        /// Custom data for the server's connect callback (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "2")]
        pub data: Bytes,
        /// Subscriptions to recover on reconnect (server-side ones), by channel.
        #[prost(btree_map = "string, message", tag = "3")]
        pub subs: BTreeMap<String, SubscribeRequest>,
        /// The SDK's name (`js`, `python`, ...).
        #[prost(string, tag = "4")]
        pub name: String,
        /// The SDK's version.
        #[prost(string, tag = "5")]
        pub version: String,
        /// Headers emulated by browser clients.
        #[prost(btree_map = "string, string", tag = "6")]
        pub headers: BTreeMap<String, String>,
        /// Connection-level feature flags.
        #[prost(int64, tag = "7")]
        pub flag: i64,
    }
}

message! {
    /// `refresh`: a new connection token before the current one expires.
    #[derive(Clone, PartialEq, Eq)]
    pub struct RefreshRequest {
        /// The new connection JWT.
        #[prost(string, tag = "1")]
        pub token: String,
    }
}

message! {
    /// `subscribe`: join a channel, optionally recovering from a stream position.
    #[derive(Clone, PartialEq)]
    pub struct SubscribeRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
        /// The subscription JWT, for channels that require one.
        #[prost(string, tag = "2")]
        pub token: String,
        /// Recover missed publications since `offset` in `epoch`.
        #[prost(bool, tag = "3")]
        pub recover: bool,
        /// The stream epoch the client last saw.
        #[prost(string, tag = "6")]
        pub epoch: String,
        /// The last offset the client saw.
        #[prost(uint64, tag = "7")]
        pub offset: u64,
        /// Custom data for the server's subscribe callback (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "8")]
        pub data: Bytes,
        /// The client asks for a positioned subscription.
        #[prost(bool, tag = "9")]
        pub positioned: bool,
        /// The client asks for a recoverable subscription.
        #[prost(bool, tag = "10")]
        pub recoverable: bool,
        /// The client asks for join/leave pushes.
        #[prost(bool, tag = "11")]
        pub join_leave: bool,
        /// The delta format the client accepts (`fossil`), empty for none.
        #[prost(string, tag = "12")]
        pub delta: String,
        /// Subscription-level feature flags.
        #[prost(int64, tag = "14")]
        pub flag: i64,
    }
}

message! {
    /// `sub_refresh`: a new subscription token before the current one expires.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SubRefreshRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
        /// The new subscription JWT.
        #[prost(string, tag = "2")]
        pub token: String,
    }
}

message! {
    /// `unsubscribe`: leave a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct UnsubscribeRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
    }
}

message! {
    /// `publish`: publish into a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PublishRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
        /// The payload (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "2")]
        pub data: Bytes,
    }
}

message! {
    /// `presence`: who is in a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PresenceRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
    }
}

message! {
    /// `presence_stats`: how many clients and users are in a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PresenceStatsRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
    }
}

message! {
    /// A position in a channel's stream.
    #[derive(Clone, PartialEq, Eq)]
    pub struct StreamPosition {
        /// The offset of a publication in the stream.
        #[prost(uint64, tag = "1")]
        pub offset: u64,
        /// The stream's epoch: a new epoch means the old offsets mean nothing.
        #[prost(string, tag = "2")]
        pub epoch: String,
    }
}

message! {
    /// `history`: publications from a channel's stream.
    #[derive(Clone, PartialEq, Eq)]
    pub struct HistoryRequest {
        /// The channel.
        #[prost(string, tag = "1")]
        pub channel: String,
        /// How many publications at most: 0 asks for the stream position only, -1 for all the
        /// server allows.
        #[prost(int32, tag = "7")]
        pub limit: i32,
        /// Start after this position (absent = from the start, or the end with `reverse`).
        #[prost(message, optional, tag = "8")]
        pub since: Option<StreamPosition>,
        /// Newest first.
        #[prost(bool, tag = "9")]
        pub reverse: bool,
    }
}

message! {
    /// `ping`: a client-initiated round trip.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct PingRequest {}
}

message! {
    /// `rpc`: call an application method.
    #[derive(Clone, PartialEq, Eq)]
    pub struct RpcRequest {
        /// The arguments (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "1")]
        pub data: Bytes,
        /// The method's name.
        #[prost(string, tag = "2")]
        pub method: String,
    }
}

message! {
    /// `send`: an async message to the server; no reply.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SendRequest {
        /// The payload (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "1")]
        pub data: Bytes,
    }
}
