//! Replies: the server's answer to a command (same `id`, one result or an error), and the
//! envelope of every push (`id` 0, `push` set). A reply with nothing set is the server's ping,
//! `{}` in JSON; a result with nothing set still appears, as `{"id":3,"publish":{}}`.

use bytes::Bytes;
use std::collections::BTreeMap;

use super::json::message;
use super::push::{ClientInfo, Publication, Push};

message! {
    /// A reply to a command, or a push, or (with nothing set) a server ping.
    #[derive(Clone, PartialEq)]
    pub struct Reply {
        /// The command's `id`; 0 for pushes and pings.
        #[prost(uint32, tag = "1")]
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

message! {
    /// An error on the wire; build it from a [`crate::codes::Error`].
    #[derive(Clone, PartialEq, Eq)]
    pub struct Error {
        /// The error code.
        #[prost(uint32, tag = "1")]
        pub code: u32,
        /// The message.
        #[prost(string, tag = "2")]
        pub message: String,
        /// Whether a retry may succeed.
        #[prost(bool, tag = "3")]
        pub temporary: bool,
    }
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

message! {
    /// Result of `connect`.
    #[derive(Clone, PartialEq)]
    pub struct ConnectResult {
        /// The connection ID.
        #[prost(string, tag = "1")]
        pub client: String,
        /// The server's version.
        #[prost(string, tag = "2")]
        pub version: String,
        /// Whether the connection expires and must be refreshed.
        #[prost(bool, tag = "3")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "4")]
        pub ttl: u32,
        /// Custom data for the client (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "5")]
        pub data: Bytes,
        /// Server-side subscriptions made on connect, by channel.
        #[prost(btree_map = "string, message", tag = "6")]
        pub subs: BTreeMap<String, SubscribeResult>,
        /// The server's ping interval in seconds (0 = no pings).
        #[prost(uint32, tag = "7")]
        pub ping: u32,
        /// Whether the client must answer each ping with an empty command.
        #[prost(bool, tag = "8")]
        pub pong: bool,
        /// The session ID.
        #[prost(string, tag = "9")]
        pub session: String,
        /// The node's ID.
        #[prost(string, tag = "10")]
        pub node: String,
        /// Server time, Unix milliseconds (0 = not sent).
        #[prost(int64, tag = "11")]
        pub time: i64,
    }
}

message! {
    /// Result of `refresh`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct RefreshResult {
        /// The connection ID.
        #[prost(string, tag = "1")]
        pub client: String,
        /// The server's version.
        #[prost(string, tag = "2")]
        pub version: String,
        /// Whether the connection expires.
        #[prost(bool, tag = "3")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "4")]
        pub ttl: u32,
    }
}

message! {
    /// Result of `subscribe` (also inside connect results, for server-side subscriptions).
    #[derive(Clone, PartialEq)]
    pub struct SubscribeResult {
        /// Whether the subscription expires and must be refreshed.
        #[prost(bool, tag = "1")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "2")]
        pub ttl: u32,
        /// Whether the stream can be recovered after a reconnect.
        #[prost(bool, tag = "3")]
        pub recoverable: bool,
        /// The stream's epoch.
        #[prost(string, tag = "6")]
        pub epoch: String,
        /// Recovered publications, oldest first.
        #[prost(message, repeated, tag = "7")]
        pub publications: Vec<Publication>,
        /// Whether recovery filled the whole gap; false means publications were lost.
        #[prost(bool, tag = "8")]
        pub recovered: bool,
        /// The stream's current offset.
        #[prost(uint64, tag = "9")]
        pub offset: u64,
        /// Whether the client should track the stream position.
        #[prost(bool, tag = "10")]
        pub positioned: bool,
        /// Custom data for the subscriber (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "11")]
        pub data: Bytes,
        /// Whether the client asked to recover (tells SDKs how to read `recovered`).
        #[prost(bool, tag = "12")]
        pub was_recovering: bool,
        /// Whether publications in this subscription may come as deltas.
        #[prost(bool, tag = "13")]
        pub delta: bool,
    }
}

message! {
    /// Result of `sub_refresh`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SubRefreshResult {
        /// Whether the subscription expires.
        #[prost(bool, tag = "1")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "2")]
        pub ttl: u32,
    }
}

message! {
    /// Result of `unsubscribe`: empty.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct UnsubscribeResult {}
}

message! {
    /// Result of `publish`: empty.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct PublishResult {}
}

message! {
    /// Result of `presence`: the connections in the channel, by connection ID.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PresenceResult {
        /// Who is subscribed, by connection ID.
        #[prost(btree_map = "string, message", tag = "1")]
        pub presence: BTreeMap<String, ClientInfo>,
    }
}

message! {
    /// Result of `presence_stats`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct PresenceStatsResult {
        /// Connections subscribed.
        #[prost(uint32, tag = "1")]
        pub num_clients: u32,
        /// Distinct users among them.
        #[prost(uint32, tag = "2")]
        pub num_users: u32,
    }
}

message! {
    /// Result of `history`.
    #[derive(Clone, PartialEq)]
    pub struct HistoryResult {
        /// The publications asked for.
        #[prost(message, repeated, tag = "1")]
        pub publications: Vec<Publication>,
        /// The stream's epoch.
        #[prost(string, tag = "2")]
        pub epoch: String,
        /// The stream's current (top) offset.
        #[prost(uint64, tag = "3")]
        pub offset: u64,
    }
}

message! {
    /// Result of `ping`: empty.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct PingResult {}
}

message! {
    /// Result of `rpc`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct RpcResult {
        /// The method's answer (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "1")]
        pub data: Bytes,
    }
}
