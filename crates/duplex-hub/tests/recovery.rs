//! History and recovery: a client that comes back with its position gets every publication it
//! missed, once and in order, or `recovered: false` with the current position when the stream
//! no longer covers the gap — never a silent gap.

mod common;

use common::{token, TestClient, TestHub};
use serde_json::{json, Value};

async fn subscribe(client: &mut TestClient, channel: &str, since: Option<(u64, &str)>) -> Value {
    let mut request = json!({"channel": channel});
    if let Some((offset, epoch)) = since {
        request["recover"] = json!(true);
        request["offset"] = json!(offset);
        request["epoch"] = json!(epoch);
    }
    let reply = client.call(json!({"subscribe": request})).await;
    reply
        .get("subscribe")
        .cloned()
        .unwrap_or_else(|| panic!("subscribe failed: {reply}"))
}

#[tokio::test]
async fn a_client_dropped_by_the_server_recovers_all_1000_publications_in_order() {
    // Centrifugo's default recovers at most 300; this hub allows more.
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "2000")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let first = subscribe(&mut client, "chat:feed", None).await;
    assert_eq!(first["recoverable"], true, "{first}");
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    for n in 0..5 {
        hub.hub
            .publish("chat:feed", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    let mut last = 0;
    for n in 0..5 {
        let publication = client.publication("chat:feed").await;
        assert_eq!(publication["data"]["n"], n);
        last = publication["offset"].as_u64().expect("offset");
    }

    // The server drops the client (a reconnect code), and 1,000 publications happen meanwhile.
    hub.api(
        "disconnect",
        json!({"user": "alice", "disconnect": {"code": 4000, "reason": "go"}}),
    )
    .await;
    assert_eq!(client.closed().await.0, 4000);
    for n in 5..1005 {
        hub.hub
            .publish("chat:feed", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }

    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let result = subscribe(&mut client, "chat:feed", Some((last, &epoch))).await;
    assert_eq!(result["recovered"], true, "{}", result["recovered"]);
    assert_eq!(result["was_recovering"], true);
    let publications = result["publications"].as_array().expect("publications");
    assert_eq!(publications.len(), 1000);
    for (i, publication) in publications.iter().enumerate() {
        assert_eq!(publication["data"]["n"], 5 + i as u64);
        assert_eq!(publication["offset"], last + 1 + i as u64);
    }
    // Live publications continue from there.
    hub.hub
        .publish("chat:feed", json!({"n": 1005}).to_string())
        .await
        .expect("publish");
    let publication = client.publication("chat:feed").await;
    assert_eq!(publication["data"]["n"], 1005);
    assert_eq!(publication["offset"], last + 1001);
}

#[tokio::test]
async fn past_the_window_the_client_learns_it_was_not_recovered_and_where_the_stream_is() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("bob", None)).await;
    let first = subscribe(&mut client, "small:x", None).await;
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    drop(client);
    for n in 0..50 {
        hub.hub
            .publish("small:x", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    let (mut client, _) = TestClient::connect(&hub, &token("bob", None)).await;
    let result = subscribe(&mut client, "small:x", Some((0, &epoch))).await;
    assert!(result.get("recovered").is_none(), "not recovered: {result}");
    assert_eq!(result["was_recovering"], true);
    assert_eq!(result["offset"], 50);
    assert_eq!(result["epoch"], epoch.as_str());
    // A position from another epoch is no more recoverable.
    let (mut other, _) = TestClient::connect(&hub, &token("carl", None)).await;
    let result = subscribe(&mut other, "small:x", Some((45, "not-the-epoch"))).await;
    assert!(result.get("recovered").is_none(), "{result}");
}

#[tokio::test]
async fn publications_made_during_a_recovery_are_neither_lost_nor_doubled() {
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "2000")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("dora", None)).await;
    let first = subscribe(&mut client, "chat:busy", None).await;
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    drop(client);
    for n in 0..300 {
        hub.hub
            .publish("chat:busy", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    // A publisher keeps going while the client recovers.
    let publisher = {
        let hub = hub.hub.clone();
        tokio::spawn(async move {
            for n in 300..900 {
                hub.publish("chat:busy", json!({"n": n}).to_string())
                    .await
                    .expect("publish");
                if n % 50 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let (mut client, _) = TestClient::connect(&hub, &token("dora", None)).await;
    let result = subscribe(&mut client, "chat:busy", Some((0, &epoch))).await;
    assert_eq!(result["recovered"], true, "{result}");
    let mut seen: Vec<u64> = result["publications"]
        .as_array()
        .expect("publications")
        .iter()
        .map(|p| p["data"]["n"].as_u64().expect("n"))
        .collect();
    publisher.await.expect("publisher");
    while seen.last().copied() != Some(899) {
        let publication = client.publication("chat:busy").await;
        seen.push(publication["data"]["n"].as_u64().expect("n"));
    }
    let expected: Vec<u64> = (0..900).collect();
    assert_eq!(seen, expected, "every publication once, in order");
}

#[tokio::test]
async fn more_missed_than_the_recovery_limit_is_not_recovered() {
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "100")]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("eve", None)).await;
    let first = subscribe(&mut client, "chat:many", None).await;
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    drop(client);
    for n in 0..101 {
        hub.hub
            .publish("chat:many", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    let (mut client, _) = TestClient::connect(&hub, &token("eve", None)).await;
    let result = subscribe(&mut client, "chat:many", Some((0, &epoch))).await;
    assert!(result.get("recovered").is_none(), "{}", result["recovered"]);
    assert!(result.get("publications").is_none());
    assert_eq!(result["offset"], 101);
}

#[tokio::test]
async fn history_reads_with_limit_since_and_reverse() {
    let hub = TestHub::start(&[]).await;
    for n in 1..=10 {
        hub.hub
            .publish("chat:h", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    let (mut client, _) = TestClient::connect(&hub, &token("1", None)).await;
    subscribe(&mut client, "chat:h", None).await;
    let numbers = |reply: &Value| -> Vec<u64> {
        reply["history"]["publications"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|p| p["data"]["n"].as_u64())
                    .collect()
            })
            .unwrap_or_default()
    };
    let all = client
        .call(json!({"history": {"channel": "chat:h", "limit": -1}}))
        .await;
    assert_eq!(numbers(&all), (1..=10).collect::<Vec<_>>());
    assert_eq!(all["history"]["offset"], 10);
    let epoch = all["history"]["epoch"].clone();
    let limited = client
        .call(json!({"history": {"channel": "chat:h", "limit": 3}}))
        .await;
    assert_eq!(numbers(&limited), vec![1, 2, 3]);
    let since = client
        .call(json!({"history": {"channel": "chat:h", "limit": 3, "since": {"offset": 4, "epoch": epoch}}}))
        .await;
    assert_eq!(numbers(&since), vec![5, 6, 7]);
    let reverse = client
        .call(json!({"history": {"channel": "chat:h", "limit": 2, "reverse": true}}))
        .await;
    assert_eq!(numbers(&reverse), vec![10, 9]);
    let position = client.call(json!({"history": {"channel": "chat:h"}})).await;
    assert_eq!(
        numbers(&position),
        Vec::<u64>::new(),
        "no limit: the position only"
    );
    assert_eq!(position["history"]["offset"], 10);
    let bad = client
        .call(json!({"history": {"channel": "chat:h", "limit": 1, "since": {"offset": 4, "epoch": "other"}}}))
        .await;
    assert_eq!(bad["error"]["code"], 112, "{bad}");
}

/// The SDKs send connect and a recovering subscribe in one message when they come back; while
/// publications keep coming, no live publication of the channel may reach the client before
/// the subscribe reply that carries the recovered ones (centrifuge-js hands a publication to
/// the application the moment it arrives, so one that overtook the reply came out of order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_live_publication_overtakes_the_reply_of_a_recovering_subscribe() {
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "2000")]).await;
    live_never_overtakes_recovery(&hub).await;
}

/// The same on the SQLite engine, `duplex serve`'s default.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_live_publication_overtakes_the_reply_of_a_recovering_subscribe_on_sqlite() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().display().to_string();
    let hub = TestHub::start(&[
        ("client.recovery_max_publication_limit", "2000"),
        ("engine.type", "sqlite"),
        ("engine.sqlite.path", path.as_str()),
    ])
    .await;
    live_never_overtakes_recovery(&hub).await;
}

