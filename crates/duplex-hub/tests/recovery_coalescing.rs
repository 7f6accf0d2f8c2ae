//! A mass reconnect reads each channel's missed range once, not once per client: fifty clients
//! recovering one channel at the same moment cost the engine one or two history reads, and
//! each still gets exactly the publications it missed.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::intercept::Intercept;
use common::{token, TestClient, TestHub};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_recovering_one_channel_share_one_engine_read() {
    // A slow disk's latency on history reads, so that the fifty overlap.
    let (engine, counting) = Intercept::memory(&[], Duration::from_millis(50));
    let hub = TestHub::with_engine(engine).await;

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

/// Publishes `count` numbered publications into `channel`; returns the stream's epoch.
async fn publish_numbered(
    hub: &TestHub,
    channel: &str,
    numbers: std::ops::RangeInclusive<u64>,
) -> String {
    let mut epoch = String::new();
    for n in numbers {
        epoch = hub
            .hub
            .publish(channel, json!({"n": n}).to_string())
            .await
            .unwrap()
            .unwrap()
            .epoch;
    }
    epoch
}

/// Subscribes with recovery from `offset`; returns the numbers recovered, in order.
async fn recover(client: &mut TestClient, channel: &str, offset: u64, epoch: &str) -> Vec<u64> {
    let reply = client
        .call(json!({"subscribe": {
            "channel": channel, "recover": true, "offset": offset, "epoch": epoch
        }}))
        .await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    result["publications"]
        .as_array()
        .expect("publications")
        .iter()
        .map(|p| {
            let n = p["data"]["n"].as_u64().unwrap();
            assert_eq!(p["offset"].as_u64().unwrap(), n, "{reply}");
            n
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_recovering_one_after_another_share_the_first_read() {
    // A reconnect paced by the server spreads a channel's subscribers over seconds: each
    // comes after the previous one's read ended, and is answered from its page.
    let (engine, counting) = Intercept::memory(&[], Duration::from_millis(20));
    let hub = TestHub::with_engine(engine).await;
    let epoch = publish_numbered(&hub, "chat:busy", 1..=10).await;
    let mut clients = Vec::new();
    for n in 0..20u64 {
        let (mut client, _) = TestClient::connect(&hub, &token(&format!("u{n}"), None)).await;
        let from = n % 10;
        assert_eq!(
            recover(&mut client, "chat:busy", from, &epoch).await,
            (from + 1..=10).collect::<Vec<_>>()
        );
        clients.push(client);
    }
    let reads = counting.recoveries.load(Ordering::SeqCst);
    // The first client reads from 0; the rest need no more than that page holds.
    assert_eq!(
        reads, 1,
        "{reads} engine reads for 20 recoveries, one after another"
    );
}

/// A hub whose "chat:busy" holds publications 1..=10, and a first client that recovered 5..=10
/// from it (one engine read); returns the epoch too.
async fn a_first_recovery() -> (TestHub, std::sync::Arc<Intercept>, String, TestClient) {
    let (engine, counting) = Intercept::memory(&[], Duration::from_millis(5));
    let hub = TestHub::with_engine(engine).await;
    let epoch = publish_numbered(&hub, "chat:busy", 1..=10).await;
    let (mut first, _) = TestClient::connect(&hub, &token("first", None)).await;
    assert_eq!(
        recover(&mut first, "chat:busy", 4, &epoch).await,
        (5..=10).collect::<Vec<_>>()
    );
    (hub, counting, epoch, first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_after_the_shared_read_makes_its_page_stale() {
    let (hub, counting, epoch, mut first) = a_first_recovery().await;

    publish_numbered(&hub, "chat:busy", 11..=11).await;
    assert_eq!(first.publication("chat:busy").await["data"]["n"], 11);
    let (mut second, _) = TestClient::connect(&hub, &token("second", None)).await;
    assert_eq!(
        recover(&mut second, "chat:busy", 4, &epoch).await,
        (5..=11).collect::<Vec<_>>()
    );
    assert_eq!(counting.recoveries.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_left_by_every_subscriber_is_read_again() {
    // With nobody subscribed here the node is not told of the channel's publications, so a
    // page from before cannot know what it misses.
    let (hub, counting, epoch, mut first) = a_first_recovery().await;
    let left = first
        .call(json!({"unsubscribe": {"channel": "chat:busy"}}))
        .await;
    assert!(left.get("error").is_none(), "{left}");

    publish_numbered(&hub, "chat:busy", 11..=12).await;
    let (mut second, _) = TestClient::connect(&hub, &token("second", None)).await;
    assert_eq!(
        recover(&mut second, "chat:busy", 4, &epoch).await,
        (5..=12).collect::<Vec<_>>()
    );
    assert_eq!(counting.recoveries.load(Ordering::SeqCst), 2);
}
