//! Publications that reach a node while its flusher is still writing an earlier fan-out wait
//! for the flusher's next round and go out together: each subscriber gets the run in one
//! WebSocket message (one JSON line per push), once, in order.

mod common;

use common::{token, TestClient, TestHub};
use serde_json::json;

const SUBSCRIBERS: usize = 20;
const PUBLICATIONS: u64 = 500;

#[tokio::test]
async fn a_burst_reaches_every_subscriber_once_in_order_in_fewer_messages() {
    let hub = TestHub::start(&[]).await;
    let mut clients = Vec::new();
    for n in 0..SUBSCRIBERS {
        let (mut client, _) = TestClient::connect(&hub, &token(&format!("u{n}"), None)).await;
        let reply = client
            .call(json!({"subscribe": {"channel": "chat:burst"}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "subscribed: {reply}");
        clients.push(client);
    }
    // Published back to back: the first fan-out starts the flusher, and the rest arrive
    // before it has written, so they are fanned out together at its next round.
    for n in 0..PUBLICATIONS {
        hub.hub
            .publish("chat:burst", json!({ "n": n }).to_string())
            .await
            .expect("publish");
    }
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
