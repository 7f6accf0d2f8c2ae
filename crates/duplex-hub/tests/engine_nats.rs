//! The NATS broker between nodes, against a real nats-server: what the single-engine contract
//! suite cannot show — two nodes sharing publications, channel names that NATS would read as
//! wildcards or several tokens kept apart, and delivery resuming after NATS restarts; then two
//! hubs configured with `broker.*` as `duplex serve` builds them, and a hub that cannot reach
//! NATS refusing to start.
//!
//! Each test starts its own server (tests/common/nats.rs) and skips, saying so, when nats-server
//! is not installed, unless `DUPLEX_REQUIRE_NATS=1`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::nats::Nats;
use duplex_hub::engine::nats::NatsConfig;
use duplex_hub::engine::{
    BrokerEvents, ClientInfo, Engine, EngineError, Publication, PublishOptions,
};

/// A node's view: (channel, data) of each publication, in arrival order.
#[derive(Default)]
struct Node {
    received: Mutex<Vec<(String, String)>>,
}

impl BrokerEvents for Node {
    fn on_publication(&self, channel: &str, publication: &Publication, _: &str) {
        let data = String::from_utf8_lossy(&publication.data).into_owned();
        self.received
            .lock()
            .unwrap()
            .push((channel.to_owned(), data));
    }
    fn on_join(&self, _: &str, _: &ClientInfo) {}
    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

impl Node {
    fn received(&self) -> Vec<(String, String)> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` publications arrived (or 10 s passed), then a little more for strays.
    async fn wait_for(&self, count: usize) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.received().len() < count && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.received()
    }
}

async fn node(nats: &Nats) -> (Engine, Arc<Node>) {
    let engine = Engine::nats(&NatsConfig::new(nats.url()))
        .await
        .expect("connect to the test's NATS");
    let events = Arc::new(Node::default());
    engine.broker.start(events.clone()).await.unwrap();
    (engine, events)
}

fn text(data: &str) -> Publication {
    Publication {
        data: data.to_owned().into(),
        ..Publication::default()
    }
}

/// Waits until B's subscription is known to the server: a publication from A made after it
/// reaches B. Subscribing on one connection and publishing on another has no ordering between
/// them, which is what a real cluster sees too.
async fn until_routed(a: &Engine, b: &Node, channel: &str) {
    for _ in 0..100 {
        a.broker
            .publish(channel, text("probe"), &PublishOptions::default())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        if b.received().iter().any(|(_, data)| data == "probe") {
            b.received.lock().unwrap().clear();
            return;
        }
    }
    panic!("B's subscription to {channel:?} never became visible to A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_on_one_node_reaches_the_other_in_order() {
    let Some(nats) = Nats::start("a_publication_on_one_node_reaches_the_other") else {
        return;
    };
    let ((a, a_events), (b, b_events)) = (node(&nats).await, node(&nats).await);
    let channel = "chat:lobby";
    b.broker.subscribe(channel).await.unwrap();
    until_routed(&a, &b_events, channel).await;

    for i in 0..500 {
        a.broker
            .publish(channel, text(&i.to_string()), &PublishOptions::default())
            .await
            .unwrap();
    }
    let got = b_events.wait_for(500).await;
    let expected: Vec<_> = (0..500)
        .map(|i| (channel.to_owned(), i.to_string()))
        .collect();
    assert_eq!(got, expected, "each once, in publish order");
    assert!(
        a_events.received().is_empty(),
        "A did not subscribe, so it hears nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_names_nats_would_read_as_wildcards_or_tokens_stay_apart() {
    let Some(nats) = Nats::start("channel_names_stay_apart") else {
        return;
    };
    let ((a, _), (b, b_events)) = (node(&nats).await, node(&nats).await);
    let channels = [
        "*",
        ">",
        "a.*",
        "a.>",
        "a.b",
        "a",
        "a b",
        "a%2Eb",
        "",
        "news.>",
        "news.today",
        "ü.∗",
    ];
    for channel in channels {
        b.broker.subscribe(channel).await.unwrap();
    }
    until_routed(&a, &b_events, "a.b").await;
    for channel in channels {
        a.broker
            .publish(
                channel,
                text(&format!("to {channel}")),
                &PublishOptions::default(),
            )
            .await
            .unwrap();
    }
    let mut got = b_events.wait_for(channels.len()).await;
    got.sort();
    let mut expected: Vec<_> = channels
        .iter()
        .map(|c| (c.to_string(), format!("to {c}")))
        .collect();
    expected.sort();
    assert_eq!(
        got, expected,
        "each channel hears exactly its own publication"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_resumes_after_nats_restarts() {
    let Some(mut nats) = Nats::start("delivery_resumes_after_nats_restarts") else {
        return;
    };
    let ((a, _), (b, b_events)) = (node(&nats).await, node(&nats).await);
    let channel = "feed";
    b.broker.subscribe(channel).await.unwrap();
    until_routed(&a, &b_events, channel).await;

    nats.stop();
    // While NATS is down, a publish fails (soon, once the client noticed) instead of vanishing.
    let mut refused = false;
    for _ in 0..100 {
        match a
            .broker
            .publish(channel, text("lost"), &PublishOptions::default())
            .await
        {
            Err(EngineError::Unavailable(_)) => {
                refused = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(refused, "publishing with NATS down must fail");

    nats.start_again();
    // Both nodes reconnect by themselves and B's subscription is re-sent: probe until a
    // publication from A reaches B again, then everything after it must arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let _ = a
            .broker
            .publish(channel, text("probe"), &PublishOptions::default())
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if b_events.received().iter().any(|(_, d)| d == "probe") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery did not resume within 20 s of NATS coming back"
        );
    }
    b_events.received.lock().unwrap().clear();
    for i in 0..100 {
        a.broker
            .publish(channel, text(&i.to_string()), &PublishOptions::default())
            .await
            .unwrap();
    }
    let got: Vec<_> = b_events
        .wait_for(100)
        .await
        .into_iter()
        .map(|(_, data)| data)
        .filter(|data| data != "probe")
        .collect();
    let expected: Vec<_> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(got, expected);
}

/// Two hubs on one NATS, as `duplex serve` builds them from `broker.*`, namespaces without
/// history (the NATS broker refuses the others).
async fn hub_on(nats: &Nats) -> common::TestHub {
    common::TestHub::start(&[
        ("broker.enabled", "true"),
        ("broker.type", "nats"),
        ("broker.nats.url", &nats.url()),
        (
            "channel.namespaces",
            r#"[{"name": "open", "allow_subscribe_for_client": true}]"#,
        ),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_on_one_hub_gets_what_the_other_hubs_api_publishes() {
    let Some(nats) = Nats::start("a_client_on_one_hub_gets_what_the_other_hubs_api_publishes")
    else {
        return;
    };
    let (a, b) = (hub_on(&nats).await, hub_on(&nats).await);
    let (mut client, _) = common::TestClient::connect(&b, &common::token("42", None)).await;
    let reply = client
        .call(serde_json::json!({"subscribe": {"channel": "open:news"}}))
        .await;
    assert!(reply.get("error").is_none(), "{reply}");

    // B's subscription reaches NATS on B's connection: probe through A until it is routed.
    let mut routed = false;
    for _ in 0..100 {
        a.api(
            "publish",
            serde_json::json!({"channel": "open:news", "data": {"probe": true}}),
        )
        .await;
        if !client.no_push_within(Duration::from_millis(50)).await {
            routed = true;
            break;
        }
    }
    assert!(routed, "a publication through A never reached B's client");
    while !client.no_push_within(Duration::from_millis(200)).await {
        client.push().await;
    }
    for i in 0..50 {
        a.api(
            "publish",
            serde_json::json!({"channel": "open:news", "data": {"i": i}}),
        )
        .await;
    }
    for i in 0..50 {
        let publication = client.publication("open:news").await;
        assert_eq!(publication["data"]["i"], i, "{publication}");
        assert!(publication.get("offset").is_none(), "no history, no offset");
    }

    let history = a
        .api(
            "history",
            serde_json::json!({"channel": "open:news", "limit": 10}),
        )
        .await;
    assert!(
        history.get("error").is_some(),
        "the NATS broker keeps no history, and says so: {history}"
    );
}

#[tokio::test]
async fn a_hub_whose_nats_is_unreachable_does_not_start() {
    let port = common::postgres::free_port();
    let mut config = duplex_hub::config::HubConfig::default();
    config.set("broker.enabled", "true").unwrap();
    config.set("broker.type", "nats").unwrap();
    config
        .set("broker.nats.url", &format!("nats://127.0.0.1:{port}"))
        .unwrap();
    let started = tokio::time::timeout(Duration::from_secs(20), duplex_hub::Hub::new(config))
        .await
        .expect("gives up within its connect timeout");
    let error = started.err().expect("no NATS, no hub").to_string();
    assert!(error.contains("NATS"), "{error}");
}
