//! Who may call the server API: the holder of the configured key.
//!
//! The key is accepted where Centrifugo accepts it — the `X-API-Key` header, an
//! `Authorization: apikey <key>` header, or an `api_key` query parameter — so every existing
//! client authenticates unchanged. With no key configured every call is refused unless the API
//! is explicitly marked insecure: deny by default, never "no key means open".

use axum::extract::Query;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Uri};
use serde::Deserialize;

use super::ApiSettings;

/// The header carrying the key, as `cent` sends it.
pub const API_KEY_HEADER: &str = "x-api-key";

#[derive(Deserialize)]
struct KeyQuery {
    api_key: Option<String>,
}

/// Whether this request may call the API.
pub(crate) fn authorized(settings: &ApiSettings, headers: &HeaderMap, uri: &Uri) -> bool {
    if settings.insecure {
        return true;
    }
    let Some(expected) = settings.key.as_deref().filter(|key| !key.is_empty()) else {
        return false;
    };
    if let Some(given) = headers.get(API_KEY_HEADER) {
        return same(given.as_bytes(), expected.as_bytes());
    }
    if let Some(given) = headers.get(AUTHORIZATION) {
        let given = given.as_bytes();
        let scheme = b"apikey ";
        return given.len() > scheme.len()
            && given[..scheme.len()].eq_ignore_ascii_case(scheme)
            && same(given[scheme.len()..].trim_ascii(), expected.as_bytes());
    }
    match Query::<KeyQuery>::try_from_uri(uri) {
        Ok(Query(KeyQuery {
            api_key: Some(given),
        })) => same(given.as_bytes(), expected.as_bytes()),
        _ => false,
    }
}

/// Compares without stopping at the first difference, so response timing does not reveal how
/// much of a guessed key was right.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}
