//! tokio-tungstenite echo server, set up as its `examples/echo-server.rs`: `accept_async`, then
//! `split` and `forward` the text and binary messages back, on a current-thread runtime.
//!
//! `forward` feeds the sink while messages are ready and flushes when the stream would wait,
//! so replies to pipelined messages go out in batches (fewer write syscalls than a `send` per
//! message, which `examples/autobahn-server.rs` does). Pings are answered and a close is
//! replied to by tungstenite itself. No permessage-deflate: tungstenite 0.30 has none.

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Error;

const NAME: &str = "tungstenite-echo";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = duplex_bench_peers::listen_addr(NAME);
    let listener = TcpListener::bind(addr).await?;
    duplex_bench_peers::announce(NAME, &listener);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(accept_connection(stream));
            }
            // Out of file descriptors and the like: the example stops; a benchmark server
            // says so and keeps serving the connections it has.
            Err(err) => {
                eprintln!("{NAME}: accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn accept_connection(stream: TcpStream) {
    let ws_stream = match tokio_tungstenite::accept_async(stream).await {
        Ok(ws) => ws,
        Err(err) => return report(err),
    };
    let (write, read) = ws_stream.split();
    // As the example: forward only text and binary (control frames are handled inside).
    if let Err(err) = read
        .try_filter(|msg| future::ready(msg.is_text() || msg.is_binary()))
        .forward(write)
        .await
    {
        report(err);
    }
}

/// Prints errors other than the ends of connections that a load generator causes.
fn report(err: Error) {
    match err {
        Error::ConnectionClosed | Error::AlreadyClosed | Error::Protocol(_) => {}
        Error::Io(ref io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) => {}
        err => eprintln!("{NAME}: {err}"),
    }
}
