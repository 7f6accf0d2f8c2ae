//! The Redis engine as a cluster sees it: two engines on one Redis stand for two hub nodes, and
//! the Redis server is stopped and restarted under them. What the contract suite cannot show
//! with one engine: sharing between nodes, a node's presence expiring when it stops refreshing,
//! a Redis that lost everything starting new epochs, and failing fast then recovering (pub/sub
//! resubscribed) when Redis goes away and comes back. And the same engine on a Redis Cluster of
//! three primaries: channels spread over the primaries with sharded pub/sub, and a primary that
//! restarts empty is noticed, waited for and recovered from.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::redis::{Redis, RedisCluster};
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
    /// Channels the engine said may have lost events.
    lost: Mutex<Vec<String>>,
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
    fn on_events_lost(&self, channels: &[String]) {
        self.lost.lock().unwrap().extend_from_slice(channels);
    }
}

/// A started node on `redis` with a short io timeout, so failures show quickly.
async fn node(redis: &Redis, prefix: &str) -> (Engine, Arc<Received>) {
    node_with(RedisConfig::new([redis.address()]), prefix).await
}

/// A started node with `config`, its prefix and short timeouts.
async fn node_with(mut config: RedisConfig, prefix: &str) -> (Engine, Arc<Received>) {
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
    assert_eq!(
        *received.lost.lock().unwrap(),
        ["live"],
        "the hub is told which of its channels may have missed publications"
    );
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

/// Waits until `healthy` is `want`, for at most `wait`.
async fn health_becomes(engine: &Engine, want: bool, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while engine.broker.healthy() != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    engine.broker.healthy() == want
}

/// The primary of `cluster` that owns `channel`'s keys (hash tag `{channel}`).
fn owner(cluster: &RedisCluster, channel: &str) -> usize {
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(format!("{{{channel}}}"))
        .query(&mut cluster.nodes[0].client())
        .unwrap();
    cluster
        .nodes
        .iter()
        .position(|node| {
            let slots: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
                .arg("SLOTS")
                .query(&mut node.client())
                .unwrap();
            slots.iter().any(|range| {
                let bound = |i: usize| redis::from_redis_value_ref::<u16>(&range[i]).unwrap();
                let port = match &range[2] {
                    redis::Value::Array(address) => {
                        redis::from_redis_value_ref::<u16>(&address[1]).unwrap()
                    }
                    other => panic!("CLUSTER SLOTS: {other:?}"),
                };
                (bound(0)..=bound(1)).contains(&slot) && port == node.port()
            })
        })
        .expect("a primary owns every slot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_spreads_channels_over_its_primaries_with_sharded_pubsub() {
    let Some(cluster) = RedisCluster::start("cluster_spread") else {
        return;
    };
    let prefix = prefix();
    let (subscriber, received) = node_with(RedisConfig::cluster(cluster.seeds()), &prefix).await;
    let (publisher, _) = node_with(RedisConfig::cluster(cluster.seeds()), &prefix).await;
    let channels: Vec<String> = (0..30).map(|n| format!("room:{n}")).collect();
    for channel in &channels {
        subscriber.broker.subscribe(channel).await.unwrap();
    }
    for (n, channel) in channels.iter().enumerate() {
        let outcome = publisher
            .broker
            .publish(channel, text(&n.to_string()), &with_history())
            .await
            .unwrap();
        assert_eq!(outcome.position.offset, 1);
    }
    let seen = received
        .publications_within(30, Duration::from_secs(5))
        .await;
    let mut delivered: Vec<String> = seen.iter().map(|(channel, _, _)| channel.clone()).collect();
    delivered.sort();
    let mut expected = channels.clone();
    expected.sort();
    assert_eq!(delivered, expected, "each publication once, on its channel");

    // Each primary holds some of the channels' history and their sharded subscriptions, and
    // exactly the ones whose slots it owns.
    let mut per_node = [0usize; 3];
    for channel in &channels {
        per_node[owner(&cluster, channel)] += 1;
    }
    for (index, node) in cluster.nodes.iter().enumerate() {
        let shard_channels: Vec<String> = redis::cmd("PUBSUB")
            .arg("SHARDCHANNELS")
            .arg(format!("{prefix}:*"))
            .query(&mut node.client())
            .unwrap();
        assert_eq!(
            shard_channels.len(),
            per_node[index],
            "node {index}: {shard_channels:?}"
        );
        assert!(
            per_node[index] > 0,
            "30 channels land on every primary: {per_node:?}"
        );
        let classic: Vec<String> = redis::cmd("PUBSUB")
            .arg("CHANNELS")
            .arg(format!("{prefix}:*"))
            .query(&mut node.client())
            .unwrap();
        assert!(classic.is_empty(), "no classic pub/sub: {classic:?}");
    }
    // History and presence answer from any node.
    let history = subscriber
        .broker
        .history("room:7", &HistoryQuery::default(), &stream())
        .await
        .unwrap();
    assert_eq!(history.publications.len(), 1);
    publisher
        .presence
        .add_presence("room:7", &client("alice", "c1"), Duration::from_secs(60))
        .await
        .unwrap();
    let present = subscriber.presence.presence("room:7").await.unwrap();
    assert_eq!(present.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_primary_restarted_empty_is_waited_for_then_recovered_from() {
    let Some(mut cluster) = RedisCluster::start("cluster_restart") else {
        return;
    };
    let prefix = prefix();
    let (subscriber, received) = node_with(RedisConfig::cluster(cluster.seeds()), &prefix).await;
    let (publisher, _) = node_with(RedisConfig::cluster(cluster.seeds()), &prefix).await;
    let channel = (0..)
        .map(|n| format!("feed:{n}"))
        .find(|channel| owner(&cluster, channel) == 0)
        .unwrap();
    subscriber.broker.subscribe(&channel).await.unwrap();
    let before = publisher
        .broker
        .publish(&channel, text("before"), &with_history())
        .await
        .unwrap();
    assert_eq!(
        received
            .publications_within(1, Duration::from_secs(5))
            .await
            .len(),
        1
    );

    cluster.nodes[0].stop();
    assert!(
        health_becomes(&subscriber, false, Duration::from_secs(10)).await,
        "a primary gone shows in health"
    );
    let started = Instant::now();
    let published = publisher
        .broker
        .publish(&channel, text("lost"), &with_history())
        .await;
    assert!(
        matches!(published, Err(EngineError::Unavailable(_))),
        "{published:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );

    cluster.nodes[0].start_again();
    cluster.wait_until_ok();
    assert!(
        health_becomes(&subscriber, true, Duration::from_secs(20)).await,
        "healthy again once every primary answers"
    );
    assert!(
        received.lost.lock().unwrap().contains(&channel),
        "the hub is told the channel may have lost events"
    );
    let options = with_history();
    let after = once_available(Duration::from_secs(10), || {
        publisher.broker.publish(&channel, text("after"), &options)
    })
    .await
    .unwrap();
    assert_eq!(
        after.position.offset, 1,
        "the restarted primary lost the stream"
    );
    assert_ne!(
        after.position.epoch, before.position.epoch,
        "so a new epoch: no silent gap"
    );
    let seen = received
        .publications_within(2, Duration::from_secs(5))
        .await;
    let data: Vec<_> = seen.iter().map(|(_, p, _)| p.data.clone()).collect();
    assert_eq!(
        data,
        ["before", "after"],
        "subscribed again on the restarted primary"
    );
}
