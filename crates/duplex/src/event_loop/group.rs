//! One event loop per core, all on one port: a [`Group`] of [`EventLoop`]s, each on its own
//! thread with its own [`Handler`], behind listeners that share the port (`SO_REUSEPORT`).
//!
//! Why `SO_REUSEPORT` and not one loop that accepts and hands sockets to the others: a
//! hand-off costs a cross-thread wake per connection (a write to the receiving loop's eventfd,
//! and its `epoll_wait` returning for it), and makes the accepting loop the bottleneck of a
//! handshake storm. With a listener per loop, each loop accepts its own connections and no
//! connection ever crosses a thread; the kernel does the spreading.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::sync::Arc;

use mio::Waker;

use super::{EventLoop, Handler};
use crate::server::ServerBuilder;
use crate::shutdown::Shutdown;

/// The listen backlog of a reuse-port listener (mio's, for the loop's plain `bind`).
const BACKLOG: libc::c_int = 1024;

/// Several [`EventLoop`]s serving one port, one thread each.
///
/// One loop is one thread, so one busy loop is one busy core. To use more, each loop gets a
/// listening socket of its own on the same address (`SO_REUSEPORT`), and the kernel spreads new
/// connections across them: on Linux by a hash of the connection's addresses and ports (the
/// BSDs and macOS accept the option but may hand most connections to one listener).
///
/// The loops share the [`ServerBuilder`] they were given (each gets a clone, and clones share
/// its state). They share nothing else: a connection lives on the loop that accepted it until
/// it closes, and [`Sockets::broadcast`](super::Sockets::broadcast) reaches the connections of
/// its own loop only. A server that must reach every connection (a chat room, a feed) passes
/// its messages between loops itself: each loop's handler has an inbox (a mutex-guarded `Vec`
/// is enough), a sender pushes onto the other loops' inboxes and wakes them with their
/// [`LoopWaker`]s ([`wakers`](Self::wakers)), and each loop broadcasts what it finds in its
/// inbox from [`Handler::on_wake`]. `duplex relay --event-loop --threads N` does this.
///
/// ```no_run
/// use duplex::event_loop::{Group, Handler, Socket};
/// use duplex::{Message, ServerBuilder};
///
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
///         let _ = socket.send(message);
///     }
/// }
///
/// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
/// let group = Group::bind("127.0.0.1:9001".parse().unwrap(), ServerBuilder::new(), cores)?;
/// let stop = group.shutdown_handle(); // stops every loop, from any thread
/// # stop.begin();
/// group.run(|_loop_index| Echo)?; // one handler per loop, made on the loop's thread
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Group {
    loops: Vec<EventLoop>,
}

/// Wakes one [`EventLoop`] from another thread: the loop calls [`Handler::on_wake`] on its
/// own thread, soon. Wakes made before the loop gets to it are answered by one call.
///
/// ```no_run
/// # use duplex::event_loop::{EventLoop, Handler, Socket, Sockets};
/// # use duplex::{Message, PreparedFrame, ServerBuilder};
/// use std::sync::{Arc, Mutex};
///
/// /// Broadcasts what other threads post.
/// struct Feed {
///     inbox: Arc<Mutex<Vec<PreparedFrame>>>,
/// }
///
/// impl Handler for Feed {
///     fn on_message(&mut self, _socket: &mut Socket<'_>, _message: Message) {}
///     fn on_wake(&mut self, sockets: &mut Sockets<'_>) {
///         let frames = std::mem::take(&mut *self.inbox.lock().unwrap());
///         for frame in &frames {
///             sockets.broadcast(frame);
///         }
///     }
/// }
///
/// let event_loop = EventLoop::bind("127.0.0.1:9001".parse().unwrap(), ServerBuilder::new())?;
/// let inbox = Arc::new(Mutex::new(Vec::new()));
/// let (waker, posted) = (event_loop.waker(), inbox.clone());
/// std::thread::spawn(move || loop {
///     std::thread::sleep(std::time::Duration::from_secs(1));
///     posted.lock().unwrap().push(PreparedFrame::new(&Message::text("tick")));
///     waker.wake();
/// });
/// event_loop.run(&mut Feed { inbox })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LoopWaker {
    waker: Arc<Waker>,
}

impl Group {
    /// Binds `loops` listeners (at least one) to `addr` with `SO_REUSEPORT`, and a loop to
    /// each. With port 0, the first listener gets a free port and the others bind the same.
    ///
    /// The loops share `server` (each gets a clone: the clones share its state). Another
    /// process of the same user could bind the port with `SO_REUSEPORT` as well and get a
    /// share of its connections; Linux refuses the port to other users.
    pub fn bind(addr: SocketAddr, server: ServerBuilder, loops: usize) -> std::io::Result<Self> {
        let first = EventLoop::bind_reuse_port(addr, server.clone())?;
        let addr = first.local_addr()?;
        let mut all = Vec::with_capacity(loops.max(1));
        all.push(first);
        for _ in 1..loops {
            all.push(EventLoop::bind_reuse_port(addr, server.clone())?);
        }
        Ok(Group { loops: all })
    }

