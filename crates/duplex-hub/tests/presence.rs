//! Presence: who is in a channel, joins and leaves, and user-level presence (a user with
//! several tabs joins once and leaves with the last tab).

mod common;

use common::{token, TestClient, TestHub};
use serde_json::json;

#[tokio::test]
async fn presence_lists_subscribers_and_join_leave_reach_the_others() {
    let hub = TestHub::start(&[]).await;
    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    alice
        .call(json!({"subscribe": {"channel": "chat:p"}}))
        .await;
    let join = alice.push().await;
    assert_eq!(join["join"]["info"]["user"], "alice", "own join: {join}");
    let (mut bob, _) = TestClient::connect(&hub, &token("bob", None)).await;
    bob.call(json!({"subscribe": {"channel": "chat:p"}})).await;
    let join = alice.push().await;
    assert_eq!(join["channel"], "chat:p");
    assert_eq!(join["join"]["info"]["user"], "bob", "{join}");

    let reply = alice.call(json!({"presence": {"channel": "chat:p"}})).await;
    let presence = reply["presence"]["presence"]
        .as_object()
        .expect("presence map")
        .clone();
    let users: Vec<&str> = presence
        .values()
        .filter_map(|i| i["user"].as_str())
        .collect();
    assert_eq!(presence.len(), 2, "{reply}");
    assert!(users.contains(&"alice") && users.contains(&"bob"));
    let reply = alice
        .call(json!({"presence_stats": {"channel": "chat:p"}}))
        .await;
    assert_eq!(
        reply["presence_stats"],
        json!({"num_clients": 2, "num_users": 2})
    );

    drop(bob);
    let leave = alice.push().await;
    assert_eq!(leave["leave"]["info"]["user"], "bob", "{leave}");
    let reply = alice
        .call(json!({"presence_stats": {"channel": "chat:p"}}))
        .await;
    assert_eq!(
        reply["presence_stats"],
        json!({"num_clients": 1, "num_users": 1})
    );
}

#[tokio::test]
async fn a_user_with_three_tabs_joins_once_and_leaves_with_the_last() {
    let hub = TestHub::start(&[]).await;
    let (mut watcher, _) = TestClient::connect(&hub, &token("watcher", None)).await;
    watcher
        .call(json!({"subscribe": {"channel": "users:room"}}))
        .await;
    assert_eq!(watcher.push().await["join"]["info"]["user"], "watcher");

    let mut tabs = Vec::new();
    for _ in 0..3 {
        let (mut tab, _) = TestClient::connect(&hub, &token("alice", None)).await;
        tab.call(json!({"subscribe": {"channel": "users:room"}}))
            .await;
        tabs.push(tab);
    }
    let join = watcher.push().await;
    assert_eq!(join["join"]["info"]["user"], "alice");
    assert!(
        watcher
            .no_push_within(std::time::Duration::from_millis(300))
            .await,
        "one join for three tabs"
    );
    let reply = watcher
        .call(json!({"presence_stats": {"channel": "users:room"}}))
        .await;
    assert_eq!(
        reply["presence_stats"],
        json!({"num_clients": 4, "num_users": 2})
    );

    tabs.pop();
    tabs.pop();
    assert!(
        watcher
            .no_push_within(std::time::Duration::from_millis(300))
            .await,
        "still one tab open"
    );
    tabs.pop();
    let leave = watcher.push().await;
    assert_eq!(leave["leave"]["info"]["user"], "alice", "{leave}");
}

#[tokio::test]
async fn presence_outlives_its_ttl_because_connections_renew_it() {
    // Renewed every second, an entry lives 3 s: 4.5 s later it is there only if renewed.
    let hub = TestHub::start(&[("client.presence_update_interval", "1s")]).await;
    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    alice
        .call(json!({"subscribe": {"channel": "chat:long"}}))
        .await;
    alice.push().await; // her own join
    assert!(
        alice
            .no_push_within(std::time::Duration::from_millis(4500))
            .await
    );
    let stats = hub
        .api("presence_stats", json!({"channel": "chat:long"}))
        .await;
    assert_eq!(stats["result"]["num_clients"], 1, "{stats}");
    drop(alice);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let stats = hub
        .api("presence_stats", json!({"channel": "chat:long"}))
        .await;
    assert_eq!(stats["result"]["num_clients"], 0, "{stats}");
}

#[tokio::test]
async fn the_server_sends_a_message_push_to_a_user() {
    let hub = TestHub::start(&[]).await;
    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    assert_eq!(hub.hub.send("alice", None, r#"{"hello":"alice"}"#), 1);
    let push = alice.push().await;
    assert_eq!(push["message"]["data"], json!({"hello": "alice"}), "{push}");
}
