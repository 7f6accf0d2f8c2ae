//! The body of one webhook: a disconnect or an unsubscribe, as JSON. docs/webhooks.md shows
//! both and says what every field means.
//!
//! One flat object for both kinds, so that a receiver reads `type`, `id` and the fields it
//! needs without a second level; `channel` and `chan_info` exist only on unsubscribes. The
//! `id` is made once, when the event happens, and every retry carries the same one: it is
//! what a receiver deduplicates on.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codes::{Disconnect, Unsubscribe};
use crate::config::WebhookEventKind;

/// One event posted to the application.
///
/// ```
/// use duplex_hub::webhook::WebhookEvent;
///
/// let body = r#"{"id":"5c3e8a8e-4b53-4c8e-9d1a-2f0a1b2c3d4e","type":"unsubscribe",
///     "time_ms":1765000000000,"node":"a1b2c3d4","client":"c1","user":"42",
///     "channel":"chat:lobby","code":0,"reason":"client unsubscribed"}"#;
/// let event: WebhookEvent = serde_json::from_str(body).unwrap();
/// assert_eq!(event.channel.as_deref(), Some("chat:lobby"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// A UUID made when the event happened; the same on every retry.
    pub id: String,
    /// `"disconnect"` or `"unsubscribe"`.
    #[serde(rename = "type")]
    pub kind: WebhookEventKind,
    /// When it happened, Unix milliseconds.
    pub time_ms: i64,
    /// The name of the node the client was connected to.
    pub node: String,
    /// The client id (the connect reply's `client`).
    pub client: String,
    /// The user ("" for an anonymous connection).
    pub user: String,
    /// The channel (unsubscribe only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The disconnect code (3000–4999) or the unsubscribe code (0–2999): docs/protocol.md.
    pub code: u32,
    /// The code's reason.
    pub reason: String,
    /// The connection info from the token or the connect callback, when it is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_info: Option<Value>,
    /// The subscriber's channel info (unsubscribe only), when it is JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chan_info: Option<Value>,
}

/// Who left, as the session knows it when it happens.
pub(crate) struct Leaver<'a> {
    pub(crate) node: &'a str,
    pub(crate) client: &'a str,
    pub(crate) user: &'a str,
    pub(crate) conn_info: Option<&'a Bytes>,
}

impl WebhookEvent {
    /// A connection that ended with `disconnect`.
    pub(crate) fn disconnect(who: &Leaver<'_>, disconnect: &Disconnect) -> WebhookEvent {
        WebhookEvent::new(
            WebhookEventKind::Disconnect,
            who,
            u32::from(disconnect.code),
            &disconnect.reason,
        )
    }

    /// A subscription to `channel` that ended with `unsubscribe`.
    pub(crate) fn unsubscribe(
        who: &Leaver<'_>,
        channel: &str,
        chan_info: Option<&Bytes>,
        unsubscribe: &Unsubscribe,
    ) -> WebhookEvent {
        let mut event = WebhookEvent::new(
            WebhookEventKind::Unsubscribe,
            who,
            unsubscribe.code,
            &unsubscribe.reason,
        );
        event.channel = Some(channel.to_owned());
        event.chan_info = chan_info.and_then(json);
        event
    }

    fn new(kind: WebhookEventKind, who: &Leaver<'_>, code: u32, reason: &str) -> WebhookEvent {
        WebhookEvent {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            time_ms: unix_ms(),
            node: who.node.to_owned(),
            client: who.client.to_owned(),
            user: who.user.to_owned(),
            channel: None,
            code,
            reason: reason.to_owned(),
            conn_info: who.conn_info.and_then(json),
            chan_info: None,
        }
    }
}

/// Info as JSON: info is raw JSON from a token or a callback; anything else is left out
/// rather than sent as a string the receiver would have to guess about.
fn json(bytes: &Bytes) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsubscribe_carries_its_channel_and_infos_and_a_fresh_id() {
        let info = Bytes::from_static(br#"{"name":"Ann"}"#);
        let who = Leaver {
            node: "n1",
            client: "c1",
            user: "42",
            conn_info: Some(&info),
        };
        let chan_info = Bytes::from_static(b"not json");
        let first =
            WebhookEvent::unsubscribe(&who, "chat:a", Some(&chan_info), &Unsubscribe::SERVER);
        let second = WebhookEvent::unsubscribe(&who, "chat:a", None, &Unsubscribe::SERVER);
        assert_ne!(first.id, second.id);
        let body: Value = serde_json::to_value(&first).unwrap();
        assert_eq!(body["type"], "unsubscribe");
        assert_eq!(body["channel"], "chat:a");
        assert_eq!(body["code"], 2000);
        assert_eq!(body["conn_info"]["name"], "Ann");
        assert!(
            body.get("chan_info").is_none(),
            "not JSON, so left out: {body}"
        );
    }

    #[test]
    fn a_disconnect_has_no_channel() {
        let who = Leaver {
            node: "n1",
            client: "c1",
            user: "",
            conn_info: None,
        };
        let body =
            serde_json::to_value(WebhookEvent::disconnect(&who, &Disconnect::SHUTDOWN)).unwrap();
        assert_eq!(body["type"], "disconnect");
        assert_eq!(body["code"], 3001);
        assert_eq!(body["reason"], "shutdown");
        assert!(body.get("channel").is_none() && body.get("conn_info").is_none());
    }
}
