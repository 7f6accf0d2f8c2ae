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
