//! What happens to a client, as typed [`Event`]s on one stream ([`Events`]), in the order it
//! happened: the connection's life (connecting, connected, disconnected), the subscriptions'
//! (subscribed, unsubscribed), what the channels carry (publications, join, leave) and the
//! errors the client worked around by itself.
//!
//! The stream is bounded ([`ClientBuilder::event_capacity`](crate::ClientBuilder::event_capacity)):
//! a program that stops reading it stops the client from reading its socket, so the hub sees
//! a slow consumer instead of this process growing without limit. The stream ends when the
//! client stops for good.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use duplex_hub::protocol::ClientInfo;
use tokio::sync::mpsc;

/// Something that happened to the client or one of its subscriptions.
///
/// ```no_run
/// # async fn run(mut events: duplex_hub_client::Events) {
/// use duplex_hub_client::Event;
///
/// while let Some(event) = events.recv().await {
///     match event {
///         Event::Publication { channel, data, offset, .. } => {
///             println!("{channel} #{offset}: {}", String::from_utf8_lossy(&data));
///         }
///         Event::Disconnected { code, reason, reconnect: false } => {
///             eprintln!("stopped: {reason} ({code})");
///         }
///         _ => {}
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A connection attempt starts; `attempt` counts the attempts since the last good
    /// connection (0 for the first).
    Connecting {
        /// Attempts since the last good connection.
        attempt: u32,
    },
    /// The hub accepted the connection.
    Connected {
        /// The connection's client id.
        client: String,
        /// The hub's version.
        version: String,
        /// Data from the hub's connect handler (raw JSON), empty if none.
        data: Bytes,
        /// Whether a connection was up before this one (this is a reconnect).
        reconnected: bool,
    },
    /// The connection ended. With `reconnect` the client connects again by itself after a
    /// backoff delay; without it the client has stopped and the stream ends next.
    Disconnected {
        /// The close code (3000–3999, 4000–4999 from the hub or application; 1000–1015 from
        /// the transport), or the error code of a refused connect.
        code: u32,
        /// The reason the hub gave, or what the client saw.
        reason: String,
        /// Whether the client reconnects.
        reconnect: bool,
    },
    /// A subscription is active, first or again after a reconnect. Recovered publications
    /// follow as [`Event::Publication`]s, oldest first.
    Subscribed {
        /// The channel.
        channel: String,
        /// Whether the channel's stream can be recovered after a reconnect.
        recoverable: bool,
        /// Whether the client asked to recover from a position.
        was_recovering: bool,
        /// Whether every missed publication came back; `false` with `was_recovering` means
        /// some were lost (the stream was trimmed, or its epoch changed).
        recovered: bool,
        /// How many recovered publications follow this event.
        recovered_publications: usize,
        /// The stream's epoch.
        epoch: String,
        /// The stream's offset when the subscription started.
        offset: u64,
        /// Data from the hub's subscribe handler (raw JSON), empty if none.
        data: Bytes,
    },
    /// A subscription ended for good: unsubscribed by the program, by the server (code 2000
    /// and 2001–2499), or refused (the server's error code and message).
    Unsubscribed {
        /// The channel.
        channel: String,
        /// The unsubscribe or error code (0 when the program unsubscribed).
        code: u32,
        /// Why.
        reason: String,
    },
    /// A publication in a subscribed channel, live or recovered, each once and in order.
    Publication {
        /// The channel.
        channel: String,
        /// The payload (JSON text on JSON connections).
        data: Bytes,
        /// Its position in the channel's stream (0 when the channel keeps no history).
        offset: u64,
        /// The publisher, when a client published.
        info: Option<ClientInfo>,
        /// Tags the publisher attached.
        tags: BTreeMap<String, String>,
    },
    /// A client joined a subscribed channel.
    Join {
        /// The channel.
        channel: String,
        /// Who joined.
        info: ClientInfo,
    },
    /// A client left a subscribed channel.
    Leave {
        /// The channel.
        channel: String,
        /// Who left.
        info: ClientInfo,
    },
    /// An asynchronous message from the server to this connection.
    Message {
        /// The payload (JSON text on JSON connections).
        data: Bytes,
    },
    /// Something went wrong that the client works around by itself (it retries, or reports
    /// the consequence as another event).
    Error(EventError),
}

/// A problem the client met and handled: what it was doing, and what went wrong.
///
/// ```
/// use duplex_hub_client::{ErrorKind, EventError};
///
/// let error = EventError::new(ErrorKind::Transport, "could not connect to 127.0.0.1:1");
/// assert_eq!(error.to_string(), "transport: could not connect to 127.0.0.1:1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventError {
    /// What the client was doing.
    pub kind: ErrorKind,
    /// What went wrong.
    pub message: String,
}

impl EventError {
    /// An error of this kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> EventError {
        EventError {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            ErrorKind::Transport => "transport".to_owned(),
            ErrorKind::Token => "token".to_owned(),
            ErrorKind::Connect => "connect".to_owned(),
            ErrorKind::Refresh => "refresh".to_owned(),
            ErrorKind::Subscribe { channel } => format!("subscribe to {channel}"),
            ErrorKind::Protocol => "protocol".to_owned(),
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for EventError {}

/// What the client was doing when an [`EventError`] happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Opening the WebSocket (DNS, TCP, TLS, the handshake) or keeping it.
    Transport,
    /// Fetching a connection or subscription token.
    Token,
    /// The hub refused the connect command with a temporary error.
    Connect,
    /// Refreshing the connection's or a subscription's token.
    Refresh,
    /// Subscribing to this channel (a temporary refusal; the client retries).
    Subscribe {
        /// The channel.
        channel: String,
    },
    /// The hub sent something this client cannot read.
    Protocol,
}

/// The client's events, in order; ends when the client stops for good.
///
/// ```no_run
/// # async fn run(mut events: duplex_hub_client::Events) {
/// while let Some(event) = events.recv().await {
///     println!("{event:?}");
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Events {
    rx: mpsc::Receiver<Event>,
}

impl Events {
    pub(crate) fn new(rx: mpsc::Receiver<Event>) -> Events {
        Events { rx }
    }

    /// The next event; `None` once the client has stopped and every event was read.
    pub async fn recv(&mut self) -> Option<Event> {
        self.rx.recv().await
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl futures_core::Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.rx.poll_recv(cx)
    }
}
