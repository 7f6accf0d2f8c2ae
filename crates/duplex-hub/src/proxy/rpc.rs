//! The RPC proxy: a client's RPC whose method's namespace has `proxy_enabled`
//! (`rpc.without_namespace` for methods without one) is answered by the backend, with `data`
//! for the client or an error.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::reply::{parse_reply, payload, BackendReply};
use super::request::Request;
use super::{ask, decided, Caller, Proxies, ProxyError, Refusal};

#[derive(Deserialize, Default)]
#[serde(default)]
struct RpcResult {
    data: Option<Box<RawValue>>,
    b64data: String,
}

/// Reads an RPC reply: the data for the client (empty when the result has none).
pub(super) fn interpret(body: &[u8]) -> Result<BackendReply<Bytes>, ProxyError> {
    let result = match parse_reply::<RpcResult>(body)? {
        BackendReply::Result(result) => result,
        BackendReply::Error(error) => return Ok(BackendReply::Error(error)),
        BackendReply::Disconnect(disconnect) => return Ok(BackendReply::Disconnect(disconnect)),
    };
    Ok(BackendReply::Result(
        payload(result.data.as_deref(), &result.b64data, "data")?.unwrap_or_default(),
    ))
}

impl Proxies {
    /// Asks the RPC proxy to answer `method` with `data`. `None` when no RPC proxy is
    /// configured; the caller checks that the method's namespace enables it.
    pub(crate) async fn rpc(
        &self,
        caller: Caller<'_>,
        method: &str,
        data: &Bytes,
    ) -> Option<Result<Bytes, Refusal>> {
        let endpoint = self.rpc.as_ref()?;
        let mut body = Request::new(caller, endpoint);
        body.method = Some(method).filter(|m| !m.is_empty());
        let body = body.data(data, endpoint).map(|r| r.body());
        let answer = ask(endpoint, caller, body, interpret).await;
        Some(decided("rpc", caller, answer))
    }
}
