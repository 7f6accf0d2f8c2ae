//! Centrifugo's client protocol, version 2: the messages a client and the hub exchange over
//! `/connection/websocket`, in JSON or Protobuf, several per frame.
//!
//! Every message is one Rust type that is both a prost message (tags as in Centrifugo's
//! `client.proto`, so `centrifuge-protobuf` clients work) and Centrifugo's JSON (payload
//! fields as raw JSON, zero values left out; see [`json`]). Names follow the proto: a
//! [`Command`] carries one request ([`SubscribeRequest`], ...), a [`Reply`] carries the
//! matching result ([`SubscribeResult`], ...) or an [`Error`], or a [`Push`].
//!
//! The codec ([`decode_commands`], [`Decoder`], [`encode_reply`], [`FrameWriter`],
//! [`EncodedReply`]) does no I/O: it turns frames into commands and replies into frames.
//! docs/protocol.md describes the wire format for SDK authors.

mod codec;
mod command;
pub mod json;
mod push;
mod reply;

pub(crate) use codec::append_encoded;
pub use codec::{
    decode_commands, decode_replies, encode_command, encode_reply, DecodeError, Decoder,
    EncodeError, EncodedReply, FrameWriter,
};
pub use command::{
    Command, ConnectRequest, HistoryRequest, PingRequest, PresenceRequest, PresenceStatsRequest,
    PublishRequest, RefreshRequest, RpcRequest, SendRequest, StreamPosition, SubRefreshRequest,
    SubscribeRequest, UnsubscribeRequest,
};
pub use push::{
    ClientInfo, Connect, Disconnect, Join, Leave, Message, Publication, Push, Refresh, Subscribe,
    Unsubscribe,
};
pub use reply::{
    ConnectResult, Error, HistoryResult, PingResult, PresenceResult, PresenceStatsResult,
    PublishResult, RefreshResult, Reply, RpcResult, SubRefreshResult, SubscribeResult,
    UnsubscribeResult,
};

/// The WebSocket subprotocol a client offers to speak Protobuf.
pub const PROTOBUF_SUBPROTOCOL: &str = "centrifuge-protobuf";

/// How a connection's frames are encoded, fixed for its lifetime by the WebSocket handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// Newline-delimited JSON objects in text frames: the default.
    #[default]
    Json,
    /// Varint-length-prefixed Protobuf messages in binary frames, when the client offered the
    /// `centrifuge-protobuf` subprotocol.
    Protobuf,
}

impl Encoding {
    /// The encoding for the subprotocol agreed in the handshake (none means JSON).
    ///
    /// ```
    /// use duplex_hub::protocol::Encoding;
    ///
    /// assert_eq!(Encoding::from_subprotocol(Some("centrifuge-protobuf")), Encoding::Protobuf);
    /// assert_eq!(Encoding::from_subprotocol(None), Encoding::Json);
    /// ```
    pub fn from_subprotocol(subprotocol: Option<&str>) -> Encoding {
        match subprotocol {
            Some(PROTOBUF_SUBPROTOCOL) => Encoding::Protobuf,
            _ => Encoding::Json,
        }
    }

    /// Whether frames go in binary WebSocket messages (Protobuf) rather than text (JSON).
    pub fn is_binary(self) -> bool {
        self == Encoding::Protobuf
    }
}
