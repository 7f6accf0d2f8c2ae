//! Operations: what an orchestrator and a monitoring system see of a running hub — `/health`,
//! Prometheus `/metrics` whose numbers follow what clients do, and the limits that protect it
//! (commands per second, connections per user).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{token, TestClient, TestHub, PATIENCE};
use serde_json::json;

/// `GET path` on the hub: the status and the body.
async fn get(hub: &TestHub, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{}{path}", hub.addr))
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The current `/metrics` exposition.
async fn metrics(hub: &TestHub) -> Metrics {
    let (status, text) = get(hub, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    Metrics(text)
}

/// A Prometheus text exposition, read by sample name and labels.
struct Metrics(String);

impl Metrics {
    /// The value of the sample `name` whose labels include `labels`, if there is one.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (sample, sample_labels) = match series.split_once('{') {
                    Some((sample, rest)) => (sample, parse_labels(rest.strip_suffix('}')?)),
                    None => (series, BTreeMap::new()),
                };
                let matches = sample == name
                    && labels
                        .iter()
                        .all(|(k, v)| sample_labels.get(*k).map(String::as_str) == Some(*v));
                matches.then(|| value.parse().ok()).flatten()
            })
    }

    /// Like [`Metrics::value`], 0 when absent (a counter family without that label yet).
    fn count(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels).unwrap_or(0.0)
    }
}

/// `a="1",b="two"` as a map (the test's label values have no commas or quotes).
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.trim_matches('"').to_owned()))
        })
        .collect()
}

/// Waits until the metrics satisfy `check` (sessions end asynchronously); fails after
/// [`PATIENCE`] showing the last exposition.
async fn eventually(hub: &TestHub, what: &str, check: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let metrics = metrics(hub).await;
        if check(&metrics) {
            return metrics;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}; metrics:\n{}",
            metrics.0
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn health_answers_200_with_an_empty_object() {
    let hub = TestHub::start(&[]).await;
    let (status, body) = get(&hub, "/health").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({})
    );
}

#[tokio::test]
async fn health_can_be_turned_off() {
    let hub = TestHub::start(&[("health.enabled", "false")]).await;
    assert_eq!(get(&hub, "/health").await.0, 404);
    // The rest of the hub is unaffected.
    assert_eq!(get(&hub, "/metrics").await.0, 200);
}

