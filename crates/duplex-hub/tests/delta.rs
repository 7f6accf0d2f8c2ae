//! Fossil deltas, as Centrifugo's SDKs negotiate and decode them: a client that subscribes with
//! `delta: "fossil"` in a namespace that allows it is told `delta: true`, then gets its first
//! publication whole and the following ones as the difference from the one before — and, over
//! JSON, every payload as a JSON string holding its exact text, which is what the SDK applies
//! the next delta to.

mod common;

use common::{token, TestClient, TestHub};
use duplex_hub::delta::apply_fossil_delta;
use serde_json::{json, Value};

/// `live` publishes deltas; `negotiable` lets clients negotiate them without publishing any;
/// `plain` knows nothing of deltas; `kept` publishes deltas and keeps history for recovery.
async fn hub() -> TestHub {
    let namespaces = json!([
        {"name": "live", "allow_subscribe_for_client": true,
         "delta_publish": true, "allowed_delta_types": ["fossil"]},
        {"name": "negotiable", "allow_subscribe_for_client": true,
         "allowed_delta_types": ["fossil"]},
        {"name": "plain", "allow_subscribe_for_client": true},
        {"name": "kept", "allow_subscribe_for_client": true, "force_recovery": true,
         "history_size": 100, "history_ttl": "300s",
         "delta_publish": true, "allowed_delta_types": ["fossil"]}
    ]);
    TestHub::start(&[("channel.namespaces", &namespaces.to_string())]).await
}

/// A document that changes a little from one publication to the next, as deltas are for.
fn document(version: u32) -> String {
    json!({
        "version": version,
        "title": "quarterly figures for the northern region",
        "rows": (0..12).map(|i| json!({"row": i, "value": i * 10})).collect::<Vec<_>>(),
    })
    .to_string()
}

async fn subscribe(client: &mut TestClient, request: Value) -> Value {
    let reply = client.call(json!({ "subscribe": request })).await;
    reply
        .get("subscribe")
        .cloned()
        .unwrap_or_else(|| panic!("subscribe failed: {reply}"))
}

/// What a delta subscriber's SDK does with a publication: the bytes it now holds, and whether
/// they came as a delta.
fn decode(publication: &Value, previous: Option<&[u8]>) -> (Vec<u8>, bool) {
    let text = publication["data"]
        .as_str()
        .unwrap_or_else(|| panic!("a delta subscriber's data is a JSON string: {publication}"));
    if publication["delta"] == true {
        let previous = previous.expect("a delta comes after a whole payload");
        let whole = apply_fossil_delta(previous, text.as_bytes()).expect("the delta applies");
        (whole, true)
    } else {
        (text.as_bytes().to_vec(), false)
    }
}

#[tokio::test]
async fn a_fossil_subscriber_gets_a_whole_payload_then_deltas_that_rebuild_every_byte() {
    let hub = hub().await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let result = subscribe(
        &mut client,
        json!({"channel": "live:doc", "delta": "fossil"}),
    )
    .await;
    assert_eq!(result["delta"], true, "{result}");

    let mut held: Option<Vec<u8>> = None;
    for version in 1..=3 {
        let published = document(version);
        hub.hub
            .publish("live:doc", published.clone())
            .await
            .expect("publish");
        let publication = client.publication("live:doc").await;
        let (whole, was_delta) = decode(&publication, held.as_deref());
        assert_eq!(
            was_delta,
            version > 1,
            "publication {version}: {publication}"
        );
        if was_delta {
            let sent = publication["data"].as_str().map_or(0, str::len);
            assert!(sent < published.len() / 2, "a delta of {sent} bytes");
        }
        assert_eq!(String::from_utf8(whole.clone()).unwrap(), published);
        held = Some(whole);
    }
}

#[tokio::test]
async fn without_delta_publish_or_without_asking_payloads_come_as_published() {
    let hub = hub().await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    // A namespace without deltas ignores the request; a client that does not ask gets none.
    let plain = subscribe(
        &mut client,
        json!({"channel": "plain:doc", "delta": "fossil"}),
    )
    .await;
    assert!(plain.get("delta").is_none(), "{plain}");
    let unasked = subscribe(&mut client, json!({"channel": "live:doc"})).await;
    assert!(unasked.get("delta").is_none(), "{unasked}");
    // Negotiated where the namespace does not publish deltas: the delta shape, all whole.
    let negotiated = subscribe(
        &mut client,
        json!({"channel": "negotiable:doc", "delta": "fossil"}),
    )
    .await;
    assert_eq!(negotiated["delta"], true, "{negotiated}");

    for version in 1..=3 {
        for channel in ["plain:doc", "live:doc", "negotiable:doc"] {
            hub.hub
                .publish(channel, document(version))
                .await
                .expect("publish");
        }
        for channel in ["plain:doc", "live:doc"] {
            let publication = client.publication(channel).await;
            assert!(publication.get("delta").is_none(), "{publication}");
            assert_eq!(publication["data"]["version"], version, "{publication}");
        }
        let publication = client.publication("negotiable:doc").await;
        let (whole, was_delta) = decode(&publication, None);
        assert!(!was_delta, "{publication}");
        assert_eq!(String::from_utf8(whole).unwrap(), document(version));
    }
}

