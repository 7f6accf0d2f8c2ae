//! The application's first way to publish: the hub's server API, over plain HTTP.
//!
//! This is what a backend does after it changed something: one POST to the hub's `/api/publish`
//! with its API key. The hub answers once the publication is in the channel's history and on
//! its way to every subscriber.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::App;

/// The channel the page shows.
pub const CHANNEL: &str = "news";

/// A client of the hub's server API.
pub struct HubApi {
    http: reqwest::Client,
    publish_url: String,
    key: String,
}

impl HubApi {
    /// The server API of the hub at `base` (`http://localhost:8001`), with its API key.
    pub fn new(base: &str, key: &str) -> HubApi {
        HubApi {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("an HTTP client with default TLS settings"),
            publish_url: format!("{}/api/publish", base.trim_end_matches('/')),
            key: key.to_owned(),
        }
    }

    /// Publishes `data` to `channel`; the error says what the hub answered.
    pub async fn publish(&self, channel: &str, data: &Value) -> Result<Value, String> {
        let response = self
            .http
            .post(&self.publish_url)
            .header("X-API-Key", &self.key)
            .json(&json!({"channel": channel, "data": data}))
            .send()
            .await
            .map_err(|e| format!("the hub is unreachable: {e}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("the hub answered {status} with no JSON: {e}"))?;
        match body.get("error") {
            Some(error) => Err(format!("the hub refused the publication: {error}")),
            None if status.is_success() => Ok(body.get("result").cloned().unwrap_or(Value::Null)),
            None => Err(format!("the hub answered {status}: {body}")),
        }
    }
}

/// What the page posts: a line of text.
#[derive(Deserialize)]
pub struct Message {
    /// The text.
    pub text: String,
}

/// `POST /api/publish`: a logged-in user's message, published through the server API.
pub async fn publish(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Json(message): Json<Message>,
) -> (StatusCode, Json<Value>) {
    let Some(user) = app.sessions.user(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "log in first"})),
        );
    };
    let data = json!({"text": message.text, "by": user, "via": "api"});
    match app.hub.publish(CHANNEL, &data).await {
        Ok(result) => (StatusCode::OK, Json(json!({"published": result}))),
        Err(error) => (StatusCode::BAD_GATEWAY, Json(json!({"error": error}))),
    }
}
