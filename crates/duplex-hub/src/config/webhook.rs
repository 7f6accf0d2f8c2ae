//! The webhook options (`webhook.*`): where the hub posts the disconnect and unsubscribe events
//! that Centrifugo's protocol gives the application no way to hear, how it signs them, and how
//! hard it tries. A hub extension, so the keys are ours; Centrifugo has no equivalent.
//!
//! Off by default. When on, an endpoint and a secret are required: an unsigned webhook would let
//! anyone who finds the endpoint tell the application that its users left.

use std::time::Duration;

use serde_json::Value;

use super::value::{describe, Setting};
use super::{ConfigError, HubConfig};

/// An event the hub can post to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookEventKind {
    /// A connected client left: it closed, the connection was lost, or the server closed it
    /// (`"disconnect"`).
    Disconnect,
    /// A subscription ended: the client unsubscribed, the server unsubscribed it, its token
    /// expired, or the connection ended (`"unsubscribe"`).
    Unsubscribe,
}

impl WebhookEventKind {
    /// The name in configuration and in the event's `type` field.
    pub fn name(self) -> &'static str {
        match self {
            WebhookEventKind::Disconnect => "disconnect",
            WebhookEventKind::Unsubscribe => "unsubscribe",
        }
    }
}

/// Webhooks to the application (`webhook.*`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// Post events (`webhook.enabled`, default off).
    pub enabled: bool,
    /// The URL events are posted to, `http://` or `https://` (`webhook.endpoint`).
    pub endpoint: Option<String>,
    /// The HMAC-SHA256 key of the `X-Duplex-Signature` header (`webhook.secret`).
    pub secret: Option<String>,
    /// How long one attempt may take, connect to last byte (`webhook.timeout`, 5s).
    pub timeout: Duration,
    /// Which events are posted (`webhook.events`, both by default).
    pub events: Vec<WebhookEventKind>,
    /// Most events owed at once; past it the oldest is dropped (`webhook.max_queue`, 100000).
    pub max_queue: usize,
    /// Most attempts in flight at once (`webhook.concurrency`, 8).
    pub concurrency: usize,
    /// The first retry's delay; each retry doubles it (`webhook.retry_min_delay`, 1s).
    pub retry_min_delay: Duration,
    /// The longest delay between two attempts (`webhook.retry_max_delay`, 5m).
    pub retry_max_delay: Duration,
    /// The SQLite file that keeps the events owed across restarts (`webhook.queue_path`); unset,
    /// `webhooks.sqlite3` in the SQLite engine's folder when `engine.type` is `sqlite`, else in
    /// memory, and a restart loses them.
    pub queue_path: Option<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            endpoint: None,
            secret: None,
            timeout: Duration::from_secs(5),
            events: vec![WebhookEventKind::Disconnect, WebhookEventKind::Unsubscribe],
            max_queue: 100_000,
            concurrency: 8,
            retry_min_delay: Duration::from_secs(1),
            retry_max_delay: Duration::from_secs(300),
            queue_path: None,
        }
    }
}

impl WebhookConfig {
    /// Whether events of `kind` are posted.
    pub fn wants(&self, kind: WebhookEventKind) -> bool {
        self.enabled && self.events.contains(&kind)
    }
}

impl Setting for Vec<WebhookEventKind> {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Array(_) | Value::String(_) => {
                Vec::<String>::from_json(value).and_then(|names| event_kinds(&names))
            }
            other => Err(format!(
                "expected a list of event names, got {}",
                describe(other)
            )),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Vec::<String>::from_text(text).and_then(|names| event_kinds(&names))
    }
}

fn event_kinds(names: &[String]) -> Result<Vec<WebhookEventKind>, String> {
    names
        .iter()
        .map(|name| match name.as_str() {
            "disconnect" => Ok(WebhookEventKind::Disconnect),
            "unsubscribe" => Ok(WebhookEventKind::Unsubscribe),
            other => Err(format!(
                "unknown event {other:?} (\"disconnect\" or \"unsubscribe\")"
            )),
        })
        .collect()
}

/// Refuses, under `key`, a `url` that is not `http://` or `https://` with a host: where the hub
/// posts webhooks.
pub(super) fn check_http_url(key: &str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => Ok(()),
        _ => Err(ConfigError::invalid(
            key,
            format!("{url:?} is not an http:// or https:// URL"),
        )),
    }
}

impl HubConfig {
    /// The webhook rules: when on, an http(s) endpoint and a secret; limits above zero.
    pub(super) fn validate_webhook(&self) -> Result<(), ConfigError> {
        let webhook = &self.webhook;
        if !webhook.enabled {
            return Ok(());
        }
        let Some(endpoint) = &webhook.endpoint else {
            return Err(ConfigError::invalid(
                "webhook.endpoint",
                "webhook.enabled needs an endpoint",
            ));
        };
        check_http_url("webhook.endpoint", endpoint)?;
        if webhook.secret.is_none() {
            return Err(ConfigError::invalid(
                "webhook.secret",
                "webhook.enabled needs a secret to sign events with",
            ));
        }
        for (key, value) in [
            ("webhook.max_queue", webhook.max_queue),
            ("webhook.concurrency", webhook.concurrency),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be above zero"));
            }
        }
        if webhook.timeout.is_zero() {
            return Err(ConfigError::invalid(
                "webhook.timeout",
                "must be above zero",
            ));
        }
        if webhook.retry_min_delay.is_zero() || webhook.retry_min_delay > webhook.retry_max_delay {
            return Err(ConfigError::invalid(
                "webhook.retry_min_delay",
                format!(
                    "must be above zero and at most webhook.retry_max_delay ({:?})",
                    webhook.retry_max_delay
                ),
            ));
        }
        Ok(())
    }
}
