//! The refresh proxy: when a connection reaches its expiry, the hub asks the backend whether
//! it may go on, instead of the client refreshing a token. The backend extends it (a new
//! `expire_at`, 0 for never), updates its info, or lets it expire.
//!
//! A backend that cannot answer does not end connections: the connection gets another minute
//! and is asked again then, as Centrifugo does, so a backend restart does not disconnect
//! everyone. An explicit error or disconnect in the reply, or a reply without a result, lets
//! the connection expire.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reply::{parse_reply, payload, unix_seconds, BackendReply};
use super::request::Request;
use super::{ask, Caller, Proxies, ProxyError};

/// How long a connection or subscription lives on when the backend could not be asked.
pub(super) const RETRY_AFTER_SECONDS: i64 = 60;

/// What becomes of an expiring connection or subscription.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RefreshOutcome {
    /// It ends (disconnect, or unsubscribe, with the "expired" code).
    Expired,
    /// It goes on.
    Extended {
        /// The new expiry (Unix seconds); `None`: never.
        expires_at: Option<i64>,
        /// New connection or channel info, if the backend gave one.
        info: Option<Bytes>,
        /// New connection meta, if the backend gave one.
        meta: Option<Bytes>,
    },
}

impl RefreshOutcome {
    /// The outcome when the backend gave no usable answer: another minute.
    pub(super) fn retry_later(event: &str, client: &str, error: &ProxyError) -> RefreshOutcome {
        tracing::warn!(%client, "{event} proxy: {error}; trying again in a minute");
        RefreshOutcome::Extended {
            expires_at: Some(crate::session::unix_now() + RETRY_AFTER_SECONDS),
            info: None,
            meta: None,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RefreshResult {
    expired: bool,
    #[serde(deserialize_with = "unix_seconds")]
    expire_at: i64,
    info: Option<Box<RawValue>>,
    b64info: String,
    meta: Option<Box<RawValue>>,
}

/// Reads a refresh (or sub_refresh) reply. Errors and disconnects come back as `Expired`.
pub(super) fn interpret(body: &[u8]) -> Result<BackendReply<RefreshOutcome>, ProxyError> {
    let result = match parse_reply::<RefreshResult>(body)? {
        BackendReply::Result(result) => result,
        BackendReply::Error(_) | BackendReply::Disconnect(_) => {
            return Ok(BackendReply::Result(RefreshOutcome::Expired))
        }
    };
    if result.expired {
        return Ok(BackendReply::Result(RefreshOutcome::Expired));
    }
    Ok(BackendReply::Result(RefreshOutcome::Extended {
        expires_at: (result.expire_at > 0).then_some(result.expire_at),
        info: payload(result.info.as_deref(), &result.b64info, "info")?,
        meta: payload(result.meta.as_deref(), "", "meta")?,
    }))
}

/// The outcome of a refresh-like call.
pub(super) fn outcome(
    event: &str,
    caller: Caller<'_>,
    answer: Result<BackendReply<RefreshOutcome>, ProxyError>,
) -> RefreshOutcome {
    match answer {
        Ok(BackendReply::Result(outcome)) => outcome,
        Ok(_) => RefreshOutcome::Expired,
        Err(error) => RefreshOutcome::retry_later(event, caller.client, &error),
    }
}

impl Proxies {
    /// Asks the refresh proxy about an expiring connection. `None` when no refresh proxy is
    /// configured.
    pub(crate) async fn refresh(&self, caller: Caller<'_>) -> Option<RefreshOutcome> {
        let endpoint = self.refresh.as_ref()?;
        let body = Request::new(caller, endpoint).body();
        let answer = ask(endpoint, caller, Ok(body), interpret).await;
        Some(outcome("refresh", caller, answer))
    }
}
