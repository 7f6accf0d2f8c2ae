//! Requests from the rest of the node to one connection's task: the server API's subscribe,
//! unsubscribe, disconnect and refresh, and a slow consumer's disconnect. The task owns the
//! session's state, so others ask it instead of touching that state themselves.

use bytes::Bytes;

use crate::codes::{Disconnect, Unsubscribe};
use crate::engine::StreamPosition;

/// One request to a connection's task.
#[derive(Debug, Clone)]
pub(crate) enum Control {
    /// Close the connection with this code.
    Disconnect(Disconnect),
    /// Subscribe the connection to a channel on the server's side (it gets a subscribe push).
    Subscribe(ServerSubscribe),
    /// Unsubscribe the connection from a channel (it gets an unsubscribe push).
    Unsubscribe {
        /// The channel.
        channel: String,
        /// Why: the server API's 2000, or 2500 when the SDK must subscribe again and recover.
        code: Unsubscribe,
    },
    /// Send the client an asynchronous message (a `message` push).
    Message(Bytes),
    /// Change the connection's expiry (and info) without a new token from the client.
    Refresh {
        /// Disconnect now as expired.
        expired: bool,
        /// New expiry, Unix seconds; `None` to keep it, `Some(0)` for none.
        expire_at: Option<i64>,
        /// New connection info (raw JSON).
        info: Option<Bytes>,
    },
}

/// A subscription made by the server API for a connected client.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerSubscribe {
    /// The channel.
    pub(crate) channel: String,
    /// Channel info of this subscriber (raw JSON), shown in presence and join/leave.
    pub(crate) info: Option<Bytes>,
    /// Data sent with the subscribe push.
    pub(crate) data: Option<Bytes>,
    /// Recover from this position, if the stream still covers it.
    pub(crate) recover_since: Option<StreamPosition>,
}
