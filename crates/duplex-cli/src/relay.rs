//! `duplex relay`: what one client sends, every other client receives.
//!
//! The whole server is the library's [`Broadcaster`]: each connection joins it, and its task
//! reads messages, encodes each once and queues the same bytes on every other member
//! (`queue_except`), then writes each member's queue once per burst (`flush`). Used by
//! `duplex bench broadcast` and by people trying a chat or feed client against something real.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use duplex::{Broadcaster, Event, Options, PreparedFrame, ServerBuilder};
use futures_util::FutureExt as _;
use tokio::net::TcpStream;

use crate::args::RelayArgs;

/// Runs the relay until interrupted.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    if args.event_loop {
        let event_loop = duplex::event_loop::EventLoop::bind(args.listen, server_builder(&args))
            .with_context(|| format!("cannot listen on {}", args.listen))?
            .io_uring(!args.no_io_uring);
        return crate::runtime::run_event_loop(event_loop, "relaying on", &mut LoopRelay);
    }
    crate::runtime::build(args.threads)?.block_on(serve(args))
}

/// The relay as [`duplex::event_loop`] callbacks: each message is encoded once and queued on
/// every other connection; the loop writes each receiver's queue once per batch of events.
struct LoopRelay;

impl duplex::event_loop::Handler for LoopRelay {
    fn on_message(
        &mut self,
        socket: &mut duplex::event_loop::Socket<'_>,
        message: duplex::Message,
    ) {
        socket.broadcast(&PreparedFrame::new(&message));
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
