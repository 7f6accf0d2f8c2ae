//! `hub_tokens`: duplex-hub's JWT verification ([`TokenVerifier`]) on arbitrary strings, and on
//! arbitrary claims that carry a valid signature.
//!
//! A token from the network reaches the verifier before anything else checks it, so every
//! step before the signature (splitting, header JSON, base64url, claims JSON, `aud`/`iss`)
//! sees attacker bytes; the steps after it (claims into [`ConnectClaims`] or
//! [`SubscribeClaims`], time checks) only see bytes someone holding the key signed, which a
//! fuzzer cannot forge. So the input has two modes, picked by byte 0:
//! - even: the rest, as lossy UTF-8, is the token;
//! - odd: the rest is a claims payload, base64url-encoded under a fixed header (HS256, HS384
//!   or HS512 by bits 1-2) and signed with the verifier's key, so the claims parsing runs.
//!
//! Bit 3 gives the verifier an audience and an issuer to check, bit 4 a separate key for
//! subscription tokens. Both `verify_connect` and `verify_subscribe` run, on a current-thread
//! runtime (no JWKS here, so nothing waits).
//!
//! Invariants, beyond "never panics": no outcome is "keys unavailable" (there are no remote
//! keys); an accepted token's claims agree with its payload (`sub`, `channel`, `exp` in the
//! future, the configured audience and issuer present); a signed token changed in its
//! signature is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use duplex_hub::auth::{TokenConfig, TokenError, TokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::Value;

const SECRET: &str = "fuzz-secret";
const SUB_SECRET: &str = "fuzz-sub-secret";
const AUDIENCE: &str = "fuzz-aud";
const ISSUER: &str = "fuzz-iss";

struct Verifiers {
    /// Indexed by bits 3-4 of the control byte.
    all: [TokenVerifier; 4],
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    static VERIFIERS: Verifiers = Verifiers::new();
}

impl Verifiers {
    fn new() -> Verifiers {
        let config = |secret: &str, checked: bool| TokenConfig {
            hmac_secret_key: Some(secret.to_owned()),
            audience: checked.then(|| AUDIENCE.to_owned()),
            issuer: checked.then(|| ISSUER.to_owned()),
            ..TokenConfig::default()
        };
        let make = |checked: bool, separate: bool| {
            let sub = config(SUB_SECRET, checked);
            TokenVerifier::new(&config(SECRET, checked), separate.then_some(&sub))
                .expect("an HMAC verifier builds")
        };
        Verifiers {
            all: [
                make(false, false),
                make(true, false),
                make(false, true),
                make(true, true),
            ],
        }
    }
}

/// The target.
pub fn run(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let checked = control & 0x08 != 0;
    let separate = control & 0x10 != 0;
    let verifier = VERIFIERS.with(|v| v.all[usize::from((control >> 3) & 3)].clone());
    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            if control & 1 == 0 {
                let token = String::from_utf8_lossy(rest);
                check_connect(&verifier, &token, checked).await;
                check_subscribe(&verifier, &token, checked).await;
                return;
            }
            let algorithm = match (control >> 1) & 3 {
                0 | 3 => Algorithm::HS256,
                1 => Algorithm::HS384,
                _ => Algorithm::HS512,
            };
            let token = sign(rest, algorithm, SECRET);
            let connect = check_connect(&verifier, &token, checked).await;
            if connect {
                assert_refused(verifier.verify_connect(&tamper(&token)).await);
            }
            let sub_secret = if separate { SUB_SECRET } else { SECRET };
            let token = sign(rest, algorithm, sub_secret);
            let subscribe = check_subscribe(&verifier, &token, checked).await;
            if subscribe {
                assert_refused(verifier.verify_subscribe(&tamper(&token)).await);
            }
        })
    });
}

/// `header.payload.signature` for this payload, signed with `secret`.
fn sign(payload: &[u8], algorithm: Algorithm, secret: &str) -> String {
    let header = format!(r#"{{"typ":"JWT","alg":"{algorithm:?}"}}"#);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let key = EncodingKey::from_secret(secret.as_bytes());
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, algorithm)
        .expect("HMAC signing cannot fail");
    format!("{message}.{signature}")
}

/// The token with the first character of its signature changed: different signature bytes.
fn tamper(token: &str) -> String {
    let (message, signature) = token.rsplit_once('.').expect("a signed token has dots");
    let mut chars = signature.chars();
    let first = chars.next().expect("a signature is not empty");
    let other = if first == 'A' { 'B' } else { 'A' };
    format!("{message}.{other}{}", chars.as_str())
}

fn assert_refused<T>(outcome: Result<T, TokenError>) {
    assert!(
        matches!(outcome, Err(TokenError::Invalid(_))),
        "a token with a changed signature was not refused as invalid"
    );
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The payload of a token the verifier accepted, read independently of it; `None` when
/// `Value` cannot hold it (a lone surrogate escape in a field the verifier skips).
///
/// Read lossily: the verifier skips unknown fields without checking their UTF-8, as Go's
/// decoder in Centrifugo would, and a known field with bad UTF-8 is refused by both.
fn payload(token: &str) -> Option<Value> {
    let middle = token
        .split('.')
        .nth(1)
        .expect("an accepted token has three parts");
    let bytes = URL_SAFE_NO_PAD
        .decode(middle)
        .expect("an accepted token's payload is base64url");
    serde_json::from_str(&String::from_utf8_lossy(&bytes)).ok()
}

/// Checks what a payload says against claims the verifier accepted.
fn agrees(payload: &Value, sub: &str, exp: Option<i64>, checked: bool) {
    let claimed_sub = payload.get("sub").and_then(Value::as_str).unwrap_or("");
    assert_eq!(sub, claimed_sub, "sub differs from the payload's");
    if let Some(exp) = exp {
        // A second of slack: the verifier read the clock a moment ago.
        assert!(exp > unix_now() - 1, "an expired token was accepted");
    }
    if checked {
        let aud = &payload["aud"];
        let has_aud = aud == AUDIENCE
            || aud
                .as_array()
                .is_some_and(|all| all.iter().any(|a| a == AUDIENCE));
        assert!(has_aud, "accepted without the configured audience");
        assert_eq!(
            payload["iss"], ISSUER,
            "accepted without the configured issuer"
        );
    }
}

/// Returns whether the token was accepted.
async fn check_connect(verifier: &TokenVerifier, token: &str, checked: bool) -> bool {
    match verifier.verify_connect(token).await {
        Ok(claims) => {
            let Some(payload) = payload(token) else {
                return true;
            };
            agrees(&payload, &claims.sub, claims.exp, checked);
            let channel = payload.get("channel").and_then(Value::as_str).unwrap_or("");
            assert!(
                channel.is_empty(),
                "a subscription token passed as a connection token"
            );
            true
        }
        Err(TokenError::Unavailable(reason)) => panic!("no remote keys, yet {reason}"),
        Err(_) => false,
    }
}

async fn check_subscribe(verifier: &TokenVerifier, token: &str, checked: bool) -> bool {
    match verifier.verify_subscribe(token).await {
        Ok(claims) => {
            assert!(
                !claims.channel.is_empty(),
                "a subscription token without a channel"
            );
            let Some(payload) = payload(token) else {
                return true;
            };
            agrees(&payload, &claims.sub, claims.exp, checked);
            assert_eq!(payload["channel"], claims.channel.as_str());
            true
        }
        Err(TokenError::Unavailable(reason)) => panic!("no remote keys, yet {reason}"),
        Err(_) => false,
    }
}
