//! One thread, one epoll, many connections: a WebSocket server without a task per connection.
//!
//! [`ServerBuilder::accept`] gives each connection its own tokio task, which is the right
//! shape for application code (`recv().await`, `send().await`) but costs every idle connection
//! a task and a reactor registration: about 1.4 KB of RSS, most of it tokio's. A server that
//! holds hundreds of thousands of mostly idle sockets (IoT, dashboards, presence) wants less.
//! This loop drives the same sans-IO [`duplex_proto::Connection`]s from one `mio::Poll` and a
//! slab, as uWebSockets does: a connection is one slab entry (232 B, no heap while
//! idle), the application is a [`Handler`] called back on open, message and close, and the
//! timers are `u32` ticks that one sweep a second compares. The handshake policy, limits and
//! options are a [`ServerBuilder`]'s, so the two drivers answer and behave alike.
//!
//! Writes are coalesced per loop iteration: whatever callbacks queue for a connection (its
//! own echo, a broadcast from another connection) leaves in one vectored write after the
//! batch of readiness events that caused it, and on Linux the writes of the whole batch go to
//! the kernel in one io_uring submission (`sends.rs`). A broadcast is held once for all its
//! receivers until then, not queued on each (`fanout.rs`), so a burst to ten thousand
//! receivers costs its own bytes, not ten thousand queues of them.
//!
//! One loop uses one core; a [`Group`] runs a loop per core on one port.
//!
//! ```no_run
//! use duplex::event_loop::{EventLoop, Handler, Socket};
//! use duplex::{Message, ServerBuilder};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
//!         let _ = socket.send(message); // written after this batch of events
//!     }
//! }
//!
//! let event_loop = EventLoop::bind("127.0.0.1:9001".parse().unwrap(), ServerBuilder::new())?;
//! event_loop.run(&mut Echo)?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod clock;
mod entry;
mod fanout;
mod group;
mod handler;
mod sends;
mod table;

use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Buf;
use duplex_proto::{CloseCode, CloseFrame, Config, Connection, Event, HandshakeError, Role};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::error::Error;
use crate::io::MAX_IOVECS;
use crate::options::Options;
use crate::server::{unavailable, ServerBuilder};
use crate::shutdown::NoSlot;
use entry::{End, Entry, Phase, Read};
use fanout::Fanout;
pub use group::{Group, GroupHandle, LoopWaker};
pub use handler::{Broadcast, Handler, Socket, Sockets};
use sends::Sends;
pub use table::SocketId;

use clock::{ticks, Clock};
use table::Table;

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// Reads one connection may make before the others get their turn. The socket is edge
/// triggered, so a connection that used its budget is remembered and driven again after the
/// batch, instead of waiting for an edge that will not come.
const READ_BUDGET: u32 = 16;

/// Stops a running [`EventLoop`] from another thread (a signal handler's, say).
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// # struct Echo;
/// # impl duplex::event_loop::Handler for Echo {
/// #     fn on_message(&mut self, s: &mut duplex::event_loop::Socket<'_>, m: duplex::Message) {}
/// # }
/// let event_loop = duplex::event_loop::EventLoop::bind(
///     "127.0.0.1:0".parse().unwrap(),
///     duplex::ServerBuilder::new(),
/// )?;
/// let handle = event_loop.handle();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(60));
///     handle.shutdown(); // open connections get 1001 "server shutting down"
/// });
/// event_loop.run(&mut Echo)?; // returns once every connection is closed
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct LoopHandle {
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl LoopHandle {
    /// Stops accepting, closes open connections with 1001 ("server shutting down"), and makes
    /// [`EventLoop::run`] return once they are closed (each within the close timeout).
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// A WebSocket server on one thread: accepts, answers handshakes with a [`ServerBuilder`]'s
/// policy, and calls a [`Handler`]. See the [module documentation](self).
pub struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    server: ServerBuilder,
    config: Config,
    options: Arc<Options>,
    max_head: usize,
    handshake_timeout: Duration,
    max_connections: Option<usize>,
    table: Table,
    /// Connections with bytes queued by a callback, written after the batch.
    dirty: Vec<u32>,
    /// The batch's broadcasts, written to their receivers after it.
    fanout: Fanout,
    /// The batch's writes, made together.
    sends: Sends,
    /// Connections `flush_dirty` drives or flushes one by one after the batched writes.
    later: Vec<u32>,
    /// Connections that used their read budget and still have bytes to read.
    unfinished: Vec<u32>,
    clock: Clock,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    stopping: bool,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("listener", &self.listener)
            .field("connections", &self.table.len())
            .field("stopping", &self.stopping)
            .finish_non_exhaustive()
    }
}

