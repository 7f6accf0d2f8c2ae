//! A hub on a free loopback port and a client that speaks the JSON client protocol by hand, as
//! the SDKs put it on the wire, for the tests over real sockets; `postgres`, `redis` and `nats`
//! start a PostgreSQL, a Redis or a NATS server of the test's own.

#![allow(dead_code)] // each test file uses its own part

pub mod intercept;
pub mod nats;
pub mod postgres;
pub mod redis;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use duplex::proto::{Event, Message};
use duplex::{ClientBuilder, MaybeTlsStream, WebSocket};
use duplex_hub::config::HubConfig;
use duplex_hub::Hub;
use serde_json::{json, Value};
use tokio::net::TcpStream;

pub const SECRET: &str = "test-secret";
pub const API_KEY: &str = "test-api-key";

/// How long a test waits for anything before it fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Namespaces most tests use: `chat` open to subscribers with history, presence and
/// join/leave; `private` needs a subscription token; `users` counts users once in presence;
/// `dialog` is user-limited; `open` lets any client publish.
pub fn namespaces() -> Value {
    json!([
        {"name": "chat", "presence": true, "join_leave": true, "force_push_join_leave": true,
         "history_size": 2000, "history_ttl": "300s", "force_recovery": true,
         "allow_subscribe_for_client": true, "allow_publish_for_subscriber": true,
         "allow_presence_for_subscriber": true, "allow_history_for_subscriber": true},
        {"name": "small", "history_size": 10, "history_ttl": "300s", "force_recovery": true,
         "allow_subscribe_for_client": true},
        {"name": "private", "presence": true, "allow_presence_for_subscriber": true},
        {"name": "users", "presence": true, "user_presence": true, "join_leave": true,
         "force_push_join_leave": true, "allow_subscribe_for_client": true,
         "allow_presence_for_subscriber": true},
        {"name": "dialog", "allow_user_limited_channels": true},
        {"name": "open", "allow_subscribe_for_client": true, "allow_publish_for_client": true},
        {"name": "conflate", "allow_subscribe_for_client": true, "slow_consumer": "conflate"},
        {"name": "dropping", "allow_subscribe_for_client": true, "slow_consumer": "drop_oldest"}
    ])
}

/// The test secret, API key and namespaces.
fn base_config() -> HubConfig {
    let mut config = HubConfig::default();
    config
        .set("client.token.hmac_secret_key", SECRET)
        .expect("secret");
    config.set("http_api.key", API_KEY).expect("api key");
    config
        .set("channel.namespaces", &namespaces().to_string())
        .expect("namespaces");
    config
}

/// A running hub.
pub struct TestHub {
    pub hub: Hub,
    pub addr: SocketAddr,
    http: reqwest::Client,
}

impl TestHub {
    /// A hub with the test secret, API key and namespaces, then `settings` on top.
    pub async fn start(settings: &[(&str, &str)]) -> TestHub {
        let mut config = base_config();
        for (key, value) in settings {
            config.set(key, value).expect(key);
        }
        TestHub::with_config(config).await
    }

    /// A hub with the test secret, API key and namespaces, on `engine`.
    pub async fn with_engine(engine: duplex_hub::engine::Engine) -> TestHub {
        let hub = Hub::builder(base_config())
            .engine(engine)
            .build()
            .await
            .expect("hub");
        TestHub::serve(hub).await
    }

    /// A hub with exactly this configuration.
    pub async fn with_config(config: HubConfig) -> TestHub {
        let hub = Hub::new(config).await.expect("hub");
        TestHub::serve(hub).await
    }

    /// Serves `hub` on a free loopback port.
    async fn serve(hub: Hub) -> TestHub {
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

    /// A hub that an application serves itself.
    pub fn attach(hub: Hub, addr: SocketAddr) -> TestHub {
        TestHub {
            hub,
            addr,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    /// Calls the server API as a backend does.
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
            "{method}: status {}",
            response.status()
        );
        response.json().await.expect("api reply")
    }

    /// A raw server API response, for checking statuses.
    pub async fn api_response(
        &self,
        method: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let mut request = self
            .http
            .post(format!("http://{}/api/{method}", self.addr))
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("api call");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }
}

/// An HS256 connection token for `user`, expiring `ttl` seconds from now (none if `None`).
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
        claims["exp"] = json!(now() + ttl);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// A client speaking the JSON protocol.
pub struct TestClient {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u32,
    replies: HashMap<u32, Value>,
    pushes: VecDeque<Value>,
    /// Answer server pings (as SDKs do).
    pub answer_pings: bool,
    pub pings: usize,
    /// WebSocket messages read so far (one may carry several replies and pushes).
    pub messages: usize,
}

impl TestClient {
    /// A WebSocket to the hub, before any command.
    pub async fn open(hub: &TestHub) -> TestClient {
        TestClient::open_with(hub, ClientBuilder::new()).await
    }

