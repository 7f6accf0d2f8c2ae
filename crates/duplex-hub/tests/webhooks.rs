//! Told when people leave: every way a client leaves — it closes, its connection is lost, the
//! server disconnects it, it unsubscribes, the server unsubscribes it, its subscription token
//! expires, the hub shuts down — reaches the application's endpoint as one signed webhook, at
//! least once, retried until a 2xx, and still owed after the hub restarts.
//!
//! The application here is a real HTTP server on a loopback port that records what it gets
//! and answers with the statuses a test scripts.

mod common;

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bytes::Bytes;
use common::{claims_token, now, sub_token, token, TestClient, TestHub, PATIENCE};
use duplex_hub::config::HubConfig;
use duplex_hub::Hub;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const WEBHOOK_SECRET: &str = "webhook-test-secret";

/// One request the application received.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    event: Value,
    /// The status it was answered with.
    status: u16,
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// Statuses to answer with, in order; 200 once they run out.
    script: VecDeque<u16>,
}

/// The application's webhook endpoint.
struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listening on a free port.
    async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().unwrap(), Vec::new()).await
    }

    /// Listening on `addr`, answering `script` first.
    async fn start_on(addr: SocketAddr, script: Vec<u16>) -> Receiver {
        let log = Arc::new(Mutex::new(Log {
            received: Vec::new(),
            script: script.into(),
        }));
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = axum::Router::new()
            .route("/hooks/duplex", post(receive))
            .with_state(log.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, log, server }
    }

    fn endpoint(&self) -> String {
        endpoint(self.addr)
    }

    fn all(&self) -> Vec<Received> {
        self.log.lock().unwrap().received.clone()
    }

    /// The events answered with a 2xx, each id once.
    fn delivered(&self) -> Vec<Value> {
        let mut seen = HashSet::new();
        self.all()
            .into_iter()
            .filter(|r| r.status == 200)
            .filter(|r| seen.insert(r.event["id"].as_str().unwrap_or("").to_owned()))
            .map(|r| r.event)
            .collect()
    }

    /// Waits until a delivered event matches `matches`; returns it.
    async fn event(&self, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(event) = self.delivered().into_iter().find(|e| matches(e)) {
                return event;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no such webhook; delivered: {:#?}",
                self.delivered()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `count` events were delivered.
    async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while self.delivered().len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} webhooks expected; delivered: {:#?}",
                self.delivered()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.delivered()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(
    State(log): State<Arc<Mutex<Log>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut log = log.lock().unwrap();
    let status = log.script.pop_front().unwrap_or(200);
    let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
    log.received.push(Received {
        headers,
        body,
        event,
        status,
    });
    StatusCode::from_u16(status).unwrap()
}

fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}/hooks/duplex")
}

/// A loopback address nothing listens on (it was free a moment ago).
async fn dead_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Webhook settings with short retries, for a hub posting to `endpoint`.
fn webhook_settings(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("webhook.enabled", "true".into()),
        ("webhook.endpoint", endpoint.into()),
        ("webhook.secret", WEBHOOK_SECRET.into()),
        ("webhook.timeout", "2s".into()),
        ("webhook.retry_min_delay", "20ms".into()),
        ("webhook.retry_max_delay", "200ms".into()),
    ]
}

async fn hub_posting_to(endpoint: &str, more: &[(&str, &str)]) -> TestHub {
    let settings = webhook_settings(endpoint);
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(more);
    TestHub::start(&all).await
}

/// Checks the signature as docs/webhooks.md tells a receiver to, without the hub's code:
/// HMAC-SHA256 of "<t>.<body>", hex, in `t=<t>,v1=<hex>`.
fn assert_signed(received: &Received) {
    let header = received.headers["x-duplex-signature"].to_str().unwrap();
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {header:?}"));
    let t: i64 = t.parse().expect("unix seconds");
    assert!((now() - t).abs() <= 5, "signed at {t}, now {}", now());
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&received.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "signature of {:?}", received.body);
    // And the hub's own helper agrees, as a Rust receiver would use it.
    assert_eq!(
        duplex_hub::webhook::verify(
            WEBHOOK_SECRET.as_bytes(),
            header,
            &received.body,
            now(),
            300
        ),
        Ok(())
    );
    assert!(
        duplex_hub::webhook::verify(b"wrong", header, &received.body, now(), 300).is_err(),
        "a wrong secret fails"
    );
}

/// Every request that carried this event id.
fn attempts_of(receiver: &Receiver, id: &str) -> Vec<Received> {
    receiver
        .all()
        .into_iter()
        .filter(|r| r.event["id"] == id)
        .collect()
}