impl EventLoop {
    /// Listens on `addr` (with `SO_REUSEADDR`, and `TCP_NODELAY` for every accepted socket).
    ///
    /// ```no_run
    /// let server = duplex::ServerBuilder::new().protocols(["chat"]);
    /// let event_loop = duplex::event_loop::EventLoop::bind("0.0.0.0:9001".parse().unwrap(), server)?;
    /// println!("listening on {}", event_loop.local_addr()?);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind(addr: SocketAddr, server: ServerBuilder) -> std::io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr)?, server)
    }

    /// Listens on `addr` as [`bind`](Self::bind) does, with `SO_REUSEPORT` as well: other loops
    /// may listen on the same address and the kernel spreads connections across them. A
    /// [`Group`] binds and runs such loops, one per thread.
    ///
    /// ```no_run
    /// use duplex::event_loop::EventLoop;
    /// let server = duplex::ServerBuilder::new();
    /// let first = EventLoop::bind_reuse_port("127.0.0.1:0".parse().unwrap(), server.clone())?;
    /// let second = EventLoop::bind_reuse_port(first.local_addr()?, server)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn bind_reuse_port(addr: SocketAddr, server: ServerBuilder) -> std::io::Result<Self> {
        Self::from_std(group::reuse_port_listener(addr)?, server)
    }

    /// Serves a listener bound elsewhere (set non-blocking here).
    ///
    /// ```no_run
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let event_loop = duplex::event_loop::EventLoop::from_std(listener, duplex::ServerBuilder::new())?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(
        listener: std::net::TcpListener,
        server: ServerBuilder,
    ) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        Self::from_listener(TcpListener::from_std(listener), server)
    }

    fn from_listener(mut listener: TcpListener, server: ServerBuilder) -> std::io::Result<Self> {
        set_listener_nodelay(&listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (max_head, handshake_timeout, max_connections) = server.handshake_limits();
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            config: server.protocol_config(),
            options: server.shared_options().clone(),
            server,
            max_head,
            handshake_timeout,
            max_connections,
            table: Table::default(),
            dirty: Vec::new(),
            fanout: Fanout::default(),
            sends: Sends::new(io_uring_allowed()),
            later: Vec::new(),
            unfinished: Vec::new(),
            clock: Clock::new(),
            stop: Arc::new(AtomicBool::new(false)),
            waker,
            stopping: false,
        })
    }

    /// Whether the writes that follow a batch of events go to the kernel together, in one
    /// `io_uring_enter` (the default on Linux where the kernel allows io_uring: one system
    /// call for the batch instead of one per connection), or as one `sendmsg` each (`false`;
    /// also what happens where io_uring cannot be set up, and the default when the environment
    /// has `DUPLEX_IO_URING=0`). Either way every send is non-blocking and the loop behaves
    /// the same.
    ///
    /// ```no_run
    /// let event_loop = duplex::event_loop::EventLoop::bind(
    ///     "127.0.0.1:9001".parse().unwrap(),
    ///     duplex::ServerBuilder::new(),
    /// )?
    /// .io_uring(false);
    /// assert!(!event_loop.uses_io_uring());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn io_uring(mut self, on: bool) -> Self {
        if on != self.sends.uses_io_uring() {
            self.sends = Sends::new(on);
        }
        self
    }

    /// True when the loop's batched writes go through io_uring (see [`io_uring`](Self::io_uring)).
    pub fn uses_io_uring(&self) -> bool {
        self.sends.uses_io_uring()
    }

    /// The address it listens on (useful after binding port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.listener {
            Some(listener) => listener.local_addr(),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    /// A handle that stops the loop from another thread.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            stop: self.stop.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Wakes the loop from another thread, to run [`Handler::on_wake`] on it.
    pub fn waker(&self) -> LoopWaker {
        LoopWaker::new(self.waker.clone())
    }

    /// Runs until [`LoopHandle::shutdown`] and the last connection's close; an error only if
    /// polling itself fails.
    pub fn run<H: Handler>(mut self, handler: &mut H) -> std::io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut swept = self.clock.now;
        loop {
            if self.stopping && self.table.len() == 0 {
                return Ok(());
            }
            let timeout = if !self.unfinished.is_empty() {
                Some(Duration::ZERO)
            } else if self.table.len() > 0 {
                Some(self.clock.until_next_tick())
            } else {
                None
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.clock.tick();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(handler),
                    WAKER => {
                        if self.stop.load(Ordering::Acquire) {
                            self.begin_shutdown(handler);
                        }
                        self.woken(handler);
                    }
                    Token(index) => {
                        let index = index as u32;
                        // Whatever the last read found, this event may bring more.
                        if let Some(entry) = self.table.get_mut(index) {
                            entry.drained = false;
                        }
                        self.drive(index, handler);
                    }
                }
            }
            for index in std::mem::take(&mut self.unfinished) {
                self.drive(index, handler);
            }
            self.flush_dirty(handler);
            if self.clock.now != swept {
                swept = self.clock.now;
                self.sweep(handler);
                self.flush_dirty(handler);
            }
        }
    }

    fn accept_all<H: Handler>(&mut self, handler: &mut H) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, _)) => self.admit(stream, handler),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors, most likely: the backlog keeps the rest, and the next
                    // connection's edge brings us back.
                    tracing::warn!("accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn admit<H: Handler>(&mut self, mut stream: TcpStream, handler: &mut H) {
        #[cfg(not(target_os = "linux"))]
        let _ = stream.set_nodelay(true);
        if self
            .max_connections
            .is_some_and(|max| self.table.len() >= max)
        {
            refuse_now(&mut stream, unavailable(NoSlot::Full));
            return;
        }
        let now = self.clock.now;
        let deadline = self.clock.after(self.handshake_timeout);
        let config = self.config;
        let index = self.table.insert(|serial| {
            let mut entry = Entry::new(stream, Connection::new(Role::Server, config), serial, now);
            entry.deadline = deadline;
            entry
        });
        let Some(entry) = self.table.get_mut(index) else {
            return;
        };
        // Edge triggered, both directions, once: no epoll_ctl per write that fills the socket.
        let registered = self.poll.registry().register(
            &mut entry.stream,
            Token(index as usize),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            tracing::warn!("cannot register a connection: {e}");
            self.table.remove(index);
            return;
        }
        // The request is often in the socket already: no need to wait for its event.
        self.drive(index, handler);
    }

    /// Advances one connection as far as its socket allows.
    fn drive<H: Handler>(&mut self, index: u32, handler: &mut H) {
        let mut budget = READ_BUDGET;
        loop {
            let now = self.clock.now;
            let close_at = self.clock.after(self.options.close_timeout);
            let max_buffered = self.options.max_buffered;
            let Some(entry) = self.table.get_mut(index) else {
                return;
            };
            match entry.phase {
                Phase::Handshake => match self.handshake(index) {
                    Handshake::Wait => return,
                    Handshake::Opened => self.call(index, |h, socket| h.on_open(socket), handler),
                    Handshake::Refused => {}
                    Handshake::Gone(e) => {
                        tracing::debug!("handshake failed: {e}");
                        self.table.remove(index);
                        return;
                    }
                },
                Phase::Open => {
                    // Past max_buffered (a peer that sends but does not read), neither parse
                    // nor read until the socket takes the queue: its writable event resumes.
                    if entry.conn.outgoing_len() > max_buffered {
                        if let Err(e) = entry.flush() {
                            return self.finish(index, End::Failed(e.into()), handler);
                        }
                        if entry.conn.outgoing_len() > max_buffered {
                            return;
                        }
                    }
                    match entry.receive() {
                        Ok(Some(Event::Message(message))) => {
                            self.call(index, |h, socket| h.on_message(socket, message), handler);
                            continue;
                        }
                        Ok(Some(Event::Close(frame))) => {
                            entry.set_end(End::Closed(frame));
                            entry.phase = Phase::Closing;
                            entry.deadline = close_at;
                            // Our answer leaves with the batch's other writes, and the
                            // teardown follows it there (`flush_dirty`).
                            if entry.conn.outgoing_len() > 0 {
                                entry.mark_dirty(index, &mut self.dirty);
                                return;
                            }
                            continue;
                        }
                        Ok(Some(Event::Ping(_) | Event::Pong(_))) => continue,
                        Ok(None) => {}
                        Err(e) => {
                            entry.set_end(End::Failed(e.into()));
                            entry.phase = Phase::Failing;
                            entry.deadline = close_at;
                            continue;
                        }
                    }
                    // Our close is out: the peer has until the deadline to answer.
                    if !entry.conn.can_send() && entry.deadline == 0 {
                        entry.deadline = close_at;
                    }
                    // The socket has nothing more: what this read's messages queued (for this
                    // connection and others) leaves with the rest of the batch's writes.
                    if entry.drained {
                        if entry.conn.outgoing_len() > 0 {
                            entry.mark_dirty(index, &mut self.dirty);
                        }
                        entry.settle();
                        return;
                    }
                    // It will read again: what this read queued leaves first, as the
                    // task-per-connection relay does, so that no queue grows by more than one
                    // read's worth at a time.
                    if !self.dirty.is_empty() || !self.fanout.is_empty() {
                        self.flush_dirty(handler);
                    }
                    let Some(entry) = self.table.get_mut(index) else {
                        return;
                    };
                    if let Err(e) = entry.flush() {
                        return self.finish(index, End::Failed(e.into()), handler);
                    }
                    if entry.conn.outgoing_len() > max_buffered {
                        return;
                    }
                    if budget == 0 {
                        self.unfinished.push(index);
                        return;
                    }
                    budget -= 1;
                    match entry.read() {
                        Read::Bytes => entry.last_heard = now,
                        Read::WouldBlock => return,
                        Read::Eof => {
                            return self.finish(index, End::Failed(Error::AbnormalClosure), handler)
                        }
                        Read::Error(e) => {
                            return self.finish(index, End::Failed(e.into()), handler)
                        }
                    }
                }
                Phase::Rejecting | Phase::Closing | Phase::Failing => {
                    let expired = entry.deadline != 0 && now >= entry.deadline;
                    if !entry.teardown(expired) {
                        return;
                    }
                    let Some(id) = self.table.id_of(index) else {
                        return;
                    };
                    let Some(mut entry) = self.table.remove(index) else {
                        return;
                    };
                    if entry.phase != Phase::Rejecting {
                        let end = entry
                            .take_end()
                            .unwrap_or(End::Failed(Error::AlreadyClosed));
                        self.report_close(id, end, handler);
                    }
                    return;
                }
            }
        }
    }

    /// Reads and answers the request: the 101 (queued, written with the first flush) or a
    /// refusal.
    fn handshake(&mut self, index: u32) -> Handshake {
        let now = self.clock.now;
        let close_at = self.clock.after(self.options.close_timeout);
        let Some(entry) = self.table.get_mut(index) else {
            return Handshake::Wait;
        };
        loop {
            match entry.request(self.max_head) {
                Ok(Some(request)) => {
                    return match self.server.apply_policy(&request) {
                        Ok(accepted) => {
                            entry
                                .conn
                                .outgoing()
                                .put_slice(&accepted.response(&request));
                            if let Some((params, config)) = &accepted.deflate {
                                entry.conn.enable_deflate(params, config);
                            }
                            entry.set_protocol(accepted.protocol);
                            entry.phase = Phase::Open;
                            // Broadcasts made before it opened are not for it.
                            entry.absorbed = self.fanout.len() as u16;
                            entry.deadline = 0;
                            entry.last_heard = now;
                            entry.last_ping = now;
                            Handshake::Opened
                        }
                        Err(e) => {
                            refuse(entry, &e, close_at);
                            Handshake::Refused
                        }
                    };
                }
                Ok(None) => {}
                Err(e) => {
                    refuse(entry, &e, close_at);
                    return Handshake::Refused;
                }
            }
            if entry.drained {
                return Handshake::Wait;
            }
            match entry.read() {
                Read::Bytes => {}
                Read::WouldBlock => return Handshake::Wait,
                Read::Eof => {
                    return Handshake::Gone(
                        HandshakeError::Malformed("connection closed during the request".into())
                            .into(),
                    )
                }
                Read::Error(e) => return Handshake::Gone(e.into()),
            }
        }
    }

    /// Runs a callback with a [`Socket`] for connection `index`.
    fn call<H: Handler>(
        &mut self,
        index: u32,
        callback: impl FnOnce(&mut H, &mut Socket<'_>),
        handler: &mut H,
    ) {
        let Some(id) = self.table.id_of(index) else {
            return;
        };
        let mut socket = Socket {
            index,
            id,
            shared: Sockets {
                table: &mut self.table,
                dirty: &mut self.dirty,
                options: &self.options,
                clock: &self.clock,
                fanout: &mut self.fanout,
                sends: &mut self.sends,
            },
        };
        callback(handler, &mut socket);
    }

    /// Ends a connection at once (the socket failed or the peer vanished) and reports it.
    fn finish<H: Handler>(&mut self, index: u32, end: End, handler: &mut H) {
        let Some(id) = self.table.id_of(index) else {
            return;
        };
        // Dropping the stream closes the descriptor, which also leaves the epoll set.
        if let Some(entry) = self.table.remove(index) {
            if entry.phase != Phase::Handshake && entry.phase != Phase::Rejecting {
                self.report_close(id, end, handler);
            }
        }
    }

    /// Tells the handler a connection ended (it has left the table already).
    fn report_close<H: Handler>(&mut self, id: SocketId, end: End, handler: &mut H) {
        let mut sockets = Sockets {
            table: &mut self.table,
            dirty: &mut self.dirty,
            options: &self.options,
            clock: &self.clock,
            fanout: &mut self.fanout,
            sends: &mut self.sends,
        };
        handler.on_close(&mut sockets, id, end.into_result());
    }

    /// Tells the handler another thread woke the loop (see [`LoopWaker`]).
    fn woken<H: Handler>(&mut self, handler: &mut H) {
        let mut sockets = Sockets {
            table: &mut self.table,
            dirty: &mut self.dirty,
            options: &self.options,
            clock: &self.clock,
            fanout: &mut self.fanout,
            sends: &mut self.sends,
        };
        handler.on_wake(&mut sockets);
    }

    /// Writes what the batch queued: its broadcasts, then the queues of the connections marked
    /// dirty, all in one submission (see `sends.rs`); then drives the connections that are
    /// closing and flushes again those whose send failed (to meet the error) or did not fit
    /// one write. Callbacks that these run may queue more, so it goes on until nothing is left.
    fn flush_dirty<H: Handler>(&mut self, handler: &mut H) {
        loop {
            self.fanout
                .publish(&mut self.table, &mut self.sends, &mut self.dirty);
            if self.dirty.is_empty() {
                return;
            }
            let mut later = std::mem::take(&mut self.later);
            for index in self.dirty.drain(..) {
                let Some(entry) = self.table.get_mut(index) else {
                    continue;
                };
                entry.dirty = false;
                // Closing connections are driven after the batch (to tear down), but what
                // they have queued (a close frame, most often) goes with it.
                if entry.phase != Phase::Open {
                    later.push(index);
                    if entry.phase == Phase::Handshake {
                        continue;
                    }
                }
                let out = entry.conn.outgoing();
                if out.is_empty() {
                    continue;
                }
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = out.chunks_vectored(&mut slices);
                // SAFETY: nothing touches this connection's queue until after `submit`.
                unsafe {
                    self.sends
                        .push(index, 0, entry.stream.as_raw_fd(), &slices[..count])
                };
            }
            self.sends.submit();
            for send in self.sends.sent() {
                let Some(entry) = self.table.get_mut(send.index) else {
                    continue;
                };
                match send.result() {
                    Ok(n) => {
                        let out = entry.conn.outgoing();
                        out.advance(n);
                        if out.is_empty() {
                            entry.conn.shrink_when_idle();
                        } else if n == send.total && entry.phase == Phase::Open {
                            later.push(send.index); // more chunks than one write takes
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    // The flush (or the teardown) after the batch meets the error again.
                    Err(_) if entry.phase == Phase::Open => later.push(send.index),
                    Err(_) => {}
                }
            }
            self.sends.clear();
            for index in later.drain(..) {
                let Some(entry) = self.table.get_mut(index) else {
                    continue;
                };
                if entry.phase != Phase::Open {
                    self.drive(index, handler);
                } else if let Err(e) = entry.flush() {
                    self.finish(index, End::Failed(e.into()), handler);
                }
            }
            self.later = later;
        }
    }

    /// Once a second: handshake, keepalive, closing and teardown deadlines.
    fn sweep<H: Handler>(&mut self, handler: &mut H) {
        let now = self.clock.now;
        let close_at = self.clock.after(self.options.close_timeout);
        let ping_every = self.options.ping_interval.map(ticks);
        let idle_after = self.options.idle_timeout.map(ticks);
        for index in 0..self.table.capacity() as u32 {
            let Some(entry) = self.table.get_mut(index) else {
                continue;
            };
            let due = entry.deadline != 0 && now >= entry.deadline;
            match entry.phase {
                Phase::Handshake if due => {
                    let e = HandshakeError::BadRequest {
                        status: 408,
                        reason: "Request Timeout",
                        detail: "the handshake took too long".into(),
                    };
                    refuse(entry, &e, close_at);
                    tracing::debug!("handshake failed: timed out");
                    self.drive(index, handler);
                }
                // Our close is out: the peer's answer is awaited until the deadline.
                Phase::Open if !entry.conn.can_send() && due => {
                    entry.set_end(End::Failed(Error::Timeout("closing handshake")));
                    entry.phase = Phase::Failing;
                    self.drive(index, handler);
                }
                Phase::Open if !entry.conn.can_send() => {}
                Phase::Open => {
                    if idle_after.is_some_and(|idle| now - entry.last_heard >= idle) {
                        // `drive` below writes what this queues.
                        let _ = self.fanout.absorb(entry, index);
                        let idle = CloseFrame::new(CloseCode::GOING_AWAY, "idle timeout");
                        let _ = entry.conn.close(Some(idle));
                        entry.set_end(End::Failed(Error::Timeout("peer idle")));
                        entry.phase = Phase::Failing;
                        entry.deadline = close_at;
                        self.drive(index, handler);
                    } else if ping_every
                        .is_some_and(|every| now - entry.last_heard.max(entry.last_ping) >= every)
                    {
                        let _ = entry.conn.ping(b"");
                        entry.last_ping = now;
                        entry.mark_dirty(index, &mut self.dirty);
                    }
                }
                _ if due => self.drive(index, handler),
                _ => {}
            }
        }
    }

    /// Stops accepting and starts closing every connection with 1001.
    fn begin_shutdown<H: Handler>(&mut self, handler: &mut H) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let close_at = self.clock.after(self.options.close_timeout);
        for index in 0..self.table.capacity() as u32 {
            let Some(entry) = self.table.get_mut(index) else {
                continue;
            };
            match entry.phase {
                Phase::Handshake => refuse(entry, &unavailable(NoSlot::ShuttingDown), close_at),
                Phase::Open if entry.conn.can_send() => {
                    // `drive` below writes what this queues.
                    let _ = self.fanout.absorb(entry, index);
                    let going_away = CloseFrame::new(CloseCode::GOING_AWAY, "server shutting down");
                    let _ = entry.conn.close(Some(going_away));
                    entry.deadline = close_at;
                }
                _ => continue,
            }
            self.drive(index, handler);
        }
    }
}

/// io_uring unless the environment says `DUPLEX_IO_URING=0`: a switch for an operator whose
/// platform mishandles it, and how the tests run the loop both ways.
fn io_uring_allowed() -> bool {
    std::env::var_os("DUPLEX_IO_URING").is_none_or(|value| value != "0")
}

/// What reading the request came to.
enum Handshake {
    /// More of the request is yet to come.
    Wait,
    Opened,
    /// Answered with an HTTP error, being written.
    Refused,
    /// The client went away or the socket failed: nothing to answer.
    Gone(Error),
}

/// Queues an HTTP refusal and moves the connection to writing it and closing.
fn refuse(entry: &mut Entry, e: &HandshakeError, close_at: u32) {
    tracing::debug!("handshake refused: {e}");
    if let Some(response) = e.response() {
        entry.conn.outgoing().put_slice(&response);
    }
    entry.phase = Phase::Rejecting;
    entry.deadline = close_at;
}

/// Answers a connection the loop will not hold (no slot) with a best-effort write; the caller
/// drops it, and `close` sends the FIN after the answer.
fn refuse_now(stream: &mut TcpStream, e: HandshakeError) {
    use std::io::Write;
    if let Some(response) = e.response() {
        let _ = stream.write(&response);
    }
}

/// Sets `TCP_NODELAY` on the listening socket: Linux copies it to every accepted socket,
/// saving a `setsockopt` per connection (see `duplex-cli`'s `listen_nodelay` for the figures).
fn set_listener_nodelay(listener: &TcpListener) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: a valid descriptor, and a pointer to a c_int with its size.
        unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = listener;
}
