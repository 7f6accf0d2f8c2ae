//! The publish proxy: in a namespace with `publish_proxy_enabled`, a client's publication is
//! the backend's to allow, refuse or change, instead of the namespace's `allow_publish_*`
//! options. An allowed one is published with the backend's `data` if it gave one, and kept
//! out of history with `skip_history`.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reply::{parse_reply, payload, BackendReply};
use super::request::Request;
use super::{ask, decided, Caller, Proxies, ProxyError, Refusal};

/// What the backend decided about a publication.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct PublishOutcome {
    /// Publish this instead of the client's data.
    pub(crate) data: Option<Bytes>,
    /// Do not keep the publication in the channel's history.
    pub(crate) skip_history: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PublishResult {
    data: Option<Box<RawValue>>,
    b64data: String,
    skip_history: bool,
}

/// Reads a publish reply.
pub(super) fn interpret(body: &[u8]) -> Result<BackendReply<PublishOutcome>, ProxyError> {
    let result = match parse_reply::<PublishResult>(body)? {
        BackendReply::Result(result) => result,
        BackendReply::Error(error) => return Ok(BackendReply::Error(error)),
        BackendReply::Disconnect(disconnect) => return Ok(BackendReply::Disconnect(disconnect)),
    };
    Ok(BackendReply::Result(PublishOutcome {
        data: payload(result.data.as_deref(), &result.b64data, "data")?,
        skip_history: result.skip_history,
    }))
}

impl Proxies {
    /// Asks the publish proxy about a publication of `data` to `channel`. `None` when no
    /// publish proxy is configured.
    pub(crate) async fn publish(
        &self,
        caller: Caller<'_>,
        channel: &str,
        data: &Bytes,
    ) -> Option<Result<PublishOutcome, Refusal>> {
        let endpoint = self.publish.as_ref()?;
        let mut body = Request::new(caller, endpoint);
        body.channel = Some(channel);
        let body = body.data(data, endpoint).map(|r| r.body());
        let answer = ask(endpoint, caller, body, interpret).await;
        Some(decided("publish", caller, answer))
    }
}
