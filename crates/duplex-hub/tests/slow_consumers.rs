//! A client that reads slower than its channels publish: the outbound budget
//! (`client.queue_max_size`) and each namespace's policy — disconnect (3008, the default),
//! drop the oldest, or conflate to the latest publication per channel.

mod common;

use std::time::Duration;

use common::{token, TestClient, TestHub};
use serde_json::json;

/// Publishes `count` payloads of about `size` bytes into `channel`, numbered from 0.
async fn flood(hub: &TestHub, channel: &str, count: usize, size: usize) {
    let filler = "x".repeat(size);
    for n in 0..count {
        hub.hub
            .publish(channel, json!({"n": n, "filler": filler}).to_string())
            .await
            .expect("publish");
    }
}

// The budget is small and each publication large, so the kernel's socket buffers (a few MiB
// on loopback) fill first and then the hub's budget decides. The client does not read
// meanwhile: its frames wait in the kernel and in the hub.
const BUDGET: &str = "262144";
const SIZE: usize = 32 * 1024;
const COUNT: usize = 1000;

#[tokio::test]
async fn by_default_a_slow_client_is_disconnected_to_reconnect_and_recover() {
    let hub = TestHub::start(&[("client.queue_max_size", BUDGET)]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("slow", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:fast"}}))
        .await;
    flood(&hub, "chat:fast", COUNT, SIZE).await;
    // Reading now, the client finds what was written before the hub gave up, then the close.
    let (code, reason) = client.closed().await;
    assert_eq!((code, reason.as_str()), (3008, "slow"));
}

#[tokio::test]
async fn conflation_keeps_the_latest_publication_of_each_channel() {
    let hub = TestHub::start(&[("client.queue_max_size", BUDGET)]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("dashboard", None)).await;
    client
        .call(json!({"subscribe": {"channel": "conflate:ticker"}}))
        .await;
    flood(&hub, "conflate:ticker", COUNT, SIZE).await;
    let mut received = Vec::new();
    loop {
        let publication = client.publication("conflate:ticker").await;
        let n = publication["data"]["n"].as_u64().expect("n");
        received.push(n);
        if n == COUNT as u64 - 1 {
            break;
        }
    }
    assert!(
        received.len() < COUNT,
        "some publications were conflated: {}",
        received.len()
    );
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice"
    );
    assert!(
        client.no_push_within(Duration::from_millis(200)).await,
        "still connected, nothing more"
    );
}

#[tokio::test]
async fn drop_oldest_keeps_the_newest_within_the_budget() {
    let hub = TestHub::start(&[("client.queue_max_size", BUDGET)]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("lossy", None)).await;
    client
        .call(json!({"subscribe": {"channel": "dropping:feed"}}))
        .await;
    flood(&hub, "dropping:feed", COUNT, SIZE).await;
    let mut received = Vec::new();
    loop {
        let n = client.publication("dropping:feed").await["data"]["n"]
            .as_u64()
            .expect("n");
        received.push(n);
        if n == COUNT as u64 - 1 {
            break;
        }
    }
    assert!(
        received.len() < COUNT,
        "the oldest were dropped: {}",
        received.len()
    );
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice"
    );
    let reply = client
        .call(json!({"presence": {"channel": "chat:x"}}))
        .await;
    assert!(
        reply.get("error").is_some(),
        "still connected and answering: {reply}"
    );
}
