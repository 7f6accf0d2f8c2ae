//! The request object every proxy sends: Centrifugo's common fields (`client`, `transport`,
//! `protocol`, `encoding`) and the event's own, empty ones left out as Centrifugo's encoder
//! leaves them out.
//!
//! Payloads (`data`, `meta`) are embedded as the JSON they are, not re-encoded; with
//! `binary_encoding` the data goes as base64 in `b64data` instead, and `encoding` says
//! `"binary"`.

use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use super::endpoint::Endpoint;
use super::{Caller, ProxyError};
use crate::protocol::Encoding;

/// One proxy request. Each event fills the fields it has.
#[derive(Serialize)]
pub(super) struct Request<'a> {
    client: &'a str,
    transport: &'static str,
    protocol: &'static str,
    encoding: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    b64data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<&'a RawValue>,
}

impl<'a> Request<'a> {
    /// The common fields for `caller` calling `endpoint`, and the connection's meta where the
    /// endpoint includes it.
    pub(super) fn new(caller: Caller<'a>, endpoint: &Endpoint) -> Request<'a> {
        let meta = caller
            .state
            .filter(|_| endpoint.includes_meta())
            .and_then(|state| state.meta.as_deref())
            .and_then(|meta| serde_json::from_slice::<&RawValue>(meta).ok());
        Request {
            client: caller.client,
            transport: "websocket",
            protocol: match caller.encoding {
                Encoding::Json => "json",
                Encoding::Protobuf => "protobuf",
            },
            encoding: if endpoint.binary() { "binary" } else { "json" },
            user: caller.user,
            channel: None,
            method: None,
            token: None,
            name: None,
            version: None,
            data: None,
            b64data: None,
            meta,
        }
    }

    /// Adds the client's payload: as JSON, or base64 with `binary_encoding`. An empty payload
    /// is left out.
    pub(super) fn data(
        mut self,
        data: &'a Bytes,
        endpoint: &Endpoint,
    ) -> Result<Request<'a>, ProxyError> {
        if data.is_empty() {
            return Ok(self);
        }
        if endpoint.binary() {
            self.b64data = Some(base64::engine::general_purpose::STANDARD.encode(data));
        } else {
            let raw = serde_json::from_slice::<&RawValue>(data).map_err(|_| ProxyError::NotJson)?;
            self.data = Some(raw);
        }
        Ok(self)
    }

    /// The request body.
    pub(super) fn body(&self) -> Vec<u8> {
        // A struct of strings and valid raw JSON always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
