//! One thread, one epoll, many connections: a WebSocket server without a task per connection.
//!
//! [`ServerBuilder::accept`] gives each connection its own tokio task, which is the right
//! shape for application code (`recv().await`, `send().await`) but costs every idle connection
//! a task and a reactor registration: about 1.4 KB of RSS, most of it tokio's. A server that
//! holds hundreds of thousands of mostly idle sockets (IoT, dashboards, presence) wants less.
//! This loop drives the same sans-IO [`duplex_proto::Connection`]s from one `mio::Poll` and a
//! slab, as uWebSockets does: a connection is one slab entry (at most 240 B, no heap while
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
mod drive;
mod entry;
mod fanout;
mod flush;
mod group;
mod handler;
mod sends;
mod table;
mod timers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use duplex_proto::{Config, Connection, HandshakeError, Role};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::lifecycle::{unavailable, Policy};
use crate::server::ServerBuilder;
use crate::shutdown::{Shutdown, Watch};
use entry::{End, Entry, Phase};
use fanout::Fanout;
pub use group::{Group, LoopWaker};
pub use handler::{Handler, Socket, Sockets};
use sends::Sends;
pub use table::SocketId;

use clock::Clock;
use table::Table;

/// Wakes the loop's poll from the thread that begins the shutdown.
struct ShutdownWaker(Arc<Waker>);

impl std::task::Wake for ShutdownWaker {
    fn wake(self: Arc<Self>) {
        let _ = self.0.wake();
    }
}

const LISTENER: Token = Token(usize::MAX);
const WAKER: Token = Token(usize::MAX - 1);

/// Reads one connection may make before the others get their turn. The socket is edge
/// triggered, so a connection that used its budget is remembered and driven again after the
/// batch, instead of waiting for an edge that will not come.
const READ_BUDGET: u32 = 16;

/// A WebSocket server on one thread: accepts, answers handshakes with a [`ServerBuilder`]'s
/// policy, and calls a [`Handler`]. See the [module documentation](self).
pub struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    server: ServerBuilder,
    config: Config,
    /// The options, with their timers in the loop's whole seconds.
    policy: Policy,
    max_head: usize,
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
    /// Wakes the loop when the server's shutdown begins (its registration with the builder's
    /// shared state lasts as long as the loop).
    _watch: Watch,
    /// The waker `_watch` holds a reference to. Kept here too: the shutdown consumes the
    /// registered waker, and if that dropped the last reference, the eventfd would close (and
    /// leave the epoll set) before the loop collected its event.
    _waker: Arc<Waker>,
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
        let watch = server
            .state()
            .watch(std::task::Waker::from(Arc::new(ShutdownWaker(
                waker.clone(),
            ))));
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            config: server.protocol_config(),
            policy: server.policy_in(Policy::SECONDS),
            max_head: server.max_head_len(),
            server,
            table: Table::default(),
            dirty: Vec::new(),
            fanout: Fanout::default(),
            sends: Sends::new(io_uring_allowed()),
            later: Vec::new(),
            unfinished: Vec::new(),
            clock: Clock::new(),
            _watch: watch,
            _waker: waker,
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

    /// The handle that shuts this loop down gracefully, from any thread: the same as its
    /// [`ServerBuilder::shutdown_handle`], so it also closes every other loop and task that
    /// builder (or a clone of it) serves.
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
    /// let shutdown = event_loop.shutdown_handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_secs(60));
    ///     shutdown.begin(); // open connections get 1001 "server shutting down"
    /// });
    /// event_loop.run(&mut Echo)?; // returns once every connection is closed
    /// # Ok(()) }
    /// ```
    pub fn shutdown_handle(&self) -> Shutdown {
        self.server.shutdown_handle()
    }

    /// Wakes the loop from another thread, to run [`Handler::on_wake`] on it.
    pub fn waker(&self) -> LoopWaker {
        LoopWaker::new(self._waker.clone())
    }

    /// Runs until the server's shutdown ([`Shutdown::begin`]) and the last connection's close;
    /// an error only if polling itself fails.
    pub fn run<H: Handler>(mut self, handler: &mut H) -> std::io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut swept = self.clock.now;
        if self.server.state().is_shutting_down() {
            self.begin_shutdown(handler);
        }
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
                        if self.server.state().is_shutting_down() {
                            self.begin_shutdown(handler);
                        }
                        self.woken(handler);
                    }
                    Token(index) => {
                        let index = index as u32;
                        // Whatever the last read found, this event may bring more.
                        if let Some(entry) = self.table.get_mut(index) {
                            entry.drained = false;
                            entry.read_closed |= event.is_read_closed();
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
        // Counted with every connection of this builder's clones: tasks, other loops.
        if let Err(why) = self.server.enter() {
            refuse_now(&mut stream, unavailable(why));
            return;
        }
        let now = self.clock.now;
        let config = self.config;
        let timeouts = self.policy.timeouts;
        let index = self.table.insert(|serial| {
            let mut conn = Connection::new(Role::Server, config);
            conn.expect_handshake(now, &timeouts);
            Entry::new(stream, conn, serial)
        });
        let Some(entry) = self.table.get_mut(index) else {
            self.server.state().leave();
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
            self.remove(index);
            return;
        }
        // The request is often in the socket already: no need to wait for its event.
        self.drive(index, handler);
    }

    /// Takes a connection out of the table (dropping it closes the socket, which also leaves
    /// the epoll set) and out of the server's count.
    fn remove(&mut self, index: u32) -> Option<Entry> {
        let entry = self.table.remove(index)?;
        self.server.state().leave();
        Some(entry)
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
            shared: self.sockets(),
        };
        callback(handler, &mut socket);
    }

    /// Ends a connection at once (the socket failed or the peer vanished) and reports it.
    fn finish<H: Handler>(&mut self, index: u32, end: End, handler: &mut H) {
        let Some(id) = self.table.id_of(index) else {
            return;
        };
        if let Some(entry) = self.remove(index) {
            if entry.phase != Phase::Handshake && entry.phase != Phase::Rejecting {
                self.report_close(id, end, handler);
            }
        }
    }

    /// Every open connection, as the handler's callbacks reach them.
    fn sockets(&mut self) -> Sockets<'_> {
        Sockets {
            table: &mut self.table,
            dirty: &mut self.dirty,
            options: &self.policy.options,
            fanout: &mut self.fanout,
            sends: &mut self.sends,
        }
    }

    /// Tells the handler a connection ended (it has left the table already).
    fn report_close<H: Handler>(&mut self, id: SocketId, end: End, handler: &mut H) {
        let mut sockets = self.sockets();
        handler.on_close(&mut sockets, id, end.into_result());
    }

    /// Tells the handler another thread woke the loop (see [`LoopWaker`]).
    fn woken<H: Handler>(&mut self, handler: &mut H) {
        let mut sockets = self.sockets();
        handler.on_wake(&mut sockets);
    }
}

/// io_uring unless the environment says `DUPLEX_IO_URING=0`: a switch for an operator whose
/// platform mishandles it, and how the tests run the loop both ways.
fn io_uring_allowed() -> bool {
    std::env::var_os("DUPLEX_IO_URING").is_none_or(|value| value != "0")
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
