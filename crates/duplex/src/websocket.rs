//! [`WebSocket`]: one connection over any `AsyncRead + AsyncWrite`, driven by the sans-IO core.
//!
//! All protocol decisions are made by [`duplex_proto::Connection`]; this file only moves bytes
//! and keeps time. Reading an event also flushes what the core queued (pongs, close replies,
//! messages fed without a flush), so an echo loop of `recv` + `feed` writes many replies with one
//! syscall. The end of a connection follows RFC 6455 7.1.1 and what peers need in practice: the
//! server closes TCP first; a client waits (bounded) for it; after a protocol error we keep
//! reading until the peer's close frame before closing, so the peer sees our close code instead
//! of a connection reset.

use std::future::{poll_fn, Future as _};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::{CloseCode, CloseFrame, Config, Connection, Event, Message, Role};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::error::{Error, Result};
use crate::io::{poll_read_into, poll_write_all};

/// Options of the driver (the protocol's own limits are in [`Config`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long to wait for the peer's part of the closing handshake. Default 5 s.
    pub close_timeout: Duration,
    /// [`WebSocket::feed`] flushes once this many bytes are queued. Default 64 KiB.
    pub write_buffer_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            close_timeout: Duration::from_secs(5),
            write_buffer_size: 64 * 1024,
        }
    }
}

/// Where the connection's life stands, as the reading side sees it.
#[derive(Debug)]
enum Phase {
    Open,
    /// The close handshake completed in the core; tear down TCP, then report the peer's frame.
    Closing(Option<CloseFrame>),
    /// A protocol error: flush our close, drain until the peer's close, then report the error.
    Failing(Option<Error>),
    Done,
}

