//! The subscribe proxy: in a namespace with `subscribe_proxy_enabled`, a subscription without
//! a token is the backend's to allow or refuse. An allowed one may get channel info, data for
//! the subscribe reply, an expiry, and per-subscriber overrides of the namespace's presence,
//! join/leave, recovery and positioning options.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reply::{parse_reply, payload, unix_seconds, BackendReply};
use super::request::Request;
use super::{ask, decided, Caller, Proxies, ProxyError, Refusal};
use crate::config::ChannelOptions;
use crate::protocol::SubscribeRequest;

/// What the backend granted a subscriber.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SubscribeOutcome {
    /// Channel info of this subscriber.
    pub(crate) info: Option<Bytes>,
    /// Data for the subscribe reply.
    pub(crate) data: Option<Bytes>,
    /// When the subscription expires (Unix seconds); `None`: never.
    pub(crate) expires_at: Option<i64>,
    /// Namespace options changed for this subscriber.
    pub(crate) overrides: Overrides,
}

/// Per-subscriber values of namespace options (Centrifugo's `override`); `None` keeps the
/// namespace's.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct Overrides {
    presence: Option<BoolValue>,
    join_leave: Option<BoolValue>,
    force_push_join_leave: Option<BoolValue>,
    force_recovery: Option<BoolValue>,
    force_positioning: Option<BoolValue>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Deserialize)]
#[serde(default)]
struct BoolValue {
    value: bool,
}

impl Overrides {
    /// `options` with these overrides applied.
    pub(crate) fn apply(&self, options: &mut ChannelOptions) {
        let set = |field: &mut bool, value: Option<BoolValue>| {
            if let Some(value) = value {
                *field = value.value;
            }
        };
        set(&mut options.presence, self.presence);
        set(&mut options.join_leave, self.join_leave);
        set(
            &mut options.force_push_join_leave,
            self.force_push_join_leave,
        );
        set(&mut options.force_recovery, self.force_recovery);
        set(&mut options.force_positioning, self.force_positioning);
        // Recovery needs history; a backend asking for it where none is kept gets none
        // rather than a subscription that claims recovery it cannot give.
        if options.history_size == 0 {
            options.force_recovery = false;
        }
        if !options.presence {
            options.user_presence = false;
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SubscribeResult {
    info: Option<Box<RawValue>>,
    b64info: String,
    data: Option<Box<RawValue>>,
    b64data: String,
    #[serde(deserialize_with = "unix_seconds")]
    expire_at: i64,
    #[serde(rename = "override")]
    overrides: Option<Overrides>,
}

/// Reads a subscribe reply.
pub(super) fn interpret(body: &[u8]) -> Result<BackendReply<SubscribeOutcome>, ProxyError> {
    let result = match parse_reply::<SubscribeResult>(body)? {
        BackendReply::Result(result) => result,
        BackendReply::Error(error) => return Ok(BackendReply::Error(error)),
        BackendReply::Disconnect(disconnect) => return Ok(BackendReply::Disconnect(disconnect)),
    };
    Ok(BackendReply::Result(SubscribeOutcome {
        info: payload(result.info.as_deref(), &result.b64info, "info")?,
        data: payload(result.data.as_deref(), &result.b64data, "data")?,
        expires_at: (result.expire_at > 0).then_some(result.expire_at),
        overrides: result.overrides.unwrap_or_default(),
    }))
}

impl Proxies {
    /// Asks the subscribe proxy about a subscription. `None` when no subscribe proxy is
    /// configured.
    pub(crate) async fn subscribe(
        &self,
        caller: Caller<'_>,
        request: &SubscribeRequest,
    ) -> Option<Result<SubscribeOutcome, Refusal>> {
        let endpoint = self.subscribe.as_ref()?;
        let mut body = Request::new(caller, endpoint);
        body.channel = Some(request.channel.as_str());
        body.token = Some(request.token.as_str()).filter(|t| !t.is_empty());
        let body = body.data(&request.data, endpoint).map(|r| r.body());
        let answer = ask(endpoint, caller, body, interpret).await;
        Some(decided("subscribe", caller, answer))
    }
}
