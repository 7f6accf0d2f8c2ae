//! Publishing through the hub's server API: one `POST {url}/api/publish` per snapshot, the key
//! in `X-API-Key`. This is all a backend needs to know about the hub; the hub turns each POST
//! into a WebSocket message for every page subscribed to the channel.
//!
//! The errors are for a person who just started the feed: they say which URL failed and what
//! to do about it, since the usual mistakes are a hub that is not running and a wrong key.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// A client of one hub's server API.
pub struct Hub {
    http: reqwest::Client,
    url: String,
    publish_url: String,
    key: String,
}

/// The body of `POST /api/publish`. A struct rather than `json!`, so the snapshot's fields go out
/// in their declared order (a `serde_json::Value` would sort them).
#[derive(Serialize)]
struct PublishRequest<'a, T> {
    channel: &'a str,
    data: &'a T,
}

/// What `publish` may run into, each saying whose move it is.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// Nothing answered at the URL (or not in time).
    #[error(
        "cannot reach the hub at {url} ({reason}). Is it running? Start it with `duplex serve \
         --demo`: it prints the command that runs this feed, with its URL and API key"
    )]
    Unreachable {
        /// The hub's base URL.
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The hub answered 401: the key is not its `http_api.key`.
    #[error(
        "the hub at {url} refused the API key (HTTP 401): pass the key `duplex serve --demo` \
         printed, as --api-key KEY or DUPLEX_HTTP_API_KEY=KEY"
    )]
    WrongKey {
        /// The hub's base URL.
        url: String,
    },
    /// The hub answered, but refused (an error in the reply, or an unexpected status).
    #[error("the hub at {url} refused the publication: {answer}")]
    Refused {
        /// The hub's base URL.
        url: String,
        /// What it said.
        answer: String,
    },
}

impl Hub {
    /// The server API of the hub at `url` (`http://127.0.0.1:8000`), with its API key.
    pub fn new(url: &str, key: &str) -> anyhow::Result<Hub> {
        let url = url.trim_end_matches('/').to_owned();
        Ok(Hub {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            publish_url: format!("{url}/api/publish"),
            url,
            key: key.to_owned(),
        })
    }

    /// Publishes `data` to `channel`; returns the publication's offset in the channel's
    /// history (0 for a channel without history).
    pub async fn publish(&self, channel: &str, data: &impl Serialize) -> Result<u64, PublishError> {
        let response = self
            .http
            .post(&self.publish_url)
            .header("X-API-Key", &self.key)
            .json(&PublishRequest { channel, data })
            .send()
            .await
            .map_err(|e| PublishError::Unreachable {
                url: self.url.clone(),
                reason: if e.is_timeout() {
                    "no answer within 5 s".to_owned()
                } else {
                    causes(&e)
                },
            })?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(PublishError::WrongKey {
                url: self.url.clone(),
            });
        }
        let refused = |answer: String| PublishError::Refused {
            url: self.url.clone(),
            answer,
        };
        let text = response
            .text()
            .await
            .map_err(|e| refused(format!("HTTP {status}, and its body broke off: {e}")))?;
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            let excerpt: String = text.chars().take(200).collect();
            let hint = if status == reqwest::StatusCode::NOT_FOUND {
                " (is this the hub's address? Its server API is under /api)"
            } else {
                ""
            };
            refused(format!("HTTP {status}, not JSON{hint}: {excerpt}"))
        })?;
        if let Some(error) = body.get("error") {
            let code = error.get("code").cloned().unwrap_or(Value::Null);
            let message = error.get("message").and_then(Value::as_str).unwrap_or("");
            return Err(refused(format!("error {code} on {channel}: {message}")));
        }
        if !status.is_success() {
            return Err(refused(format!("HTTP {status}: {body}")));
        }
        Ok(body["result"]["offset"].as_u64().unwrap_or(0))
    }
}

/// What lies under `e` ("tcp connect error: Connection refused (os error 111)"): reqwest's own
/// message ("error sending request for url ...") hides the part that helps.
fn causes(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}
