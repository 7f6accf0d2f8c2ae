//! Pings: the client answers a hub's ping with an empty command, and takes a hub whose pings
//! stop (interval plus `max_ping_delay`) for dead, and reconnects. The hub here is a fake one
//! written with duplex, so that it can fall silent.

mod common;

use std::time::Duration;

use common::{next, until, PATIENCE};
use duplex::{Event as WsEvent, Message};
use duplex_hub_client::{codes, ClientBuilder, Event};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Accepts WebSocket connections; answers `connect` with a 1 s ping interval, sends one ping
/// and reports each frame the client sends (as text) on `frames`.
async fn silent_hub(listener: TcpListener, frames: mpsc::UnboundedSender<String>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let frames = frames.clone();
        tokio::spawn(async move {
            let mut ws = duplex::accept(stream).await.expect("handshake");
            while let Ok(event) = ws.next_event().await {
                let WsEvent::Message(message) = event else {
                    continue;
                };
                let text = message.as_text().unwrap_or_default().to_owned();
                if text.contains("\"connect\"") {
                    let reply = r#"{"id":1,"connect":{"client":"c1","ping":1,"pong":true}}"#;
                    ws.send(Message::text(format!("{reply}\n{{}}")))
                        .await
                        .expect("reply");
                }
                if frames.send(text).is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test]
async fn pings_are_answered_and_silence_means_a_dead_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "ws://{}/connection/websocket",
        listener.local_addr().unwrap()
    );
    let (frames_tx, mut frames) = mpsc::unbounded_channel();
    tokio::spawn(silent_hub(listener, frames_tx));

    let (_client, mut events) = ClientBuilder::new(url)
        .token("t")
        .max_ping_delay(Duration::from_millis(200))
        .reconnect_delay(Duration::from_millis(10), Duration::from_millis(20))
        .connect();
    common::connected(&mut events).await;
    let connect = tokio::time::timeout(PATIENCE, frames.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(connect.contains(r#""connect":{"token":"t""#), "{connect}");
    let pong = tokio::time::timeout(PATIENCE, frames.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pong, "{}", "the ping's answer is an empty command");

    // No ping within 1 s + 200 ms: the client gives up on this connection and comes back.
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            code: codes::NO_PING,
            reason: "no ping from the hub".into(),
            reconnect: true
        }
    );
    let (event, _) = until(&mut events, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(
        event,
        Event::Connected {
            reconnected: true,
            ..
        }
    ));
}
