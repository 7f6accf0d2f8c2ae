//! The smallest useful WebSocket server: echo every message back.
//!
//! ```text
//! cargo run -p duplex-examples --example echo_server -- 127.0.0.1:9001
//! ```

#[tokio::main]
async fn main() -> Result<(), duplex::Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("echoing on ws://{addr}");
    loop {
        let (stream, peer) = listener.accept().await?;
        tokio::spawn(async move {
            let mut ws = match duplex::accept(stream).await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: handshake failed: {e}"),
            };
            loop {
                match ws.recv().await {
                    Ok(Some(message)) => {
                        if let Err(e) = ws.feed(message).await {
                            return eprintln!("{peer}: {e}");
                        }
                    }
                    Ok(None) => return println!("{peer}: closed {:?}", ws.close_frame()),
                    Err(e) => return eprintln!("{peer}: {e}"),
                }
            }
        });
    }
}
