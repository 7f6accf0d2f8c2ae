//! `duplex relay`: what one client sends, every other client receives.
//!
//! The whole server is the library's [`Broadcaster`]: each connection joins it, and its task
//! reads messages, encodes each once and queues the same bytes on every other member
//! (`queue_except`), then writes each member's queue once per burst (`flush`). Used by
//! `duplex bench broadcast` and by people trying a chat or feed client against something real.
//! Under `--event-loop` it is `LoopRelay`'s callbacks instead, one handler per loop, the
//! loops passing each other's messages on.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use duplex::{Broadcaster, Event, Options, PreparedFrame, ServerBuilder};
use futures_util::FutureExt as _;
use tokio::net::TcpStream;

use crate::args::RelayArgs;

/// Runs the relay until interrupted.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    if args.event_loop {
        let group =
            duplex::event_loop::Group::bind(args.listen, server_builder(&args), args.threads)
                .with_context(|| format!("cannot listen on {}", args.listen))?
                .io_uring(!args.no_io_uring);
        let inboxes: Arc<[Inbox]> = group.wakers().into_iter().map(Inbox::new).collect();
        return crate::runtime::run_event_loops(group, "relaying on", |me| LoopRelay {
            me,
            inboxes: inboxes.clone(),
            taken: Vec::new(),
        });
    }
    crate::runtime::build(args.threads)?.block_on(serve(args))
}

/// The relay as [`duplex::event_loop`] callbacks: each message is encoded once and queued on
/// every other connection; the loop writes each receiver's queue once per batch of events.
///
/// With several loops (`--threads`), a loop's broadcast reaches its own connections only, and
/// every client must still get every message (`duplex bench broadcast` counts what a receiver
/// missed as lost). So a message is also posted to each other loop's inbox, and that loop
/// broadcasts it to its connections when woken: a publisher's messages reach every receiver in
/// the order sent, whichever loops they are on.
struct LoopRelay {
    /// This loop's index in `inboxes`.
    me: usize,
    inboxes: Arc<[Inbox]>,
    /// The frames last taken from this loop's inbox (kept for its capacity).
    taken: Vec<PreparedFrame>,
}

impl duplex::event_loop::Handler for LoopRelay {
    fn on_message(
        &mut self,
        socket: &mut duplex::event_loop::Socket<'_>,
        message: duplex::Message,
    ) {
        let frame = PreparedFrame::new(&message);
        socket.broadcast(&frame);
        for (other, inbox) in self.inboxes.iter().enumerate() {
            if other != self.me {
                inbox.post(&frame);
            }
        }
    }

    fn on_wake(&mut self, sockets: &mut duplex::event_loop::Sockets<'_>) {
        self.inboxes[self.me].take(&mut self.taken);
        for frame in self.taken.drain(..) {
            sockets.broadcast(&frame);
        }
    }

    fn on_close(
        &mut self,
        _sockets: &mut duplex::event_loop::Sockets<'_>,
        id: duplex::event_loop::SocketId,
        end: Result<Option<duplex::CloseFrame>, duplex::Error>,
    ) {
        if let Err(e) = end {
            tracing::debug!("{id}: {e}");
        }
    }
}

/// Messages the other loops relayed to one loop's connections, and how to wake that loop.
///
/// Not bounded: a loop takes everything posted each time it is woken, so the backlog is what
/// the others publish while it is busy with one batch of events (each receiver's own backlog
/// is bounded by `--max-buffered`, as on one loop).
struct Inbox {
    waker: duplex::event_loop::LoopWaker,
    posted: Mutex<Posted>,
}

#[derive(Default)]
struct Posted {
    frames: Vec<PreparedFrame>,
    /// A wake is on its way and the loop has not taken `frames` since.
    woken: bool,
}

impl Inbox {
    fn new(waker: duplex::event_loop::LoopWaker) -> Self {
        Inbox {
            waker,
            posted: Mutex::default(),
        }
    }

    /// Adds a frame, and wakes the loop unless a wake is already on its way: one wake for
    /// what is posted between two takes, not one per message.
    fn post(&self, frame: &PreparedFrame) {
        let wake = {
            let mut posted = self.posted.lock().unwrap_or_else(PoisonError::into_inner);
            posted.frames.push(frame.clone());
            !std::mem::replace(&mut posted.woken, true)
        };
        if wake {
            self.waker.wake();
        }
    }

    /// Swaps what was posted into `taken` (which must be empty), so the next post wakes the
    /// loop again.
    fn take(&self, taken: &mut Vec<PreparedFrame>) {
        let mut posted = self.posted.lock().unwrap_or_else(PoisonError::into_inner);
        posted.woken = false;
        std::mem::swap(&mut posted.frames, taken);
    }
}

fn server_builder(args: &RelayArgs) -> ServerBuilder {
    let mut server =
        ServerBuilder::new().options(Options::default().max_buffered(args.max_buffered));
    for origin in &args.allow_origins {
        server = server.allow_origin(origin.clone());
    }
    if let Some(max) = args.max_connections {
        server = server.max_connections(max);
    }
    server
}

async fn serve(args: RelayArgs) -> anyhow::Result<()> {
    let listener = crate::runtime::listen_nodelay(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let server = server_builder(&args);
    let room = Arc::new(Broadcaster::new());
    tracing::info!("relaying on ws://{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                // The async fn is the task itself, as in echo.rs: no wrapping block keeping
                // its own copies of the captured values (208 B per task instead of 216 B;
                // a relay member's state lives mostly in its split WebSocket's shared core).
                tokio::spawn(relay_member(server.clone(), room.clone(), stream, peer));
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Relays one member's messages until it leaves, then logs how it ended (at debug level).
async fn relay_member(
    server: ServerBuilder,
    room: Arc<Broadcaster<TcpStream>>,
    stream: TcpStream,
    peer: SocketAddr,
) {
    let (mut reader, writer) = match server.accept(stream).await {
        Ok(ws) => ws.split(),
        Err(e) => return tracing::debug!("{peer}: {e}"),
    };
    let me = room.join(writer);
    let mut sent = 0;
    // Queue every message this member's last read brought, then write each other member's
    // queue once: a burst costs one write per receiver, not one per message per receiver.
    let result = 'member: loop {
        let mut event = reader.next_event().await;
        loop {
            match event {
                Ok(Event::Message(message)) => {
                    room.queue_except(&PreparedFrame::new(&message), Some(me));
                    sent += 1;
                }
                Ok(Event::Close(_)) => break 'member Ok(sent),
                Ok(_) => {}
                Err(e) => break 'member Err(e),
            }
            match reader.next_event().now_or_never() {
                Some(next) => event = next,
                None => break,
            }
        }
        room.flush();
    };
    room.flush();
    room.leave(me);
    match result {
        Ok(n) => tracing::debug!("{peer}: closed after relaying {n} messages"),
        Err(e) => tracing::debug!("{peer}: {e}"),
    }
}
