//! A chat room: every text message a client sends goes to every connected client.
//!
//! Each connection is split: its reader forwards messages into a broadcast channel, its writer
//! forwards the channel to the socket. A client too slow to keep up loses the oldest messages
//! (the channel's lag) and is told so, instead of slowing everyone down.
//!
//! ```text
//! cargo run -p duplex-examples --example chat -- 127.0.0.1:9002
//! ```

use duplex::Message;
use tokio::sync::broadcast;

#[tokio::main]
async fn main() -> Result<(), duplex::Error> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let (room, _) = broadcast::channel::<Message>(1024);
    println!("chat room on ws://{addr}");
    loop {
        let (stream, peer) = listener.accept().await?;
        let room = room.clone();
        tokio::spawn(async move {
            let Ok(ws) = duplex::accept(stream).await else {
                return;
            };
            let (mut reader, mut writer) = ws.split();
            let mut inbox = room.subscribe();
            let forward = tokio::spawn(async move {
                loop {
                    let message = match inbox.recv().await {
                        Ok(message) => message,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            Message::text(format!("(missed {n} messages)"))
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    if writer.send(message).await.is_err() {
                        return;
                    }
                }
            });
            let _ = room.send(Message::text(format!("{peer} joined")));
            while let Ok(Some(message)) = reader.recv().await {
                let _ = room.send(message);
            }
            forward.abort();
            let _ = room.send(Message::text(format!("{peer} left")));
        });
    }
}
