//! Tokens checked against a JSON Web Key Set fetched over HTTP: keys found by `kid`, a
//! rotated key picked up at once, refetches rate-limited, and a key server that is down
//! reported as unavailable rather than as the client's fault.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use duplex_hub::auth::{JwksOptions, TokenConfig, TokenError, TokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A key server on a free port whose answer the test changes: the identity provider.
struct KeyServer {
    url: String,
    answer: Arc<Mutex<(u16, Value)>>,
    hits: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(keys: Value) -> KeyServer {
        let answer = Arc::new(Mutex::new((200, keys)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, h) = (answer.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let (answer, hits) = (a.clone(), h.clone());
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = answer.lock().unwrap().clone();
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        axum::Json(body),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        KeyServer { url, answer, hits }
    }

    fn serve(&self, status: u16, keys: Value) {
        *self.answer.lock().unwrap() = (status, keys);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn verifier(&self, min_refetch_interval: Duration) -> TokenVerifier {
        let config = TokenConfig {
            jwks_public_endpoint: Some(self.url.clone()),
            ..TokenConfig::default()
        };
        let options = JwksOptions {
            min_refetch_interval,
            ..JwksOptions::default()
        };
        TokenVerifier::with_jwks_options(&config, None, options).unwrap()
    }
}

fn rsa_jwk(file: &str, kid: &str) -> Value {
    let mut jwk: Value = serde_json::from_str(file).unwrap();
    jwk["kid"] = kid.into();
    jwk["use"] = "sig".into();
    jwk["alg"] = "RS256".into();
    jwk
}

fn key1() -> Value {
    rsa_jwk(include_str!("keys/rsa.jwk.json"), "k1")
}

fn key2() -> Value {
    rsa_jwk(include_str!("keys/rsa2.jwk.json"), "k2")
}

fn rsa_token(private_pem: &str, kid: &str, sub: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &json!({"sub": sub}), &key).unwrap()
}

fn token1() -> String {
    rsa_token(include_str!("keys/rsa.key.pem"), "k1", "alice")
}

fn token2() -> String {
    rsa_token(include_str!("keys/rsa2.key.pem"), "k2", "bob")
}

fn is_invalid<T>(result: &Result<T, TokenError>) -> bool {
    matches!(result, Err(TokenError::Invalid(_)))
}

#[tokio::test]
async fn rotated_key_is_fetched_and_the_old_one_revoked() {
    let server = KeyServer::start(json!({"keys": [key1()]})).await;
    let verifier = server.verifier(Duration::ZERO);

    assert_eq!(
        verifier.verify_connect(&token1()).await.unwrap().sub,
        "alice"
    );
    assert_eq!(
        verifier.verify_connect(&token1()).await.unwrap().sub,
        "alice"
    );
    assert_eq!(server.hits(), 1, "the key is cached");
    // Naming k1 but signed with another key.
    let forged = rsa_token(include_str!("keys/rsa2.key.pem"), "k1", "mallory");
    assert!(is_invalid(&verifier.verify_connect(&forged).await));

    // The provider rotates: k2 replaces k1. A token naming k2 causes one refetch.
    server.serve(200, json!({"keys": [key2()]}));
    assert_eq!(verifier.verify_connect(&token2()).await.unwrap().sub, "bob");
    assert_eq!(server.hits(), 2);
    // k1 left the set: its tokens are refused now.
    assert!(is_invalid(&verifier.verify_connect(&token1()).await));
}

#[tokio::test]
async fn unknown_kids_do_not_flood_the_key_server() {
    let server = KeyServer::start(json!({"keys": [key1()]})).await;
    let verifier = server.verifier(Duration::from_secs(60));
    verifier.verify_connect(&token1()).await.unwrap();
    server.serve(200, json!({"keys": [key1(), key2()]}));
    for _ in 0..5 {
        assert!(is_invalid(&verifier.verify_connect(&token2()).await));
    }
    assert_eq!(server.hits(), 1, "no refetch within the interval");
}

#[tokio::test]
async fn aged_out_key_set_is_fetched_again() {
    let server = KeyServer::start(json!({"keys": [key1()]})).await;
    let config = TokenConfig {
        jwks_public_endpoint: Some(server.url.clone()),
        ..TokenConfig::default()
    };
    let options = JwksOptions {
        cache_ttl: Duration::ZERO,
        min_refetch_interval: Duration::from_secs(60),
        ..JwksOptions::default()
    };
    let verifier = TokenVerifier::with_jwks_options(&config, None, options).unwrap();
    verifier.verify_connect(&token1()).await.unwrap();
    verifier.verify_connect(&token1()).await.unwrap();
    assert_eq!(
        server.hits(),
        2,
        "a stale set is refetched despite the interval"
    );
    // After a failed fetch the interval holds: no hammering of a key server that is down.
    server.serve(503, json!({}));
    for _ in 0..3 {
        let result = verifier.verify_connect(&token1()).await;
        assert!(
            matches!(result, Err(TokenError::Unavailable(_))),
            "{result:?}"
        );
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn concurrent_verifications_share_one_fetch() {
    let server = KeyServer::start(json!({"keys": [key1()]})).await;
    let verifier = server.verifier(Duration::ZERO);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let verifier = verifier.clone();
            tokio::spawn(async move { verifier.verify_connect(&token1()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn elliptic_curve_keys() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw(); // 0x04, x, y
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec1", "alg": "ES256",
                     "x": b64.encode(&point[1..33]), "y": b64.encode(&point[33..65])});
    // An encryption key with the same id comes first and is skipped.
    let mut enc = key1();
    enc["kid"] = "ec1".into();
    enc["use"] = "enc".into();
    let server = KeyServer::start(json!({"keys": [jwk, enc, {"kty": "weird"}]})).await;
    let verifier = server.verifier(Duration::ZERO);

    let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec1".into());
    let token = jsonwebtoken::encode(&header, &json!({"sub": "eve"}), &key).unwrap();
    assert_eq!(verifier.verify_connect(&token).await.unwrap().sub, "eve");

    // The same key id with an algorithm of another family is refused.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ec1".into());
    let rsa = EncodingKey::from_rsa_pem(include_str!("keys/rsa.key.pem").as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &json!({"sub": "eve"}), &rsa).unwrap();
    assert!(is_invalid(&verifier.verify_connect(&token).await));
}

#[tokio::test]
async fn key_server_down_is_unavailable() {
    let server = KeyServer::start(json!({"error": "maintenance"})).await;
    let verifier = server.verifier(Duration::ZERO);
    server.serve(500, json!({"error": "maintenance"}));
    let result = verifier.verify_connect(&token1()).await;
    assert!(
        matches!(result, Err(TokenError::Unavailable(_))),
        "{result:?}"
    );
    server.serve(200, json!("not a key set"));
    let result = verifier.verify_connect(&token1()).await;
    assert!(
        matches!(result, Err(TokenError::Unavailable(_))),
        "{result:?}"
    );
    // Back up: the next token works without a restart.
    server.serve(200, json!({"keys": [key1()]}));
    verifier.verify_connect(&token1()).await.unwrap();

    // Nothing listening at all.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/jwks", listener.local_addr().unwrap());
    drop(listener);
    let config = TokenConfig {
        jwks_public_endpoint: Some(closed),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    let result = verifier.verify_connect(&token1()).await;
    assert!(
        matches!(result, Err(TokenError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn refused_before_any_fetch() {
    let server = KeyServer::start(json!({"keys": [key1()]})).await;
    let config = TokenConfig {
        jwks_public_endpoint: Some(server.url.clone()),
        audience: Some("chat".into()),
        // Ignored with a JWKS endpoint, as in Centrifugo.
        hmac_secret_key: Some("secret".into()),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    // Wrong audience.
    assert!(is_invalid(&verifier.verify_connect(&token1()).await));
    // No kid.
    let key = EncodingKey::from_rsa_pem(include_str!("keys/rsa.key.pem").as_bytes()).unwrap();
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &json!({"aud": "chat"}),
        &key,
    )
    .unwrap();
    assert!(is_invalid(&verifier.verify_connect(&no_kid).await));
    // HMAC, even with the configured secret and a kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let hmac = jsonwebtoken::encode(
        &header,
        &json!({"aud": "chat"}),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert!(is_invalid(&verifier.verify_connect(&hmac).await));
    assert_eq!(server.hits(), 0);
}
