//! Deny by default, and what each namespace option allows: subscribe, publish, presence and
//! history; subscription tokens; user-limited channels; limits.

mod common;

use common::{sub_token, token, TestClient, TestHub};
use serde_json::json;

async fn code_of(client: &mut TestClient, command: serde_json::Value) -> u64 {
    let reply = client.call(command).await;
    reply["error"]["code"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn channels_without_a_namespace_and_unknown_namespaces_are_closed() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    assert_eq!(
        code_of(&mut client, json!({"subscribe": {"channel": "lobby"}})).await,
        103
    );
    assert_eq!(
        code_of(&mut client, json!({"subscribe": {"channel": "nope:x"}})).await,
        102
    );
    assert_eq!(
        code_of(
            &mut client,
            json!({"publish": {"channel": "lobby", "data": {}}})
        )
        .await,
        103
    );
    assert_eq!(
        code_of(&mut client, json!({"history": {"channel": "lobby"}})).await,
        103
    );
    assert_eq!(
        code_of(&mut client, json!({"presence": {"channel": "lobby"}})).await,
        103
    );
}

#[tokio::test]
async fn subscribers_may_publish_where_the_namespace_allows_subscribers() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    let publish = json!({"publish": {"channel": "chat:a", "data": {"n": 1}}});
    assert_eq!(
        code_of(&mut client, publish.clone()).await,
        103,
        "not subscribed yet"
    );
    client
        .call(json!({"subscribe": {"channel": "chat:a"}}))
        .await;
    let reply = client.call(publish).await;
    assert!(reply.get("publish").is_some(), "{reply}");
    let publication = client.publication("chat:a").await;
    assert_eq!(publication["data"], json!({"n": 1}));
    assert_eq!(
        publication["info"]["user"], "1",
        "publisher info: {publication}"
    );
    // `open` lets any client publish, subscribed or not.
    let reply = client
        .call(json!({"publish": {"channel": "open:x", "data": "s"}}))
        .await;
    assert!(reply.get("publish").is_some(), "{reply}");
}

#[tokio::test]
async fn a_private_channel_needs_a_subscription_token_for_this_user_and_channel() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    assert_eq!(
        code_of(&mut client, json!({"subscribe": {"channel": "private:a"}})).await,
        103
    );
    let reply = client
        .call(json!({"subscribe": {"channel": "private:a", "token": sub_token("alice", "private:a", Some(60))}}))
        .await;
    assert_eq!(reply["subscribe"]["expires"], true, "{reply}");
    let expired = sub_token("alice", "private:b", Some(-5));
    assert_eq!(
        code_of(
            &mut client,
            json!({"subscribe": {"channel": "private:b", "token": expired}})
        )
        .await,
        109
    );
    // A token for another channel ends the connection as an invalid token.
    let other = sub_token("alice", "private:c", Some(60));
    client
        .send_raw(
            &json!({"id": 99, "subscribe": {"channel": "private:d", "token": other}}).to_string(),
        )
        .await;
    assert_eq!(client.closed().await.0, 3500);
}

#[tokio::test]
async fn a_subscription_token_is_refreshed_with_sub_refresh_and_expires_without_it() {
    let hub = TestHub::start(&[("client.expired_sub_close_delay", "0s")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    for channel in ["private:keep", "private:lapse"] {
        let reply = client
            .call(json!({"subscribe": {"channel": channel, "token": sub_token("alice", channel, Some(2))}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
    }
    let reply = client
        .call(json!({"sub_refresh": {"channel": "private:keep", "token": sub_token("alice", "private:keep", Some(60))}}))
        .await;
    assert_eq!(reply["sub_refresh"]["expires"], true, "{reply}");
    let push = client.push().await;
    assert_eq!(push["channel"], "private:lapse", "{push}");
    assert_eq!(push["unsubscribe"]["code"], 2501, "{push}");
    assert!(
        client
            .no_push_within(std::time::Duration::from_millis(1500))
            .await
    );
}

#[tokio::test]
async fn user_limited_channels_admit_only_the_users_they_name() {
    let hub = TestHub::start(&[]).await;
    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let (mut carol, _) = TestClient::connect(&hub, &token("carol", None)).await;
    let reply = alice
        .call(json!({"subscribe": {"channel": "dialog:#alice,bob"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    assert_eq!(
        code_of(
            &mut carol,
            json!({"subscribe": {"channel": "dialog:#alice,bob"}})
        )
        .await,
        103
    );
}

#[tokio::test]
async fn presence_and_history_where_the_namespace_has_none_are_not_available() {
    // Development mode allows every action, so what answers is whether the namespace keeps
    // presence and history at all: `open` keeps neither (108), `chat` both.
    let hub = TestHub::start(&[("client.insecure", "true")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client
        .call(json!({"subscribe": {"channel": "open:x"}}))
        .await;
    assert_eq!(
        code_of(&mut client, json!({"presence": {"channel": "open:x"}})).await,
        108
    );
    assert_eq!(
        code_of(
            &mut client,
            json!({"presence_stats": {"channel": "open:x"}})
        )
        .await,
        108
    );
    assert_eq!(
        code_of(
            &mut client,
            json!({"history": {"channel": "open:x", "limit": 1}})
        )
        .await,
        108
    );
    let reply = client
        .call(json!({"presence": {"channel": "chat:x"}}))
        .await;
    assert!(reply.get("presence").is_some(), "{reply}");
    let reply = client
        .call(json!({"history": {"channel": "chat:x", "limit": 1}}))
        .await;
    assert!(reply.get("history").is_some(), "{reply}");
    // Without development mode, `small` keeps history but lets no client read presence.
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client
        .call(json!({"subscribe": {"channel": "small:x"}}))
        .await;
    assert_eq!(
        code_of(&mut client, json!({"presence": {"channel": "small:x"}})).await,
        103
    );
}

#[tokio::test]
async fn subscribing_twice_and_past_the_channel_limit_are_errors() {
    let hub = TestHub::start(&[("client.channel_limit", "2")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client
        .call(json!({"subscribe": {"channel": "open:1"}}))
        .await;
    assert_eq!(
        code_of(&mut client, json!({"subscribe": {"channel": "open:1"}})).await,
        105
    );
    client
        .call(json!({"subscribe": {"channel": "open:2"}}))
        .await;
    assert_eq!(
        code_of(&mut client, json!({"subscribe": {"channel": "open:3"}})).await,
        106
    );
    // Unsubscribing frees a place.
    let reply = client
        .call(json!({"unsubscribe": {"channel": "open:2"}}))
        .await;
    assert!(reply.get("unsubscribe").is_some(), "{reply}");
    let reply = client
        .call(json!({"subscribe": {"channel": "open:3"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
}

#[tokio::test]
async fn rpc_without_a_handler_is_method_not_found() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    assert_eq!(
        code_of(&mut client, json!({"rpc": {"method": "x", "data": {}}})).await,
        104
    );
}
