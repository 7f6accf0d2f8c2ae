//! fastwebsockets echo server, set up as its `examples/echo_server.rs`: hyper 1 `http1` with
//! upgrades, `fastwebsockets::upgrade::upgrade`, a `FragmentCollector` around the socket, the
//! connection task run `tokio::task::unconstrained`, on a current-thread runtime.
//!
//! auto-close and auto-pong stay at their defaults (on), as the README recommends: fastwebsockets
//! answers pings and echoes the close frame itself. Every `write_frame` is one write syscall
//! (no coalescing of pipelined replies). No permessage-deflate: fastwebsockets has none.

use fastwebsockets::{upgrade, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;

const NAME: &str = "fastwebsockets-echo";

async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = fastwebsockets::FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn server_upgrade(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::task::spawn(async move {
        if let Err(err) = tokio::task::unconstrained(handle_client(fut)).await {
            report(err);
        }
    });
    Ok(response)
}

/// Prints errors other than the ends of connections that a load generator causes.
fn report(err: WebSocketError) {
    match err {
        WebSocketError::ConnectionClosed | WebSocketError::UnexpectedEOF => {}
        WebSocketError::IoError(ref io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) => {}
        err => eprintln!("{NAME}: {err}"),
    }
}

fn main() -> std::io::Result<()> {
    let addr = duplex_bench_peers::listen_addr(NAME);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        duplex_bench_peers::announce(NAME, &listener);
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    eprintln!("{NAME}: accept: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            };
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let conn = http1::Builder::new()
                    .serve_connection(io, service_fn(server_upgrade))
                    .with_upgrades();
                // Handshake failures are the client's business here; the example prints them.
                let _ = conn.await;
            });
        }
    })
}
