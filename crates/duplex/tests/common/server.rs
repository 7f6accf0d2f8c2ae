//! One test server over either driver, so that a behaviour is written once and proven for
//! both: [`serve`] starts a small named [`App`] with a [`ServerBuilder`]'s policy on
//! 127.0.0.1:0, under the task-per-connection driver ([`ServerBuilder::accept`] in a tokio
//! task) or the event loop (`EventLoop::run` on its own thread), and the returned
//! [`TestServer`] says what the server saw (connections opened, how each ended, what the
//! broadcasts reported) and shuts it down gracefully.
//!
//! Both drivers take the builder's `Shutdown` and report broadcasts as `BroadcastReport`; what
//! still differs (how a server is started and joined) lives in this file alone, so an API
//! change is an edit here, not in every test. Without the `event-loop` feature only the task
//! driver's variants are compiled.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(feature = "event-loop")]
use duplex::event_loop::{EventLoop, Handler, Socket, SocketId, Sockets};
use duplex::{Broadcaster, CloseFrame, ServerBuilder, Shutdown};
#[cfg(feature = "event-loop")]
use duplex::{Message, PreparedFrame};
use tokio::net::{TcpListener, TcpStream};

use super::HANG_GUARD;

/// Which server driver runs the connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// A tokio task per connection: [`ServerBuilder::accept`].
    Tasks,
    /// `duplex::event_loop::EventLoop`: one thread, callbacks.
    EventLoop,
}

impl Driver {
    /// Every driver, for a test that loops over them.
    pub const ALL: [Driver; 2] = [Driver::Tasks, Driver::EventLoop];
}

/// What the server does with an open connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// Sends every message back to its sender.
    Echo,
    /// Sends every message to every other open connection, not back to its sender.
    Relay,
}

/// How a connection ended, as the server's application learnt it: the peer's close frame
/// (`None` if it had no status), or the error, as text (the same `duplex::Error` under both
/// drivers, so the same text).
pub type End = Result<Option<CloseFrame>, String>;

/// The broadcasts' reports, added up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reports {
    /// Receivers a message was queued for.
    pub queued: usize,
    /// Receivers that missed a message because their queue was full.
    pub dropped: usize,
    /// Receivers found closing (or closed by the slow-consumer policy).
    pub closed: usize,
}

impl Reports {
    fn add(&mut self, queued: usize, dropped: usize, closed: usize) {
        self.queued += queued;
        self.dropped += dropped;
        self.closed += closed;
    }
}

/// What the application saw, shared with the server's tasks or thread.
#[derive(Debug, Default)]
struct Seen {
    /// The subprotocol of each connection that opened, in order.
    opened: Vec<Option<String>>,
    /// Connections open now (counted after each has let go of its place in the cap).
    open: usize,
    ends: Vec<End>,
    /// Handshakes refused, with the error `accept` returned (the event loop reports none).
    refusals: Vec<String>,
    reports: Reports,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(seen: &Shared) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running server. Dropping it stops accepting (tasks) or starts its shutdown (event loop),
/// so that no loop thread outlives its test for long.
pub struct TestServer {
    /// The driver it runs on.
    pub driver: Driver,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `ws://ADDR/`.
    pub url: String,
    seen: Shared,
    running: Running,
}

enum Running {
    Tasks {
        shutdown: Shutdown,
        accept: tokio::task::JoinHandle<()>,
    },
    EventLoop {
        handle: Shutdown,
        thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    },
}

/// Starts `app` on `driver` with `builder`'s policy, on a free loopback port. Call it inside a
/// tokio runtime (the task driver's tasks are spawned on it).
pub fn serve(driver: Driver, builder: ServerBuilder, app: App) -> TestServer {
    let seen = Shared::default();
    match driver {
        Driver::Tasks => serve_tasks(builder, app, seen),
        #[cfg(feature = "event-loop")]
        Driver::EventLoop => {
            let handler = Recorder {
                app,
                seen: seen.clone(),
            };
            serve_loop_with(builder, handler, seen)
        }
        #[cfg(not(feature = "event-loop"))]
        Driver::EventLoop => panic!("the event loop needs the `event-loop` feature"),
    }
}

#[cfg(feature = "event-loop")]
/// Runs any [`Handler`] on an event loop (for tests of the loop's own API); the returned
/// server has recorded nothing.
pub fn serve_loop<H: Handler + Send + 'static>(builder: ServerBuilder, handler: H) -> TestServer {
    serve_loop_with(builder, handler, Shared::default())
}

#[cfg(feature = "event-loop")]
fn serve_loop_with<H: Handler + Send + 'static>(
    builder: ServerBuilder,
    mut handler: H,
    seen: Shared,
) -> TestServer {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let event_loop = EventLoop::bind(addr, builder).expect("bind the event loop");
    let addr = event_loop.local_addr().expect("its address");
    let handle = event_loop.shutdown_handle();
    let thread = std::thread::spawn(move || event_loop.run(&mut handler));
    TestServer {
        driver: Driver::EventLoop,
        addr,
        url: format!("ws://{addr}/"),
        seen,
        running: Running::EventLoop {
            handle,
            thread: Some(thread),
        },
    }
}

fn serve_tasks(builder: ServerBuilder, app: App, seen: Shared) -> TestServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let listener = TcpListener::from_std(listener).expect("a tokio listener");
    let addr = listener.local_addr().expect("its address");
    let shutdown = builder.shutdown_handle();
    let room = Arc::new(Broadcaster::new());
    let recorded = seen.clone();
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (builder, room, seen) = (builder.clone(), room.clone(), recorded.clone());
            tokio::spawn(connection(stream, builder, app, room, seen));
        }
    });
    TestServer {
        driver: Driver::Tasks,
        addr,
        url: format!("ws://{addr}/"),
        seen,
        running: Running::Tasks { shutdown, accept },
    }
}

