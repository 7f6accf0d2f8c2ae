//! What a verified token says: the claims of connection and subscription tokens, in the
//! shapes Centrifugo gives them.
//!
//! Application data (`info`, `meta`, `data`) stays the JSON text the backend wrote, as bytes:
//! the hub passes it on to clients without parsing it again. The `b64info`/`b64data` variants
//! carry binary data for Protobuf clients and win over their JSON twins, as in Centrifugo.

use std::collections::HashMap;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::verify::Payload;
use super::TokenError;

/// The claims of a verified connection token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectClaims {
    /// The user id (`sub`). Empty (or absent) means an anonymous user, as in Centrifugo.
    pub sub: String,
    /// The token's `exp` (Unix seconds), if any.
    pub exp: Option<i64>,
    /// Connection info shown to other clients (presence, join/leave, client publications):
    /// the `info` JSON text, or the bytes decoded from `b64info`.
    pub info: Option<Bytes>,
    /// Channels to subscribe the connection to on the server side (`channels`).
    pub channels: Vec<String>,
    /// Server-side subscriptions with options (`subs`); when not empty, Centrifugo uses it
    /// instead of `channels` (see [`ConnectClaims::server_subscriptions`]).
    pub subs: HashMap<String, SubscribeGrant>,
    /// Private data about the connection for the backend (`meta`), never sent to clients.
    pub meta: Option<Bytes>,
    /// The `expire_at` claim as written: when the connection must be refreshed, overriding
    /// `exp`; `0` means never (see [`ConnectClaims::expires_at`]).
    pub expire_at: Option<i64>,
}

impl ConnectClaims {
    /// When the connection expires (Unix seconds) and must present a fresh token with a
    /// `refresh` command: `expire_at` when positive, never when `expire_at` is 0 or less,
    /// otherwise `exp`.
    pub fn expires_at(&self) -> Option<i64> {
        effective_expiry(self.expire_at, self.exp)
    }

    /// The channels to subscribe on connect, each with its grant when the token used `subs`.
    /// Centrifugo reads `subs` when it is not empty and `channels` otherwise, never both.
    pub fn server_subscriptions(&self) -> Vec<(&str, Option<&SubscribeGrant>)> {
        if self.subs.is_empty() {
            self.channels.iter().map(|c| (c.as_str(), None)).collect()
        } else {
            self.subs
                .iter()
                .map(|(c, g)| (c.as_str(), Some(g)))
                .collect()
        }
    }
}

/// One entry of a connection token's `subs` claim: a server-side subscription's options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscribeGrant {
    /// Channel info for this subscription (`info` JSON text, or decoded `b64info`).
    pub info: Option<Bytes>,
    /// Data sent to the client in the subscribe push (`data` JSON text, or decoded `b64data`).
    pub data: Option<Bytes>,
    /// Per-subscription overrides of the namespace's options (`override`).
    pub overrides: SubscribeOverrides,
}

/// Centrifugo's `override` object: each option, when present, replaces the namespace's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubscribeOverrides {
    /// `override.presence.value`.
    pub presence: Option<bool>,
    /// `override.join_leave.value`.
    pub join_leave: Option<bool>,
    /// `override.force_push_join_leave.value`.
    pub force_push_join_leave: Option<bool>,
    /// `override.force_recovery.value`.
    pub force_recovery: Option<bool>,
    /// `override.force_positioning.value`.
    pub force_positioning: Option<bool>,
}

/// The claims of a verified subscription token. The session must check that `channel` is
/// the channel being subscribed and `sub` the connection's user (empty: anonymous).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscribeClaims {
    /// The user id the token was issued to (`sub`; empty or absent: anonymous).
    pub sub: String,
    /// The channel the token grants (`channel`, required and not empty).
    pub channel: String,
    /// The token's `exp` (Unix seconds), if any.
    pub exp: Option<i64>,
    /// Channel info for this subscription (`info` JSON text, or decoded `b64info`).
    pub info: Option<Bytes>,
    /// The `expire_at` claim as written (see [`SubscribeClaims::expires_at`]).
    pub expire_at: Option<i64>,
    /// Data for the subscribe reply (`data` JSON text, or decoded `b64data`).
    pub data: Option<Bytes>,
    /// Overrides of the namespace's options (`override`).
    pub overrides: SubscribeOverrides,
    /// When set (`client`), the token is only good for this client id.
    pub client: Option<String>,
}

impl SubscribeClaims {
    /// When the subscription expires (Unix seconds) and needs `sub_refresh`: `expire_at`
    /// when positive, never when it is 0 or less, otherwise `exp`.
    pub fn expires_at(&self) -> Option<i64> {
        effective_expiry(self.expire_at, self.exp)
    }
}

fn effective_expiry(expire_at: Option<i64>, exp: Option<i64>) -> Option<i64> {
    match expire_at {
        Some(at) if at > 0 => Some(at),
        Some(_) => None,
        None => exp,
    }
}

/// The registered claims every check needs, whichever kind of token carries them.
pub(super) struct Registered<'a> {
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub aud: Option<&'a Audience>,
    pub iss: Option<&'a str>,
}

/// `aud`: one string or a list of them (RFC 7519, 4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    pub fn contains(&self, wanted: &str) -> bool {
        match self {
            Audience::One(one) => one == wanted,
            Audience::Many(many) => many.iter().any(|a| a == wanted),
        }
    }
}

