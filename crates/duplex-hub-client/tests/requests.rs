//! Requests and their replies: publish, presence, presence_stats, history and rpc answer with
//! typed results; a refusal carries the hub's code and message; a request without a reply in
//! time fails with a timeout, and one made while the hub is unreachable waits, then times out.

mod common;

use std::time::Duration;

use common::{connect, subscribed, TestHub};
use duplex_hub::callbacks::{Call, Handler};
use duplex_hub_client::{Error, HistoryOptions};
use serde_json::json;

/// RPC methods: `echo` answers its data, `slow` after a second, `teapot` with an application
/// error; others are unknown.
struct Methods;

#[async_trait::async_trait]
impl Handler for Methods {
    async fn on_rpc(&self, call: Call<'_>) -> Result<bytes::Bytes, duplex_hub::codes::Error> {
        match call.method {
            "echo" => Ok(call.data),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(call.data)
            }
            "teapot" => Err(duplex_hub::codes::Error::new(418, "short and stout")),
            _ => Err(duplex_hub::codes::Error::METHOD_NOT_FOUND),
        }
    }
}

#[tokio::test]
async fn each_request_gets_its_typed_reply() {
    let hub = TestHub::start_with(&[], Methods).await;
    let (client, mut events) = connect(&hub, "alice").await;
    let room = client.subscribe("chat:room").await.unwrap();
    subscribed(&mut events, "chat:room").await;

    room.publish(r#"{"text":"one"}"#).await.expect("publish");
    client
        .publish("chat:room", r#"{"text":"two"}"#)
        .await
        .expect("publish");

    let presence = room.presence().await.expect("presence");
    assert_eq!(presence.len(), 1);
    assert_eq!(
        presence.values().next().map(|i| i.user.as_str()),
        Some("alice")
    );
    let stats = client.presence_stats("chat:room").await.expect("stats");
    assert_eq!((stats.num_clients, stats.num_users), (1, 1));

    let history = room.history(10).await.expect("history");
    let texts: Vec<serde_json::Value> = history
        .publications
        .iter()
        .map(|p| serde_json::from_slice(&p.data).unwrap())
        .collect();
    assert_eq!(texts, [json!({"text": "one"}), json!({"text": "two"})]);
    assert!(!history.epoch.is_empty());
    let since_first = client
        .history(
            "chat:room",
            HistoryOptions::since(history.publications[0].offset, &history.epoch),
        )
        .await
        .expect("history since");
    assert_eq!(since_first.publications.len(), 1);

    let answer = client.rpc("echo", r#"{"ping":1}"#).await.expect("rpc");
    assert_eq!(&answer[..], br#"{"ping":1}"#);
}

#[tokio::test]
async fn refusals_carry_the_hubs_code_and_message() {
    let hub = TestHub::start_with(&[], Methods).await;
    let (client, _events) = connect(&hub, "alice").await;
    // Not subscribed: the chat namespace lets only subscribers publish.
    let refused = client.publish("chat:room", "{}").await.unwrap_err();
    assert_eq!(refused.code(), Some(103), "{refused}");
    assert_eq!(refused.to_string(), "permission denied (code 103)");
    assert_eq!(
        client.rpc("nope", "{}").await,
        Err(Error::Server {
            code: 104,
            message: "method not found".into(),
            temporary: false
        })
    );
    let teapot = client.rpc("teapot", "{}").await.unwrap_err();
    assert_eq!(teapot.code(), Some(418));
    assert_eq!(teapot.to_string(), "short and stout (code 418)");
    // Data a JSON connection cannot carry never leaves the client.
    assert!(matches!(
        client.publish("chat:room", "not json").await,
        Err(Error::Encode(_))
    ));
}

#[tokio::test]
async fn a_request_without_a_reply_in_time_times_out() {
    let hub = TestHub::start_with(&[], Methods).await;
    let (client, _events) = connect(&hub, "alice").await;
    let impatient = client.with_timeout(Duration::from_millis(200));
    assert_eq!(
        impatient.rpc("slow", "{}").await,
        Err(Error::Timeout(Duration::from_millis(200)))
    );
    // The connection is fine afterwards (the hub answers a connection's commands in order, so
    // this waits for the slow one; its late reply is dropped, not taken for this one's).
    let answer = client.rpc("echo", "[1]").await.expect("rpc");
    assert_eq!(&answer[..], b"[1]");
}

#[tokio::test]
async fn a_request_while_the_hub_is_unreachable_times_out() {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/connection/websocket", closed.local_addr().unwrap());
    drop(closed);
    let (client, mut events) = duplex_hub_client::ClientBuilder::new(url)
        .reconnect_delay(Duration::from_millis(10), Duration::from_millis(50))
        .request_timeout(Duration::from_millis(300))
        .connect();
    let (event, _) = common::until(&mut events, |e| {
        matches!(e, duplex_hub_client::Event::Error(_))
    })
    .await;
    assert!(
        matches!(&event, duplex_hub_client::Event::Error(e) if e.kind == duplex_hub_client::ErrorKind::Transport),
        "{event:?}"
    );
    assert_eq!(
        client.publish("chat:x", "{}").await,
        Err(Error::Timeout(Duration::from_millis(300)))
    );
}