    pub async fn open_with(hub: &TestHub, builder: ClientBuilder) -> TestClient {
        let (ws, _) = builder.connect(&hub.url()).await.expect("websocket");
        TestClient {
            ws,
            next_id: 0,
            replies: HashMap::new(),
            pushes: VecDeque::new(),
            answer_pings: true,
            pings: 0,
            messages: 0,
        }
    }

    /// Opens and connects with `token`; returns the client and the connect result.
    pub async fn connect(hub: &TestHub, token: &str) -> (TestClient, Value) {
        let mut client = TestClient::open(hub).await;
        let reply = client
            .call(json!({"connect": {"token": token, "name": "test"}}))
            .await;
        let result = reply
            .get("connect")
            .cloned()
            .unwrap_or_else(|| panic!("connect failed: {reply}"));
        (client, result)
    }

    /// Sends a text frame as it is.
    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_owned()))
            .await
            .expect("send");
    }

    /// Sends a command with the next id and waits for its reply (the whole reply object).
    pub async fn call(&mut self, mut command: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        command["id"] = json!(id);
        self.send_raw(&command.to_string()).await;
        self.reply(id).await
    }

    /// Waits for the reply to command `id`.
    pub async fn reply(&mut self, id: u32) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(reply) = self.replies.remove(&id) {
                return reply;
            }
            self.read_until(deadline)
                .await
                .expect("connection closed while waiting for a reply");
        }
    }

    /// The next push (publication, join, leave, subscribe, unsubscribe...).
    pub async fn push(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(push) = self.pushes.pop_front() {
                return push;
            }
            if let Err(close) = self.read_until(deadline).await {
                panic!("connection closed while waiting for a push: {close:?}");
            }
        }
    }

    /// The next publication's push in `channel`, skipping other pushes of that channel.
    pub async fn publication(&mut self, channel: &str) -> Value {
        loop {
            let push = self.push().await;
            if push["channel"] == channel {
                if let Some(publication) = push.get("pub") {
                    return publication.clone();
                }
            }
        }
    }

    /// Whether a push arrives within `wait`.
    pub async fn no_push_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        while self.pushes.is_empty() {
            match tokio::time::timeout_at(deadline, self.read_one()).await {
                Err(_) => return true,
                Ok(Err(_)) => return true,
                Ok(Ok(())) => {}
            }
        }
        false
    }

    /// Closes the connection as an SDK's `disconnect()` does: a close frame, then the
    /// server's answer.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(PATIENCE, self.ws.close(1000u16, "")).await;
    }

    /// Waits for the server to close; returns its close code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Err(close) = self.read_until(deadline).await {
                return close;
            }
        }
    }

    async fn read_until(&mut self, deadline: tokio::time::Instant) -> Result<(), (u16, String)> {
        tokio::time::timeout_at(deadline, self.read_one())
            .await
            .expect("timed out waiting for the hub")
    }

    /// Reads one WebSocket message and files its replies and pushes.
    async fn read_one(&mut self) -> Result<(), (u16, String)> {
        loop {
            match self.ws.next_event().await {
                Ok(Event::Message(message)) => {
                    self.messages += 1;
                    let text = message.as_text().expect("JSON frames are text").to_owned();
                    for line in text.split('\n').filter(|l| !l.is_empty()) {
                        let value: Value = serde_json::from_str(line)
                            .unwrap_or_else(|e| panic!("bad JSON from the hub: {e}: {line}"));
                        self.file(value).await;
                    }
                    return Ok(());
                }
                Ok(Event::Close(frame)) => {
                    return Err(
                        frame.map_or((1005, String::new()), |f| (f.code.0, f.reason.to_string()))
                    )
                }
                Ok(_) => continue,
                Err(_) => return Err((1006, String::new())),
            }
        }
    }

    async fn file(&mut self, value: Value) {
        if value.as_object().is_some_and(|o| o.is_empty()) {
            self.pings += 1;
            if self.answer_pings {
                self.send_raw("{}").await;
            }
            return;
        }
        match value.get("id").and_then(Value::as_u64) {
            Some(id) if id > 0 => {
                self.replies.insert(id as u32, value);
            }
            _ => {
                let push = value.get("push").cloned().unwrap_or(value);
                self.pushes.push_back(push);
            }
        }
    }
}
