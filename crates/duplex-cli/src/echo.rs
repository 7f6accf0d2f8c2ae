//! `duplex echo`: the server that conformance, interop and benchmark runs talk to.
//!
//! With `--cert` and `--key` it terminates TLS itself (wss://), then runs the same handshake
//! and echo loop over the encrypted stream.

use std::net::SocketAddr;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use anyhow::Context as _;
use duplex::tls::TlsAcceptor;
use duplex::{CloseFrame, Config, DeflateConfig, Event, ServerBuilder, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::args::EchoArgs;

/// Runs the echo server until interrupted.
pub fn run(args: EchoArgs) -> anyhow::Result<()> {
    if args.event_loop {
        let server = server_builder(&args);
        let group = duplex::event_loop::Group::bind(args.listen, server, args.threads)
            .with_context(|| format!("cannot listen on {}", args.listen))?
            .io_uring(!args.no_io_uring);
        return crate::runtime::run_event_loops(group, "listening on", |_| LoopEcho);
    }
    crate::runtime::build(args.threads)?.block_on(serve(args))
}

/// The echo as [`duplex::event_loop`] callbacks: the same answers, without a task per
/// connection. Each loop of `--threads` has its own; they share nothing.
struct LoopEcho;

impl duplex::event_loop::Handler for LoopEcho {
    fn on_message(
        &mut self,
        socket: &mut duplex::event_loop::Socket<'_>,
        message: duplex::Message,
    ) {
        // Fails only once our close is out; the message is dropped, as the task's loop would.
        let _ = socket.send(message);
    }

    fn on_close(
        &mut self,
        _sockets: &mut duplex::event_loop::Sockets<'_>,
        id: duplex::event_loop::SocketId,
        end: Result<Option<CloseFrame>, duplex::Error>,
    ) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            match end {
                Ok(Some(f)) => tracing::debug!("{id}: closed {} {:?}", f.code, f.reason),
                Ok(None) => tracing::debug!("{id}: closed without status"),
                Err(e) => tracing::debug!("{id}: {e}"),
            }
        }
    }
}

/// The handshake policy from the command line, for either driver.
fn server_builder(args: &EchoArgs) -> ServerBuilder {
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
    server
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
    let server = server_builder(&args);
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
                    None => tokio::spawn(echo(handshake(server, stream, peer), tcp_peer)),
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
fn log_end(
    peer: Option<SocketAddr>,
    end: Result<Option<CloseFrame>, duplex::Error>,
    messages: u64,
) {
    let peer = PeerName(peer);
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

/// A peer's address in a log line, or "peer" when the socket no longer knows it.
struct PeerName(Option<SocketAddr>);

impl std::fmt::Display for PeerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("peer"),
        }
    }
}

fn tcp_peer(stream: &TcpStream) -> Option<SocketAddr> {
    stream.peer_addr().ok()
}

/// A connection's WebSocket handshake, boxed and started from the accept loop. It owns the
/// builder, the stream and the peer's address, and logs its own failure: all three are gone
/// from the connection's task once it is done, instead of keeping places in it for the
/// connection's whole life. With the peer's address asked of the socket when the closing line
/// is shown (`tcp_peer`), the task future went from 624 to 512 B, and its 128-byte-aligned
/// task cell from 768 to 640 B: 1,480 -> 1,379 / 1,389 B per idle connection (10,000).
type Handshake<S> = Pin<Box<dyn Future<Output = Option<WebSocket<S>>> + Send>>;

fn handshake<S>(server: ServerBuilder, stream: S, peer: SocketAddr) -> Handshake<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Box::pin(async move {
        match server.accept(stream).await {
            Ok(ws) => Some(ws),
            Err(e) => {
                log_end(Some(peer), Err(e), 0);
                None
            }
        }
    })
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
        // Boxed with its rustls session anyway: the address can stay in this task.
        Ok(Ok(stream)) => echo(handshake(server, stream, peer), move |_| Some(peer)).await,
        Ok(Err(e)) => log_end(Some(peer), Err(duplex::TlsError::Handshake(e).into()), 0),
        Err(_) => log_end(Some(peer), Err(duplex::Error::Timeout("TLS handshake")), 0),
    }
}

/// Finishes the handshake and echoes the connection until it closes, then logs a one-line
/// summary (at debug level; `peer_of` finds the address for it).
///
/// This is the whole task of a `ws://` connection, so its size is memory per idle
/// connection: the WebSocket lives in one local only (a value moved across an `await`, or a
/// temporary alive across one, would keep a second copy in the task).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    handshake: Handshake<S>,
    peer_of: impl Fn(&S) -> Option<SocketAddr>,
) {
    let Some(mut ws) = handshake.await else {
        return;
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
    // Asked of the socket (a getpeername) only when the line is shown.
    if tracing::enabled!(tracing::Level::DEBUG) {
        log_end(peer_of(ws.get_ref()), end, messages);
    }
}
