//! `duplex echo`: the server that conformance, interop and benchmark runs talk to.
//!
//! With `--cert` and `--key` it terminates TLS itself (wss://), then runs the same handshake
//! and echo loop over the encrypted stream.

use std::time::Duration;

use anyhow::Context as _;
use duplex::tls::TlsAcceptor;
use duplex::{Config, DeflateConfig, Event, ServerBuilder};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

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
    let listener = TcpListener::bind(args.listen)
        .await
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
                let _ = stream.set_nodelay(true);
                let server = server.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match serve_one(&server, tls.as_ref(), stream).await {
                        Ok(summary) => tracing::info!("{peer}: {summary}"),
                        Err(e) => tracing::info!("{peer}: {e}"),
                    }
                });
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

/// Runs TLS first if configured, then echoes the connection.
///
/// The TLS handshake future holds a whole rustls session inline; it is boxed so that a plain
/// `ws://` connection's task does not carry its size (task memory is per idle connection).
async fn serve_one(
    server: &ServerBuilder,
    tls: Option<&TlsAcceptor>,
    stream: TcpStream,
) -> Result<String, duplex::Error> {
    let Some(acceptor) = tls else {
        return echo_one(server, stream).await;
    };
    Box::pin(serve_tls(server, acceptor, stream)).await
}

async fn serve_tls(
    server: &ServerBuilder,
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> Result<String, duplex::Error> {
    let stream = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| duplex::Error::Timeout("TLS handshake"))?
        .map_err(|e| duplex::Error::Tls(format!("handshake failed: {e}")))?;
    echo_one(server, stream).await
}

/// Echoes one connection until it closes; returns a one-line summary for the log.
async fn echo_one<S: AsyncRead + AsyncWrite + Unpin>(
    server: &ServerBuilder,
    stream: S,
) -> Result<String, duplex::Error> {
    let mut ws = server.accept(stream).await?;
    let mut messages = 0u64;
    loop {
        match ws.next_event().await? {
            Event::Message(message) => {
                messages += 1;
                ws.feed(message).await?;
            }
            Event::Close(frame) => {
                let how = match frame {
                    Some(f) => format!("closed {} {:?}", f.code, f.reason),
                    None => "closed without status".to_owned(),
                };
                return Ok(format!("{how} after {messages} messages"));
            }
            Event::Ping(_) | Event::Pong(_) => {}
        }
    }
}
