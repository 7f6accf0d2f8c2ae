//! The demo's token desk: `GET /demo/token?user=NAME` answers `{"token": "<JWT>"}`, a
//! connection token for that user signed with this run's random key, so the pages connect
//! without a backend. In an application this is the backend's job: it knows who the user is
//! and mints the token (`duplex token`, or any JWT library, HS256 with the hub's key).
//!
//! Anyone who can reach the desk can be anyone, which is why the demo listens on loopback only
//! and the desk answers only requests whose `Host` is a loopback name: a page on another site
//! cannot read it through a DNS name rebound to 127.0.0.1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::RawQuery;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use duplex_hub::auth::{mint_hs256, MintClaims};
use serde_json::json;

/// How long a demo token lasts: short, so the pages show the SDK refreshing it.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The longest user name the desk signs.
const MAX_USER_LEN: usize = 32;

/// Mints a token for `?user=NAME` with `secret`.
pub fn answer(secret: &str, headers: &HeaderMap, query: RawQuery) -> Response {
    if let Some(refused) = refuse_foreign_host(headers) {
        return refused;
    }
    let user = query
        .0
        .as_deref()
        .and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(key, _)| key == "user")
                .map(|(_, value)| value.into_owned())
        })
        .unwrap_or_default();
    if !valid_user(&user) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "user: 1 to 32 letters, digits, '-', '_' or '.'"})),
        )
            .into_response();
    }
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(TOKEN_LIFETIME)
        .as_secs();
    let claims = MintClaims {
        exp: i64::try_from(expires).ok(),
        ..MintClaims::user(user)
    };
    match mint_hs256(secret, &claims) {
        Ok(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({ "token": token })),
        )
            .into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": error.to_string()})),
        )
            .into_response(),
    }
}

/// A user name the desk signs: short, and plain enough to show on a page as it is.
fn valid_user(user: &str) -> bool {
    (1..=MAX_USER_LEN).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// 403 unless the request names this machine in `Host` (`localhost`, `127.0.0.1`, `[::1]`,
/// any port).
pub fn refuse_foreign_host(headers: &HeaderMap) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if is_loopback_host(host) {
        None
    } else {
        Some(
            (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "the demo answers only requests to a loopback address"})),
            )
                .into_response(),
        )
    }
}

/// Whether a `Host` header (a name or address, and maybe a port) names this machine.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(name, _)| name),
        None => host.split_once(':').map_or(host, |(name, _)| name),
    };
    is_loopback_name(name)
}

/// Whether `name` (without brackets or port) is `localhost` or a loopback address.
pub fn is_loopback_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use duplex_hub::auth::{TokenConfig, TokenVerifier};

    fn headers(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        headers
    }

    #[test]
    fn only_loopback_hosts_get_tokens() {
        for host in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LOCALHOST",
            "[::1]:8000",
            "127.0.0.2",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "example.com",
            "evil.example:8000",
            "10.0.0.1:8000",
            "",
            "[::2]:80",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        let refused = answer("secret", &headers("rebound.example:8000"), RawQuery(None));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn user_names_are_plain_and_short() {
        assert!(valid_user("alice"));
        assert!(valid_user("otter-42.b_c"));
        assert!(!valid_user(""));
        assert!(!valid_user("<script>"));
        assert!(!valid_user(&"a".repeat(33)));
        let refused = answer(
            "secret",
            &headers("127.0.0.1:8000"),
            RawQuery(Some("user=a%20b".into())),
        );
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn the_token_is_the_users_and_verifies_with_the_key() {
        let response = answer(
            "s3cret",
            &headers("localhost:8000"),
            RawQuery(Some("user=alice".into())),
        );
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let token = body["token"].as_str().unwrap();
        let config = TokenConfig {
            hmac_secret_key: Some("s3cret".into()),
            ..TokenConfig::default()
        };
        let verifier = TokenVerifier::new(&config, None).unwrap();
        let claims = verifier.verify_connect(token).await.unwrap();
        assert_eq!(claims.sub, "alice");
        assert!(claims.exp.is_some());
    }
}
