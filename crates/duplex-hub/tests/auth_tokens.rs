//! Tokens signed with configured keys: each algorithm Centrifugo accepts is accepted, and
//! every way a token can be wrong is refused with the outcome the session acts on.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use duplex_hub::auth::{
    mint_hs256, MintClaims, SubscribeOverrides, TokenConfig, TokenError, TokenVerifier,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const SECRET: &str = "test-secret";
const RSA_PRIVATE: &str = include_str!("keys/rsa.key.pem");
const RSA_PUBLIC: &str = include_str!("keys/rsa.pub.pem");

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn hmac() -> TokenConfig {
    TokenConfig {
        hmac_secret_key: Some(SECRET.into()),
        ..TokenConfig::default()
    }
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), &claims, key).unwrap()
}

fn hs(alg: Algorithm, claims: serde_json::Value) -> String {
    sign(alg, &EncodingKey::from_secret(SECRET.as_bytes()), claims)
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn invalid(result: Result<impl std::fmt::Debug, TokenError>) -> String {
    match result {
        Err(TokenError::Invalid(reason)) => reason,
        other => panic!("expected an invalid token, got {other:?}"),
    }
}

#[test]
fn hmac_algorithms() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    run(async {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let exp = now() + 60;
            let token = hs(alg, json!({"sub": "42", "exp": exp}));
            let claims = verifier.verify_connect(&token).await.unwrap();
            assert_eq!(
                (claims.sub.as_str(), claims.exp),
                ("42", Some(exp)),
                "{alg:?}"
            );
        }
    });
}

#[test]
fn rsa_algorithms_from_pem() {
    let config = TokenConfig {
        rsa_public_key: Some(RSA_PUBLIC.into()),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    run(async {
        for alg in [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512] {
            let token = sign(alg, &key, json!({"sub": "7"}));
            assert_eq!(verifier.verify_connect(&token).await.unwrap().sub, "7");
        }
        // Signed with another RSA key.
        let other = include_str!("keys/rsa2.key.pem");
        let other = EncodingKey::from_rsa_pem(other.as_bytes()).unwrap();
        let token = sign(Algorithm::RS256, &other, json!({"sub": "7"}));
        invalid(verifier.verify_connect(&token).await);
        // RSASSA-PSS is not an algorithm Centrifugo accepts.
        let token = sign(Algorithm::PS256, &key, json!({"sub": "7"}));
        invalid(verifier.verify_connect(&token).await);
    });
}

#[test]
fn ecdsa_from_pem() {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let config = TokenConfig {
        ecdsa_public_key: Some(pair.public_key_pem()),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    let key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
    let token = sign(Algorithm::ES256, &key, json!({"sub": "9"}));
    run(async {
        assert_eq!(verifier.verify_connect(&token).await.unwrap().sub, "9");
        // An HMAC token to a verifier with only an EC key: that algorithm is not enabled.
        let reason = invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!({})))
                .await,
        );
        assert!(reason.contains("not enabled"), "{reason}");
    });
}

#[test]
fn expiry() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    run(async {
        let expired = hs(Algorithm::HS256, json!({"sub": "1", "exp": now() - 1}));
        assert_eq!(
            verifier.verify_connect(&expired).await,
            Err(TokenError::Expired)
        );
        let not_yet = hs(Algorithm::HS256, json!({"sub": "1", "nbf": now() + 60}));
        assert_eq!(
            verifier.verify_connect(&not_yet).await,
            Err(TokenError::Expired)
        );
        // No exp: a token that never expires, as in Centrifugo.
        let forever = hs(Algorithm::HS256, json!({"sub": "1"}));
        assert_eq!(verifier.verify_connect(&forever).await.unwrap().exp, None);
        // Expiry is checked only after the signature: a forged expired token is invalid.
        let forged = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"guess"),
            json!({"sub": "1", "exp": now() - 1}),
        );
        invalid(verifier.verify_connect(&forged).await);
    });
}

#[test]
fn malformed_and_forged_tokens() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    let good = hs(Algorithm::HS256, json!({"sub": "1"}));
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let unsigned = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(r#"{"sub":"1"}"#)
    );
    let (head, _) = good.rsplit_once('.').unwrap();
    let resigned_payload = format!(
        "{}.{}.{}",
        head.split('.').next().unwrap(),
        b64.encode(r#"{"sub":"admin"}"#),
        good.rsplit('.').next().unwrap()
    );
    run(async {
        for token in [
            "",
            "garbage",
            "a.b.c",
            "....",
            &good[..good.len() - 2],
            &format!("{good}x"),
            &unsigned,
            &resigned_payload,
        ] {
            invalid(verifier.verify_connect(token).await);
        }
        let wrong_secret = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(b"other"),
            json!({"sub": "1"}),
        );
        invalid(verifier.verify_connect(&wrong_secret).await);
        // Claims of the wrong type.
        invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!({"sub": 42})))
                .await,
        );
        invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!({"exp": "soon"})))
                .await,
        );
        invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!([1, 2])))
                .await,
        );
    });
}