/// A connection token's payload as it is written.
#[derive(Deserialize)]
pub(super) struct RawConnect {
    sub: Option<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    aud: Option<Audience>,
    iss: Option<String>,
    info: Option<Box<RawValue>>,
    b64info: Option<String>,
    channels: Option<Vec<String>>,
    subs: Option<HashMap<String, RawGrant>>,
    meta: Option<Box<RawValue>>,
    expire_at: Option<i64>,
    /// Only subscription tokens may have it: its presence unmasks a subscription token
    /// presented as a connection token.
    channel: Option<String>,
}

/// A subscription token's payload as it is written.
#[derive(Deserialize)]
pub(super) struct RawSubscribe {
    sub: Option<String>,
    #[serde(default, deserialize_with = "numeric_date")]
    exp: Option<i64>,
    #[serde(default, deserialize_with = "numeric_date")]
    nbf: Option<i64>,
    aud: Option<Audience>,
    iss: Option<String>,
    channel: Option<String>,
    client: Option<String>,
    info: Option<Box<RawValue>>,
    b64info: Option<String>,
    data: Option<Box<RawValue>>,
    b64data: Option<String>,
    #[serde(rename = "override")]
    overrides: Option<RawOverrides>,
    expire_at: Option<i64>,
}

#[derive(Deserialize)]
struct RawGrant {
    info: Option<Box<RawValue>>,
    b64info: Option<String>,
    data: Option<Box<RawValue>>,
    b64data: Option<String>,
    #[serde(rename = "override")]
    overrides: Option<RawOverrides>,
}

#[derive(Deserialize)]
struct RawOverrides {
    presence: Option<BoolValue>,
    join_leave: Option<BoolValue>,
    force_push_join_leave: Option<BoolValue>,
    force_recovery: Option<BoolValue>,
    force_positioning: Option<BoolValue>,
}

/// Centrifugo wraps each override as `{"value": true}` so that "absent" and "false" differ.
#[derive(Deserialize)]
struct BoolValue {
    #[serde(default)]
    value: bool,
}

impl Payload for RawConnect {
    fn registered(&self) -> Registered<'_> {
        Registered {
            exp: self.exp,
            nbf: self.nbf,
            aud: self.aud.as_ref(),
            iss: self.iss.as_deref(),
        }
    }
}

impl RawConnect {
    pub fn into_claims(self) -> Result<ConnectClaims, TokenError> {
        if self.channel.as_deref().is_some_and(|c| !c.is_empty()) {
            return Err(TokenError::Invalid(
                "a connection token cannot have a channel claim (is it a subscription token?)"
                    .into(),
            ));
        }
        let subs = self
            .subs
            .unwrap_or_default()
            .into_iter()
            .map(|(channel, grant)| Ok((channel, grant.into_grant()?)))
            .collect::<Result<_, TokenError>>()?;
        Ok(ConnectClaims {
            sub: self.sub.unwrap_or_default(),
            exp: self.exp,
            info: json_or_base64(self.info, self.b64info, "b64info")?,
            channels: self.channels.unwrap_or_default(),
            subs,
            meta: self.meta.map(raw_bytes),
            expire_at: self.expire_at,
        })
    }
}

impl Payload for RawSubscribe {
    fn registered(&self) -> Registered<'_> {
        Registered {
            exp: self.exp,
            nbf: self.nbf,
            aud: self.aud.as_ref(),
            iss: self.iss.as_deref(),
        }
    }
}

impl RawSubscribe {
    pub fn into_claims(self) -> Result<SubscribeClaims, TokenError> {
        let channel = match self.channel {
            Some(channel) if !channel.is_empty() => channel,
            _ => {
                return Err(TokenError::Invalid(
                    "a subscription token needs a channel claim".into(),
                ))
            }
        };
        Ok(SubscribeClaims {
            sub: self.sub.unwrap_or_default(),
            channel,
            exp: self.exp,
            info: json_or_base64(self.info, self.b64info, "b64info")?,
            expire_at: self.expire_at,
            data: json_or_base64(self.data, self.b64data, "b64data")?,
            overrides: self
                .overrides
                .map(RawOverrides::into_overrides)
                .unwrap_or_default(),
            client: self.client.filter(|c| !c.is_empty()),
        })
    }
}

impl RawGrant {
    fn into_grant(self) -> Result<SubscribeGrant, TokenError> {
        Ok(SubscribeGrant {
            info: json_or_base64(self.info, self.b64info, "b64info")?,
            data: json_or_base64(self.data, self.b64data, "b64data")?,
            overrides: self
                .overrides
                .map(RawOverrides::into_overrides)
                .unwrap_or_default(),
        })
    }
}

impl RawOverrides {
    fn into_overrides(self) -> SubscribeOverrides {
        let value = |v: Option<BoolValue>| v.map(|v| v.value);
        SubscribeOverrides {
            presence: value(self.presence),
            join_leave: value(self.join_leave),
            force_push_join_leave: value(self.force_push_join_leave),
            force_recovery: value(self.force_recovery),
            force_positioning: value(self.force_positioning),
        }
    }
}

fn raw_bytes(raw: Box<RawValue>) -> Bytes {
    Bytes::from(String::from(Box::<str>::from(raw)))
}

/// The base64 form wins when present and not empty, as in Centrifugo.
fn json_or_base64(
    json: Option<Box<RawValue>>,
    base64: Option<String>,
    name: &str,
) -> Result<Option<Bytes>, TokenError> {
    match base64.filter(|b| !b.is_empty()) {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map(|decoded| Some(Bytes::from(decoded)))
            .map_err(|e| TokenError::Invalid(format!("{name} is not base64: {e}"))),
        None => Ok(json.map(raw_bytes)),
    }
}

/// A JWT NumericDate: whole or fractional seconds since the epoch (fractions dropped).
fn numeric_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let number = Option::<serde_json::Number>::deserialize(deserializer)?;
    Ok(number.and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))))
}
