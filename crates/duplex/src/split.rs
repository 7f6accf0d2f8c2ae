//! The reading and writing halves of a [`WebSocket`](crate::WebSocket), for two tasks.
//!
//! Both halves share the connection behind one `std` mutex that is held only inside a single
//! `poll` call, never across an `.await`, so a slow reader cannot block a writer for longer
//! than it takes to parse what is already buffered. The reader still answers pings and closes
//! by itself, because the core queues those replies and the next poll of either half writes
//! them.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};

use duplex_proto::{CloseCode, CloseFrame, Event, Message, PreparedFrame};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::driver::Core;
use crate::error::Result;
use crate::options::Delivery;

/// The receiving half of a split [`WebSocket`](crate::WebSocket).
#[derive(Debug)]
pub struct WebSocketReader<S> {
    shared: Arc<Mutex<Core<S>>>,
}

/// The sending half of a split [`WebSocket`](crate::WebSocket). Clones share the connection,
/// so a broadcaster can hold one while the connection's task holds another.
#[derive(Debug)]
pub struct WebSocketWriter<S> {
    shared: Arc<Mutex<Core<S>>>,
}

impl<S> WebSocketWriter<S> {
    /// Asks the processor to start loading this connection's state into its cache, without
    /// reading it or taking its lock. A loop that queues one frame to thousands of
    /// connections ([`WebSocketWriter::queue_prepared`]) calls it a few connections ahead:
    /// their state, cold in memory, then arrives while the earlier ones are queued instead of
    /// one connection after another. It changes nothing else, and does nothing on processors
    /// without a prefetch instruction.
    ///
    /// ```no_run
    /// # async fn demo(writers: Vec<duplex::WebSocketWriter<tokio::net::TcpStream>>) {
    /// let frame = duplex::proto::PreparedFrame::new(&duplex::proto::Message::text("tick"));
    /// for (i, writer) in writers.iter().enumerate() {
    ///     if let Some(ahead) = writers.get(i + 8) {
    ///         ahead.prefetch();
    ///     }
    ///     writer.queue_prepared(&frame).ok();
    /// }
    /// # }
    /// ```
    pub fn prefetch(&self) {
        crate::prefetch::object(Arc::as_ptr(&self.shared));
    }
}

impl<S> Clone for WebSocketWriter<S> {
    fn clone(&self) -> Self {
        WebSocketWriter {
            shared: self.shared.clone(),
        }
    }
}

pub(crate) fn split<S>(core: Core<S>) -> (WebSocketReader<S>, WebSocketWriter<S>) {
    let shared = Arc::new(Mutex::new(core));
    (
        WebSocketReader {
            shared: shared.clone(),
        },
        WebSocketWriter { shared },
    )
}

fn lock<S>(shared: &Mutex<Core<S>>) -> MutexGuard<'_, Core<S>> {
    // A panic while holding the lock leaves the core consistent at poll granularity.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketReader<S> {
    /// Waits for the next event; see [`WebSocket::next_event`](crate::WebSocket::next_event).
    pub async fn next_event(&mut self) -> Result<Event> {
        poll_fn(|cx| lock(&self.shared).poll_next_event(cx)).await
    }

    /// Polls for the next event: [`next_event`](Self::next_event) for a task that holds no
    /// future for it (a hand-written `Future`, or a `poll_fn` that waits on several things).
    pub fn poll_next_event(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Event>> {
        lock(&self.shared).poll_next_event(cx)
    }

    /// Waits for the next message; `Ok(None)` after a clean close.
    pub async fn recv(&mut self) -> Result<Option<Message>> {
        poll_fn(|cx| lock(&self.shared).poll_next_message(cx)).await
    }

    /// The peer's close frame, once it has arrived.
    pub fn close_frame(&self) -> Option<CloseFrame> {
        lock(&self.shared).peer_close.as_deref().cloned()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketWriter<S> {
    /// Queues a message and writes everything queued.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        lock(&self.shared).conn.send(message.into())?;
        self.flush().await
    }

    /// Queues a message, writing only once the queue is large.
    pub async fn feed(&mut self, message: impl Into<Message>) -> Result<()> {
        let must_flush = {
            let mut core = lock(&self.shared);
            core.conn.send(message.into())?;
            core.conn.outgoing_len() >= core.policy.options.write_buffer_size
        };
        if must_flush {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| lock(&self.shared).poll_flush(cx)).await
    }

    /// Sends a ping.
    pub async fn ping(&mut self, payload: impl AsRef<[u8]>) -> Result<()> {
        lock(&self.shared).conn.ping(payload.as_ref())?;
        self.flush().await
    }

    /// Offers a frame prepared once for many connections, without waiting: it is queued by
    /// reference (no copy) unless this peer's queue is past
    /// [`Options::max_buffered`](crate::Options::max_buffered), in which case the connection's
    /// [`SlowConsumer`](crate::SlowConsumer) policy decides. Server connections only.
    pub fn try_send_prepared(&self, frame: &PreparedFrame) -> Result<Delivery> {
        lock(&self.shared).try_send_prepared(frame)
    }

    /// Queues a prepared frame under the slow-consumer policy without writing it; see
    /// [`WebSocketWriter::write_queued`]. Batching a burst this way makes one write of it.
    pub fn queue_prepared(&self, frame: &PreparedFrame) -> Result<Delivery> {
        lock(&self.shared).queue_prepared(frame)
    }

    /// Writes what is queued, as much as the socket takes without waiting; the connection's
    /// own task (the reading half) writes the rest.
    pub fn write_queued(&self) {
        lock(&self.shared).write_queued();
    }

    /// Bytes queued but not yet written.
    pub fn buffered_amount(&self) -> usize {
        lock(&self.shared).conn.outgoing_len()
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<String> {
        lock(&self.shared).protocol.as_deref().map(str::to_owned)
    }

    /// Sends a close frame and writes it. The reading half sees the peer's answer as
    /// [`Event::Close`] (or `Ok(None)` from `recv`) and then ends the connection.
    pub async fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<()> {
        lock(&self.shared).start_close(Some(CloseFrame::new(code, reason)))?;
        self.flush().await
    }
}
