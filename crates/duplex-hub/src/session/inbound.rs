//! Where a session's commands come from, and how it ends: the one thing that differs between
//! WebSocket and the fallback transports (HTTP-streaming and SSE, whose commands arrive by
//! separate POSTs to the emulation endpoint).
//!
//! Everything else — the session's state, commands, timers, the outbound budget — is shared,
//! so a fallback connection gets the same auth, limits and recovery as a WebSocket one.

use std::future::Future;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::codes::Disconnect;

/// What the client sent next.
pub(crate) enum Incoming {
    /// One message of commands (JSON lines, or varint-delimited Protobuf).
    Message(Bytes),
    /// The client ended the connection.
    Closed,
    /// The transport failed under the connection.
    Lost,
}

/// A session's way in, and its way to end the connection.
pub(crate) trait Inbound: Send + 'static {
    /// Polls for the client's next message. A poll method rather than an `async fn`: the
    /// connection's task waits on it beside its wake-ups and timer, and a future kept for it
    /// would be part of every idle connection's memory.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Incoming>;

    /// Ends the connection with `disconnect`, telling the client its code and reason (a close
    /// frame on WebSocket, a disconnect push on the emulated transports).
    fn close(self, disconnect: &Disconnect) -> impl Future<Output = ()> + Send;

    /// Ends a connection the client closed or lost.
    fn finish(self) -> impl Future<Output = ()> + Send;

    /// On the emulated transports, the session id the client quotes to the emulation endpoint
    /// (`session` in the connect reply); `None` on WebSocket.
    fn emulation_session(&self) -> Option<&str> {
        None
    }
}
