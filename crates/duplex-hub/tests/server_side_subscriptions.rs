//! Subscriptions the server makes on connect: the token's `channels` (and `subs`) claims and
//! the user's personal channel. The connect reply lists them, and they recover like any other.

mod common;

use common::{claims_token, token, TestClient, TestHub};
use serde_json::json;

#[tokio::test]
async fn a_user_is_subscribed_to_their_personal_channel_on_connect() {
    let hub = TestHub::start(&[
        ("client.subscribe_to_user_personal_channel.enabled", "true"),
        ("client.subscribe_to_user_personal_channel.personal_channel_namespace", "personal"),
        (
            "channel.namespaces",
            r#"[{"name": "personal", "history_size": 10, "history_ttl": "60s", "force_recovery": true}]"#,
        ),
    ])
    .await;
    let (mut alice, result) = TestClient::connect(&hub, &token("alice", None)).await;
    let subs = result["subs"]
        .as_object()
        .expect("server-side subscriptions");
    assert!(subs.contains_key("personal:#alice"), "{result}");
    assert_eq!(subs["personal:#alice"]["recoverable"], true, "{result}");
    hub.api(
        "publish",
        json!({"channel": "personal:#alice", "data": {"for": "alice"}}),
    )
    .await;
    assert_eq!(
        alice.publication("personal:#alice").await["data"]["for"],
        "alice"
    );
    // The server API sees the subscription like any other.
    let channels = hub.api("channels", json!({})).await;
    assert_eq!(
        channels["result"]["channels"]["personal:#alice"]["num_clients"], 1,
        "{channels}"
    );
}

#[tokio::test]
async fn the_tokens_channels_claim_subscribes_on_connect() {
    let hub = TestHub::start(&[]).await;
    let claims = json!({"sub": "bob", "channels": ["chat:news", "open:feed"]});
    let (mut bob, result) = TestClient::connect(&hub, &claims_token(claims, None)).await;
    let subs = result["subs"]
        .as_object()
        .expect("server-side subscriptions");
    assert!(
        subs.contains_key("chat:news") && subs.contains_key("open:feed"),
        "{result}"
    );
    hub.hub
        .publish("open:feed", r#"{"n":1}"#)
        .await
        .expect("publish");
    assert_eq!(bob.publication("open:feed").await["data"]["n"], 1);
    // The client cannot unsubscribe from what the server subscribed it to.
    let reply = bob
        .call(json!({"unsubscribe": {"channel": "open:feed"}}))
        .await;
    assert!(reply.get("unsubscribe").is_some(), "{reply}");
    hub.hub
        .publish("open:feed", r#"{"n":2}"#)
        .await
        .expect("publish");
    assert_eq!(bob.publication("open:feed").await["data"]["n"], 2);
}
