//! `duplex relay`: what one client sends, every other client receives.
//!
//! The whole server is the library's [`Broadcaster`]: each connection joins it, and its task
//! reads messages, encodes each once and queues the same bytes on every other member
//! (`queue_except`), then writes each member's queue once per burst (`flush`). Used by `duplex bench broadcast` and by people trying a chat
//! or feed client against something real.

use std::sync::Arc;

use anyhow::Context as _;
use duplex::{Broadcaster, Event, Options, PreparedFrame, ServerBuilder};
use futures_util::FutureExt as _;
use tokio::net::TcpStream;

use crate::args::RelayArgs;

/// Runs the relay until interrupted.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    crate::runtime::build(args.threads)?.block_on(serve(args))
}

async fn serve(args: RelayArgs) -> anyhow::Result<()> {
    let listener = crate::runtime::listen_nodelay(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut server =
        ServerBuilder::new().options(Options::default().max_buffered(args.max_buffered));
    for origin in &args.allow_origins {
        server = server.allow_origin(origin.clone());
    }
    if let Some(max) = args.max_connections {
        server = server.max_connections(max);
    }
    let room = Arc::new(Broadcaster::new());
    tracing::info!("relaying on ws://{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let (server, room) = (server.clone(), room.clone());
                tokio::spawn(async move {
                    match relay_one(&server, &room, stream).await {
                        Ok(n) => tracing::debug!("{peer}: closed after relaying {n} messages"),
                        Err(e) => tracing::debug!("{peer}: {e}"),
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Relays one member's messages until it leaves; returns how many it sent.
async fn relay_one(
    server: &ServerBuilder,
    room: &Broadcaster<TcpStream>,
    stream: TcpStream,
) -> Result<u64, duplex::Error> {
    let (mut reader, writer) = server.accept(stream).await?.split();
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
    result
}
