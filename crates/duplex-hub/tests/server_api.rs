//! The server API as a backend uses it: every method over HTTP, with Centrifugo's request and
//! reply shapes, and its errors.

mod common;

use common::{token, TestClient, TestHub, API_KEY};
use serde_json::json;

#[tokio::test]
async fn publish_with_tags_idempotency_and_without_history() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:api"}}))
        .await;
    let reply = hub
        .api(
            "publish",
            json!({"channel": "chat:api", "data": {"text": "hi"}, "tags": {"kind": "greeting"}}),
        )
        .await;
    assert_eq!(reply["result"]["offset"], 1, "{reply}");
    let epoch = reply["result"]["epoch"].as_str().expect("epoch").to_owned();
    let publication = client.publication("chat:api").await;
    assert_eq!(publication["data"], json!({"text": "hi"}));
    assert_eq!(publication["tags"], json!({"kind": "greeting"}));

    let once = json!({"channel": "chat:api", "data": 2, "idempotency_key": "k1"});
    let first = hub.api("publish", once.clone()).await;
    let again = hub.api("publish", once).await;
    assert_eq!(
        first["result"], again["result"],
        "a retry is not published twice"
    );
    assert_eq!(client.publication("chat:api").await["data"], 2);

    let reply = hub
        .api(
            "publish",
            json!({"channel": "chat:api", "data": 3, "skip_history": true}),
        )
        .await;
    assert!(reply["result"].get("offset").is_none(), "{reply}");
    assert_eq!(client.publication("chat:api").await["data"], 3);
    let history = hub
        .api("history", json!({"channel": "chat:api", "limit": 10}))
        .await;
    let kept = history["result"]["publications"]
        .as_array()
        .expect("list")
        .len();
    assert_eq!(kept, 2, "{history}");
    assert_eq!(history["result"]["epoch"], epoch.as_str());

    // b64data is published as the bytes it encodes.
    let reply = hub
        .api(
            "publish",
            json!({"channel": "chat:api", "b64data": "eyJiIjo2NH0="}),
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(
        client.publication("chat:api").await["data"],
        json!({"b": 64})
    );
}

#[tokio::test]
async fn broadcast_reaches_every_channel() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client
        .call(json!({"subscribe": {"channel": "open:a"}}))
        .await;
    client
        .call(json!({"subscribe": {"channel": "open:b"}}))
        .await;
    let reply = hub
        .api(
            "broadcast",
            json!({"channels": ["open:a", "open:b"], "data": {"all": true}}),
        )
        .await;
    assert_eq!(
        reply["result"]["responses"].as_array().map(Vec::len),
        Some(2),
        "{reply}"
    );
    assert_eq!(client.publication("open:a").await["data"]["all"], true);
    assert_eq!(client.publication("open:b").await["data"]["all"], true);
}

#[tokio::test]
async fn server_side_subscribe_unsubscribe_refresh_and_disconnect() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", Some(60))).await;
    hub.api("subscribe", json!({"user": "alice", "channel": "chat:srv"}))
        .await;
    let push = client.push().await;
    assert_eq!(push["channel"], "chat:srv");
    assert!(push.get("subscribe").is_some(), "{push}");
    hub.api("publish", json!({"channel": "chat:srv", "data": 1}))
        .await;
    assert_eq!(client.publication("chat:srv").await["data"], 1);

    hub.api(
        "unsubscribe",
        json!({"user": "alice", "channel": "chat:srv"}),
    )
    .await;
    let push = client.push().await;
    assert_eq!(push["unsubscribe"]["code"], 2000, "{push}");

    let at = common::now() + 3600;
    hub.api("refresh", json!({"user": "alice", "expire_at": at}))
        .await;
    let push = client.push().await;
    assert_eq!(push["refresh"]["expires"], true, "{push}");

    hub.api(
        "disconnect",
        json!({"user": "alice", "disconnect": {"code": 4501, "reason": "banned"}}),
    )
    .await;
    assert_eq!(client.closed().await, (4501, "banned".to_owned()));
}

