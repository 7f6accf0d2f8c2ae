//! Connecting: tokens accepted, refused, expired and refreshed; expiry enforced while
//! connected; development mode; the origin allowlist; deny by default.

mod common;

use common::{token, TestClient, TestHub};
use serde_json::json;

#[tokio::test]
async fn a_valid_token_connects_and_the_reply_says_how_to_ping() {
    let hub = TestHub::start(&[]).await;
    let (_client, result) = TestClient::connect(&hub, &token("42", None)).await;
    assert!(
        !result["client"].as_str().unwrap_or("").is_empty(),
        "{result}"
    );
    assert!(result["version"]
        .as_str()
        .unwrap_or("")
        .starts_with("duplex"));
    assert_eq!(result["ping"], 25);
    assert_eq!(result["pong"], true);
    assert!(
        result.get("expires").is_none(),
        "a token without exp never expires: {result}"
    );
}

#[tokio::test]
async fn without_a_token_the_connection_is_refused() {
    let hub = TestHub::start(&[]).await;
    let mut client = TestClient::open(&hub).await;
    client.send_raw(r#"{"id":1,"connect":{}}"#).await;
    assert_eq!(client.closed().await.0, 3501);
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused_as_invalid() {
    let hub = TestHub::start(&[]).await;
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "42"}),
        &jsonwebtoken::EncodingKey::from_secret(b"not the secret"),
    )
    .expect("token");
    let mut client = TestClient::open(&hub).await;
    client
        .send_raw(&json!({"id": 1, "connect": {"token": forged}}).to_string())
        .await;
    let (code, reason) = client.closed().await;
    assert_eq!((code, reason.as_str()), (3500, "invalid token"));
}

#[tokio::test]
async fn an_expired_token_gets_error_109_so_the_sdk_fetches_a_new_one() {
    let hub = TestHub::start(&[]).await;
    let mut client = TestClient::open(&hub).await;
    let reply = client
        .call(json!({"connect": {"token": token("42", Some(-10))}}))
        .await;
    assert_eq!(reply["error"]["code"], 109, "{reply}");
    // The connection stays open for a second attempt with a fresh token.
    let reply = client
        .call(json!({"connect": {"token": token("42", Some(60))}}))
        .await;
    assert_eq!(reply["connect"]["expires"], true, "{reply}");
    let ttl = reply["connect"]["ttl"].as_u64().unwrap_or(0);
    assert!((58..=60).contains(&ttl), "{reply}");
}

#[tokio::test]
async fn refresh_extends_a_connection_and_expiry_is_enforced_without_it() {
    // No grace after expiry (Centrifugo gives SDKs 25 s to refresh by default).
    let hub = TestHub::start(&[("client.expired_close_delay", "0s")]).await;
    let (mut refreshed, _) = TestClient::connect(&hub, &token("42", Some(2))).await;
    let (mut lapsed, _) = TestClient::connect(&hub, &token("42", Some(2))).await;
    let reply = refreshed
        .call(json!({"refresh": {"token": token("42", Some(60))}}))
        .await;
    assert_eq!(reply["refresh"]["expires"], true, "{reply}");
    let (code, _) = lapsed.closed().await;
    assert_eq!(
        code, 3005,
        "expired connections are told to reconnect (and refresh)"
    );
    assert!(
        refreshed
            .no_push_within(std::time::Duration::from_millis(1500))
            .await
    );
    let reply = refreshed
        .call(json!({"subscribe": {"channel": "chat:after-refresh"}}))
        .await;
    assert!(reply.get("subscribe").is_some(), "still connected: {reply}");
}

#[tokio::test]
async fn a_refresh_token_for_another_user_is_refused() {
    let hub = TestHub::start(&[]).await;
    let (mut client, _) = TestClient::connect(&hub, &token("42", Some(60))).await;
    client
        .send_raw(&json!({"id": 5, "refresh": {"token": token("43", Some(60))}}).to_string())
        .await;
    assert_eq!(client.closed().await.0, 3500);
}

