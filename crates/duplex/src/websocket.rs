//! [`WebSocket`]: one connection over any `AsyncRead + AsyncWrite`, with the browser's verbs.
//!
//! The methods here are thin: each queues a command in the sans-IO core or polls the driver in
//! [`crate::core`], which owns the socket, the timers and the closing handshake.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::{CloseCode, CloseFrame, Config, Connection, Event, Message, Role};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::driver::Core;
use crate::error::{Error, Result};
use crate::lifecycle::Policy;
use crate::options::Options;

/// A WebSocket connection: the browser's verbs over any byte stream.
///
/// Get one from [`crate::connect`], [`crate::accept`] or, for a stream whose handshake was done
/// elsewhere (an HTTP server's upgrade), [`WebSocket::from_upgraded`].
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (mut ws, _response) = duplex::connect("ws://127.0.0.1:9001/").await?;
/// ws.send("hello").await?;
/// while let Some(message) = ws.recv().await? {
///     println!("got {message:?}");
///     ws.close(duplex::CloseCode::NORMAL, "done").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WebSocket<S> {
    pub(crate) core: Core<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a stream whose opening handshake is complete. `leftover` holds bytes read past the
    /// handshake (the peer's first frames), if any.
    pub fn from_upgraded(
        io: S,
        role: Role,
        config: Config,
        options: Options,
        protocol: Option<String>,
        leftover: BytesMut,
    ) -> Self {
        let policy = Policy::new(options, Duration::ZERO, Policy::MILLIS);
        Self::from_upgraded_shared(io, role, config, Arc::new(policy), protocol, leftover)
    }

    /// As [`WebSocket::from_upgraded`], with options shared by many connections.
    pub(crate) fn from_upgraded_shared(
        io: S,
        role: Role,
        config: Config,
        policy: Arc<Policy>,
        protocol: Option<String>,
        leftover: BytesMut,
    ) -> Self {
        WebSocket {
            core: Core::new(
                io,
                Connection::new(role, config),
                policy,
                protocol,
                leftover,
            ),
        }
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.core.protocol.as_deref()
    }

    /// The peer's close frame, once it has arrived.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.core.peer_close.as_deref()
    }

    /// True if permessage-deflate was agreed in the handshake.
    pub fn is_compressed(&self) -> bool {
        self.core.conn.is_deflate_enabled()
    }

    /// Bytes queued but not yet written, like the browser's `bufferedAmount`.
    pub fn buffered_amount(&self) -> usize {
        self.core.conn.outgoing_len()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.core.io
    }

    /// The underlying stream, mutably (writing to it directly corrupts the connection).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.core.io
    }

    /// Waits for the next event: a message, a ping, a pong, or the peer's close.
    ///
    /// [`Event::Close`] comes once, after the closing handshake and TCP teardown are done; later
    /// calls fail with [`Error::AlreadyClosed`]. Cancel-safe: dropping the future loses nothing.
    pub async fn next_event(&mut self) -> Result<Event> {
        poll_fn(|cx| self.core.poll_next_event(cx)).await
    }

    /// Waits for the next message, answering pings on the way. `Ok(None)` once the connection
    /// has closed cleanly ([`WebSocket::close_frame`] then says how).
    pub async fn recv(&mut self) -> Result<Option<Message>> {
        poll_fn(|cx| self.core.poll_next_message(cx)).await
    }

    /// Queues a message and writes everything queued.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        self.core.conn.send(message.into())?;
        self.flush().await
    }

    /// Queues a message, writing only when the queue passes
    /// [`Options::write_buffer_size`]; the next [`recv`](Self::recv) or
    /// [`flush`](Self::flush) writes the rest. Many feeds, one syscall.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<()> {
        self.core.conn.send(message.into())?;
        if self.core.conn.outgoing_len() >= self.core.policy.options.write_buffer_size {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.core.poll_flush(cx)).await
    }

    /// Sends a ping (up to 125 bytes); the pong arrives as [`Event::Pong`].
    pub async fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<()> {
        self.core.conn.ping(payload.as_ref())?;
        self.flush().await
    }

    /// Sends an unsolicited pong (a one-way heartbeat).
    pub async fn pong(&mut self, payload: impl AsRef<[u8]>) -> Result<()> {
        self.core.conn.pong(payload.as_ref())?;
        self.flush().await
    }

    /// Closes the connection with a code and reason, and waits (up to
    /// [`Options::close_timeout`]) for the peer to answer. Messages that arrive meanwhile are
    /// dropped, as in the browser.
    pub async fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<()> {
        self.core.start_close(Some(CloseFrame::new(code, reason)))?;
        // The core's closing deadline bounds this: past it, the error is a timeout.
        poll_fn(|cx| self.core.poll_close(cx)).await
    }

    /// Splits the connection into a reading and a writing half for two tasks.
    pub fn split(self) -> (crate::WebSocketReader<S>, crate::WebSocketWriter<S>) {
        crate::split::split(self.core)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocket<S> {
    type Item = Result<Message>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.core.poll_next_message(cx).map(Result::transpose)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.core.conn.outgoing_len() >= self.core.policy.options.write_buffer_size {
            return self.core.poll_flush(cx);
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(mut self: Pin<&mut Self>, message: Message) -> Result<()> {
        Ok(self.core.conn.send(message)?)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.core.poll_flush(cx)
    }

    /// Sends a normal close (1000) and flushes; keep reading to see the peer's answer.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.core
            .start_close(Some(CloseFrame::new(CloseCode::NORMAL, "")))?;
        self.core.poll_flush(cx)
    }
}
