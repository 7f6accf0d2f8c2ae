//! Pusher's webhooks: the body `{"time_ms": .., "events": [..]}` posted to the application,
//! and the headers that let it check the body came from us.
//!
//! The shapes are Pusher's, because applications validate and read them with the Pusher
//! server SDKs (`pusher.webhook(request).isValid()` in pusher-http-node): `X-Pusher-Key` names
//! the token, `X-Pusher-Signature` is the hex HMAC-SHA256 of the raw body with its secret, and
//! the content type must be exactly `application/json`, as that SDK compares it verbatim. The
//! events are tagged by `name` and carry only their own fields; `user_id` appears on a
//! `client_event` only when it was sent on a presence channel. Batching several events into
//! one body, retrying and delaying vacated/removed events are the delivery's business, not
//! this file's.

use serde::{Deserialize, Serialize};

use super::signature::{verify_webhook_signature, webhook_signature, Credentials};

/// The header naming the key whose secret signed the body.
pub const KEY_HEADER: &str = "X-Pusher-Key";

/// The header carrying the body's hex HMAC-SHA256.
pub const SIGNATURE_HEADER: &str = "X-Pusher-Signature";

/// The content type of every webhook, exactly as pusher-http-node expects it.
pub const CONTENT_TYPE: &str = "application/json";

/// One webhook's body.
///
/// ```
/// use duplex_hub::pusher::webhook::{WebhookBody, WebhookEvent};
///
/// let body = WebhookBody {
///     time_ms: 1327078148132,
///     events: vec![WebhookEvent::ChannelOccupied { channel: "my-channel".into() }],
/// };
/// assert_eq!(
///     String::from_utf8(body.to_json()).unwrap(),
///     r#"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"my-channel"}]}"#,
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookBody {
    /// When the webhook was made, Unix milliseconds; receivers spot delayed ones with it.
    pub time_ms: i64,
    /// The events, one or more.
    pub events: Vec<WebhookEvent>,
}

/// One event in a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum WebhookEvent {
    /// A channel got its first subscriber.
    ChannelOccupied {
        /// The channel.
        channel: String,
    },
    /// A channel lost its last subscriber.
    ChannelVacated {
        /// The channel.
        channel: String,
    },
    /// A user joined a presence channel (their first connection there).
    MemberAdded {
        /// The presence channel.
        channel: String,
        /// The user.
        user_id: String,
    },
    /// A user left a presence channel (their last connection there).
    MemberRemoved {
        /// The presence channel.
        channel: String,
        /// The user.
        user_id: String,
    },
    /// A client sent a `client-` event.
    ClientEvent {
        /// The channel it was sent on.
        channel: String,
        /// The event name.
        event: String,
        /// The payload, as delivered to the other subscribers.
        data: String,
        /// The sender's socket id.
        socket_id: String,
        /// The sender's user id, on presence channels only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
    },
    /// Someone subscribed to a cache channel that had no event to give them.
    CacheMiss {
        /// The cache channel.
        channel: String,
    },
    /// The number of connections subscribed to a channel changed.
    SubscriptionCount {
        /// The channel.
        channel: String,
        /// Connections subscribed now.
        subscription_count: u64,
    },
}

impl WebhookEvent {
    /// The event's `name` in the body.
    pub fn name(&self) -> &'static str {
        match self {
            WebhookEvent::ChannelOccupied { .. } => "channel_occupied",
            WebhookEvent::ChannelVacated { .. } => "channel_vacated",
            WebhookEvent::MemberAdded { .. } => "member_added",
            WebhookEvent::MemberRemoved { .. } => "member_removed",
            WebhookEvent::ClientEvent { .. } => "client_event",
            WebhookEvent::CacheMiss { .. } => "cache_miss",
            WebhookEvent::SubscriptionCount { .. } => "subscription_count",
        }
    }

    /// The channel the event is about.
    pub fn channel(&self) -> &str {
        match self {
            WebhookEvent::ChannelOccupied { channel }
            | WebhookEvent::ChannelVacated { channel }
            | WebhookEvent::MemberAdded { channel, .. }
            | WebhookEvent::MemberRemoved { channel, .. }
            | WebhookEvent::ClientEvent { channel, .. }
            | WebhookEvent::CacheMiss { channel }
            | WebhookEvent::SubscriptionCount { channel, .. } => channel,
        }
    }
}

/// A body ready to post, with the values of its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    /// The exact bytes to post; the signature covers them.
    pub body: Vec<u8>,
    /// [`KEY_HEADER`]'s value.
    pub key: String,
    /// [`SIGNATURE_HEADER`]'s value.
    pub signature: String,
}

impl SignedWebhook {
    /// The headers to send: content type, key and signature.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            ("Content-Type", CONTENT_TYPE),
            (KEY_HEADER, &self.key),
            (SIGNATURE_HEADER, &self.signature),
        ]
    }
}

impl WebhookBody {
    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Invariant: only strings, integers and string-keyed structs, which cannot fail.
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("serializing a webhook: {e}"))
    }

    /// The body and its headers, signed with `app`'s secret.
    ///
    /// ```
    /// use duplex_hub::pusher::signature::Credentials;
    /// use duplex_hub::pusher::webhook::{verify, WebhookBody, WebhookEvent};
    ///
    /// let app = Credentials::new("key", "secret");
    /// let body = WebhookBody { time_ms: 1, events: vec![WebhookEvent::CacheMiss { channel: "cache-x".into() }] };
    /// let signed = body.sign(&app);
    /// assert_eq!(verify(&[app], &signed.key, &signed.signature, &signed.body).map(|c| c.key.as_str()), Some("key"));
    /// ```
    pub fn sign(&self, app: &Credentials) -> SignedWebhook {
        let body = self.to_json();
        SignedWebhook {
            signature: webhook_signature(app, &body),
            key: app.key.clone(),
            body,
        }
    }
}

