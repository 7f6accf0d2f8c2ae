//! How subscriptions end: refused by the hub (its error code and message), ended by the
//! server API (2000), or left by the program (0) — each once, as an Unsubscribed event, after
//! which the channel's publications stop.

mod common;

use common::{connect, next, subscribed, until, TestHub};
use duplex_hub_client::{Error, Event};
use serde_json::json;

#[tokio::test]
async fn a_refused_subscription_ends_with_the_hubs_code() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "ivan").await;
    // `private` needs a subscription token.
    client.subscribe("private:secret").await.unwrap();
    assert_eq!(
        next(&mut events).await,
        Event::Unsubscribed {
            channel: "private:secret".into(),
            code: 103,
            reason: "permission denied".into()
        }
    );
    // It is forgotten: subscribing again is allowed (and refused again).
    client.subscribe("private:secret").await.unwrap();
    assert!(matches!(
        next(&mut events).await,
        Event::Unsubscribed { code: 103, .. }
    ));
}

#[tokio::test]
async fn a_channel_is_subscribed_once() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "judy").await;
    client.subscribe("chat:once").await.unwrap();
    subscribed(&mut events, "chat:once").await;
    assert_eq!(
        client.subscribe("chat:once").await.unwrap_err().code(),
        Some(105)
    );
}

#[tokio::test]
async fn the_server_api_can_end_a_subscription() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "kim").await;
    client.subscribe("chat:room").await.unwrap();
    subscribed(&mut events, "chat:room").await;
    hub.api(
        "unsubscribe",
        json!({"user": "kim", "channel": "chat:room"}),
    )
    .await;
    let (event, _) = until(&mut events, |e| matches!(e, Event::Unsubscribed { .. })).await;
    assert_eq!(
        event,
        Event::Unsubscribed {
            channel: "chat:room".into(),
            code: 2000,
            reason: "server unsubscribe".into()
        }
    );
    // Not subscribed any more: the namespace lets only subscribers publish.
    assert_eq!(
        client.publish("chat:room", "{}").await.unwrap_err().code(),
        Some(103)
    );
}

#[tokio::test]
async fn after_unsubscribing_no_publication_arrives() {
    let hub = TestHub::start(&[]).await;
    let (client, mut events) = connect(&hub, "lee").await;
    let room = client.subscribe("chat:a").await.unwrap();
    client.subscribe("chat:b").await.unwrap();
    subscribed(&mut events, "chat:a").await;
    subscribed(&mut events, "chat:b").await;
    room.unsubscribe().await.unwrap();
    let (event, _) = until(&mut events, |e| matches!(e, Event::Unsubscribed { .. })).await;
    assert_eq!(
        event,
        Event::Unsubscribed {
            channel: "chat:a".into(),
            code: 0,
            reason: "unsubscribe called".into()
        }
    );
    hub.hub.publish("chat:a", r#"{"to":"a"}"#).await.unwrap();
    hub.hub.publish("chat:b", r#"{"to":"b"}"#).await.unwrap();
    // The next publication is b's: a's never comes.
    let (event, _) = until(&mut events, |e| matches!(e, Event::Publication { .. })).await;
    assert!(
        matches!(&event, Event::Publication { channel, .. } if channel == "chat:b"),
        "{event:?}"
    );
    assert_eq!(
        room.publish("{}").await,
        Err(Error::Server {
            code: 103,
            message: "permission denied".into(),
            temporary: false
        })
    );
}

#[tokio::test]
async fn subscriptions_the_hub_makes_are_reported_and_delivered() {
    let hub = TestHub::start(&[]).await;
    let token = common::claims_token(json!({"sub": "mia", "channels": ["chat:server"]}), None);
    let (_client, mut events) = hub.client().token(token).connect();
    common::connected(&mut events).await;
    subscribed(&mut events, "chat:server").await;
    hub.hub
        .publish("chat:server", r#"{"from":"hub"}"#)
        .await
        .unwrap();
    let (event, _) = until(&mut events, |e| matches!(e, Event::Publication { .. })).await;
    assert!(
        matches!(&event, Event::Publication { channel, data, .. }
            if channel == "chat:server" && &data[..] == br#"{"from":"hub"}"#),
        "{event:?}"
    );
}
