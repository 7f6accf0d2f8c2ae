//! A node that misses live publications (a networked engine dropped them, or lost its
//! connection) never hands its subscribers the next one as if nothing happened: it sends them
//! back to history with unsubscribe 2500, and they recover exactly what they missed. Nor does
//! it answer a subscribe before the broker sends it the channel's events: a subscriber that
//! joins while the node's broker subscribe is under way waits for it.
//!
//! The engine here is the memory engine behind a filter that drops chosen deliveries, the way
//! Redis pub/sub drops what is published while a node's subscriber connection is down.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::intercept::Intercept;
use common::{token, TestClient, TestHub};
use serde_json::{json, Value};

/// A hub on the memory engine, dropping deliveries of `drop_offsets`.
async fn lossy_hub(drop_offsets: &[u64]) -> (TestHub, Arc<Intercept>) {
    let (engine, intercept) = Intercept::memory(drop_offsets, Duration::ZERO);
    (TestHub::with_engine(engine).await, intercept)
}

async fn subscribe(client: &mut TestClient, request: Value) -> Value {
    let reply = client.call(json!({ "subscribe": request })).await;
    reply
        .get("subscribe")
        .cloned()
        .unwrap_or_else(|| panic!("subscribe failed: {reply}"))
}

async fn publish(hub: &TestHub, channel: &str, n: u64) {
    hub.hub
        .publish(channel, json!({ "n": n }).to_string())
        .await
        .expect("publish");
}

/// The next push of the channel that is not a publication: the unsubscribe.
async fn unsubscribe_push(client: &mut TestClient, received: &mut Vec<u64>) -> Value {
    loop {
        let push = client.push().await;
        if let Some(publication) = push.get("pub") {
            received.push(publication["data"]["n"].as_u64().unwrap());
            continue;
        }
        return push;
    }
}

