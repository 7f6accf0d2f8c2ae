//! The hub's disconnect codes decide: 3000–3499 and 4000–4499 bring the client back by
//! itself; 3500–3999 and 4500–4999 stop it, with the hub's code and reason, and it does not
//! try again.

mod common;

use common::{connect, connected, next, TestHub, PATIENCE};
use duplex_hub_client::{Error, Event};
use serde_json::json;

/// After a terminal disconnect the event stream ends: no Connecting, no second attempt.
async fn ends(events: &mut duplex_hub_client::Events) {
    let rest = tokio::time::timeout(PATIENCE, async {
        let mut rest = Vec::new();
        while let Some(event) = events.recv().await {
            rest.push(event);
        }
        rest
    })
    .await
    .expect("the stream ends");
    assert!(
        rest.is_empty(),
        "nothing after a terminal disconnect: {rest:?}"
    );
}

#[tokio::test]
async fn a_terminal_code_stops_the_client_with_the_hubs_reason() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "bob").await;
    hub.api(
        "disconnect",
        json!({"user": "bob", "disconnect": {"code": 4501, "reason": "banned"}}),
    )
    .await;
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            code: 4501,
            reason: "banned".into(),
            reconnect: false
        }
    );
    ends(&mut events).await;
    assert_eq!(client.publish("chat:x", "{}").await, Err(Error::Closed));
    assert!(client.is_closed());
}

#[tokio::test]
async fn the_hubs_default_disconnect_is_terminal_too() {
    let hub = TestHub::start(&[]).await;
    let (_client, mut events) = connect(&hub, "carol").await;
    hub.api("disconnect", json!({"user": "carol"})).await;
    let event = next(&mut events).await;
    assert!(
        matches!(
            event,
            Event::Disconnected {
                code: 3503,
                reconnect: false,
                ..
            }
        ),
        "{event:?}"
    );
    ends(&mut events).await;
}

#[tokio::test]
async fn a_refused_token_stops_the_client_with_code_3500() {
    let hub = TestHub::start(&[]).await;
    let (_client, mut events) = hub.client().token("not-a-jwt").connect();
    let (event, before) =
        common::until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert_eq!(before, [Event::Connecting { attempt: 0 }]);
    assert_eq!(
        event,
        Event::Disconnected {
            code: 3500,
            reason: "invalid token".into(),
            reconnect: false
        }
    );
    ends(&mut events).await;
}

#[tokio::test]
async fn a_reconnect_code_brings_the_client_back() {
    let hub = TestHub::start(&[]).await;
    let (_client, mut events) = connect(&hub, "dave").await;
    hub.api(
        "disconnect",
        json!({"user": "dave", "disconnect": {"code": 3011, "reason": "force reconnect"}}),
    )
    .await;
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            code: 3011,
            reason: "force reconnect".into(),
            reconnect: true
        }
    );
    assert!(matches!(next(&mut events).await, Event::Connecting { .. }));
    let (event, _) = common::until(&mut events, |e| matches!(e, Event::Connected { .. })).await;
    assert!(matches!(
        event,
        Event::Connected {
            reconnected: true,
            ..
        }
    ));
}

#[tokio::test]
async fn disconnect_stops_the_client_and_fails_what_waits() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = hub.client().token(common::token("erin", None)).connect();
    connected(&mut events).await;
    client.disconnect().await;
    assert_eq!(
        next(&mut events).await,
        Event::Disconnected {
            code: duplex_hub_client::codes::DISCONNECT_CALLED,
            reason: "disconnect called".into(),
            reconnect: false
        }
    );
    ends(&mut events).await;
    assert_eq!(client.presence("chat:x").await, Err(Error::Closed));
}
