//! A subscriber gets what the backend publishes through the server API: each publication
//! once, in order, with its offset and tags.

mod common;

use common::{connect, next, publications, subscribed, TestHub};
use duplex_hub_client::Event;
use serde_json::json;

#[tokio::test]
async fn publications_from_the_server_api_arrive_once_and_in_order() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "alice").await;
    client.subscribe("chat:news").await.expect("subscribe");
    let Event::Subscribed {
        recoverable,
        was_recovering,
        offset: start,
        ..
    } = subscribed(&mut events, "chat:news").await
    else {
        unreachable!()
    };
    assert!(recoverable);
    assert!(!was_recovering);

    for n in 0..20 {
        let body = json!({"channel": "chat:news", "data": {"n": n}, "tags": {"kind": "test"}});
        let answer = hub.api("publish", body).await;
        assert!(answer.get("error").is_none(), "{answer}");
    }
    let mut expected = start;
    let mut seen = 0;
    while seen < 20 {
        match next(&mut events).await {
            Event::Publication {
                channel,
                data,
                offset,
                tags,
                info,
            } => {
                let data: serde_json::Value = serde_json::from_slice(&data).unwrap();
                assert_eq!(channel, "chat:news");
                assert_eq!(data, json!({"n": seen}));
                expected += 1;
                assert_eq!(offset, expected, "offsets follow each other");
                assert_eq!(tags.get("kind").map(String::as_str), Some("test"));
                assert!(info.is_none(), "published by the backend, not a client");
                seen += 1;
            }
            Event::Join { .. } | Event::Leave { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Nothing more: each came once.
    hub.api(
        "publish",
        json!({"channel": "chat:news", "data": {"n": "last"}}),
    )
    .await;
    let last = publications(&mut events, 1).await;
    assert_eq!(last[0].0, json!({"n": "last"}));
    assert_eq!(last[0].1, expected + 1);
}

#[tokio::test]
async fn join_and_leave_reach_subscribers_that_ask() {
    let hub = TestHub::start(&[]).await;
    let (alice, mut events) = connect(&hub, "alice").await;
    let options = duplex_hub_client::SubscriptionOptions::new().join_leave(true);
    alice.subscribe_with("chat:room", options).await.unwrap();
    subscribed(&mut events, "chat:room").await;

    let (bob, mut bob_events) = connect(&hub, "bob").await;
    bob.subscribe("chat:room").await.unwrap();
    subscribed(&mut bob_events, "chat:room").await;
    let (join, _) = common::until(
        &mut events,
        |e| matches!(e, Event::Join { info, .. } if info.user == "bob"),
    )
    .await;
    assert!(matches!(join, Event::Join { channel, .. } if channel == "chat:room"));
    bob.unsubscribe("chat:room").await.unwrap();
    common::until(
        &mut events,
        |e| matches!(e, Event::Leave { info, .. } if info.user == "bob"),
    )
    .await;
}