#[tokio::test]
async fn with_no_token_key_every_connection_is_refused() {
    let mut config = duplex_hub::config::HubConfig::default();
    config.set("http_api.key", "k").expect("key");
    let hub = TestHub::with_config(config).await;
    let mut client = TestClient::open(&hub).await;
    client
        .send_raw(&json!({"id": 1, "connect": {"token": token("42", None)}}).to_string())
        .await;
    assert_eq!(client.closed().await.0, 3500);
    let mut anonymous = TestClient::open(&hub).await;
    anonymous.send_raw(r#"{"id":1,"connect":{}}"#).await;
    assert_eq!(anonymous.closed().await.0, 3501);
}

#[tokio::test]
async fn development_mode_lets_anyone_connect_without_a_token() {
    let hub = TestHub::start(&[("client.insecure", "true")]).await;
    let mut client = TestClient::open(&hub).await;
    let reply = client.call(json!({"connect": {}})).await;
    assert!(reply.get("connect").is_some(), "{reply}");
}

#[tokio::test]
async fn browsers_from_origins_not_allowed_are_refused_at_the_handshake() {
    let hub = TestHub::start(&[("client.allowed_origins", r#"["https://app.example.com"]"#)]).await;
    let refused = duplex::ClientBuilder::new()
        .origin("https://evil.example.net")
        .connect(&hub.url())
        .await;
    match refused {
        Err(duplex::Error::Handshake(error)) => {
            assert!(error.to_string().contains("403"), "{error}")
        }
        other => panic!("expected a 403, got {:?}", other.map(|_| ())),
    }
    let allowed = duplex::ClientBuilder::new().origin("https://app.example.com");
    let mut client = TestClient::open_with(&hub, allowed).await;
    let reply = client
        .call(json!({"connect": {"token": token("1", None)}}))
        .await;
    assert!(reply.get("connect").is_some(), "{reply}");
}

#[tokio::test]
async fn the_hub_pings_and_a_client_that_does_not_answer_is_closed() {
    let hub = TestHub::start(&[
        ("client.ping_interval", "2s"),
        ("client.pong_timeout", "1s"),
    ])
    .await;
    let (mut polite, result) = TestClient::connect(&hub, &token("1", None)).await;
    assert_eq!(result["ping"], 2);
    let (mut silent, _) = TestClient::connect(&hub, &token("2", None)).await;
    silent.answer_pings = false;
    // Both read at once: the polite client answers each ping while the silent one ignores it.
    let ((code, reason), quiet) = tokio::join!(
        silent.closed(),
        polite.no_push_within(std::time::Duration::from_millis(5000))
    );
    assert_eq!((code, reason.as_str()), (3012, "no pong"));
    assert!(quiet);
    assert!(polite.pings >= 2, "pinged {} times", polite.pings);
    let reply = polite
        .call(json!({"subscribe": {"channel": "chat:still-here"}}))
        .await;
    assert!(
        reply.get("subscribe").is_some(),
        "the polite client is still connected: {reply}"
    );
}

#[tokio::test]
async fn a_client_that_never_sends_connect_is_closed_as_stale() {
    let hub = TestHub::start(&[
        ("client.ping_interval", "2s"),
        ("client.pong_timeout", "1s"),
    ])
    .await;
    let started = std::time::Instant::now();
    let mut idle = TestClient::open(&hub).await;
    let (code, reason) = idle.closed().await;
    assert_eq!((code, reason.as_str()), (3502, "stale"));
    // Never before the ping interval and the pong timeout (3 s); the node's clock counts whole
    // seconds, so up to two seconds later.
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(3) && waited < std::time::Duration::from_secs(6),
        "closed after {waited:?}"
    );
    // A client that connects in time stays.
    let (mut prompt, _) = TestClient::connect(&hub, &token("1", None)).await;
    assert!(
        prompt
            .no_push_within(std::time::Duration::from_millis(3500))
            .await
    );
}