/// The receiving side's check, as pusher-http-node makes it: the token named by `key` signed
/// `body` with `signature`. Returns that token.
pub fn verify<'t>(
    tokens: &'t [Credentials],
    key: &str,
    signature: &str,
    body: &[u8],
) -> Option<&'t Credentials> {
    tokens
        .iter()
        .find(|token| token.key == key && verify_webhook_signature(token, body, signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(event: WebhookEvent) -> String {
        serde_json::to_string(&event).unwrap()
    }

    #[test]
    fn each_event_has_pushers_shape() {
        let cases = [
            (
                WebhookEvent::ChannelOccupied {
                    channel: "my-channel".into(),
                },
                r#"{"name":"channel_occupied","channel":"my-channel"}"#,
            ),
            (
                WebhookEvent::ChannelVacated {
                    channel: "my-channel".into(),
                },
                r#"{"name":"channel_vacated","channel":"my-channel"}"#,
            ),
            (
                WebhookEvent::MemberAdded {
                    channel: "presence-your_channel_name".into(),
                    user_id: "a_user_id".into(),
                },
                r#"{"name":"member_added","channel":"presence-your_channel_name","user_id":"a_user_id"}"#,
            ),
            (
                WebhookEvent::MemberRemoved {
                    channel: "presence-your_channel_name".into(),
                    user_id: "a_user_id".into(),
                },
                r#"{"name":"member_removed","channel":"presence-your_channel_name","user_id":"a_user_id"}"#,
            ),
            (
                WebhookEvent::ClientEvent {
                    channel: "private-chat".into(),
                    event: "client-typing".into(),
                    data: r#"{"who":"ada"}"#.into(),
                    socket_id: "123.456".into(),
                    user_id: None,
                },
                r#"{"name":"client_event","channel":"private-chat","event":"client-typing","data":"{\"who\":\"ada\"}","socket_id":"123.456"}"#,
            ),
            (
                WebhookEvent::ClientEvent {
                    channel: "presence-room".into(),
                    event: "client-typing".into(),
                    data: "hi".into(),
                    socket_id: "1.2".into(),
                    user_id: Some("7".into()),
                },
                r#"{"name":"client_event","channel":"presence-room","event":"client-typing","data":"hi","socket_id":"1.2","user_id":"7"}"#,
            ),
            (
                WebhookEvent::CacheMiss {
                    channel: "cache-prices".into(),
                },
                r#"{"name":"cache_miss","channel":"cache-prices"}"#,
            ),
            (
                WebhookEvent::SubscriptionCount {
                    channel: "c".into(),
                    subscription_count: 2,
                },
                r#"{"name":"subscription_count","channel":"c","subscription_count":2}"#,
            ),
        ];
        for (event, expected) in cases {
            let name = event.name();
            let channel = event.channel().to_owned();
            assert_eq!(json(event.clone()), expected);
            // What we send, a receiver reads back the same.
            let back: WebhookEvent = serde_json::from_str(expected).unwrap();
            assert_eq!(back, event);
            assert!(expected.starts_with(&format!(r#"{{"name":"{name}","channel":"{channel}""#)));
        }
    }

    #[test]
    fn pushers_documented_body_reads() {
        let body = r#"{
            "time_ms": 1327078148132,
            "events": [
                { "name": "channel_occupied", "channel": "my-channel" },
                { "name": "member_added", "channel": "presence-your_channel_name", "user_id": "a_user_id" }
            ]
        }"#;
        let parsed: WebhookBody = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.time_ms, 1_327_078_148_132);
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.events[1].name(), "member_added");
        assert!(serde_json::from_str::<WebhookEvent>(
            r#"{"name":"channel_exploded","channel":"x"}"#
        )
        .is_err());
    }

    #[test]
    fn signed_bodies_verify_like_pusher_http_node() {
        let app = Credentials::new("278d425bdf160c739803", "7ad3773142a6692b25b8");
        let body = WebhookBody {
            time_ms: 1_327_078_148_132,
            events: vec![WebhookEvent::ChannelVacated {
                channel: "my-channel".into(),
            }],
        };
        let signed = body.sign(&app);
        assert_eq!(signed.body, body.to_json());
        assert_eq!(signed.signature, webhook_signature(&app, &signed.body));
        assert_eq!(signed.signature.len(), 64);
        assert_eq!(
            signed.headers(),
            [
                ("Content-Type", "application/json"),
                ("X-Pusher-Key", "278d425bdf160c739803"),
                ("X-Pusher-Signature", signed.signature.as_str()),
            ]
        );
        let other = Credentials::new("other", "other-secret");
        let tokens = [other.clone(), app.clone()];
        assert_eq!(
            verify(&tokens, &signed.key, &signed.signature, &signed.body),
            Some(&app)
        );
        // The key must name the token that signed.
        assert_eq!(
            verify(&tokens, "other", &signed.signature, &signed.body),
            None
        );
        // A changed body, or a signature by another secret, fails.
        assert_eq!(verify(&tokens, &signed.key, &signed.signature, b"{}"), None);
        let forged = body.sign(&Credentials::new("278d425bdf160c739803", "guess"));
        assert_eq!(
            verify(&tokens, &forged.key, &forged.signature, &forged.body),
            None
        );
    }
}
