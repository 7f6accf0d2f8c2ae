//! The server API's request bodies as JSON, and their validation into [`super::requests`].
//!
//! Two failures are kept apart, as Centrifugo keeps them: a body that does not decode (not JSON,
//! or a field of the wrong type) is the transport's problem and gets HTTP 400 before anything
//! runs; a body that decodes but says something unusable (no channel, no data, bad base64) is
//! answered with error 107 in the reply. Every field is optional here and `null` counts as
//! missing, as Go's decoder treats it, so `{"client": null}` is not a decoding failure.
//! Unknown fields are ignored so newer clients can talk to this hub.

use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::ApiError;
use super::requests::{
    BroadcastRequest, ChannelOverride, ChannelsRequest, DisconnectReason, DisconnectRequest,
    HistoryRemoveRequest, HistoryRequest, PresenceRequest, PublishRequest, RefreshRequest,
    StreamPosition, SubscribeRequest, UnsubscribeRequest,
};

/// `publish` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct PublishWire {
    channel: Option<String>,
    data: Option<Box<RawValue>>,
    b64data: Option<String>,
    skip_history: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    idempotency_key: Option<String>,
    delta: Option<bool>,
    version: Option<u64>,
    version_epoch: Option<String>,
}

/// `broadcast` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct BroadcastWire {
    channels: Option<Vec<String>>,
    data: Option<Box<RawValue>>,
    b64data: Option<String>,
    skip_history: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    idempotency_key: Option<String>,
    delta: Option<bool>,
    version: Option<u64>,
    version_epoch: Option<String>,
}

/// Centrifugo's boolean wrapper, `{"value": true}`, which lets "false" differ from "not given".
#[derive(Debug, Default, Deserialize)]
struct BoolValue {
    value: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct OverrideWire {
    presence: Option<BoolValue>,
    join_leave: Option<BoolValue>,
    force_push_join_leave: Option<BoolValue>,
    force_positioning: Option<BoolValue>,
    force_recovery: Option<BoolValue>,
}

/// `subscribe` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct SubscribeWire {
    user: Option<String>,
    channel: Option<String>,
    client: Option<String>,
    session: Option<String>,
    info: Option<Box<RawValue>>,
    b64info: Option<String>,
    data: Option<Box<RawValue>>,
    b64data: Option<String>,
    recover_since: Option<StreamPosition>,
    #[serde(rename = "override")]
    channel_override: Option<OverrideWire>,
    expire_at: Option<i64>,
}

/// `unsubscribe` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct UnsubscribeWire {
    user: Option<String>,
    channel: Option<String>,
    client: Option<String>,
    session: Option<String>,
}

/// `disconnect` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DisconnectWire {
    user: Option<String>,
    client: Option<String>,
    session: Option<String>,
    whitelist: Option<Vec<String>>,
    disconnect: Option<DisconnectReason>,
}

/// `refresh` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RefreshWire {
    user: Option<String>,
    client: Option<String>,
    session: Option<String>,
    expired: Option<bool>,
    expire_at: Option<i64>,
    info: Option<Box<RawValue>>,
}

/// Any request that names one channel: `presence`, `presence_stats`, `history_remove`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChannelWire {
    channel: Option<String>,
}

/// `history` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct HistoryWire {
    channel: Option<String>,
    limit: Option<i32>,
    since: Option<StreamPosition>,
    reverse: Option<bool>,
}

/// `channels` as sent.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ChannelsWire {
    pattern: Option<String>,
}

/// `info` as sent: no fields, but the body must still be JSON.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct InfoWire {}

impl PublishWire {
    pub(crate) fn validate(self) -> Result<PublishRequest, ApiError> {
        Ok(PublishRequest {
            channel: required_channel(self.channel)?,
            data: payload(self.data, self.b64data, "data")?
                .ok_or_else(|| ApiError::bad_request("data required"))?,
            skip_history: self.skip_history.unwrap_or(false),
            tags: self.tags.unwrap_or_default(),
            idempotency_key: non_empty(self.idempotency_key),
            delta: self.delta.unwrap_or(false),
            version: self.version.unwrap_or(0),
            version_epoch: self.version_epoch.unwrap_or_default(),
        })
    }
}

