//! The connection driver: one state shared by [`WebSocket`](crate::WebSocket) and its split
//! halves, advanced by `poll_*` calls.
//!
//! All protocol decisions are made by [`duplex_proto::Connection`], timers included (it says
//! when it next needs attention and acts when told the time); the rest of the policy is
//! `lifecycle.rs`, shared with the event loop. This file moves bytes and keeps one tokio timer
//! at the core's next deadline. Reading an event also writes what the core queued (pongs,
//! close replies, fed messages, broadcast frames), so an echo loop of `recv` + `feed` writes
//! many replies with one syscall.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use bytes::BytesMut;
use duplex_proto::{CloseFrame, Connection, Event, Expired, Message, PreparedFrame, Timeouts};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

use crate::error::{Error, Result};
use crate::io::{poll_read_into, poll_write_all, FIRST_READ, MIN_READ};
use crate::lifecycle::{self, Admission, Policy, Step, Teardown};
use crate::options::Delivery;
use crate::shutdown::Slot;

/// The largest last burst that sizes the next read buffer. A larger one was a large frame,
/// and the protocol core sizes the buffer for such a frame once the header is read; a buffer
/// sized from the last burst would only be copied into that one (1 MiB echo, A/B of 4
/// rounds: 497 us/msg with the burst sizing the buffer, 444 with this cap, 449 before either).
pub(crate) const MAX_BURST_HINT: usize = 128 * 1024;

/// Where the connection's life stands, as the reading side sees it.
#[derive(Debug)]
enum Phase {
    Open,
    /// The close handshake completed in the core; tear down TCP, then report the peer's frame
    /// (kept in `Core::peer_close`: a copy here would widen every connection's `Phase`).
    Closing,
    /// A protocol error or a timeout: flush our close, drain until the peer's close, then
    /// report the error. Boxed: an `Error` is 80 bytes, and every open connection would carry
    /// that space for a state it rarely reaches.
    Failing(Option<Box<Error>>),
    Done,
}

pub(crate) struct Core<S> {
    pub(crate) io: S,
    pub(crate) conn: Connection,
    read_buf: BytesMut,
    phase: Phase,
    /// The one timer, armed at or before the core's next deadline (see `poll_deadline`).
    timer: Option<Pin<Box<Sleep>>>,
    /// The deadline `timer` is armed for, in the core's units; `None` once it fired.
    armed: Option<u32>,
    /// The core's clock counts milliseconds since this instant (tokio's clock, so that tests
    /// with paused time drive it).
    origin: Instant,
    /// Watching the server's shutdown (through `slot`) until it starts our close.
    watch_shutdown: bool,
    /// The task waiting in `poll_next_event`, woken when another task queues bytes.
    reader: Option<Waker>,
    /// Shared by every connection of a server (or a client).
    pub(crate) policy: Arc<Policy>,
    pub(crate) protocol: Option<Box<str>>,
    /// Boxed: set once, at the end, and 24 bytes smaller in every open connection.
    pub(crate) peer_close: Option<Box<CloseFrame>>,
    teardown: Teardown,
    /// Bytes read since the socket last had nothing to read: the size of the last burst. An
    /// idle connection gives its read buffer back; when bytes arrive again a burst like the
    /// last one is likely, so the new buffer is sized for it at once (see `poll_read`).
    burst: u32,
    /// This connection's place in its server's count, if a server accepted it.
    slot: Option<Slot>,
}

impl<S> std::fmt::Debug for Core<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("conn", &self.conn)
            .field("phase", &self.phase)
            .field("policy", &self.policy)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// What one pass over an open connection came to.
enum Open {
    /// An event for the caller.
    Event(Event),
    /// The phase changed, or there is more to do: go round again.
    Again,
    /// Waiting for the socket or the timer.
    Wait,
    /// The transport failed or closed under us: report this, with nothing more to do.
    Failed(Error),
}