/// The connection state shared by [`WebSocket`] and, after [`WebSocket::split`], its halves.
#[derive(Debug)]
pub(crate) struct Core<S> {
    io: S,
    conn: Connection,
    read_buf: BytesMut,
    phase: Phase,
    timer: Option<Pin<Box<Sleep>>>,
    options: Options,
    protocol: Option<String>,
    peer_close: Option<CloseFrame>,
    /// Our side of the TCP connection is shut down (FIN sent).
    write_shut: bool,
}

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
        WebSocket {
            core: Core {
                io,
                conn: Connection::new(role, config),
                read_buf: leftover,
                phase: Phase::Open,
                timer: None,
                options,
                protocol,
                peer_close: None,
                write_shut: false,
            },
        }
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.core.protocol.as_deref()
    }

    /// The peer's close frame, once it has arrived.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.core.peer_close.as_ref()
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
        if self.core.conn.outgoing_len() >= self.core.options.write_buffer_size {
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
        let timeout = self.core.options.close_timeout;
        match tokio::time::timeout(timeout, poll_fn(|cx| self.core.poll_close(cx))).await {
            Ok(result) => result,
            Err(_) => {
                self.core.phase = Phase::Done;
                let _ = poll_fn(|cx| Pin::new(&mut self.core.io).poll_shutdown(cx)).await;
                Err(Error::Timeout("closing handshake"))
            }
        }
    }

    /// Splits the connection into a reading and a writing half for two tasks.
    pub fn split(self) -> (crate::WebSocketReader<S>, crate::WebSocketWriter<S>) {
        crate::split::split(self.core)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Core<S> {
    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    pub(crate) fn peer_close(&self) -> Option<&CloseFrame> {
        self.peer_close.as_ref()
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Poll::Ready(
            ready!(poll_write_all(&mut self.io, cx, self.conn.outgoing())).map_err(Error::from),
        )
    }

    /// Queues our close frame unless one was sent already (closing twice is not an error).
    pub(crate) fn start_close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if self.conn.can_send() {
            self.conn.close(frame)?;
        }
        Ok(())
    }

    /// Drives the connection until the closing handshake completes, dropping messages.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        loop {
            match ready!(self.poll_next_event(cx)) {
                Ok(Event::Close(_)) | Err(Error::AlreadyClosed) => return Poll::Ready(Ok(())),
                Ok(_) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Message>>> {
        loop {
            return Poll::Ready(match ready!(self.poll_next_event(cx)) {
                Ok(Event::Message(message)) => Ok(Some(message)),
                Ok(Event::Ping(_) | Event::Pong(_)) => continue,
                Ok(Event::Close(_)) | Err(Error::AlreadyClosed) => Ok(None),
                Err(e) => Err(e),
            });
        }
    }

    pub(crate) fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Result<Event>> {
        loop {
            match &mut self.phase {
                Phase::Open => {
                    match self.conn.receive(&mut self.read_buf) {
                        Ok(Some(Event::Close(frame))) => {
                            self.peer_close = frame.clone();
                            self.phase = Phase::Closing(frame);
                            self.arm_timer();
                            continue;
                        }
                        Ok(Some(event)) => return Poll::Ready(Ok(event)),
                        Ok(None) => {}
                        Err(e) => {
                            self.phase = Phase::Failing(Some(e.into()));
                            self.arm_timer();
                            continue;
                        }
                    }
                    // Write what the core and the application queued, without waiting for it.
                    if !self.conn.outgoing().is_empty() {
                        if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                            self.phase = Phase::Done;
                            return Poll::Ready(Err(e));
                        }
                    }
                    match ready!(poll_read_into(&mut self.io, cx, &mut self.read_buf)) {
                        Ok(0) => {
                            self.phase = Phase::Done;
                            return Poll::Ready(Err(Error::AbnormalClosure));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            self.phase = Phase::Done;
                            return Poll::Ready(Err(e.into()));
                        }
                    }
                }
                Phase::Closing(_) => {
                    ready!(self.poll_teardown(cx));
                    let Phase::Closing(frame) = std::mem::replace(&mut self.phase, Phase::Done)
                    else {
                        unreachable!("phase checked above")
                    };
                    return Poll::Ready(Ok(Event::Close(frame)));
                }
                Phase::Failing(_) => {
                    ready!(self.poll_teardown(cx));
                    let Phase::Failing(error) = std::mem::replace(&mut self.phase, Phase::Done)
                    else {
                        unreachable!("phase checked above")
                    };
                    return Poll::Ready(Err(error.unwrap_or(Error::AlreadyClosed)));
                }
                Phase::Done => return Poll::Ready(Err(Error::AlreadyClosed)),
            }
        }
    }

    fn arm_timer(&mut self) {
        self.timer = Some(Box::pin(tokio::time::sleep(self.options.close_timeout)));
    }

    /// Ends the transport after the closing handshake or a failure: write our last frames,
    /// read until the peer is done (its close frame, or for a client the server's end of
    /// stream), then close our side. Bounded by the close timeout; I/O errors end it early.
    ///
    /// A server that failed the connection sends FIN right after its close frame: the peer may
    /// never complete the frame we gave up on, so its close reply could be hidden inside that
    /// frame's remaining length. Reading on until the peer closes too means nothing unread is
    /// left in our receive buffer, which would turn our close into a reset.
    fn poll_teardown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let timed_out = |timer: &mut Option<Pin<Box<Sleep>>>, cx: &mut Context<'_>| {
            timer
                .as_mut()
                .is_none_or(|t| t.as_mut().poll(cx).is_ready())
        };
        if !self.conn.outgoing().is_empty() {
            match self.poll_flush(cx) {
                Poll::Pending if !timed_out(&mut self.timer, cx) => return Poll::Pending,
                _ => {}
            }
        }
        let is_server = self.conn.role() == Role::Server;
        if is_server && self.conn.is_failed() && !self.write_shut {
            if Pin::new(&mut self.io).poll_shutdown(cx).is_pending()
                && !timed_out(&mut self.timer, cx)
            {
                return Poll::Pending;
            }
            self.write_shut = true;
        }
        // A server closes TCP once the peer is done sending; a client waits for the server to
        // close first (RFC 6455 7.1.1), and so does a failed server that already sent FIN.
        let wait_for_eof = !is_server || self.write_shut;
        while wait_for_eof || !self.conn.is_receive_done() {
            match poll_read_into(&mut self.io, cx, &mut self.read_buf) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => break,
                Poll::Ready(Ok(_)) => {
                    let _ = self.conn.receive(&mut self.read_buf);
                }
                Poll::Pending if timed_out(&mut self.timer, cx) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        self.read_buf = BytesMut::new();
        self.timer = None;
        if !self.write_shut {
            let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            self.write_shut = true;
        }
        Poll::Ready(())
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
        if self.core.conn.outgoing_len() >= self.core.options.write_buffer_size {
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