impl BroadcastWire {
    pub(crate) fn validate(self) -> Result<BroadcastRequest, ApiError> {
        let channels = self.channels.unwrap_or_default();
        if channels.is_empty() {
            return Err(ApiError::bad_request("channels required"));
        }
        Ok(BroadcastRequest {
            channels,
            data: payload(self.data, self.b64data, "data")?
                .ok_or_else(|| ApiError::bad_request("data required"))?,
            skip_history: self.skip_history.unwrap_or(false),
            tags: self.tags.unwrap_or_default(),
            idempotency_key: non_empty(self.idempotency_key),
            delta: self.delta.unwrap_or(false),
            version: self.version.unwrap_or(0),
            version_epoch: self.version_epoch.unwrap_or_default(),
        })
    }
}

impl SubscribeWire {
    pub(crate) fn validate(self) -> Result<SubscribeRequest, ApiError> {
        let channel_override = self.channel_override.unwrap_or_default();
        Ok(SubscribeRequest {
            user: self.user.unwrap_or_default(),
            channel: required_channel(self.channel)?,
            client: non_empty(self.client),
            session: non_empty(self.session),
            info: payload(self.info, self.b64info, "info")?,
            data: payload(self.data, self.b64data, "data")?,
            recover_since: self.recover_since,
            channel_override: ChannelOverride {
                presence: flag(channel_override.presence),
                join_leave: flag(channel_override.join_leave),
                force_push_join_leave: flag(channel_override.force_push_join_leave),
                force_positioning: flag(channel_override.force_positioning),
                force_recovery: flag(channel_override.force_recovery),
            },
            expire_at: self.expire_at.filter(|at| *at != 0),
        })
    }
}

impl UnsubscribeWire {
    pub(crate) fn validate(self) -> Result<UnsubscribeRequest, ApiError> {
        Ok(UnsubscribeRequest {
            user: self.user.unwrap_or_default(),
            channel: self.channel.unwrap_or_default(),
            client: non_empty(self.client),
            session: non_empty(self.session),
        })
    }
}

impl DisconnectWire {
    pub(crate) fn validate(self) -> Result<DisconnectRequest, ApiError> {
        Ok(DisconnectRequest {
            user: self.user.unwrap_or_default(),
            client: non_empty(self.client),
            session: non_empty(self.session),
            whitelist: self.whitelist.unwrap_or_default(),
            disconnect: self.disconnect,
        })
    }
}

impl RefreshWire {
    pub(crate) fn validate(self) -> Result<RefreshRequest, ApiError> {
        Ok(RefreshRequest {
            user: self.user.unwrap_or_default(),
            client: non_empty(self.client),
            session: non_empty(self.session),
            expired: self.expired.unwrap_or(false),
            expire_at: self.expire_at.filter(|at| *at != 0),
            info: payload(self.info, None, "info")?,
        })
    }
}

impl ChannelWire {
    pub(crate) fn presence(self) -> Result<PresenceRequest, ApiError> {
        Ok(PresenceRequest {
            channel: required_channel(self.channel)?,
        })
    }

    pub(crate) fn history_remove(self) -> Result<HistoryRemoveRequest, ApiError> {
        Ok(HistoryRemoveRequest {
            channel: required_channel(self.channel)?,
        })
    }
}

impl HistoryWire {
    pub(crate) fn validate(self) -> Result<HistoryRequest, ApiError> {
        Ok(HistoryRequest {
            channel: required_channel(self.channel)?,
            limit: self.limit.unwrap_or(0),
            since: self.since,
            reverse: self.reverse.unwrap_or(false),
        })
    }
}

impl ChannelsWire {
    pub(crate) fn validate(self) -> ChannelsRequest {
        ChannelsRequest {
            pattern: self.pattern.unwrap_or_default(),
        }
    }
}

fn required_channel(channel: Option<String>) -> Result<String, ApiError> {
    non_empty(channel).ok_or_else(|| ApiError::bad_request("channel required"))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

fn flag(value: Option<BoolValue>) -> Option<bool> {
    value.map(|wrapper| wrapper.value.unwrap_or(false))
}

/// A payload given as raw JSON or as base64; base64 wins when both are given, as in Centrifugo,
/// so a binary publish can carry a placeholder `data` for clients that insist on one.
fn payload(
    json: Option<Box<RawValue>>,
    b64: Option<String>,
    name: &str,
) -> Result<Option<Bytes>, ApiError> {
    if let Some(encoded) = non_empty(b64) {
        return base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map(|decoded| Some(Bytes::from(decoded)))
            .map_err(|_| ApiError::bad_request(format!("b64{name} is not valid base64")));
    }
    Ok(json.map(|raw| Bytes::copy_from_slice(raw.get().as_bytes())))
}