impl<S: AsyncRead + AsyncWrite + Unpin> Core<S> {
    pub(crate) fn new(
        io: S,
        mut conn: Connection,
        policy: Arc<Policy>,
        protocol: Option<String>,
        leftover: BytesMut,
    ) -> Self {
        conn.handle_open(0);
        Core {
            io,
            conn,
            read_buf: leftover,
            phase: Phase::Open,
            timer: None,
            armed: None,
            origin: Instant::now(),
            watch_shutdown: false,
            reader: None,
            policy,
            protocol: protocol.map(String::into_boxed_str),
            peer_close: None,
            teardown: Teardown::default(),
            burst: 0,
            slot: None,
        }
    }

    /// Ties the connection to its server: counted in its slot, closed by its shutdown.
    pub(crate) fn attach(&mut self, slot: Slot) {
        self.slot = Some(slot);
        self.watch_shutdown = true;
    }

    /// Now, in the core's units: milliseconds since the connection began, wrapping.
    fn now(&self) -> u32 {
        self.origin.elapsed().as_millis() as u32
    }

    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let result = ready!(poll_write_all(&mut self.io, cx, self.conn.outgoing()));
        // Everything is written: give the staging buffer back, as an idle connection should.
        self.conn.shrink_when_idle();
        Poll::Ready(result.map_err(Error::from))
    }

    /// Queues our close frame unless one was sent already (closing twice is not an error).
    pub(crate) fn start_close(&mut self, frame: Option<CloseFrame>) -> Result<()> {
        if self.conn.can_send() {
            self.conn.close(frame)?;
            self.wake_reader();
        }
        Ok(())
    }

    /// Offers a prepared frame without waiting, applying the slow-consumer policy. When the
    /// queue was empty it writes at once from the caller's task (one loop writing to every
    /// receiver, as a broadcast should); otherwise the connection's own task writes it.
    pub(crate) fn try_send_prepared(&mut self, frame: &PreparedFrame) -> Result<Delivery> {
        let was_empty = self.conn.outgoing().is_empty();
        let delivery = self.queue_prepared(frame)?;
        if delivery == Delivery::Queued {
            if was_empty {
                self.write_queued();
            } else {
                self.wake_reader();
            }
        }
        Ok(delivery)
    }

    /// Queues a prepared frame under the slow-consumer policy, without writing: a broadcaster
    /// queues a burst of messages this way, then calls [`Core::write_queued`] once per member.
    pub(crate) fn queue_prepared(&mut self, frame: &PreparedFrame) -> Result<Delivery> {
        if !self.conn.can_send() {
            return Ok(Delivery::Closed);
        }
        let queued = self.conn.outgoing_len();
        match lifecycle::admit(queued, frame.len(), &self.policy.options) {
            Admission::Queue => {
                self.conn.send_prepared(frame)?;
                Ok(Delivery::Queued)
            }
            Admission::Refuse(delivery) => Ok(delivery),
            Admission::Close => {
                self.start_close(Some(lifecycle::slow_consumer()))?;
                Ok(Delivery::Closed)
            }
        }
    }

    /// Writes what is queued from the caller's task, as much as the socket takes now. With a
    /// no-op waker: if the socket cannot take it all, the connection's own task is woken to
    /// finish, and registers its own interest in writability.
    pub(crate) fn write_queued(&mut self) {
        if self.conn.outgoing().is_empty() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match poll_write_all(&mut self.io, &mut cx, self.conn.outgoing()) {
            Poll::Ready(Ok(())) => self.conn.shrink_when_idle(),
            _ => self.wake_reader(),
        }
    }

    fn wake_reader(&mut self) {
        if let Some(waker) = self.reader.take() {
            waker.wake();
        }
    }

    /// Drives the connection until the closing handshake completes (or its deadline passes),
    /// dropping messages.
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
                Phase::Open => match self.poll_open(cx) {
                    Open::Event(event) => return Poll::Ready(Ok(event)),
                    Open::Again => continue,
                    Open::Wait => return Poll::Pending,
                    Open::Failed(e) => return Poll::Ready(Err(e)),
                },
                Phase::Closing => {
                    ready!(self.poll_teardown(cx));
                    self.phase = Phase::Done;
                    let frame = self.peer_close.as_deref().cloned();
                    return Poll::Ready(Ok(Event::Close(frame)));
                }
                Phase::Failing(error) => {
                    let error = error.take();
                    if self.poll_teardown(cx).is_pending() {
                        self.phase = Phase::Failing(error);
                        return Poll::Pending;
                    }
                    self.phase = Phase::Done;
                    return Poll::Ready(Err(error.map_or(Error::AlreadyClosed, |e| *e)));
                }
                Phase::Done => return Poll::Ready(Err(Error::AlreadyClosed)),
            }
        }
    }

    /// One pass over an open connection: parse what was read, write what is queued, read, and
    /// when the socket is quiet, look at the shutdown signal and the timers.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> Open {
        // A peer that sends (pings, say) but does not read would make our replies pile up:
        // past max_buffered, neither parse what was read nor read more until the socket drains.
        let backlogged = lifecycle::is_backlogged(&self.conn, &self.policy.options);
        let received = if backlogged {
            Ok(None)
        } else {
            self.conn.receive(&mut self.read_buf)
        };
        match received {
            Ok(Some(Event::Close(frame))) => {
                self.peer_close = frame.map(Box::new);
                self.phase = Phase::Closing;
                return Open::Again;
            }
            Ok(Some(event)) => return Open::Event(event),
            Ok(None) => {}
            Err(e) => return self.fail(e.into()),
        }
        // Write what the core and the application queued, without waiting for it.
        if !self.conn.outgoing().is_empty() {
            if let Poll::Ready(Err(e)) = self.poll_flush(cx) {
                return self.end(e);
            }
        }
        // The queue drained: parse what was read while it was too long. The socket may have
        // nothing new to wake us for it.
        let still_backlogged = lifecycle::is_backlogged(&self.conn, &self.policy.options);
        if backlogged && !still_backlogged {
            return Open::Again;
        }
        let read = if still_backlogged {
            Poll::Pending
        } else {
            self.poll_read(cx)
        };
        match read {
            Poll::Ready(Ok(0)) => return self.end(Error::AbnormalClosure),
            Poll::Ready(Ok(_)) => {
                let now = self.now();
                self.conn.handle_input(now);
                return Open::Again;
            }
            Poll::Ready(Err(e)) => return self.end(e.into()),
            Poll::Pending => self.settle(),
        }
        if !self
            .reader
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            self.reader = Some(cx.waker().clone());
        }
        self.poll_timers(cx)
    }

    /// The socket had nothing to read. An idle connection keeps no read buffer (the next read
    /// allocates one; messages already handed out keep theirs); one with a frame still
    /// arriving starts counting a new burst.
    fn settle(&mut self) {
        if self.read_buf.is_empty() && self.read_buf.capacity() > 0 {
            self.read_buf = BytesMut::new();
        } else if !self.read_buf.is_empty() {
            self.burst = 0;
        }
    }

    /// Moves to the teardown after a failure, reporting `error` at its end.
    fn fail(&mut self, error: Error) -> Open {
        self.phase = Phase::Failing(Some(Box::new(error)));
        Open::Again
    }

    /// Ends the connection at once (the transport failed or closed under us): no teardown,
    /// `error` is reported now.
    fn end(&mut self, error: Error) -> Open {
        self.phase = Phase::Done;
        Open::Failed(error)
    }

    /// Reads into the read buffer. A connection that gave its buffer back while idle and whose
    /// last burst was larger than a first read takes gets a buffer of that size before reading:
    /// otherwise a burst of pipelined 16 KiB frames costs a small first read, a reallocation
    /// copying it, and a second read (16 KiB echo, 4 in flight: two reads per burst, not one).
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let fresh = self.read_buf.capacity() == 0;
        let last = self.burst as usize;
        if fresh && last > FIRST_READ && last <= MAX_BURST_HINT {
            // Room for more than the last burst: a read that fills the buffer exactly would
            // leave the socket marked readable and cost one more syscall to learn it is empty.
            self.read_buf.reserve(last + MIN_READ);
        }
        let read = poll_read_into(&mut self.io, cx, &mut self.read_buf);
        if let Poll::Ready(Ok(n)) = read {
            let before = if fresh { 0 } else { self.burst };
            self.burst = before.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
        read
    }

    /// The shutdown signal and the core's timers, looked at while the socket is quiet.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Open {
        if let (true, Some(slot)) = (self.watch_shutdown, self.slot.as_mut()) {
            if slot.poll_shutdown(cx).is_ready() {
                self.watch_shutdown = false;
                return match self.start_close(Some(lifecycle::shutting_down())) {
                    Ok(()) => Open::Again,
                    Err(e) => self.fail(e),
                };
            }
        }
        // The usual case, a quiet connection whose timer is set: no clock read, no arithmetic.
        if self.armed.is_some() && !self.conn.has_unarmed_deadline() {
            let pending = self
                .timer
                .as_mut()
                .is_some_and(|timer| timer.as_mut().poll(cx).is_pending());
            if pending {
                return Open::Wait;
            }
        }
        loop {
            let queued = self.conn.outgoing_len();
            match self.conn.handle_timeout(self.now(), &self.policy.timeouts) {
                Ok(()) => {}
                Err(Expired::Idle) => return self.fail(lifecycle::PEER_IDLE),
                Err(Expired::Closing) => return self.fail(lifecycle::CLOSE_TIMED_OUT),
                Err(Expired::Handshake) => return self.fail(lifecycle::HANDSHAKE_TIMED_OUT),
            }
            if self.conn.outgoing_len() > queued {
                return Open::Again; // a ping to write
            }
            if !self.poll_deadline(cx) {
                return Open::Wait;
            }
        }
    }

    /// Arms the timer at the core's next deadline and polls it: true once that deadline has
    /// come. The timer moves only to an earlier deadline: input pushes the keepalive later, and
    /// a timer that fires early costs one look at the time, where moving it on every read
    /// would cost a timer-wheel update per read (and one armed at "now" to be moved on its
    /// first firing would cost every new connection a wake of the runtime). A timer that fired
    /// for an earlier deadline than the core's is armed again here, not taken for it.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            let now = self.now();
            let Some(at) = self.conn.poll_timeout(now, &self.policy.timeouts) else {
                self.timer = None;
                self.armed = None;
                return false;
            };
            if Timeouts::reached(now, at) {
                return true;
            }
            let keep = self.armed.is_some_and(|armed| Timeouts::reached(at, armed));
            if !keep || self.timer.is_none() {
                let wait = Duration::from_millis(u64::from(at.wrapping_sub(now)));
                let when = Instant::now() + wait;
                match self.timer.as_mut() {
                    Some(timer) => timer.as_mut().reset(when),
                    None => self.timer = Some(Box::pin(tokio::time::sleep_until(when))),
                }
                self.armed = Some(at);
            }
            let fired = self
                .timer
                .as_mut()
                .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
            if !fired {
                return false;
            }
            self.armed = None;
        }
    }

    /// Ends the transport after the closing handshake or a failure, in the order
    /// [`Teardown`] gives (write our last frames, FIN early after a failure, read until the
    /// peer is done, close our side), bounded by the core's closing deadline. I/O errors end
    /// it early.
    fn poll_teardown(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.watch_shutdown = false;
        loop {
            let expired = self.poll_deadline(cx);
            match self.teardown.next(&self.conn, false, expired) {
                Step::Flush => match self.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => self.teardown.broken = true,
                    Poll::Pending => return Poll::Pending,
                },
                Step::ShutdownWrite => {
                    let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
                    self.teardown.write_shut = true;
                }
                Step::Drain => match poll_read_into(&mut self.io, cx, &mut self.read_buf) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => self.teardown.eof = true,
                    Poll::Ready(Ok(_)) => {
                        let _ = self.conn.receive(&mut self.read_buf);
                    }
                    Poll::Pending => return Poll::Pending,
                },
                Step::Close => {
                    self.read_buf = BytesMut::new();
                    self.timer = None;
                    self.armed = None;
                    if !self.teardown.write_shut {
                        let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
                        self.teardown.write_shut = true;
                    }
                    return Poll::Ready(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
