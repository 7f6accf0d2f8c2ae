//! The Redis engine as a cluster sees it: two engines on one Redis stand for two hub nodes, and
//! the Redis server is stopped and restarted under them. What the contract suite cannot show
//! with one engine: sharing between nodes, a node's presence expiring when it stops refreshing,
//! a Redis that lost everything starting new epochs, and failing fast then recovering (pub/sub
//! resubscribed) when Redis goes away and comes back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::redis::Redis;
use duplex_hub::engine::redis::RedisConfig;
use duplex_hub::engine::{
    BrokerEvents, ClientInfo, Engine, EngineError, HistoryQuery, Publication, PublishOptions,
    StreamOptions,
};

/// What one node's hub received.
#[derive(Default)]
struct Received {
    publications: Mutex<Vec<(String, Publication, String)>>,
    joins: Mutex<Vec<(String, ClientInfo)>>,
}

impl Received {
    async fn publications_within(
        &self,
        count: usize,
        wait: Duration,
    ) -> Vec<(String, Publication, String)> {
        let deadline = Instant::now() + wait;
        loop {
            let seen = self.publications.lock().unwrap().clone();
            if seen.len() >= count || Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl BrokerEvents for Received {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        self.publications.lock().unwrap().push((
            channel.to_owned(),
            publication.clone(),
            epoch.to_owned(),
        ));
    }
    fn on_join(&self, channel: &str, info: &ClientInfo) {
        self.joins
            .lock()
            .unwrap()
            .push((channel.to_owned(), info.clone()));
    }
    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

/// A started node on `redis` with a short io timeout, so failures show quickly.
async fn node(redis: &Redis, prefix: &str) -> (Engine, Arc<Received>) {
    let mut config = RedisConfig::new([redis.address()]);
    config.prefix = prefix.to_owned();
    config.io_timeout = Duration::from_secs(1);
    config.connect_timeout = Duration::from_millis(500);
    let engine = Engine::redis(config).await.expect("engine");
    let received = Arc::new(Received::default());
    engine.broker.start(received.clone()).await.expect("start");
    (engine, received)
}

fn prefix() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

fn stream() -> StreamOptions {
    StreamOptions::new(100, Duration::from_secs(60))
}

fn with_history() -> PublishOptions {
    PublishOptions {
        stream: Some(stream()),
        ..PublishOptions::default()
    }
}

fn text(data: &str) -> Publication {
    Publication {
        data: data.to_owned().into(),
        ..Publication::default()
    }
}

fn client(user: &str, client: &str) -> ClientInfo {
    ClientInfo {
        user: user.to_owned(),
        client: client.to_owned(),
        ..ClientInfo::default()
    }
}

/// Retries `call` while the engine is unavailable (reconnecting), for at most `wait`.
async fn once_available<T, F, Fut>(wait: Duration, mut call: F) -> Result<T, EngineError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, EngineError>>,
{
    let deadline = Instant::now() + wait;
    loop {
        match call().await {
            Err(EngineError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => return other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_publications_history_and_presence() {
    let Some(redis) = Redis::start("two_nodes_share") else {
        return;
    };
    let prefix = prefix();
    let (a, _) = node(&redis, &prefix).await;
    let (b, b_received) = node(&redis, &prefix).await;

    b.broker.subscribe("chat:lobby").await.unwrap();
    let outcome = a
        .broker
        .publish("chat:lobby", text("from a"), &with_history())
        .await
        .unwrap();
    let seen = b_received
        .publications_within(1, Duration::from_secs(5))
        .await;
    assert_eq!(seen.len(), 1, "a publication on node A reaches node B");
    assert_eq!(seen[0].1.data, "from a");
    assert_eq!(
        (seen[0].1.offset, seen[0].2.as_str()),
        (1, outcome.position.epoch.as_str())
    );

    let page = b
        .broker
        .history("chat:lobby", &HistoryQuery::default(), &stream())
        .await
        .unwrap();
    assert_eq!(page.position, outcome.position, "one stream for both nodes");
    assert_eq!(page.publications[0].data, "from a");

    b.broker
        .publish_join("chat:lobby", &client("42", "on-a"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while b_received.joins.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b_received.joins.lock().unwrap().len(), 1);

    let long = Duration::from_secs(60);
    let first = a
        .presence
        .add_presence("chat:lobby", &client("42", "on-a"), long)
        .await
        .unwrap();
    let second = b
        .presence
        .add_presence("chat:lobby", &client("42", "on-b"), long)
        .await
        .unwrap();
    assert_eq!(
        (first, second),
        (true, false),
        "the user joins once across nodes"
    );
    let present = b.presence.presence("chat:lobby").await.unwrap();
    assert_eq!(present.len(), 2, "node B sees node A's client: {present:?}");
    assert!(!a
        .presence
        .remove_presence("chat:lobby", "on-a", "42")
        .await
        .unwrap());
    assert!(
        b.presence
            .remove_presence("chat:lobby", "on-b", "42")
            .await
            .unwrap(),
        "the user leaves with its last client, whichever node had it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_refreshing_loses_its_presence_within_the_ttl() {
    let Some(redis) = Redis::start("presence_ttl") else {
        return;
    };
    let prefix = prefix();
    let (crashed, _) = node(&redis, &prefix).await;
    let (alive, _) = node(&redis, &prefix).await;
    let ttl = Duration::from_millis(500);
    crashed
        .presence
        .add_presence("room", &client("1", "gone"), ttl)
        .await
        .unwrap();
    drop(crashed);
    alive
        .presence
        .add_presence("room", &client("2", "here"), ttl)
        .await
        .unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        alive
            .presence
            .add_presence("room", &client("2", "here"), ttl)
            .await
            .unwrap();
    }
    let present = alive.presence.presence("room").await.unwrap();
    assert_eq!(present.keys().collect::<Vec<_>>(), ["here"]);
    assert_eq!(
        alive
            .presence
            .presence_stats("room")
            .await
            .unwrap()
            .num_users,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_without_persistence_starts_new_epochs() {
    let Some(mut redis) = Redis::start("new_epoch") else {
        return;
    };
    let (engine, _) = node(&redis, &prefix()).await;
    let before = engine
        .broker
        .publish("news", text("kept?"), &with_history())
        .await
        .unwrap()
        .position;

    redis.stop();
    redis.start_again();

    let query = HistoryQuery {
        since: Some(before.clone()),
        ..HistoryQuery::default()
    };
    let shape = stream();
    let recovery = once_available(Duration::from_secs(10), || {
        engine.broker.history("news", &query, &shape)
    })
    .await;
    assert_eq!(
        recovery,
        Err(EngineError::UnrecoverablePosition),
        "clients learn recovered: false"
    );
    let after = engine
        .broker
        .publish("news", text("new"), &with_history())
        .await
        .unwrap();
    assert_eq!(after.position.offset, 1);
    assert_ne!(after.position.epoch, before.epoch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_then_events_flow_again_after_restart() {
    let Some(mut redis) = Redis::start("down_and_back") else {
        return;
    };
    let prefix = prefix();
    let (subscriber, received) = node(&redis, &prefix).await;
    let (publisher, _) = node(&redis, &prefix).await;
    subscriber.broker.subscribe("live").await.unwrap();
    assert!(subscriber.broker.healthy());

    redis.stop();
    let started = Instant::now();
    let published = publisher
        .broker
        .publish("live", text("lost"), &with_history())
        .await;
    assert!(
        matches!(published, Err(EngineError::Unavailable(_))),
        "{published:?}"
    );
    let subscribed = subscriber.broker.subscribe("other").await;
    assert!(
        matches!(subscribed, Err(EngineError::Unavailable(_))),
        "{subscribed:?}"
    );
    let presence = subscriber.presence.presence("live").await;
    assert!(
        matches!(presence, Err(EngineError::Unavailable(_))),
        "{presence:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "bounded: {:?}",
        started.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while subscriber.broker.healthy() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !subscriber.broker.healthy(),
        "the lost pub/sub connection shows in health"
    );

    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !subscriber.broker.healthy() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(subscriber.broker.healthy(), "reconnected");
    let options = with_history();
    once_available(Duration::from_secs(10), || {
        publisher.broker.publish("live", text("back"), &options)
    })
    .await
    .unwrap();
    let seen = received
        .publications_within(1, Duration::from_secs(5))
        .await;
    let data: Vec<_> = seen.iter().map(|(_, p, _)| p.data.clone()).collect();
    assert_eq!(
        data,
        ["back"],
        "the channel was subscribed again after the reconnect"
    );
    subscriber.broker.subscribe("other").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_503_while_redis_is_down() {
    let Some(mut redis) = Redis::start("health") else {
        return;
    };
    let address = redis.address();
    let prefix = prefix();
    let hub = common::TestHub::start(&[
        ("engine.type", "redis"),
        ("engine.redis.address", address.as_str()),
        ("engine.redis.prefix", prefix.as_str()),
        ("engine.redis.io_timeout", "1s"),
    ])
    .await;
    let health = || async {
        reqwest::get(format!("http://{}/health", hub.addr))
            .await
            .expect("health")
            .status()
            .as_u16()
    };
    assert_eq!(health().await, 200);
    redis.stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    while health().await == 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health().await, 503);
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    while health().await != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(health().await, 200);
}

/// A hub on `redis` under `prefix`.
async fn hub_on(redis: &Redis, prefix: &str) -> common::TestHub {
    let address = redis.address();
    common::TestHub::start(&[
        ("engine.type", "redis"),
        ("engine.redis.address", address.as_str()),
        ("engine.redis.prefix", prefix),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_redis_serve_as_one() {
    use serde_json::json;
    let Some(redis) = Redis::start("two_hubs") else {
        return;
    };
    let prefix = prefix();
    let (a, b) = (hub_on(&redis, &prefix).await, hub_on(&redis, &prefix).await);
    let (mut alice, _) = common::TestClient::connect(&a, &common::token("alice", None)).await;
    let (mut bob, _) = common::TestClient::connect(&b, &common::token("bob", None)).await;
    let reply = alice
        .call(json!({"subscribe": {"channel": "chat:both"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
    let reply = bob
        .call(json!({"subscribe": {"channel": "chat:both"}}))
        .await;
    let epoch = reply["subscribe"]["epoch"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!epoch.is_empty(), "{reply}");
    // Alice's own join comes first; then bob's, from hub B (a missing one times out).
    loop {
        let push = alice.push().await;
        if push["join"]["info"]["user"] == "bob" {
            break;
        }
        assert_eq!(push["join"]["info"]["user"], "alice", "{push}");
    }

    b.api("publish", json!({"channel": "chat:both", "data": {"n": 1}}))
        .await;
    let publication = alice.publication("chat:both").await;
    assert_eq!(
        publication["data"],
        json!({"n": 1}),
        "published on B, delivered on A"
    );
    assert_eq!(publication["offset"], 1);

    let reply = a.api("presence", json!({"channel": "chat:both"})).await;
    let clients = reply["result"]["presence"]
        .as_object()
        .expect("presence map")
        .len();
    assert_eq!(clients, 2, "hub A sees hub B's client: {reply}");
    let reply = a
        .api("history", json!({"channel": "chat:both", "limit": 10}))
        .await;
    assert_eq!(
        reply["result"]["epoch"],
        epoch.as_str(),
        "one stream: {reply}"
    );
    assert_eq!(reply["result"]["publications"][0]["data"], json!({"n": 1}));
}
