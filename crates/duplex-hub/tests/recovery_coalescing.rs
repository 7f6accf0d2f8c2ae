//! A mass reconnect reads each channel's missed range once, not once per client: fifty clients
//! recovering one channel at the same moment cost the engine one or two history reads, and
//! each still gets exactly the publications it missed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{token, TestClient, TestHub, API_KEY, SECRET};
use duplex_hub::config::HubConfig;
use duplex_hub::engine::{
    Broker, BrokerEvents, ClientInfo, Engine, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions,
};
use duplex_hub::Hub;
use serde_json::json;

/// The memory engine's broker, with a slow disk's latency on history reads, counting the reads
/// that recover from a position.
struct Counting {
    inner: Arc<dyn Broker>,
    recoveries: AtomicUsize,
}

#[async_trait]
impl Broker for Counting {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        self.inner.start(events).await
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
        if query.since.is_some() {
            self.recoveries.fetch_add(1, Ordering::SeqCst);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.inner.history(channel, query, stream).await
    }
    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        self.inner.remove_history(channel).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_recovering_one_channel_share_one_engine_read() {
    let memory = Engine::memory();
    let counting = Arc::new(Counting {
        inner: memory.broker.clone(),
        recoveries: AtomicUsize::new(0),
    });
    let engine = Engine {
        broker: counting.clone(),
        presence: memory.presence,
    };
    let mut config = HubConfig::default();
    config.set("client.token.hmac_secret_key", SECRET).unwrap();
    config.set("http_api.key", API_KEY).unwrap();
    config
        .set("channel.namespaces", &common::namespaces().to_string())
        .unwrap();
    let hub = Hub::builder(config).engine(engine).build().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let hub = TestHub::attach(hub, addr);

    let mut epoch = String::new();
    for n in 1..=10 {
        epoch = hub
            .hub
            .publish("chat:busy", json!({"n": n}).to_string())
            .await
            .unwrap()
            .unwrap()
            .epoch;
    }
    let mut clients = Vec::new();
    for n in 0..50 {
        let (client, _) = TestClient::connect(&hub, &token(&format!("u{n}"), None)).await;
        clients.push(client);
    }
    assert_eq!(counting.recoveries.load(Ordering::SeqCst), 0);

    // Everyone comes back at once from offset 4, after the hub restarted, say.
    let recoveries: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let epoch = epoch.clone();
            tokio::spawn(async move {
                let subscribe = json!({"subscribe": {
                    "channel": "chat:busy", "recover": true, "offset": 4, "epoch": epoch
                }});
                let reply = client.call(subscribe).await;
                (client, reply)
            })
        })
        .collect();
    for recovery in recoveries {
        let (_client, reply) = recovery.await.unwrap();
        let result = &reply["subscribe"];
        assert_eq!(result["recovered"], true, "{reply}");
        let got: Vec<_> = result["publications"]
            .as_array()
            .expect("publications")
            .iter()
            .map(|p| {
                (
                    p["offset"].as_u64().unwrap(),
                    p["data"]["n"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, (5..=10).map(|n| (n, n)).collect::<Vec<_>>(), "{reply}");
    }
    let reads = counting.recoveries.load(Ordering::SeqCst);
    assert!(
        (1..=3).contains(&reads),
        "{reads} engine reads for 50 recoveries"
    );
}