/// One connection under the task driver, from the handshake to its recorded end.
async fn connection(
    stream: TcpStream,
    builder: ServerBuilder,
    app: App,
    room: Arc<Broadcaster<TcpStream>>,
    seen: Shared,
) {
    let mut ws = match builder.accept(stream).await {
        Ok(ws) => ws,
        Err(e) => return lock(&seen).refusals.push(e.to_string()),
    };
    let protocol = ws.protocol().map(str::to_owned);
    // Each branch drops the connection before the end is recorded: its slot is free by then.
    let end = match app {
        App::Echo => {
            opened(&seen, protocol);
            loop {
                match ws.recv().await {
                    Ok(Some(message)) => {
                        if let Err(e) = ws.feed(message).await {
                            break Err(e.to_string());
                        }
                    }
                    Ok(None) => break Ok(ws.close_frame().cloned()),
                    Err(e) => break Err(e.to_string()),
                }
            }
        }
        App::Relay => {
            let (mut reader, writer) = ws.split();
            let id = room.join(writer);
            // Open once it is a member: a broadcast after this reaches it.
            opened(&seen, protocol);
            let end = loop {
                match reader.recv().await {
                    Ok(Some(message)) => {
                        let report = room.send_except(&message, id);
                        lock(&seen)
                            .reports
                            .add(report.queued, report.dropped, report.closed);
                    }
                    Ok(None) => break Ok(reader.close_frame()),
                    Err(e) => break Err(e.to_string()),
                }
            };
            room.leave(id);
            end
        }
    };
    let mut seen = lock(&seen);
    seen.open -= 1;
    seen.ends.push(end);
}

fn opened(seen: &Shared, protocol: Option<String>) {
    let mut seen = lock(seen);
    seen.opened.push(protocol);
    seen.open += 1;
}

/// The apps on the event loop, recording what they see.
#[cfg(feature = "event-loop")]
struct Recorder {
    app: App,
    seen: Shared,
}

#[cfg(feature = "event-loop")]
impl Handler for Recorder {
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        opened(&self.seen, socket.protocol().map(str::to_owned));
    }

    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
        match self.app {
            App::Echo => {
                // Fails only once the connection is closing: nothing to echo to then.
                let _ = socket.send(message);
            }
            App::Relay => {
                let report = socket.broadcast(&PreparedFrame::new(&message));
                lock(&self.seen)
                    .reports
                    .add(report.queued, report.dropped, report.closed);
            }
        }
    }

    fn on_close(
        &mut self,
        _: &mut Sockets<'_>,
        _: SocketId,
        end: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        let mut seen = lock(&self.seen);
        seen.open -= 1;
        seen.ends.push(end.map_err(|e| e.to_string()));
    }
}

impl TestServer {
    /// Starts the graceful shutdown the driver offers: open connections get 1001 "server
    /// shutting down", new ones are refused.
    pub fn shutdown(&self) {
        match &self.running {
            Running::Tasks { shutdown, .. } => shutdown.begin(),
            Running::EventLoop { handle, .. } => handle.begin(),
        }
    }

    /// Waits until every connection is closed and, on the event loop, `run` has returned (it
    /// returns only after a shutdown). Panics past [`HANG_GUARD`] or if `run` failed.
    pub async fn finished(mut self) {
        match &mut self.running {
            Running::Tasks { shutdown, .. } => {
                let shutdown = shutdown.clone();
                assert!(
                    shutdown.wait(HANG_GUARD).await,
                    "{} connections never closed",
                    shutdown.active_connections()
                );
            }
            Running::EventLoop { thread, .. } => {
                let thread = thread.take().expect("joined once");
                let joined = tokio::task::spawn_blocking(move || thread.join());
                tokio::time::timeout(HANG_GUARD, joined)
                    .await
                    .expect("run returns")
                    .expect("the join task")
                    .expect("the loop thread does not panic")
                    .expect("run returns Ok");
            }
        }
    }

    /// [`TestServer::shutdown`], then [`TestServer::finished`].
    pub async fn stop(self) {
        self.shutdown();
        self.finished().await;
    }

    /// Connections open now, as the application counts them (opened minus ended). A
    /// connection leaves the count after it left the driver's connection cap.
    pub fn open_connections(&self) -> usize {
        lock(&self.seen).open
    }

    /// The subprotocol of each connection that opened, in order.
    pub fn opened(&self) -> Vec<Option<String>> {
        lock(&self.seen).opened.clone()
    }

    /// How the connections that ended so far ended, in order.
    pub fn ends(&self) -> Vec<End> {
        lock(&self.seen).ends.clone()
    }

    /// The handshakes `accept` refused, with its error (the task driver only: the event loop
    /// tells its handler nothing of connections that never opened).
    pub fn refusals(&self) -> Vec<String> {
        lock(&self.seen).refusals.clone()
    }

    /// The relay's broadcast reports, added up.
    pub fn reports(&self) -> Reports {
        lock(&self.seen).reports
    }

    /// Waits until `n` connections are open.
    pub async fn wait_for_open(&self, n: usize) {
        let what = format!("{n} connections open");
        super::wait_until(&what, || self.open_connections() == n).await;
    }

    /// Waits until `n` connections have ended; returns how they ended.
    pub async fn wait_for_ends(&self, n: usize) -> Vec<End> {
        let what = format!("{n} connections ended");
        super::wait_until(&what, || lock(&self.seen).ends.len() >= n).await;
        self.ends()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match &self.running {
            Running::Tasks { accept, .. } => accept.abort(),
            Running::EventLoop { handle, .. } => handle.begin(),
        }
    }
}