#[tokio::test]
async fn a_server_api_publish_that_asks_for_a_delta_gets_one_where_the_namespace_allows_fossil() {
    let hub = hub().await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    // `negotiable` allows fossil but does not publish deltas of its own accord.
    let reply = subscribe(
        &mut client,
        json!({"channel": "negotiable:doc", "delta": "fossil"}),
    )
    .await;
    assert_eq!(reply["delta"], true, "{reply}");

    let mut held: Option<Vec<u8>> = None;
    for version in 1..=4 {
        // Versions 1 to 3 ask for a delta; 4 does not, and goes whole as the namespace says.
        let asked = version < 4;
        let data: Value = serde_json::from_str(&document(version)).unwrap();
        let published = hub
            .api(
                "publish",
                json!({"channel": "negotiable:doc", "data": data, "delta": asked}),
            )
            .await;
        assert!(published.get("error").is_none(), "{published}");
        let publication = client.publication("negotiable:doc").await;
        let (whole, was_delta) = decode(&publication, held.as_deref());
        assert_eq!(
            was_delta,
            asked && version > 1,
            "version {version}: the first is whole, then deltas while asked: {publication}"
        );
        // The server API's `data` is JSON: the SDK holds its exact text.
        let got: Value = serde_json::from_slice(&whole).expect("the payload is JSON");
        assert_eq!(got, data);
        held = Some(whole);
    }
}

#[tokio::test]
async fn each_subscriber_gets_a_whole_payload_first_whenever_it_joins() {
    let hub = hub().await;
    let (mut early, _) = TestClient::connect(&hub, &token("early", None)).await;
    let (mut late, _) = TestClient::connect(&hub, &token("late", None)).await;
    // A plain subscriber shares the channel: its payloads stay as published.
    let (mut plain, _) = TestClient::connect(&hub, &token("plain", None)).await;
    subscribe(
        &mut early,
        json!({"channel": "live:doc", "delta": "fossil"}),
    )
    .await;
    subscribe(&mut plain, json!({"channel": "live:doc"})).await;

    let mut early_held = None;
    for version in 1..=2 {
        hub.hub
            .publish("live:doc", document(version))
            .await
            .expect("publish");
        let (whole, _) = decode(&early.publication("live:doc").await, early_held.as_deref());
        early_held = Some(whole);
        assert_eq!(
            plain.publication("live:doc").await["data"]["version"],
            version
        );
    }

    subscribe(&mut late, json!({"channel": "live:doc", "delta": "fossil"})).await;
    let mut late_held = None;
    for version in 3..=4 {
        hub.hub
            .publish("live:doc", document(version))
            .await
            .expect("publish");
        let early_pub = early.publication("live:doc").await;
        let late_pub = late.publication("live:doc").await;
        assert_eq!(early_pub["delta"], true, "{early_pub}");
        // The late one's first is whole, its second a delta like everyone's.
        assert_eq!(late_pub["delta"] == true, version == 4, "{late_pub}");
        let (whole, _) = decode(&early_pub, early_held.as_deref());
        assert_eq!(String::from_utf8(whole.clone()).unwrap(), document(version));
        early_held = Some(whole);
        let (whole, _) = decode(&late_pub, late_held.as_deref());
        assert_eq!(String::from_utf8(whole.clone()).unwrap(), document(version));
        late_held = Some(whole);
        assert_eq!(
            plain.publication("live:doc").await["data"]["version"],
            version
        );
    }
}

#[tokio::test]
async fn a_recovered_delta_subscriber_gets_the_missed_payloads_whole_then_deltas_again() {
    let hub = hub().await;
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let first = subscribe(
        &mut client,
        json!({"channel": "kept:doc", "delta": "fossil"}),
    )
    .await;
    let epoch = first["epoch"].as_str().expect("epoch").to_owned();
    hub.hub
        .publish("kept:doc", document(1))
        .await
        .expect("publish");
    let publication = client.publication("kept:doc").await;
    let offset = publication["offset"].as_u64().expect("offset");
    drop(client);

    for version in 2..=4 {
        hub.hub
            .publish("kept:doc", document(version))
            .await
            .expect("publish");
    }
    let (mut client, _) = TestClient::connect(&hub, &token("alice", None)).await;
    let result = subscribe(
        &mut client,
        json!({"channel": "kept:doc", "delta": "fossil", "recover": true,
               "offset": offset, "epoch": epoch}),
    )
    .await;
    assert_eq!(result["recovered"], true, "{result}");
    assert_eq!(result["delta"], true, "{result}");
    let recovered = result["publications"].as_array().expect("publications");
    assert_eq!(recovered.len(), 3, "{result}");
    for (publication, version) in recovered.iter().zip(2..) {
        let (whole, was_delta) = decode(publication, None);
        assert!(!was_delta, "{publication}");
        assert_eq!(String::from_utf8(whole).unwrap(), document(version));
    }

    let mut held = None;
    for version in 5..=6 {
        hub.hub
            .publish("kept:doc", document(version))
            .await
            .expect("publish");
        let publication = client.publication("kept:doc").await;
        let (whole, was_delta) = decode(&publication, held.as_deref());
        assert_eq!(was_delta, version == 6, "{publication}");
        assert_eq!(String::from_utf8(whole.clone()).unwrap(), document(version));
        held = Some(whole);
    }
}