/// The classic confusion attack: an HS256 token whose "secret" is the server's RSA public
/// key, which is public. Refused whether or not an HMAC secret is also configured.
#[test]
fn hmac_token_signed_with_the_rsa_public_key() {
    let forged = sign(
        Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()),
        json!({"sub": "admin"}),
    );
    let rsa_only = TokenConfig {
        rsa_public_key: Some(RSA_PUBLIC.into()),
        ..TokenConfig::default()
    };
    let both = TokenConfig {
        hmac_secret_key: Some(SECRET.into()),
        ..rsa_only.clone()
    };
    run(async {
        for config in [rsa_only, both] {
            let verifier = TokenVerifier::new(&config, None).unwrap();
            invalid(verifier.verify_connect(&forged).await);
        }
    });
}

#[test]
fn audience_and_issuer() {
    let config = TokenConfig {
        audience: Some("chat".into()),
        issuer: Some("https://auth.example".into()),
        ..hmac()
    };
    let verifier = TokenVerifier::new(&config, None).unwrap();
    let iss = "https://auth.example";
    run(async {
        for claims in [
            json!({"sub": "1", "aud": "chat", "iss": iss}),
            json!({"sub": "1", "aud": ["web", "chat"], "iss": iss}),
        ] {
            verifier
                .verify_connect(&hs(Algorithm::HS256, claims))
                .await
                .unwrap();
        }
        for (claims, why) in [
            (json!({"sub": "1", "aud": "web", "iss": iss}), "audience"),
            (json!({"sub": "1", "iss": iss}), "audience"),
            (
                json!({"sub": "1", "aud": "chat", "iss": "https://evil.example"}),
                "issuer",
            ),
            (json!({"sub": "1", "aud": "chat"}), "issuer"),
        ] {
            let reason = invalid(verifier.verify_connect(&hs(Algorithm::HS256, claims)).await);
            assert!(reason.contains(why), "{reason}");
        }
    });
}

#[test]
fn connection_claims() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    let token = hs(
        Algorithm::HS256,
        json!({
            "sub": "42",
            "info": {"name": "Ada", "roles": ["admin"]},
            "meta": {"plan": "pro"},
            "channels": ["news", "chat:lobby"],
            "subs": {
                "#42": {"b64info": "AAEC", "data": {"welcome": true},
                        "override": {"presence": {"value": false}, "force_recovery": {"value": true}}}
            },
            "expire_at": now() + 30,
            "exp": now() + 3600
        }),
    );
    run(async {
        let claims = verifier.verify_connect(&token).await.unwrap();
        assert_eq!(claims.sub, "42");
        // Raw JSON is kept as the backend wrote it (serde_json sorts nothing here).
        assert_eq!(
            claims.info.as_deref(),
            Some(&br#"{"name":"Ada","roles":["admin"]}"#[..])
        );
        assert_eq!(claims.meta.as_deref(), Some(&br#"{"plan":"pro"}"#[..]));
        assert_eq!(claims.channels, ["news", "chat:lobby"]);
        let grant = &claims.subs["#42"];
        assert_eq!(grant.info.as_deref(), Some(&[0u8, 1, 2][..]));
        assert_eq!(grant.data.as_deref(), Some(&br#"{"welcome":true}"#[..]));
        assert_eq!(
            grant.overrides,
            SubscribeOverrides {
                presence: Some(false),
                force_recovery: Some(true),
                ..SubscribeOverrides::default()
            }
        );
        // subs wins over channels, as in Centrifugo.
        let subscriptions = claims.server_subscriptions();
        assert_eq!(subscriptions.len(), 1);
        assert_eq!(subscriptions[0].0, "#42");
        // expire_at wins over exp; 0 means the connection never expires.
        assert_eq!(claims.expires_at(), claims.expire_at);
        let never = hs(
            Algorithm::HS256,
            json!({"sub": "1", "exp": now() + 60, "expire_at": 0}),
        );
        assert_eq!(
            verifier.verify_connect(&never).await.unwrap().expires_at(),
            None
        );

        let b64 = hs(
            Algorithm::HS256,
            json!({"sub": "1", "info": {"a": 1}, "b64info": "/w=="}),
        );
        assert_eq!(
            verifier.verify_connect(&b64).await.unwrap().info.as_deref(),
            Some(&[255u8][..])
        );
        invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!({"b64info": "not base64!"})))
                .await,
        );
    });
}

#[test]
fn anonymous_connection() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    run(async {
        for claims in [json!({"sub": ""}), json!({})] {
            let token = hs(Algorithm::HS256, claims);
            assert_eq!(verifier.verify_connect(&token).await.unwrap().sub, "");
        }
    });
}