#[tokio::test]
async fn presence_history_channels_info_and_batch() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:x"}}))
        .await;
    let presence = hub.api("presence", json!({"channel": "chat:x"})).await;
    let clients = presence["result"]["presence"].as_object().expect("map");
    assert_eq!(clients.len(), 1, "{presence}");
    let entry = clients.values().next().expect("entry");
    assert_eq!(entry["user"], "alice");
    let stats = hub
        .api("presence_stats", json!({"channel": "chat:x"}))
        .await;
    assert_eq!(stats["result"], json!({"num_clients": 1, "num_users": 1}));

    hub.api("publish", json!({"channel": "chat:x", "data": 1}))
        .await;
    hub.api("history_remove", json!({"channel": "chat:x"}))
        .await;
    let history = hub
        .api("history", json!({"channel": "chat:x", "limit": 10}))
        .await;
    assert_eq!(
        history["result"]["publications"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0),
        0
    );

    let channels = hub.api("channels", json!({"pattern": "chat:*"})).await;
    assert_eq!(
        channels["result"]["channels"]["chat:x"]["num_clients"], 1,
        "{channels}"
    );
    let info = hub.api("info", json!({})).await;
    assert_eq!(info["result"]["nodes"][0]["num_clients"], 1, "{info}");

    let batch = hub
        .api(
            "batch",
            json!({"commands": [
                {"publish": {"channel": "chat:x", "data": {"n": 1}}},
                {"publish": {"channel": "nope:x", "data": {"n": 2}}},
                {"presence_stats": {"channel": "chat:x"}}
            ]}),
        )
        .await;
    let replies = batch["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 3, "{batch}");
    assert!(replies[0].get("publish").is_some(), "{batch}");
    assert_eq!(replies[1]["error"]["code"], 102, "{batch}");
    assert_eq!(replies[2]["presence_stats"]["num_clients"], 1, "{batch}");
}

#[tokio::test]
async fn errors_come_in_centrifugo_shapes() {
    let hub = TestHub::start(&[]).await;
    let reply = hub
        .api("publish", json!({"channel": "nope:x", "data": 1}))
        .await;
    assert_eq!(reply["error"]["code"], 102, "{reply}");
    let reply = hub.api("presence", json!({"channel": "small:x"})).await;
    assert_eq!(reply["error"]["code"], 108, "{reply}");
    let reply = hub.api("publish", json!({"channel": "chat:x"})).await;
    assert_eq!(reply["error"]["code"], 107, "data is required: {reply}");

    let (status, _) = hub
        .api_response("publish", &[], r#"{"channel":"chat:x","data":1}"#)
        .await;
    assert_eq!(status, 401, "no key");
    let (status, _) = hub
        .api_response(
            "publish",
            &[("X-API-Key", "wrong")],
            r#"{"channel":"chat:x","data":1}"#,
        )
        .await;
    assert_eq!(status, 401, "wrong key");
    let auth = format!("apikey {API_KEY}");
    let (status, _) = hub
        .api_response(
            "publish",
            &[("Authorization", auth.as_str())],
            r#"{"channel":"chat:x","data":1}"#,
        )
        .await;
    assert_eq!(status, 200, "Authorization: apikey");
    let (status, _) = hub
        .api_response("no_such_method", &[("X-API-Key", API_KEY)], "{}")
        .await;
    assert_eq!(status, 404);
    let (status, _) = hub
        .api_response("publish", &[("X-API-Key", API_KEY)], "{not json")
        .await;
    assert_eq!(status, 400);
    let (status, _) = hub
        .api_response(
            "publish",
            &[
                ("X-API-Key", API_KEY),
                ("X-Centrifugo-Error-Mode", "transport"),
            ],
            r#"{"channel":"nope:x","data":1}"#,
        )
        .await;
    assert_eq!(
        status, 404,
        "transport error mode: an unknown channel is a 404"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let hub = TestHub::start(&[]).await;
    let body = reqwest::get(format!("http://{}/api/openapi.json", hub.addr))
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let document: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    for method in ["publish", "broadcast", "history", "batch", "info"] {
        assert!(
            document["paths"].get(format!("/api/{method}")).is_some(),
            "{method} is documented"
        );
    }
}
