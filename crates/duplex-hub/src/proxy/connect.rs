//! The connect proxy: a connection that comes without a token asks the backend who it is.
//! The backend reads the forwarded cookies or headers and answers with the user (empty for an
//! anonymous connection it accepts), when the connection expires, its info, data for the
//! client, and the channels to subscribe it to on the server's side.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reply::{parse_reply, payload, unix_seconds, BackendReply};
use super::request::Request;
use super::{ask, decided, Caller, Proxies, ProxyError, Refusal};
use crate::protocol::ConnectRequest;

/// What the backend decided about a connection.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ConnectOutcome {
    /// The user ("" for anonymous).
    pub(crate) user: String,
    /// When the connection expires (Unix seconds); `None`: never.
    pub(crate) expires_at: Option<i64>,
    /// Connection info for presence and publications.
    pub(crate) info: Option<Bytes>,
    /// Data for the connect reply.
    pub(crate) data: Option<Bytes>,
    /// Server-side subscriptions: channel, channel info, subscribe data.
    pub(crate) channels: Vec<(String, Option<Bytes>, Option<Bytes>)>,
    /// Meta kept with the connection, never shown to the client.
    pub(crate) meta: Option<Bytes>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConnectResult {
    user: String,
    #[serde(deserialize_with = "unix_seconds")]
    expire_at: i64,
    info: Option<Box<RawValue>>,
    b64info: String,
    data: Option<Box<RawValue>>,
    b64data: String,
    channels: Vec<String>,
    subs: BTreeMap<String, SubscribeOptions>,
    meta: Option<Box<RawValue>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SubscribeOptions {
    info: Option<Box<RawValue>>,
    b64info: String,
    data: Option<Box<RawValue>>,
    b64data: String,
}

/// Reads a connect reply.
pub(super) fn interpret(body: &[u8]) -> Result<BackendReply<ConnectOutcome>, ProxyError> {
    let result = match parse_reply::<ConnectResult>(body)? {
        BackendReply::Result(result) => result,
        BackendReply::Error(error) => return Ok(BackendReply::Error(error)),
        BackendReply::Disconnect(disconnect) => return Ok(BackendReply::Disconnect(disconnect)),
    };
    let mut channels: Vec<(String, Option<Bytes>, Option<Bytes>)> = result
        .channels
        .into_iter()
        .map(|channel| (channel, None, None))
        .collect();
    for (channel, options) in result.subs {
        let info = payload(options.info.as_deref(), &options.b64info, "info")?;
        let data = payload(options.data.as_deref(), &options.b64data, "data")?;
        match channels.iter_mut().find(|(c, _, _)| *c == channel) {
            Some(entry) => *entry = (channel, info, data),
            None => channels.push((channel, info, data)),
        }
    }
    Ok(BackendReply::Result(ConnectOutcome {
        user: result.user,
        expires_at: (result.expire_at > 0).then_some(result.expire_at),
        info: payload(result.info.as_deref(), &result.b64info, "info")?,
        data: payload(result.data.as_deref(), &result.b64data, "data")?,
        channels,
        meta: payload(result.meta.as_deref(), "", "meta")?,
    }))
}

impl Proxies {
    /// Asks the connect proxy about a connection without a token. `None` when no connect
    /// proxy is configured.
    pub(crate) async fn connect(
        &self,
        caller: Caller<'_>,
        request: &ConnectRequest,
    ) -> Option<Result<ConnectOutcome, Refusal>> {
        let endpoint = self.connect.as_ref()?;
        let mut body = Request::new(caller, endpoint);
        body.name = Some(request.name.as_str()).filter(|n| !n.is_empty());
        body.version = Some(request.version.as_str()).filter(|v| !v.is_empty());
        let body = body.data(&request.data, endpoint).map(|r| r.body());
        let answer = ask(endpoint, caller, body, interpret).await;
        Some(decided("connect", caller, answer))
    }
}