#[test]
fn subscription_tokens() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    run(async {
        let token = hs(
            Algorithm::HS256,
            json!({"sub": "42", "channel": "$private", "info": {"seat": 3},
                   "b64data": "AQ==", "client": "c-1", "exp": now() + 60}),
        );
        let claims = verifier.verify_subscribe(&token).await.unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.channel.as_str()),
            ("42", "$private")
        );
        assert_eq!(claims.info.as_deref(), Some(&br#"{"seat":3}"#[..]));
        assert_eq!(claims.data.as_deref(), Some(&[1u8][..]));
        assert_eq!(claims.client.as_deref(), Some("c-1"));
        assert_eq!(claims.expires_at(), claims.exp);

        // Each kind of token only works as itself.
        let reason = invalid(verifier.verify_connect(&token).await);
        assert!(reason.contains("channel"), "{reason}");
        let connection = hs(Algorithm::HS256, json!({"sub": "42"}));
        invalid(verifier.verify_subscribe(&connection).await);
        invalid(
            verifier
                .verify_subscribe(&hs(Algorithm::HS256, json!({"sub": "42", "channel": ""})))
                .await,
        );

        let expired = hs(
            Algorithm::HS256,
            json!({"sub": "42", "channel": "$p", "exp": now() - 5}),
        );
        assert_eq!(
            verifier.verify_subscribe(&expired).await,
            Err(TokenError::Expired)
        );
    });
}

#[test]
fn subscription_tokens_with_their_own_keys() {
    let subscription = TokenConfig {
        hmac_secret_key: Some("subscription-secret".into()),
        ..TokenConfig::default()
    };
    let verifier = TokenVerifier::new(&hmac(), Some(&subscription)).unwrap();
    let claims = json!({"sub": "42", "channel": "$private"});
    run(async {
        let own = mint_hs256(
            "subscription-secret",
            &MintClaims {
                channel: Some("$private".into()),
                ..MintClaims::user("42")
            },
        )
        .unwrap();
        assert_eq!(
            verifier.verify_subscribe(&own).await.unwrap().channel,
            "$private"
        );
        invalid(
            verifier
                .verify_subscribe(&hs(Algorithm::HS256, claims))
                .await,
        );
        // Connection tokens still use the connection's key.
        let connection = mint_hs256(SECRET, &MintClaims::user("42")).unwrap();
        verifier.verify_connect(&connection).await.unwrap();
    });
}

#[test]
fn minted_tokens() {
    let verifier = TokenVerifier::new(&hmac(), None).unwrap();
    let claims = MintClaims {
        exp: Some(now() + 60),
        info: Some(json!({"name": "Ada"})),
        channels: vec!["news".into()],
        ..MintClaims::user("42")
    };
    run(async {
        let token = mint_hs256(SECRET, &claims).unwrap();
        let verified = verifier.verify_connect(&token).await.unwrap();
        assert_eq!(verified.sub, "42");
        assert_eq!(verified.info.as_deref(), Some(&br#"{"name":"Ada"}"#[..]));
        assert_eq!(verified.channels, ["news"]);
        assert!(mint_hs256("", &claims).is_err());
    });
}

#[test]
fn configuration_errors_and_secrets() {
    let bad_pem = TokenConfig {
        rsa_public_key: Some("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----".into()),
        ..TokenConfig::default()
    };
    assert!(TokenVerifier::new(&bad_pem, None).is_err());
    let bad_ec = TokenConfig {
        ecdsa_public_key: Some(RSA_PUBLIC.into()),
        ..TokenConfig::default()
    };
    assert!(TokenVerifier::new(&bad_ec, None).is_err());
    let bad_url = TokenConfig {
        jwks_public_endpoint: Some("ftp://keys.example/jwks".into()),
        ..TokenConfig::default()
    };
    assert!(TokenVerifier::new(&bad_url, None).is_err());

    assert!(!TokenConfig::default().is_configured());
    assert!(!TokenConfig {
        hmac_secret_key: Some(String::new()),
        ..TokenConfig::default()
    }
    .is_configured());
    assert!(hmac().is_configured());
    let debug = format!("{:?}", hmac());
    assert!(!debug.contains(SECRET), "{debug}");

    // No keys at all: every token is refused.
    let verifier = TokenVerifier::new(&TokenConfig::default(), None).unwrap();
    run(async {
        invalid(
            verifier
                .verify_connect(&hs(Algorithm::HS256, json!({"sub": "1"})))
                .await,
        );
    });
}
