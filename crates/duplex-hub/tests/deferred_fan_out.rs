//! Publications that reach a node while its flusher is still writing an earlier fan-out wait
//! for the flusher's next round and go out together: each subscriber gets the run in one
//! WebSocket message (one JSON line per push), once, in order. Only channels with at least
//! `client.batch_from_subscribers` subscribers on the node do this (2048 by default; the tests
//! lower it rather than open thousands of connections).

mod common;

use std::time::Duration;

use common::{token, TestClient, TestHub};
use duplex::proto::{Event, Message};
use duplex::ClientBuilder;
use duplex_hub::protocol::{decode_commands, decode_replies, encode_command, Encoding};
use serde_json::json;

const SUBSCRIBERS: usize = 20;
const PUBLICATIONS: u64 = 500;
const BATCH_ALL: (&str, &str) = ("client.batch_from_subscribers", "0");

/// Publishes `PUBLICATIONS` numbered payloads into `channel`, back to back: the first fan-out
/// starts the flusher, and the rest arrive before it has written.
async fn burst(hub: &TestHub, channel: &str) {
    for n in 0..PUBLICATIONS {
        hub.hub
            .publish(channel, json!({ "n": n }).to_string())
            .await
            .expect("publish");
    }
}

#[tokio::test]
async fn a_channel_under_the_threshold_sends_each_publication_at_once() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("solo", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:small"}}))
        .await;
    burst(&hub, "chat:small").await;
    let before = client.messages;
    for n in 0..PUBLICATIONS {
        assert_eq!(client.publication("chat:small").await["data"]["n"], n);
    }
    // One message each (and one for the client's own join, which the namespace sends).
    assert!(
        client.messages - before >= PUBLICATIONS as usize,
        "{PUBLICATIONS} publications came in {} messages",
        client.messages - before
    );
}

#[tokio::test]
async fn a_burst_reaches_every_subscriber_once_in_order_in_fewer_messages() {
    let hub = TestHub::start(&[BATCH_ALL]).await;
    let mut clients = Vec::new();
    for n in 0..SUBSCRIBERS {
        let (mut client, _) = TestClient::connect(&hub, &token(&format!("u{n}"), None)).await;
        let reply = client
            .call(json!({"subscribe": {"channel": "chat:burst"}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "subscribed: {reply}");
        clients.push(client);
    }
    burst(&hub, "chat:burst").await;
    for (index, client) in clients.iter_mut().enumerate() {
        let before = client.messages;
        for n in 0..PUBLICATIONS {
            let publication = client.publication("chat:burst").await;
            assert_eq!(publication["data"]["n"], n, "subscriber {index}, in order");
        }
        assert!(
            client
                .no_push_within(std::time::Duration::from_millis(100))
                .await,
            "subscriber {index}: nothing twice"
        );
        let messages = client.messages - before;
        assert!(
            messages < PUBLICATIONS as usize / 2,
            "subscriber {index}: {PUBLICATIONS} publications came in {messages} messages"
        );
    }
}

/// Sends one command, given as JSON, in the Protobuf encoding.
async fn send_protobuf(ws: &mut Socket, command: serde_json::Value) {
    let commands = decode_commands(Encoding::Json, command.to_string().as_bytes()).expect("JSON");
    let mut frame = Vec::new();
    encode_command(Encoding::Protobuf, &commands[0], &mut frame).expect("encode");
    ws.send(Message::binary(frame)).await.expect("send");
}

/// The replies and pushes of the next WebSocket message.
async fn protobuf_message(ws: &mut Socket) -> Vec<duplex_hub::protocol::Reply> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), ws.next_event())
            .await
            .expect("timed out waiting for the hub")
            .expect("read");
        if let Event::Message(message) = event {
            return decode_replies(Encoding::Protobuf, message.payload()).expect("Protobuf");
        }
    }
}

type Socket = duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn a_protobuf_subscriber_gets_a_burst_as_one_stream_of_length_prefixed_pushes() {
    let hub = TestHub::start(&[BATCH_ALL]).await;
    let (mut ws, _) = ClientBuilder::new()
        .protocol("centrifuge-protobuf")
        .connect(&hub.url())
        .await
        .expect("websocket");
    send_protobuf(
        &mut ws,
        json!({"id": 1, "connect": {"token": token("pb", None)}}),
    )
    .await;
    assert!(
        protobuf_message(&mut ws).await[0].connect.is_some(),
        "connected"
    );
    send_protobuf(
        &mut ws,
        json!({"id": 2, "subscribe": {"channel": "chat:burst"}}),
    )
    .await;
    assert!(
        protobuf_message(&mut ws).await[0].subscribe.is_some(),
        "subscribed"
    );
    burst(&hub, "chat:burst").await;
    let (mut next, mut messages) = (0, 0);
    while next < PUBLICATIONS {
        messages += 1;
        for reply in protobuf_message(&mut ws).await {
            // The namespace tells its subscribers who joins: this client's own join comes too.
            let push = reply.push.expect("only pushes");
            let Some(publication) = push.r#pub else {
                assert!(push.join.is_some(), "a publication or the join");
                continue;
            };
            let data: serde_json::Value = serde_json::from_slice(&publication.data).expect("data");
            assert_eq!(data["n"], next, "in order, none twice");
            next += 1;
        }
    }
    assert!(
        messages < PUBLICATIONS as usize / 2,
        "{PUBLICATIONS} publications came in {messages} messages"
    );
}
