//! Bad input from a client gets the protocol's answer — 3501 "bad request", or the WebSocket
//! close code for a message too big — and never a panic; the hub goes on serving others.

mod common;

use common::{token, TestClient, TestHub};
use serde_json::json;

async fn closed_after(hub: &TestHub, frames: &[&str], connect_first: bool) -> (u16, String) {
    let mut client = if connect_first {
        TestClient::connect(hub, &token("1", None)).await.0
    } else {
        TestClient::open(hub).await
    };
    for frame in frames {
        client.send_raw(frame).await;
    }
    client.closed().await
}

#[tokio::test]
async fn malformed_commands_are_answered_with_bad_request() {
    let hub = TestHub::start(&[]).await;
    for (frames, connect_first) in [
        (vec!["{not json"], true),
        (vec!["[1,2,3]"], true),
        (vec!["\"a string\""], true),
        (vec![r#"{"id":1,"subscribe":{"channel":"chat:x"}}"#], false), // before connect
        (vec!["{}"], false),                                           // a pong before connect
        (vec![r#"{"id":7,"ping":{}}"#], true),                         // the v1 ping
        (vec![r#"{"subscribe":{"channel":"chat:x"}}"#], true),         // a command without id
        (vec![r#"{"id":2,"connect":{}}"#], true),                      // connect twice
    ] {
        let (code, reason) = closed_after(&hub, &frames, connect_first).await;
        assert_eq!((code, reason.as_str()), (3501, "bad request"), "{frames:?}");
    }
    // The hub still serves.
    let (_client, result) = TestClient::connect(&hub, &token("2", None)).await;
    assert!(result.get("client").is_some());
}

#[tokio::test]
async fn several_commands_in_one_frame_are_answered_in_order() {
    let hub = TestHub::start(&[]).await;
    let mut client = TestClient::open(&hub).await;
    let frame = [
        json!({"id": 1, "connect": {"token": token("1", None)}}),
        json!({"id": 2, "subscribe": {"channel": "open:a"}}),
        json!({"id": 3, "publish": {"channel": "open:a", "data": {"x": 1}}}),
    ]
    .iter()
    .map(|c| c.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    client.send_raw(&frame).await;
    assert!(client.reply(1).await.get("connect").is_some());
    assert!(client.reply(2).await.get("subscribe").is_some());
    assert!(client.reply(3).await.get("publish").is_some());
    assert_eq!(client.publication("open:a").await["data"]["x"], 1);
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let hub = TestHub::start(&[("websocket.message_size_limit", "1024")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    let big = json!({"id": 9, "publish": {"channel": "open:a", "data": "x".repeat(4096)}});
    client.send_raw(&big.to_string()).await;
    assert_eq!(client.closed().await.0, 1009);
}

#[tokio::test]
async fn binary_garbage_on_a_json_connection_is_a_bad_request() {
    let hub = TestHub::start(&[]).await;
    let mut client = TestClient::open(&hub).await;
    client.send_raw("\u{0}\u{1}\u{2}").await;
    assert_eq!(client.closed().await.0, 3501);
}
