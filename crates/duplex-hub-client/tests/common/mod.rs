//! A hub in this process on a free loopback port (as duplex-hub's own tests start one), tokens
//! signed with its secret, and waiting for the client's events with a time limit.

#![allow(dead_code)] // each test file uses its own part

use std::net::SocketAddr;
use std::time::Duration;

use duplex_hub::callbacks::Handler;
use duplex_hub::config::HubConfig;
use duplex_hub_client::{Client, ClientBuilder, Event, Events};
use serde_json::{json, Value};

pub const SECRET: &str = "client-test-secret";
pub const API_KEY: &str = "client-test-api-key";

/// How long a test waits for anything before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// `chat`: open to subscribers, with history, presence and join/leave; `private`: needs a
/// subscription token.
fn namespaces() -> Value {
    json!([
        {"name": "chat", "presence": true, "join_leave": true, "force_push_join_leave": true,
         "history_size": 2000, "history_ttl": "300s", "force_recovery": true,
         "allow_subscribe_for_client": true, "allow_publish_for_subscriber": true,
         "allow_presence_for_subscriber": true, "allow_history_for_subscriber": true},
        {"name": "private", "history_size": 100, "history_ttl": "300s", "force_recovery": true}
    ])
}

/// A running hub.
pub struct TestHub {
    pub hub: duplex_hub::Hub,
    pub addr: SocketAddr,
    http: reqwest::Client,
}

impl TestHub {
    /// A hub with the test secret, API key and namespaces, then `settings` on top.
    pub async fn start(settings: &[(&str, &str)]) -> TestHub {
        TestHub::start_with(settings, duplex_hub::callbacks::NoHandler).await
    }

    /// The same, with the application's hooks.
    pub async fn start_with(settings: &[(&str, &str)], handler: impl Handler) -> TestHub {
        let mut config = HubConfig::default();
        config
            .set("client.token.hmac_secret_key", SECRET)
            .expect("secret");
        config.set("http_api.key", API_KEY).expect("api key");
        config
            .set("channel.namespaces", &namespaces().to_string())
            .expect("namespaces");
        for (key, value) in settings {
            config.set(key, value).expect(key);
        }
        let hub = duplex_hub::Hub::builder(config)
            .handler(handler)
            .build()
            .await
            .expect("hub");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = hub.router();
        tokio::spawn(async move { axum::serve(listener, app).await });
        TestHub {
            hub,
            addr,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// A client of this hub with quick reconnects (10–100 ms).
    pub fn client(&self) -> ClientBuilder {
        ClientBuilder::new(self.url())
            .reconnect_delay(Duration::from_millis(10), Duration::from_millis(100))
            .request_timeout(PATIENCE)
    }

    /// Calls the server API as a backend does; the whole answer.
    pub async fn api(&self, method: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("http://{}/api/{method}", self.addr))
            .header("X-API-Key", API_KEY)
            .json(&body)
            .send()
            .await
            .expect("api call");
        assert!(
            response.status().is_success(),
            "{method}: {}",
            response.status()
        );
        response.json().await.expect("api reply")
    }
}

/// An HS256 connection token for `user`, expiring `ttl` seconds from now (never if `None`).
pub fn token(user: &str, ttl: Option<i64>) -> String {
    claims_token(json!({"sub": user}), ttl)
}

/// A subscription token for `user` and `channel`.
pub fn sub_token(user: &str, channel: &str, ttl: Option<i64>) -> String {
    claims_token(json!({"sub": user, "channel": channel}), ttl)
}

/// A token with these claims, and `exp` when `ttl` is given.
pub fn claims_token(mut claims: Value, ttl: Option<i64>) -> String {
    if let Some(ttl) = ttl {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        claims["exp"] = json!(now + ttl);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

/// The next event, within [`PATIENCE`].
pub async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event in time")
        .expect("the client is running")
}

/// Waits for the first event `wanted` accepts; returns it and the events before it.
pub async fn until(events: &mut Events, wanted: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
    let mut before = Vec::new();
    loop {
        let event = next(events).await;
        if wanted(&event) {
            return (event, before);
        }
        before.push(event);
    }
}

/// Waits until the client is connected; its client id.
pub async fn connected(events: &mut Events) -> String {
    match until(events, |e| matches!(e, Event::Connected { .. })).await {
        (Event::Connected { client, .. }, _) => client,
        _ => unreachable!(),
    }
}

/// Waits until `channel` is subscribed; the Subscribed event.
pub async fn subscribed(events: &mut Events, channel: &str) -> Event {
    until(
        events,
        |e| matches!(e, Event::Subscribed { channel: c, .. } if c == channel),
    )
    .await
    .0
}

/// The next `count` publications (skipping other events): data as JSON, and offsets.
pub async fn publications(events: &mut Events, count: usize) -> Vec<(Value, u64)> {
    let mut found = Vec::new();
    while found.len() < count {
        if let Event::Publication { data, offset, .. } = next(events).await {
            let data = serde_json::from_slice(&data).expect("JSON data");
            found.push((data, offset));
        }
    }
    found
}

/// A connected client of user `user` and its events.
pub async fn connect(hub: &TestHub, user: &str) -> (Client, Events) {
    let (client, mut events) = hub.client().token(token(user, None)).connect();
    connected(&mut events).await;
    (client, events)
}