#[tokio::test]
async fn a_client_that_closes_is_one_signed_disconnect_event() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(&receiver.endpoint(), &[]).await;
    let user_token = claims_token(json!({"sub": "42", "info": {"name": "Ann"}}), None);
    let (client, connected) = TestClient::connect(&hub, &user_token).await;
    let client_id = connected["client"].as_str().unwrap().to_owned();
    let before = now() * 1000;
    client.close().await;

    let event = receiver.event(|e| e["type"] == "disconnect").await;
    assert_eq!(event["client"], client_id.as_str());
    assert_eq!(event["user"], "42");
    assert_eq!(event["code"], 3000);
    assert_eq!(event["reason"], "connection closed");
    assert_eq!(event["conn_info"], json!({"name": "Ann"}));
    assert_eq!(event["node"], hub.hub.info().name.as_str());
    let time_ms = event["time_ms"].as_i64().unwrap();
    assert!(
        time_ms >= before - 1000 && time_ms <= now() * 1000 + 1000,
        "{time_ms}"
    );
    let id = event["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);

    let received = attempts_of(&receiver, id);
    assert_eq!(received.len(), 1, "one attempt was enough");
    assert_signed(&received[0]);
    let headers = &received[0].headers;
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["x-duplex-webhook-id"], id);
    assert_eq!(headers["x-duplex-webhook-attempt"], "1");

    // Exactly once: nothing else comes (no subscriptions, so no unsubscribe either).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), 1, "{:#?}", receiver.all());
    assert_eq!(hub.hub.webhooks_owed(), Some(0));
}

#[tokio::test]
async fn a_lost_connection_is_a_disconnect_and_ends_its_subscriptions() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(&receiver.endpoint(), &[]).await;
    let (mut client, connected) = TestClient::connect(&hub, &token("7", None)).await;
    let client_id = connected["client"].as_str().unwrap().to_owned();
    client
        .call(json!({"subscribe": {"channel": "chat:lobby"}}))
        .await;
    drop(client); // No close frame: the TCP connection just goes.

    let events = receiver.wait_for(2).await;
    let unsubscribe = events.iter().find(|e| e["type"] == "unsubscribe").unwrap();
    let disconnect = events.iter().find(|e| e["type"] == "disconnect").unwrap();
    assert!(
        unsubscribe["time_ms"].as_i64() <= disconnect["time_ms"].as_i64(),
        "subscriptions end first: {events:#?}"
    );
    assert_eq!(unsubscribe["channel"], "chat:lobby");
    assert_eq!(unsubscribe["code"], 1);
    assert_eq!(unsubscribe["reason"], "client disconnected");
    assert_eq!(unsubscribe["client"], client_id.as_str());
    assert_eq!(disconnect["client"], client_id.as_str());
    assert_eq!(disconnect["code"], 3000);
    assert_eq!(disconnect["reason"], "connection lost");
    assert_eq!(disconnect["user"], "7");
    assert!(disconnect.get("channel").is_none());
}