#[tokio::test]
async fn metrics_follow_connections_subscriptions_publications_and_disconnects() {
    let hub = TestHub::start(&[]).await;
    let before = metrics(&hub).await;
    assert_eq!(before.value("duplex_hub_connections", &[]), Some(0.0));
    assert_eq!(before.value("duplex_hub_subscriptions", &[]), Some(0.0));
    assert_eq!(
        before.value("duplex_hub_publications_total", &[]),
        Some(0.0)
    );
    assert_eq!(before.value("duplex_hub_deliveries_total", &[]), Some(0.0));

    let (mut alice, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let (mut bob, _) = TestClient::connect(&hub, &token("bob", None)).await;
    for client in [&mut alice, &mut bob] {
        let reply = client
            .call(json!({"subscribe": {"channel": "open:room"}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
    }
    let now = metrics(&hub).await;
    assert_eq!(now.value("duplex_hub_connections", &[]), Some(2.0));
    assert_eq!(now.value("duplex_hub_subscriptions", &[]), Some(2.0));
    // Each command's latency is recorded under its method: every sample falls in +Inf.
    for method in ["connect", "subscribe"] {
        let labels = [("method", method), ("le", "+Inf")];
        assert_eq!(
            now.value("duplex_hub_command_duration_seconds_bucket", &labels),
            Some(2.0),
            "{method}:\n{}",
            now.0
        );
        assert_eq!(
            now.value(
                "duplex_hub_command_duration_seconds_count",
                &[("method", method)]
            ),
            Some(2.0)
        );
        let buckets = now
            .0
            .lines()
            .filter(|l| l.starts_with("duplex_hub_command_duration_seconds_bucket{"))
            .filter(|l| l.contains(&format!("method=\"{method}\"")))
            .count();
        assert!(buckets > 5, "{method} has latency buckets:\n{}", now.0);
    }

    hub.api(
        "publish",
        json!({"channel": "open:room", "data": {"text": "hello"}}),
    )
    .await;
    for client in [&mut alice, &mut bob] {
        assert_eq!(
            client.publication("open:room").await["data"]["text"],
            "hello"
        );
    }
    let now = metrics(&hub).await;
    assert_eq!(now.value("duplex_hub_publications_total", &[]), Some(1.0));
    assert_eq!(now.value("duplex_hub_deliveries_total", &[]), Some(2.0));

    assert!(
        !now.0.contains("duplex_hub_disconnects_total{"),
        "no disconnects yet:\n{}",
        now.0
    );

    // The backend disconnects bob: counted by the code bob was closed with.
    hub.api("disconnect", json!({"user": "bob"})).await;
    let (code, _) = bob.closed().await;
    let code = code.to_string();
    let now = eventually(&hub, "bob's session ends", |m| {
        m.value("duplex_hub_connections", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(now.value("duplex_hub_subscriptions", &[]), Some(1.0));
    assert_eq!(
        now.count("duplex_hub_disconnects_total", &[("code", &code)]),
        1.0,
        "{}",
        now.0
    );

    // A client that goes away by itself is no longer counted either.
    drop(alice);
    eventually(&hub, "alice's session ends", |m| {
        m.value("duplex_hub_connections", &[]) == Some(0.0)
            && m.value("duplex_hub_subscriptions", &[]) == Some(0.0)
    })
    .await;
}

#[tokio::test]
async fn the_command_after_the_per_second_budget_gets_error_111() {
    let hub = TestHub::start(&[("client.commands_per_second", "5")]).await;
    let mut client = TestClient::open(&hub).await;
    // Six commands in one message, so that they surely fall in the same second.
    let connect = json!({"id": 1, "connect": {"token": token("alice", None)}});
    let mut frame = vec![connect.to_string()];
    for id in 2..=6 {
        frame.push(json!({"id": id, "subscribe": {"channel": format!("open:r{id}")}}).to_string());
    }
    client.send_raw(&frame.join("\n")).await;
    assert!(client.reply(1).await.get("connect").is_some());
    for id in 2..=5 {
        let reply = client.reply(id).await;
        assert!(reply.get("subscribe").is_some(), "command {id}: {reply}");
    }
    let sixth = client.reply(6).await;
    assert_eq!(sixth["error"]["code"], 111, "{sixth}");
    assert_eq!(sixth["error"]["temporary"], true, "{sixth}");

    // The next second brings a new budget; the connection stays open.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = client
        .call(json!({"subscribe": {"channel": "open:r6"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "{reply}");
}

#[tokio::test]
async fn a_users_connection_beyond_the_limit_is_closed_with_3504() {
    let hub = TestHub::start(&[("client.user_connection_limit", "2")]).await;
    let (first, _) = TestClient::connect(&hub, &token("ada", None)).await;
    let (_second, _) = TestClient::connect(&hub, &token("ada", None)).await;
    let mut third = TestClient::open(&hub).await;
    third
        .send_raw(&json!({"id": 1, "connect": {"token": token("ada", None)}}).to_string())
        .await;
    assert_eq!(third.closed().await, (3504, "connection limit".to_owned()));
    // Another user is not affected.
    let (_other, reply) = TestClient::connect(&hub, &token("grace", None)).await;
    assert!(reply["client"].is_string());
    // When one of ada's tabs closes, she may open another.
    drop(first);
    eventually(&hub, "the first connection ends", |m| {
        m.value("duplex_hub_connections", &[]) == Some(2.0)
    })
    .await;
    let (_again, reply) = TestClient::connect(&hub, &token("ada", None)).await;
    assert!(reply["client"].is_string());
}
