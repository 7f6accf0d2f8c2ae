//! `duplex echo`: the server that conformance, interop and benchmark runs talk to.
//!
//! With `--cert` and `--key` it terminates TLS itself (wss://), then runs the same handshake
//! and echo loop over the encrypted stream.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use duplex::tls::TlsAcceptor;
use duplex::{CloseFrame, Config, DeflateConfig, Event, ServerBuilder};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::args::EchoArgs;

/// Runs the echo server until interrupted.
pub fn run(args: EchoArgs) -> anyhow::Result<()> {
    crate::runtime::build(args.threads)?.block_on(serve(args))
}

/// How long open connections get to finish their closing handshake on Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a client may take over the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn serve(args: EchoArgs) -> anyhow::Result<()> {
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(duplex::tls::acceptor_from_pem_files(cert, key)?),
        _ => None,
    };
    let listener = crate::runtime::listen_nodelay(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let mut server = ServerBuilder::new()
        .protocols(args.protocols.iter().cloned())
        .config(Config::default().max_message_size(args.max_message_size));
    if args.deflate {
        server = server.deflate(if args.deflate_lean {
            DeflateConfig::lean()
        } else {
            DeflateConfig::default()
        });
    }
    for origin in &args.allow_origins {
        server = server.allow_origin(origin.clone());
    }
    if let Some(max) = args.max_connections {
        server = server.max_connections(max);
    }
    let shutdown = server.shutdown_handle();
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    tracing::info!("listening on {scheme}://{}", listener.local_addr()?);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        continue;
                    }
                };
                // TCP_NODELAY comes from the listener (see `listen_nodelay`).
                let server = server.clone();
                // Two task types, not one that branches: a plain connection's task then
                // carries neither the TLS state nor an extra layer of future (memory per
                // idle connection is the task's size).
                match tls.clone() {
                    None => tokio::spawn(echo(server, stream, peer)),
                    Some(acceptor) => {
                        tokio::spawn(Box::pin(serve_tls(server, acceptor, stream, peer)))
                    }
                };
            }
            _ = tokio::signal::ctrl_c() => {
                let open = shutdown.active_connections();
                tracing::info!("interrupted: closing {open} connections with 1001 (Ctrl-C again to quit now)");
                shutdown.begin();
                tokio::select! {
                    all = shutdown.wait(SHUTDOWN_GRACE) => if !all {
                        tracing::warn!("{} connections still open after {SHUTDOWN_GRACE:?}", shutdown.active_connections());
                    },
                    _ = tokio::signal::ctrl_c() => {}
                }
                return Ok(());
            }
        }
    }
}

/// One line per connection, at debug level (`-v`) as in the relay, formatted only when shown:
/// at info, a server taking 15,000 connections a second spent 5% of its CPU formatting and
/// writing them (a write syscall each; 49.4 -> 47.0 us per handshake without).
fn log_end(peer: SocketAddr, end: Result<Option<CloseFrame>, duplex::Error>, messages: u64) {
    match end {
        Ok(Some(f)) => tracing::debug!(
            "{peer}: closed {} {:?} after {messages} messages",
            f.code,
            f.reason
        ),
        Ok(None) => tracing::debug!("{peer}: closed without status after {messages} messages"),
        Err(e) => tracing::debug!("{peer}: {e}"),
    }
}

/// Runs the TLS handshake, then echoes the connection. Its future holds a whole rustls
/// session inline, so it runs boxed.
async fn serve_tls(
    server: ServerBuilder,
    acceptor: TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => echo(server, stream, peer).await,
        Ok(Err(e)) => log_end(
            peer,
            Err(duplex::Error::Tls(format!("handshake failed: {e}"))),
            0,
        ),
        Err(_) => log_end(peer, Err(duplex::Error::Timeout("TLS handshake")), 0),
    }
}

/// Accepts and echoes one connection until it closes, then logs a one-line summary.
///
/// This is the whole task of a `ws://` connection, so its size is memory per idle
/// connection: the WebSocket lives in one local only (a value moved across an `await`, or a
/// temporary alive across one, would keep a second copy in the task).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    server: ServerBuilder,
    stream: S,
    peer: SocketAddr,
) {
    let mut ws = match server.accept(stream).await {
        Ok(ws) => ws,
        Err(e) => return log_end(peer, Err(e), 0),
    };
    let mut messages = 0u64;
    let end = loop {
        // The event is matched in a `let`, so the `Result<Event>` temporary is gone before
        // `feed` awaits: matched in a `match` around the `feed`, it stayed alive across that
        // await and took 80 bytes of every connection's task (704 -> 624 B).
        let message = match ws.next_event().await {
            Ok(Event::Message(message)) => message,
            Ok(Event::Close(frame)) => break Ok(frame),
            Ok(Event::Ping(_) | Event::Pong(_)) => continue,
            Err(e) => break Err(e),
        };
        messages += 1;
        if let Err(e) = ws.feed(message).await {
            break Err(e);
        }
    };
    log_end(peer, end, messages);
}
