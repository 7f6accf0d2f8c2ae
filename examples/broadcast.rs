//! One publisher, many subscribers: a live feed encoded once per message.
//!
//! ```text
//! cargo run --release -p duplex-examples --example broadcast -- 127.0.0.1:9003 100
//! ```
//!
//! Serves `ws://ADDR`, where every connection joins one [`duplex::Broadcaster`]; a publisher
//! sends a numbered tick every 10 ms. With a second argument N it also starts N subscribers in
//! the same process, each checking that it receives every tick once and in order, and prints
//! deliveries per second. A subscriber that stops reading is closed with 1008 once 4 MiB are
//! queued for it (the default [`duplex::SlowConsumer`] policy) instead of slowing the rest.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use duplex::{Broadcaster, Message, ServerBuilder};

#[tokio::main]
async fn main() -> Result<(), duplex::Error> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9003".into());
    let subscribers: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let feed = Arc::new(Broadcaster::new());
    println!("feed on ws://{addr}");

    // Accept: each connection joins the feed; its task keeps reading, which writes its queue.
    let members = feed.clone();
    let server = ServerBuilder::new();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (server, members) = (server.clone(), members.clone());
            tokio::spawn(async move {
                let Ok(ws) = server.accept(stream).await else {
                    return;
                };
                let (mut reader, writer) = ws.split();
                let id = members.join(writer);
                while let Ok(Some(_)) = reader.recv().await {}
                members.leave(id);
            });
        }
    });

    // Optional in-process subscribers that check order and count deliveries.
    let delivered = Arc::new(AtomicU64::new(0));
    for _ in 0..subscribers {
        let (url, delivered) = (format!("ws://{addr}/"), delivered.clone());
        tokio::spawn(async move {
            let (mut ws, _) = duplex::connect(&url).await?;
            let mut expected = None;
            while let Some(message) = ws.recv().await? {
                let tick: u64 = message
                    .as_text()
                    .and_then(|t| t.strip_prefix("tick ")?.parse().ok())
                    .unwrap_or(0);
                if let Some(want) = expected {
                    assert_eq!(tick, want, "ticks arrive once, in order");
                }
                expected = Some(tick + 1);
                delivered.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, duplex::Error>(())
        });
    }

    // The publisher.
    let mut tick = 0u64;
    let mut every = tokio::time::interval(Duration::from_millis(10));
    let mut report = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        every.tick().await;
        let sent = feed.send(&Message::text(format!("tick {tick}")));
        tick += 1;
        if tokio::time::Instant::now() >= report {
            report += Duration::from_secs(1);
            println!(
                "{} members, {} deliveries/s received in-process, last send: {sent:?}",
                feed.len(),
                delivered.swap(0, Ordering::Relaxed)
            );
        }
    }
}
