//! A node that misses live publications (a networked engine dropped them, or lost its
//! connection) never hands its subscribers the next one as if nothing happened: it sends them
//! back to history with unsubscribe 2500, and they recover exactly what they missed.
//!
//! The engine here is the memory engine behind a filter that drops chosen deliveries, the way
//! Redis pub/sub drops what is published while a node's subscriber connection is down.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use common::{namespaces, token, TestClient, TestHub, API_KEY, SECRET};
use duplex_hub::config::HubConfig;
use duplex_hub::engine::{
    Broker, BrokerEvents, ClientInfo, Engine, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions,
};
use duplex_hub::Hub;
use serde_json::{json, Value};

/// The memory broker, with deliveries of chosen offsets dropped on the way to the hub.
struct Lossy {
    inner: Arc<dyn Broker>,
    filter: Arc<Filter>,
}

struct Filter {
    hub: OnceLock<Arc<dyn BrokerEvents>>,
    drop_offsets: Mutex<Vec<u64>>,
}

impl BrokerEvents for Filter {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        if self
            .drop_offsets
            .lock()
            .unwrap()
            .contains(&publication.offset)
        {
            return;
        }
        self.hub
            .get()
            .unwrap()
            .on_publication(channel, publication, epoch);
    }
    fn on_join(&self, channel: &str, info: &ClientInfo) {
        self.hub.get().unwrap().on_join(channel, info);
    }
    fn on_leave(&self, channel: &str, info: &ClientInfo) {
        self.hub.get().unwrap().on_leave(channel, info);
    }
}

#[async_trait]
impl Broker for Lossy {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        let _ = self.filter.hub.set(events);
        self.inner.start(self.filter.clone()).await
    }
    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.subscribe(channel).await
    }
    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.unsubscribe(channel).await
    }
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        self.inner.publish(channel, publication, options).await
    }
    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.inner.publish_join(channel, info).await
    }
    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        self.inner.publish_leave(channel, info).await
    }
    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        self.inner.history(channel, query, stream).await
    }
    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.remove_history(channel).await
    }
}

/// A hub on the lossy broker, dropping deliveries of `drop_offsets`.
async fn lossy_hub(drop_offsets: &[u64]) -> (TestHub, Arc<Filter>) {
    let memory = Engine::memory();
    let filter = Arc::new(Filter {
        hub: OnceLock::new(),
        drop_offsets: Mutex::new(drop_offsets.to_vec()),
    });
    let engine = Engine {
        broker: Arc::new(Lossy {
            inner: memory.broker,
            filter: filter.clone(),
        }),
        presence: memory.presence,
    };
    let mut config = HubConfig::default();
    config.set("client.token.hmac_secret_key", SECRET).unwrap();
    config.set("http_api.key", API_KEY).unwrap();
    config
        .set("channel.namespaces", &namespaces().to_string())
        .unwrap();
    let hub = Hub::builder(config).engine(engine).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (TestHub::attach(hub, addr), filter)
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
    let (hub, filter) = lossy_hub(&[]).await;
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
    filter
        .hub
        .get()
        .unwrap()
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