    /// As [`EventLoop::io_uring`], for every loop.
    pub fn io_uring(self, on: bool) -> Self {
        let loops = self.loops.into_iter().map(|l| l.io_uring(on)).collect();
        Group { loops }
    }

    /// True when every loop's batched writes go through io_uring.
    pub fn uses_io_uring(&self) -> bool {
        self.loops.iter().all(EventLoop::uses_io_uring)
    }

    /// How many loops (and threads) it runs.
    pub fn loops(&self) -> usize {
        self.loops.len()
    }

    /// The address the loops listen on (useful after binding port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.loops[0].local_addr() // `bind` makes at least one
    }

    /// The handle that stops every loop, from any thread (they share one): the builder's
    /// [`Shutdown`], so it also stops anything else that builder (or a clone) serves. Each loop
    /// stops accepting, closes its connections with 1001 ("server shutting down"), and
    /// [`Group::run`] returns once all of them are closed.
    pub fn shutdown_handle(&self) -> Shutdown {
        self.loops[0].shutdown_handle()
    }

    /// A waker for each loop, in the order of the indices [`run`](Self::run) gives handlers:
    /// how a handler reaches the other loops (see [`Group`]).
    pub fn wakers(&self) -> Vec<LoopWaker> {
        self.loops.iter().map(EventLoop::waker).collect()
    }

    /// Runs every loop, the first on this thread and each other on a thread of its own, until
    /// [`Shutdown::begin`] and the last connection's close. `handler(i)` makes loop
    /// `i`'s handler on that loop's thread, so a handler need not be `Send`.
    ///
    /// A loop that ends (its poll failed, its handler panicked) stops the others: a group is
    /// either serving on all its listeners or shutting down. The first error is returned; a
    /// handler's panic is resumed here once every loop has returned.
    pub fn run<H, F>(self, handler: F) -> std::io::Result<()>
    where
        H: Handler,
        F: Fn(usize) -> H + Sync,
    {
        let stop = self.shutdown_handle();
        let mut loops = self.loops.into_iter();
        let first = loops.next().expect("`bind` makes at least one loop");
        std::thread::scope(|scope| {
            let mut threads = Vec::with_capacity(loops.len());
            for (index, event_loop) in (1..).zip(loops) {
                let (stop, handler) = (&stop, &handler);
                let spawned = std::thread::Builder::new()
                    .name(format!("duplex-loop-{index}"))
                    .spawn_scoped(scope, move || serve(index, event_loop, handler, stop));
                match spawned {
                    Ok(thread) => threads.push(thread),
                    Err(e) => {
                        // The scope joins those already running once they have stopped.
                        stop.begin();
                        return Err(e);
                    }
                }
            }
            let mut result = serve(0, first, &handler, &stop);
            let mut panicked = None;
            for thread in threads {
                match thread.join() {
                    Ok(ended) => result = result.and(ended),
                    Err(panic) => panicked = Some(panic),
                }
            }
            if let Some(panic) = panicked {
                std::panic::resume_unwind(panic);
            }
            result
        })
    }
}

/// Runs loop `index` with a handler made on this thread; however it ends, the group stops.
fn serve<H: Handler>(
    index: usize,
    event_loop: EventLoop,
    handler: &impl Fn(usize) -> H,
    stop: &Shutdown,
) -> std::io::Result<()> {
    /// Stops the group on the way out, a panic's included.
    struct StopOnExit<'a>(&'a Shutdown);
    impl Drop for StopOnExit<'_> {
        fn drop(&mut self) {
            self.0.begin();
        }
    }
    let _stop = StopOnExit(stop);
    let mut handler = handler(index);
    event_loop.run(&mut handler)
}

impl LoopWaker {
    pub(super) fn new(waker: Arc<Waker>) -> Self {
        LoopWaker { waker }
    }

    /// Makes the loop call [`Handler::on_wake`] on its thread.
    pub fn wake(&self) {
        // An eventfd write: it fails only if the descriptor is gone, and then so is the loop.
        let _ = self.waker.wake();
    }
}

/// A listening socket on `addr` that other sockets may bind as well (`SO_REUSEPORT`, and
/// `SO_REUSEADDR` as for the loop's plain `bind`), non-blocking.
pub(super) fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    // tokio's socket is only a builder here (non-blocking, close-on-exec): nothing of it is
    // registered with a runtime.
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    // SAFETY: the descriptor is a TCP socket just released by `into_raw_fd`; the listener
    // takes sole ownership of it (and closes it on every path from here).
    let listener = unsafe { std::net::TcpListener::from_raw_fd(socket.into_raw_fd()) };
    // SAFETY: a valid descriptor, owned by `listener` for the call's duration.
    if unsafe { libc::listen(listener.as_raw_fd(), BACKLOG) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(listener)
}
