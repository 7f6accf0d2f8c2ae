//! Short-lived tokens: the client fetches a new one before each expires and sends `refresh`
//! (`sub_refresh` for a subscription), so the connection and the subscription outlive many
//! tokens. The hub here gives no grace after an expiry, so a missed refresh would show.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{next, sub_token, token, until, TestHub};
use duplex_hub_client::{Event, SubscriptionOptions, TokenError};

/// Tokens valid for 2 s; each fetch counted.
fn counted(
    calls: &Arc<AtomicUsize>,
    mint: impl Fn() -> String + Send + Sync + 'static,
) -> impl Fn() -> std::future::Ready<Result<String, TokenError>> + Send + Sync + 'static {
    let calls = calls.clone();
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(mint()))
    }
}

const SETTINGS: &[(&str, &str)] = &[
    ("client.expired_close_delay", "0s"),
    ("client.expired_sub_close_delay", "0s"),
    // Pings every second, answered within half a second: the client's pongs are tested too.
    ("client.ping_interval", "1s"),
    ("client.pong_timeout", "500ms"),
];

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_and_the_connection_stays() {
    let hub = TestHub::start(SETTINGS).await;
    let connection_tokens = Arc::new(AtomicUsize::new(0));
    let channel_tokens = Arc::new(AtomicUsize::new(0));
    let (client, mut events) = hub
        .client()
        .token_callback(counted(&connection_tokens, || token("frank", Some(2))))
        .connect();
    let options = SubscriptionOptions::new().token_callback(counted(&channel_tokens, || {
        sub_token("frank", "private:f", Some(2))
    }));
    client.subscribe_with("private:f", options).await.unwrap();
    common::connected(&mut events).await;
    common::subscribed(&mut events, "private:f").await;

    // Each token lives 2 s and is refreshed 1.4 s early; wait for three refreshes of each,
    // well past the first tokens' expiry (and through several pings).
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    while connection_tokens.load(Ordering::SeqCst) < 4 || channel_tokens.load(Ordering::SeqCst) < 4
    {
        assert!(tokio::time::Instant::now() < deadline, "refreshes in time");
        if let Ok(Some(event)) =
            tokio::time::timeout(std::time::Duration::from_millis(100), events.recv()).await
        {
            panic!("nothing happens to the connection while tokens are refreshed: {event:?}");
        }
    }
    // Still the same connection and subscription: publications flow.
    hub.hub
        .publish("private:f", r#"{"still":"here"}"#)
        .await
        .unwrap();
    let (event, before) = until(&mut events, |e| matches!(e, Event::Publication { .. })).await;
    assert!(before.is_empty(), "{before:?}");
    assert!(matches!(event, Event::Publication { channel, .. } if channel == "private:f"));
}

#[tokio::test]
async fn without_a_callback_an_expired_connection_is_dropped_and_then_refused() {
    // The control experiment: a fixed 2 s token cannot be refreshed, so the hub closes the
    // connection as expired (3005, a reconnect code).
    let hub = TestHub::start(SETTINGS).await;
    let (_client, mut events) = hub.client().token(token("grace", Some(2))).connect();
    common::connected(&mut events).await;
    let event = next(&mut events).await;
    assert!(
        matches!(
            event,
            Event::Disconnected {
                code: 3005,
                reconnect: true,
                ..
            }
        ),
        "{event:?}"
    ); // Back with the same, now expired, token: refused (109), and with no callback to ask for
       // another, that is the end.
    let (event, _) = until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert_eq!(
        event,
        Event::Disconnected {
            code: 109,
            reason: "token expired".into(),
            reconnect: false
        }
    );
}

#[tokio::test]
async fn an_expired_token_is_fetched_again() {
    let hub = TestHub::start(&[]).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (_client, mut events) = hub
        .client()
        .token_callback(move || {
            // The first token expired a minute ago; the next ones are good.
            let ttl = if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                -60
            } else {
                60
            };
            std::future::ready(Ok::<_, TokenError>(token("hana", Some(ttl))))
        })
        .connect();
    let (_, before) = until(&mut events, |e| matches!(e, Event::Connected { .. })).await;
    assert!(
        before.iter().any(|e| matches!(
            e,
            Event::Error(error) if error.message == "token expired (code 109)"
        )),
        "{before:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unauthorized_answer_stops_the_client() {
    let hub = TestHub::start(&[]).await;
    let (_client, mut events) = hub
        .client()
        .token_callback(|| async { Err::<String, _>(TokenError::Unauthorized) })
        .connect();
    let (event, _) = until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    assert_eq!(
        event,
        Event::Disconnected {
            code: duplex_hub_client::codes::UNAUTHORIZED,
            reason: "unauthorized".into(),
            reconnect: false
        }
    );
}
