//! Pushes: what the server sends without being asked — publications, join and leave,
//! unsubscribe, server-side subscribe, async messages, disconnect advice, refresh.
//!
//! A push travels as `Reply { id: 0, push: Some(Push { channel, pub/join/... }) }`; a
//! publication's payload (`data`) is raw JSON text on JSON connections and opaque bytes on
//! Protobuf ones. Field tags are client.proto's; fields for map subscriptions (key, removed,
//! score, version, ...) are not implemented.

use bytes::Bytes;
use std::collections::BTreeMap;

use super::json::message;
use super::reply::SubscribeResult;

message! {
    /// A push from the server: one of the optional fields is set.
    #[derive(Clone, PartialEq)]
    pub struct Push {
        /// The channel the push is about (empty for connection-level pushes).
        #[prost(string, tag = "2")]
        pub channel: String,
        /// A publication in the channel.
        #[prost(message, optional, tag = "4")]
        pub r#pub: Option<Publication>,
        /// A client joined the channel.
        #[prost(message, optional, tag = "5")]
        pub join: Option<Join>,
        /// A client left the channel.
        #[prost(message, optional, tag = "6")]
        pub leave: Option<Leave>,
        /// The server unsubscribed this client from the channel.
        #[prost(message, optional, tag = "7")]
        pub unsubscribe: Option<Unsubscribe>,
        /// An async message to this connection (no channel).
        #[prost(message, optional, tag = "8")]
        pub message: Option<Message>,
        /// The server subscribed this client to the channel.
        #[prost(message, optional, tag = "9")]
        pub subscribe: Option<Subscribe>,
        /// Connect result for unidirectional transports.
        #[prost(message, optional, tag = "10")]
        pub connect: Option<Connect>,
        /// Disconnect advice for transports without close codes.
        #[prost(message, optional, tag = "11")]
        pub disconnect: Option<Disconnect>,
        /// The connection's expiry changed (a server-side refresh).
        #[prost(message, optional, tag = "12")]
        pub refresh: Option<Refresh>,
    }
}

message! {
    /// Who a connection is: in presence results, join/leave pushes and client publications.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ClientInfo {
        /// The user ID (empty for anonymous connections).
        #[prost(string, tag = "1")]
        pub user: String,
        /// The connection ID.
        #[prost(string, tag = "2")]
        pub client: String,
        /// Connection info from the token's `info` claim (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "3")]
        pub conn_info: Bytes,
        /// Channel info from the subscription token (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "4")]
        pub chan_info: Bytes,
    }
}

message! {
    /// A publication in a channel.
    #[derive(Clone, PartialEq)]
    pub struct Publication {
        /// The payload (raw JSON on JSON connections); with `delta` set, a fossil delta.
        #[prost(bytes = "bytes", tag = "4")]
        pub data: Bytes,
        /// The publisher, when a client published.
        #[prost(message, optional, tag = "5")]
        pub info: Option<ClientInfo>,
        /// The position in the channel's stream (0 when the channel keeps no history).
        #[prost(uint64, tag = "6")]
        pub offset: u64,
        /// Tags attached by the publisher.
        #[prost(btree_map = "string, string", tag = "7")]
        pub tags: BTreeMap<String, String>,
        /// Whether `data` is a delta against the previous publication.
        #[prost(bool, tag = "8")]
        pub delta: bool,
        /// Publication time, Unix milliseconds (0 = not sent).
        #[prost(int64, tag = "9")]
        pub time: i64,
        /// The channel, when the subscription covers several (wildcards; unused for now).
        #[prost(string, tag = "10")]
        pub channel: String,
    }
}

message! {
    /// A client joined a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Join {
        /// Who joined.
        #[prost(message, optional, tag = "1")]
        pub info: Option<ClientInfo>,
    }
}

message! {
    /// A client left a channel.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Leave {
        /// Who left.
        #[prost(message, optional, tag = "1")]
        pub info: Option<ClientInfo>,
    }
}

message! {
    /// The server ended this client's subscription; see [`crate::codes::Unsubscribe`].
    #[derive(Clone, PartialEq, Eq)]
    pub struct Unsubscribe {
        /// The unsubscribe code (from 2500 the SDK resubscribes).
        #[prost(uint32, tag = "2")]
        pub code: u32,
        /// A short human-readable reason.
        #[prost(string, tag = "3")]
        pub reason: String,
    }
}

impl From<crate::codes::Unsubscribe> for Unsubscribe {
    fn from(u: crate::codes::Unsubscribe) -> Self {
        Unsubscribe {
            code: u.code,
            reason: u.reason.into_owned(),
        }
    }
}

message! {
    /// The server subscribed this client to a channel (server-side subscription).
    #[derive(Clone, PartialEq, Eq)]
    pub struct Subscribe {
        /// Whether the channel's stream can be recovered after a reconnect.
        #[prost(bool, tag = "1")]
        pub recoverable: bool,
        /// The stream's epoch.
        #[prost(string, tag = "4")]
        pub epoch: String,
        /// The stream's current offset.
        #[prost(uint64, tag = "5")]
        pub offset: u64,
        /// Whether the client should track the stream position.
        #[prost(bool, tag = "6")]
        pub positioned: bool,
        /// Custom data for the subscriber (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "7")]
        pub data: Bytes,
    }
}

message! {
    /// An async message from the server to one connection.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Message {
        /// The payload (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "1")]
        pub data: Bytes,
    }
}

message! {
    /// The connect result pushed on unidirectional transports (same fields as `ConnectResult`).
    #[derive(Clone, PartialEq)]
    pub struct Connect {
        /// The connection ID.
        #[prost(string, tag = "1")]
        pub client: String,
        /// The server's version.
        #[prost(string, tag = "2")]
        pub version: String,
        /// Custom data for the client (raw JSON on JSON connections).
        #[prost(bytes = "bytes", tag = "3")]
        pub data: Bytes,
        /// Server-side subscriptions made on connect, by channel.
        #[prost(btree_map = "string, message", tag = "4")]
        pub subs: BTreeMap<String, SubscribeResult>,
        /// Whether the connection expires and must be refreshed.
        #[prost(bool, tag = "5")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "6")]
        pub ttl: u32,
        /// The server's ping interval in seconds.
        #[prost(uint32, tag = "7")]
        pub ping: u32,
        /// Whether the client must answer pings.
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
    /// Disconnect advice, for transports that cannot carry a close code.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Disconnect {
        /// The disconnect code; see [`crate::codes::Disconnect`].
        #[prost(uint32, tag = "1")]
        pub code: u32,
        /// The reason.
        #[prost(string, tag = "2")]
        pub reason: String,
        /// Whether to reconnect (protocol v1's field; v2 clients read the code's range).
        #[prost(bool, tag = "3")]
        pub reconnect: bool,
    }
}

impl From<crate::codes::Disconnect> for Disconnect {
    fn from(d: crate::codes::Disconnect) -> Self {
        Disconnect {
            code: u32::from(d.code),
            reconnect: d.reconnect(),
            reason: d.reason.into_owned(),
        }
    }
}

message! {
    /// The connection's expiry changed.
    #[derive(Clone, PartialEq, Eq)]
    pub struct Refresh {
        /// Whether the connection expires.
        #[prost(bool, tag = "1")]
        pub expires: bool,
        /// Seconds until expiry.
        #[prost(uint32, tag = "2")]
        pub ttl: u32,
    }
}