#[tokio::test]
async fn a_hole_in_live_delivery_sends_the_subscriber_back_to_history_and_it_recovers_it() {
    let (hub, _) = lossy_hub(&[3]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let first = subscribe(&mut client, json!({"channel": "small:gap"})).await;
    let epoch = first["epoch"].as_str().unwrap().to_owned();
    for n in 1..=6 {
        publish(&hub, "small:gap", n).await;
    }
    // 1 and 2 arrive; 3 never reaches the node; 4 shows the hole, and instead of it (or 5, 6)
    // the subscriber is told to subscribe again.
    let mut received = Vec::new();
    let push = unsubscribe_push(&mut client, &mut received).await;
    assert_eq!(received, [1, 2], "nothing past the hole: {push}");
    assert_eq!(push["channel"], "small:gap", "{push}");
    assert_eq!(push["unsubscribe"]["code"], 2500, "{push}");
    assert!(
        client
            .no_push_within(std::time::Duration::from_millis(200))
            .await,
        "nothing more of the channel"
    );

    // What the SDK does on 2500: subscribe again from its last position.
    let again = subscribe(
        &mut client,
        json!({"channel": "small:gap", "recover": true, "offset": 2, "epoch": epoch}),
    )
    .await;
    assert_eq!(again["recovered"], true, "{again}");
    let recovered: Vec<u64> = again["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(recovered, [3, 4, 5, 6], "exactly what it missed, in order");

    // And live delivery carries on from there.
    publish(&hub, "small:gap", 7).await;
    let next = client.publication("small:gap").await;
    assert_eq!(next["data"]["n"], 7, "{next}");
    assert_eq!(next["offset"], 7, "{next}");
}

#[tokio::test]
async fn events_the_engine_says_it_lost_send_every_subscriber_back_to_history() {
    let (hub, intercept) = lossy_hub(&[]).await;
    let mut clients = HashMap::new();
    for user in ["alice", "bob"] {
        let (mut client, _) = TestClient::connect(&hub, &token(user, None)).await;
        subscribe(&mut client, json!({"channel": "small:lost"})).await;
        subscribe(&mut client, json!({"channel": "small:kept"})).await;
        clients.insert(user, client);
    }
    publish(&hub, "small:lost", 1).await;
    for client in clients.values_mut() {
        assert_eq!(client.publication("small:lost").await["data"]["n"], 1);
    }

    // What the Redis engine does once its pub/sub connection is back.
    intercept
        .deliveries
        .hub()
        .on_events_lost(&["small:lost".to_owned()]);
    for (user, client) in clients.iter_mut() {
        let push = client.push().await;
        assert_eq!(
            (&push["channel"], &push["unsubscribe"]["code"]),
            (&json!("small:lost"), &json!(2500)),
            "{user}: {push}"
        );
    }
    // The other channel is untouched.
    publish(&hub, "small:kept", 2).await;
    for client in clients.values_mut() {
        assert_eq!(client.publication("small:kept").await["data"]["n"], 2);
    }
}

#[tokio::test]
async fn a_subscriber_that_joins_while_the_node_subscribes_at_the_broker_misses_nothing() {
    // A networked broker takes a while to subscribe the node to a channel's events; whatever is
    // published until it has does not reach the node.
    let (hub, intercept) = lossy_hub(&[]).await;
    *intercept.subscribe_delay.lock().unwrap() = Duration::from_millis(300);
    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let (mut bob, _) = TestClient::connect(&hub, &token("bob", None)).await;

    // Alice is the channel's first subscriber here: hers asks the broker.
    let alice_subscribes = tokio::spawn(async move {
        let reply = subscribe(&mut alice, json!({"channel": "small:joining"})).await;
        (alice, reply)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Bob joins while that is under way, and a publication is made before it is done.
    let bob_subscribes = tokio::spawn(async move {
        let reply = subscribe(&mut bob, json!({"channel": "small:joining"})).await;
        (bob, reply)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    publish(&hub, "small:joining", 1).await;
    let (mut alice, alice_reply) = alice_subscribes.await.unwrap();
    let (mut bob, bob_reply) = bob_subscribes.await.unwrap();
    publish(&hub, "small:joining", 2).await;

    // Each one's stream goes on from the position its reply gave, with no hole.
    for (name, client, reply) in [
        ("alice", &mut alice, alice_reply),
        ("bob", &mut bob, bob_reply),
    ] {
        let from = reply["offset"].as_u64().unwrap_or(0);
        let mut offsets = Vec::new();
        while offsets.last() != Some(&2) {
            let publication = client.publication("small:joining").await;
            offsets.push(publication["offset"].as_u64().unwrap());
        }
        assert_eq!(
            offsets,
            (from + 1..=2).collect::<Vec<_>>(),
            "{name}'s reply: {reply}"
        );
    }
}

#[tokio::test]
async fn subscribers_waiting_for_a_broker_subscribe_that_fails_are_refused_and_can_try_again() {
    let (hub, intercept) = lossy_hub(&[]).await;
    *intercept.subscribe_delay.lock().unwrap() = Duration::from_millis(200);
    intercept.subscribe_fails.store(true, Ordering::SeqCst);
    let mut tries = Vec::new();
    for user in ["alice", "bob"] {
        let (mut client, _) = TestClient::connect(&hub, &token(user, None)).await;
        tries.push(tokio::spawn(async move {
            let reply = client
                .call(json!({"subscribe": {"channel": "small:unreachable"}}))
                .await;
            (client, reply)
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut clients = Vec::new();
    for attempt in tries {
        let (client, reply) = attempt.await.unwrap();
        // Internal (100): temporary, so the SDKs subscribe again after a backoff.
        assert_eq!(reply["error"]["code"], 100, "{reply}");
        clients.push(client);
    }
    assert_eq!(hub.hub.channels(None).len(), 0, "nobody is left subscribed");

    // The broker is back: the next subscribe asks again, and the channel works.
    intercept.subscribe_fails.store(false, Ordering::SeqCst);
    for client in clients.iter_mut() {
        subscribe(client, json!({"channel": "small:unreachable"})).await;
    }
    publish(&hub, "small:unreachable", 1).await;
    for client in clients.iter_mut() {
        let publication = client.publication("small:unreachable").await;
        assert_eq!(publication["data"]["n"], 1, "{publication}");
    }
}
