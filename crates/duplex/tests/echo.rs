//! The plain path of a server on both drivers: the handshake with a subprotocol, messages
//! of every size echoed in order, pings answered, and the close the application sees.

use duplex::{ClientBuilder, CloseCode, CloseFrame, DeflateConfig, Event, ServerBuilder};

#[macro_use]
mod common;
use common::{serve, App, Driver};

async fn echoes_text_binary_and_large_messages_in_order_with_the_subprotocol(driver: Driver) {
    let server = serve(driver, ServerBuilder::new().protocols(["chat"]), App::Echo);
    let (mut ws, response) = ClientBuilder::new()
        .protocol("chat")
        .connect(&server.url)
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    for i in 0..200 {
        ws.feed(format!("message {i}")).await.unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..200 {
        let m = ws.recv().await.unwrap().unwrap();
        assert_eq!(m.as_text(), Some(format!("message {i}").as_str()));
    }
    let big: Vec<u8> = (0..3 << 20).map(|i| (i % 251) as u8).collect();
    ws.send(big.clone()).await.unwrap();
    let m = ws.recv().await.unwrap().unwrap();
    assert_eq!(m.payload().as_ref(), &big[..]);
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(server.opened(), [Some("chat".to_owned())]);
    assert_eq!(
        server.wait_for_ends(1).await,
        [Ok(Some(CloseFrame::new(CloseCode::NORMAL, "bye")))]
    );
}
for_each_driver!(echoes_text_binary_and_large_messages_in_order_with_the_subprotocol);

async fn a_ping_is_answered_with_its_payload(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let (mut ws, _) = ClientBuilder::new().connect(&server.url).await.unwrap();
    ws.ping(b"are you there").await.unwrap();
    match ws.next_event().await.unwrap() {
        Event::Pong(payload) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
}
for_each_driver!(a_ping_is_answered_with_its_payload);

async fn a_compressed_echo_round_trips(driver: Driver) {
    let builder = ServerBuilder::new().deflate(DeflateConfig::default());
    let server = serve(driver, builder, App::Echo);
    let (mut ws, response) = ClientBuilder::new()
        .deflate(DeflateConfig::lean())
        .connect(&server.url)
        .await
        .unwrap();
    assert!(ws.is_compressed());
    assert!(!response.extensions.is_empty());
    let json = "{\"temperature\": 21.5, \"unit\": \"C\"}".repeat(1000);
    for _ in 0..3 {
        ws.send(json.clone()).await.unwrap();
        let echo = ws.recv().await.unwrap().unwrap();
        assert_eq!(echo.as_text(), Some(json.as_str()));
    }
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}
for_each_driver!(a_compressed_echo_round_trips);