async fn live_never_overtakes_recovery(hub: &TestHub) {
    use duplex::proto::Event;
    for round in 0..20 {
        let channel = format!("chat:race-{round}");
        let (mut client, _) = TestClient::connect(hub, &token("erin", None)).await;
        let first = subscribe(&mut client, &channel, None).await;
        let epoch = first["epoch"].as_str().expect("epoch").to_owned();
        drop(client);
        for n in 0..50 {
            hub.hub
                .publish(&channel, json!({"n": n}).to_string())
                .await
                .expect("publish");
        }
        let publisher = {
            let hub = hub.hub.clone();
            let channel = channel.clone();
            tokio::spawn(async move {
                for n in 50..400 {
                    hub.publish(&channel, json!({"n": n}).to_string())
                        .await
                        .expect("publish");
                }
            })
        };
        let (mut ws, _) = duplex::ClientBuilder::new()
            .connect(&hub.url())
            .await
            .expect("websocket");
        let connect = json!({"id": 1, "connect": {"token": token("erin", None)}});
        let resubscribe = json!({"id": 2, "subscribe": {
            "channel": channel, "recover": true, "offset": 0, "epoch": epoch}});
        ws.send(duplex::proto::Message::text(format!(
            "{connect}\n{resubscribe}"
        )))
        .await
        .expect("send");
        let mut seen: Vec<u64> = Vec::new();
        let mut replied = false;
        while seen.last().copied() != Some(399) {
            let event = tokio::time::timeout(common::PATIENCE, ws.next_event())
                .await
                .expect("in time")
                .expect("open");
            let Event::Message(message) = event else {
                continue;
            };
            for line in message.as_text().expect("text").split('\n') {
                let reply: Value = serde_json::from_str(line).expect("json");
                if reply["id"] == 2 {
                    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
                    replied = true;
                    for publication in reply["subscribe"]["publications"].as_array().unwrap() {
                        seen.push(publication["data"]["n"].as_u64().unwrap());
                    }
                } else if let Some(publication) = reply["push"]["pub"].as_object() {
                    assert!(
                        replied,
                        "round {round}: publication {} arrived before the subscribe reply",
                        publication["data"]["n"]
                    );
                    seen.push(publication["data"]["n"].as_u64().unwrap());
                }
            }
        }
        publisher.await.expect("publisher");
        let expected: Vec<u64> = (0..400).collect();
        assert_eq!(
            seen, expected,
            "round {round}: every publication once, in order"
        );
    }
}
