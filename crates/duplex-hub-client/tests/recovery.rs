//! The connection goes away while 500 publications are being made — the hub drops it, or the
//! network does; the client reconnects by itself and, recovering from its last position,
//! delivers all 500 — each once, in order — and says the recovery was complete.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{connected, next, subscribed, TestHub};
use duplex_hub::codes::Disconnect;
use duplex_hub_client::Event;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

const TOTAL: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_client_recovers_all_500_publications_once_and_in_order() {
    // Centrifugo recovers at most 300 by default; this hub allows more.
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "2000")]).await;
    let (client, mut events) = hub
        .client()
        .token(common::token("alice", None))
        // A reconnect slow enough for many publications to be missed (correct either way).
        .reconnect_delay(Duration::from_millis(100), Duration::from_millis(200))
        .connect();
    connected(&mut events).await;
    client.subscribe("chat:feed").await.expect("subscribe");
    let Event::Subscribed { offset: start, .. } = subscribed(&mut events, "chat:feed").await else {
        unreachable!()
    };

    // The backend publishes 500; a third of the way through, the hub drops the connection
    // with a code that asks the client to come back (4000–4499, like 3000–3499).
    let publisher = hub.hub.clone();
    let publishing = tokio::spawn(async move {
        for n in 0..TOTAL {
            if n == TOTAL / 3 {
                let dropped = publisher.disconnect("alice", None, &[], Disconnect::new(4000, "go"));
                assert_eq!(dropped, 1);
            }
            publisher
                .publish("chat:feed", json!({"n": n}).to_string())
                .await
                .expect("publish");
        }
    });

    let mut received = Vec::new();
    let mut disconnects = Vec::new();
    let mut resubscribed = None;
    // The hub may deliver everything before the disconnect takes effect: wait for both.
    while (received.len() as u64) < TOTAL || resubscribed.is_none() {
        match next(&mut events).await {
            Event::Publication { data, offset, .. } => {
                let data: serde_json::Value = serde_json::from_slice(&data).unwrap();
                received.push((data["n"].as_u64().expect("n"), offset));
            }
            Event::Disconnected {
                code,
                reason,
                reconnect,
            } => disconnects.push((code, reason, reconnect)),
            event @ Event::Subscribed { .. } => resubscribed = Some(event),
            _ => {}
        }
    }
    publishing.await.expect("publisher");

    assert_eq!(disconnects, [(4000, "go".to_owned(), true)]);
    let Some(Event::Subscribed {
        was_recovering,
        recovered,
        recovered_publications,
        ..
    }) = resubscribed
    else {
        panic!("the client subscribed again after reconnecting");
    };
    assert!(was_recovering, "it asked to recover");
    assert!(recovered, "and nothing was lost");
    eprintln!("{recovered_publications} of {TOTAL} came back through recovery");
    for (i, (n, offset)) in received.iter().enumerate() {
        assert_eq!(*n, i as u64, "publication {i} in order, once");
        assert_eq!(*offset, start + 1 + i as u64);
    }
    // Nothing doubled after the 500th either.
    client
        .publish("chat:feed", r#"{"n":"after"}"#)
        .await
        .expect("publish");
    loop {
        if let Event::Publication { data, offset, .. } = next(&mut events).await {
            assert_eq!(&data[..], br#"{"n":"after"}"#);
            assert_eq!(offset, start + TOTAL + 1);
            break;
        }
    }
}

/// A TCP relay to the hub whose connections the test can cut, as a network outage would:
/// while cut, it drops every connection (open and new).
struct Outage {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    kill: broadcast::Sender<()>,
}

impl Outage {
    async fn start(hub: SocketAddr) -> Outage {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let (kill, _) = broadcast::channel(1);
        let (accepting, killer) = (open.clone(), kill.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: the connection resets
                }
                let mut killed = killer.subscribe();
                tokio::spawn(async move {
                    let mut upstream = TcpStream::connect(hub).await.unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
                        _ = killed.recv() => {}
                    }
                });
            }
        });
        Outage { addr, open, kill }
    }

    fn url(&self) -> String {
        format!("ws://{}/connection/websocket", self.addr)
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        let _ = self.kill.send(());
    }

    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn after_a_network_outage_all_500_missed_publications_are_recovered() {
    let hub = TestHub::start(&[("client.recovery_max_publication_limit", "2000")]).await;
    let outage = Outage::start(hub.addr).await;
    let (client, mut events) = duplex_hub_client::ClientBuilder::new(outage.url())
        .token(common::token("alice", None))
        .reconnect_delay(Duration::from_millis(10), Duration::from_millis(50))
        .connect();
    connected(&mut events).await;
    client.subscribe("chat:feed").await.expect("subscribe");
    let Event::Subscribed { offset: start, .. } = subscribed(&mut events, "chat:feed").await else {
        unreachable!()
    };

    outage.cut();
    let (event, _) = common::until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert!(
        matches!(
            event,
            Event::Disconnected {
                reconnect: true,
                ..
            }
        ),
        "a lost connection is worth reconnecting: {event:?}"
    );
    for n in 0..TOTAL {
        hub.hub
            .publish("chat:feed", json!({"n": n}).to_string())
            .await
            .expect("publish");
    }
    outage.restore();

    let (event, _) = common::until(&mut events, |e| matches!(e, Event::Subscribed { .. })).await;
    let Event::Subscribed {
        was_recovering: true,
        recovered: true,
        recovered_publications,
        ..
    } = event
    else {
        panic!("recovered: {event:?}");
    };
    assert_eq!(recovered_publications, TOTAL as usize, "every missed one");
    for i in 0..TOTAL {
        match next(&mut events).await {
            Event::Publication { data, offset, .. } => {
                let data: serde_json::Value = serde_json::from_slice(&data).unwrap();
                assert_eq!(data, json!({"n": i}));
                assert_eq!(offset, start + 1 + i);
            }
            other => panic!("publication {i} expected, got {other:?}"),
        }
    }
}
