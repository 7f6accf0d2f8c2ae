//! Helpers shared by the integration tests (each test file that needs them says `mod common;`).

use duplex::ServerBuilder;
use tokio::net::TcpListener;

/// Starts a duplex echo server for any number of connections, each accepted with `builder`,
/// until the test ends; returns its `ws://` URL.
pub async fn echo_server(builder: ServerBuilder) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let builder = builder.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = builder.accept(stream).await else {
                    return;
                };
                while let Ok(Some(message)) = ws.recv().await {
                    if ws.feed(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}