#[tokio::test]
async fn every_way_out_of_a_channel_is_an_unsubscribe_event() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(
        &receiver.endpoint(),
        &[("client.expired_sub_close_delay", "0s")],
    )
    .await;
    let (mut client, connected) = TestClient::connect(&hub, &token("42", None)).await;
    let client_id = connected["client"].as_str().unwrap().to_owned();
    for channel in ["chat:a", "chat:b", "chat:c"] {
        let reply = client
            .call(json!({"subscribe": {"channel": channel}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
    }
    let reply = client
        .call(json!({"subscribe": {"channel": "private:x", "token": sub_token("42", "private:x", Some(1))}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");

    // The client unsubscribes.
    client
        .call(json!({"unsubscribe": {"channel": "chat:a"}}))
        .await;
    let event = receiver.event(|e| e["channel"] == "chat:a").await;
    assert_eq!(
        (&event["type"], &event["code"], &event["reason"]),
        (
            &json!("unsubscribe"),
            &json!(0),
            &json!("client unsubscribed")
        )
    );
    assert_eq!(event["client"], client_id.as_str());
    assert_eq!(event["user"], "42");

    // The server API unsubscribes.
    hub.api("unsubscribe", json!({"user": "42", "channel": "chat:b"}))
        .await;
    let event = receiver.event(|e| e["channel"] == "chat:b").await;
    assert_eq!(
        (&event["code"], &event["reason"]),
        (&json!(2000), &json!("server unsubscribe"))
    );

    // The subscription token expires.
    let event = receiver.event(|e| e["channel"] == "private:x").await;
    assert_eq!(
        (&event["code"], &event["reason"]),
        (&json!(2501), &json!("subscription expired"))
    );

    // The server API disconnects: the last subscription, then the connection.
    hub.api("disconnect", json!({"user": "42"})).await;
    let (code, reason) = client.closed().await;
    let event = receiver.event(|e| e["type"] == "disconnect").await;
    assert_eq!(event["code"], code);
    assert_eq!(event["reason"], reason.as_str());
    let events = receiver.wait_for(5).await;
    let last_channel = events
        .iter()
        .find(|e| e["channel"] == "chat:c")
        .expect("chat:c ended");
    assert_eq!(last_channel["code"], 1);
    assert!(last_channel["time_ms"].as_i64() <= event["time_ms"].as_i64());

    // One event per leave, no more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.delivered().len(), 5, "{:#?}", receiver.delivered());
    assert_eq!(receiver.all().len(), 5, "each was answered 200 at once");
}

#[tokio::test]
async fn a_shutdown_is_a_disconnect_event_with_its_code() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(&receiver.endpoint(), &[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    hub.hub.shutdown(Duration::ZERO).await;
    assert_eq!(client.closed().await.0, 3001);
    let event = receiver.event(|e| e["type"] == "disconnect").await;
    assert_eq!(
        (&event["code"], &event["reason"]),
        (&json!(3001), &json!("shutdown"))
    );
}

#[tokio::test]
async fn a_connection_that_never_connected_is_not_reported() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(&receiver.endpoint(), &[]).await;
    // Refused at connect (a bad token), then one that only opens and goes.
    let mut refused = TestClient::open(&hub).await;
    refused
        .send_raw(r#"{"id":1,"connect":{"token":"not-a-token"}}"#)
        .await;
    assert_eq!(refused.closed().await.0, 3500);
    TestClient::open(&hub).await.close().await;
    // A connected client afterwards is reported, and it is the only one.
    let (client, _) = TestClient::connect(&hub, &token("1", None)).await;
    client.close().await;
    receiver.event(|e| e["user"] == "1").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.all().len(), 1, "{:#?}", receiver.all());
}

#[tokio::test]
async fn webhook_events_lists_the_kinds_posted() {
    let receiver = Receiver::start().await;
    let hub = hub_posting_to(&receiver.endpoint(), &[("webhook.events", "disconnect")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("42", None)).await;
    client
        .call(json!({"subscribe": {"channel": "chat:lobby"}}))
        .await;
    client
        .call(json!({"unsubscribe": {"channel": "chat:lobby"}}))
        .await;
    client.close().await;
    receiver.event(|e| e["type"] == "disconnect").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.all().len(), 1, "{:#?}", receiver.all());
}

#[tokio::test]
async fn a_failing_endpoint_gets_the_same_event_again_until_it_answers_2xx() {
    let receiver = Receiver::start_on("127.0.0.1:0".parse().unwrap(), vec![500, 500]).await;
    let hub = hub_posting_to(&receiver.endpoint(), &[]).await;
    let (client, _) = TestClient::connect(&hub, &token("42", None)).await;
    client.close().await;

    let event = receiver.event(|e| e["type"] == "disconnect").await;
    let attempts = attempts_of(&receiver, event["id"].as_str().unwrap());
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 500, 200]);
    let numbers: Vec<&str> = attempts
        .iter()
        .map(|r| r.headers["x-duplex-webhook-attempt"].to_str().unwrap())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    for attempt in &attempts {
        assert_eq!(attempt.body, attempts[0].body, "the same body, id included");
        assert_signed(attempt);
    }
    // Delivered once: nothing more is sent, nothing is owed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.all().len(), 3);
    assert_eq!(hub.hub.webhooks_owed(), Some(0));
    let metrics = reqwest::get(format!("http://{}/metrics", hub.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "duplex_hub_webhook_events_total 1",
        "duplex_hub_webhook_delivered_total 1",
        "duplex_hub_webhook_failed_attempts_total 2",
        "duplex_hub_webhook_owed 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

#[tokio::test]
async fn events_made_while_the_endpoint_is_down_arrive_once_it_is_up() {
    let addr = dead_address().await;
    let hub = hub_posting_to(&endpoint(addr), &[]).await;
    let mut clients = Vec::new();
    for user in ["1", "2", "3"] {
        clients.push(TestClient::connect(&hub, &token(user, None)).await.0);
    }
    for client in clients {
        client.close().await;
    }
    // All three are owed, and the hub has tried (and failed) meanwhile.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hub.hub.webhooks_owed() != Some(3) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            hub.hub.webhooks_owed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hub.hub.webhooks_owed(), Some(3));

    let receiver = Receiver::start_on(addr, Vec::new()).await;
    let events = receiver.wait_for(3).await;
    let users: HashSet<&str> = events.iter().map(|e| e["user"].as_str().unwrap()).collect();
    assert_eq!(users, HashSet::from(["1", "2", "3"]));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hub.hub.webhooks_owed() != Some(0) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_event() {
    let addr = dead_address().await;
    let hub = hub_posting_to(&endpoint(addr), &[("webhook.max_queue", "2")]).await;
    for user in ["1", "2", "3"] {
        let (client, _) = TestClient::connect(&hub, &token(user, None)).await;
        client.close().await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        // Each disconnect is queued before the next client comes.
        while hub.hub.webhooks_owed() < Some(user.parse::<usize>().unwrap().min(2)) {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert_eq!(hub.hub.webhooks_owed(), Some(2));
    let receiver = Receiver::start_on(addr, Vec::new()).await;
    let events = receiver.wait_for(2).await;
    let users: HashSet<&str> = events.iter().map(|e| e["user"].as_str().unwrap()).collect();
    assert_eq!(
        users,
        HashSet::from(["2", "3"]),
        "the oldest (user 1) was dropped"
    );
    let metrics = reqwest::get(format!("http://{}/metrics", hub.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "duplex_hub_webhook_dropped_total 1"),
        "{metrics}"
    );
}

/// A hub with the test secret and webhooks to `endpoint`, its queue in `queue`, served on a
/// free port until the returned task is aborted.
async fn hub_with_queue(
    endpoint: &str,
    queue: &std::path::Path,
) -> (Hub, SocketAddr, tokio::task::JoinHandle<()>) {
    let mut config = HubConfig::default();
    config
        .set("client.token.hmac_secret_key", common::SECRET)
        .unwrap();
    config
        .set("channel.namespaces", &common::namespaces().to_string())
        .unwrap();
    for (key, value) in webhook_settings(endpoint) {
        config.set(key, &value).unwrap();
    }
    let hub = Hub::builder(config)
        .webhook_queue(queue)
        .build()
        .await
        .expect("hub");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (hub, addr, server)
}

#[tokio::test]
async fn the_events_owed_outlive_the_hub() {
    let folder = tempfile::tempdir().unwrap();
    let queue = folder.path().join("data/webhooks.sqlite3");
    let down = dead_address().await;

    let (hub, addr, server) = hub_with_queue(&endpoint(down), &queue).await;
    let served = TestHub::attach(hub.clone(), addr);
    let mut clients = Vec::new();
    for user in ["1", "2"] {
        let (mut client, _) = TestClient::connect(&served, &token(user, None)).await;
        client
            .call(json!({"subscribe": {"channel": "chat:lobby"}}))
            .await;
        clients.push(client);
    }
    for client in clients {
        client.close().await;
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hub.webhooks_owed() != Some(4) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            hub.webhooks_owed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The hub goes away with four events owed.
    server.abort();
    drop(served);
    drop(hub);
    tokio::time::sleep(Duration::from_millis(50)).await;

    let receiver = Receiver::start().await;
    let (hub, _, server) = hub_with_queue(&receiver.endpoint(), &queue).await;
    let events = receiver.wait_for(4).await;
    let mut seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["user"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("disconnect".into(), "1".into()),
            ("disconnect".into(), "2".into()),
            ("unsubscribe".into(), "1".into()),
            ("unsubscribe".into(), "2".into()),
        ]
    );
    for received in receiver.all() {
        assert_signed(&received);
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hub.webhooks_owed() != Some(0) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.abort();
}

#[test]
fn webhooks_need_an_endpoint_and_a_secret() {
    let mut config = HubConfig::default();
    config.set("webhook.enabled", "true").unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("webhook.endpoint"), "{error}");
    config.set("webhook.endpoint", "ftp://example.com").unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("webhook.endpoint"), "{error}");
    config
        .set("webhook.endpoint", "https://app.example.com/hooks")
        .unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("webhook.secret"), "{error}");
    config.set("webhook.secret", "s").unwrap();
    config.validate().expect("complete");
    let error = config.set("webhook.events", "disconnect join").unwrap_err();
    assert!(error.to_string().contains("join"), "{error}");
}
