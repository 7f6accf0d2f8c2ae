//! The application decides: HTTP proxies to its backend in Centrifugo's request and reply
//! formats, so a backend written for Centrifugo's proxies works unchanged.
//!
//! Six events can be proxied: `connect` (a connection without a token), `refresh` (a
//! connection about to expire), `subscribe`, `publish`, `sub_refresh` (a subscription about to
//! expire) and `rpc`. Each is a POST of a JSON object (`client`, `transport`, `protocol`,
//! `encoding`, `user`, and the event's own fields) to the configured endpoint, answered with
//! `{"result": {...}}`, `{"error": {"code", "message", "temporary"}}` or
//! `{"disconnect": {"code", "reason"}}`.
//!
//! The backend is another process and may be down, slow or wrong, so every call has a deadline
//! (`timeout`, 1 s by default, retries included), a bounded reply size, and a clear outcome:
//! a backend that cannot be used gives the client error 100 (internal, temporary: SDKs retry),
//! as Centrifugo does; a refresh it cannot answer extends the connection by a minute instead
//! of ending it. Calls that only read the backend's opinion (connect, refresh, subscribe,
//! sub_refresh) are retried once after a connection error; publish and rpc, which may act, are
//! not. Nothing is allowed by default: a reply without `result`, `error` or `disconnect` is an
//! error, not a yes.
//!
//! Files: `endpoint.rs` (one endpoint: the POST, deadline, retry, size limit, headers),
//! `request.rs` (the request object), `reply.rs` (reading replies), and one file per event.

mod connect;
mod endpoint;
mod publish;
mod refresh;
mod reply;
mod request;
mod rpc;
mod sub_refresh;
mod subscribe;

use std::collections::HashSet;

use bytes::Bytes;
use endpoint::Endpoint;

use crate::codes::{Disconnect, Error};
use crate::config::HubConfig;
use crate::protocol::Encoding;

pub(crate) use connect::ConnectOutcome;
pub(crate) use refresh::RefreshOutcome;
pub use reply::{check_any_reply, parse_reply, BackendReply};

/// Why a proxy call gave no answer from the backend. The client sees error 100 for all of
/// them; the log says which.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Nothing accepted the connection, or it broke before a reply.
    #[error("backend unreachable: {0}")]
    Unreachable(String),
    /// The backend did not answer within the proxy's timeout.
    #[error("backend did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The backend answered with an HTTP status other than 200.
    #[error("backend answered with HTTP status {0}")]
    Status(u16),
    /// The reply was larger than [`MAX_REPLY_SIZE`].
    #[error("backend reply over {MAX_REPLY_SIZE} bytes")]
    TooLarge,
    /// The reply was not the JSON object the event expects.
    #[error("malformed backend reply: {0}")]
    Malformed(String),
    /// The client's payload cannot be put in a JSON request (binary data without
    /// `binary_encoding`).
    #[error("payload is not JSON; set binary_encoding on this proxy")]
    NotJson,
}

/// Largest reply body read from a backend. A reply carries a decision and a little data for
/// one client; a backend sending more is broken, and reading it all would let it grow the
/// hub's memory.
pub const MAX_REPLY_SIZE: usize = 1024 * 1024;

/// What the backend refused with: an error reply to the client's command, or the end of the
/// connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    /// Answer the command with this error.
    Error(Error),
    /// Close the connection with this code and reason.
    Disconnect(Disconnect),
}

impl Refusal {
    /// The refusal for a backend that gave no usable answer, logged once here.
    fn unavailable(event: &str, client: &str, error: &ProxyError) -> Refusal {
        tracing::warn!(%client, "{event} proxy: {error}");
        Refusal::Error(Error::INTERNAL)
    }
}

/// What the connection's upgrade request carried that proxies forward, and what the connect
/// proxy attached to the connection. Boxed in the session and absent when no proxy needs it,
/// so that connections of a hub without proxies pay one pointer.
#[derive(Debug, Default, Clone)]
pub(crate) struct ConnectionState {
    /// The upgrade request's headers that some proxy forwards (names in lower case).
    headers: Vec<(::http::HeaderName, ::http::HeaderValue)>,
    /// The connect result's `meta` (raw JSON), sent back with `include_connection_meta`.
    pub(crate) meta: Option<Bytes>,
}

/// Who a proxy call is about.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'a> {
    /// The client id.
    pub(crate) client: &'a str,
    /// The user ("" before connect, or anonymous).
    pub(crate) user: &'a str,
    /// The connection's encoding (the request's `protocol`).
    pub(crate) encoding: Encoding,
    /// Headers and meta, if any proxy needs them.
    pub(crate) state: Option<&'a ConnectionState>,
}

/// The proxies the configuration switches on, each with its endpoint; one HTTP client (and
/// its connection pool) shared by all.
pub(crate) struct Proxies {
    connect: Option<Endpoint>,
    refresh: Option<Endpoint>,
    subscribe: Option<Endpoint>,
    publish: Option<Endpoint>,
    sub_refresh: Option<Endpoint>,
    rpc: Option<Endpoint>,
    /// Every header name some proxy forwards (lower case), kept from the upgrade request.
    forwarded: HashSet<::http::HeaderName>,
}

/// Why the proxies could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("proxy {key}: {reason}")]
pub struct ProxySetupError {
    key: String,
    reason: String,
}

impl Proxies {
    /// The proxies of `config`. Channel and RPC proxies exist when their endpoint is set; the
    /// namespaces then say where they apply.
    pub(crate) fn new(config: &HubConfig) -> Result<Proxies, ProxySetupError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| ProxySetupError {
                key: "client".to_owned(),
                reason: error.to_string(),
            })?;
        let endpoint = |key: &str, proxy: Option<&crate::config::ProxyConfig>, retry: bool| {
            proxy
                .filter(|proxy| proxy.is_configured())
                .map(|proxy| Endpoint::new(client.clone(), proxy, retry))
                .transpose()
                .map_err(|reason| ProxySetupError {
                    key: key.to_owned(),
                    reason,
                })
        };
        let channel = &config.channel.proxy;
        let proxies = Proxies {
            connect: endpoint(
                "client.proxy.connect",
                config.client.proxy.connect.active(),
                true,
            )?,
            refresh: endpoint(
                "client.proxy.refresh",
                config.client.proxy.refresh.active(),
                true,
            )?,
            subscribe: endpoint("channel.proxy.subscribe", Some(&channel.subscribe), true)?,
            publish: endpoint("channel.proxy.publish", Some(&channel.publish), false)?,
            sub_refresh: endpoint(
                "channel.proxy.sub_refresh",
                Some(&channel.sub_refresh),
                true,
            )?,
            rpc: endpoint("rpc.proxy", Some(&config.rpc.proxy), false)?,
            forwarded: HashSet::new(),
        };
        let forwarded = proxies
            .endpoints()
            .flat_map(|endpoint| endpoint.forwarded().iter().cloned())
            .collect();
        Ok(Proxies {
            forwarded,
            ..proxies
        })
    }

    fn endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        [
            &self.connect,
            &self.refresh,
            &self.subscribe,
            &self.publish,
            &self.sub_refresh,
            &self.rpc,
        ]
        .into_iter()
        .flatten()
    }

    /// Whether expiring connections are extended by the refresh proxy (so the client is not
    /// asked to refresh a token).
    pub(crate) fn has_refresh(&self) -> bool {
        self.refresh.is_some()
    }

    /// Whether the sub_refresh proxy is configured.
    pub(crate) fn has_sub_refresh(&self) -> bool {
        self.sub_refresh.is_some()
    }

    /// What a new connection keeps for the proxies: the forwarded headers of its upgrade
    /// request (`headers` as the client sent them). `None` when no proxy forwards or keeps
    /// anything, so the connection pays nothing.
    pub(crate) fn capture(&self, headers: &[(String, String)]) -> Option<ConnectionState> {
        let keeps_meta = self.endpoints().any(Endpoint::includes_meta);
        if self.forwarded.is_empty() && !keeps_meta {
            return None;
        }
        let headers = headers
            .iter()
            .filter_map(|(name, value)| {
                let name = ::http::HeaderName::from_bytes(name.as_bytes()).ok()?;
                if !self.forwarded.contains(&name) {
                    return None;
                }
                let value = ::http::HeaderValue::from_str(value).ok()?;
                Some((name, value))
            })
            .collect();
        Some(ConnectionState {
            headers,
            meta: None,
        })
    }
}

/// Sends one request and reads the reply as `interpret` reads it.
async fn ask<T>(
    endpoint: &Endpoint,
    caller: Caller<'_>,
    body: Result<Vec<u8>, ProxyError>,
    interpret: fn(&[u8]) -> Result<BackendReply<T>, ProxyError>,
) -> Result<BackendReply<T>, ProxyError> {
    let reply = endpoint.call(body?, caller.state).await?;
    interpret(&reply)
}

/// A backend's answer to an event the client waits on (connect, subscribe, publish, rpc): the
/// result, or the refusal the client gets, error 100 when the backend gave no usable answer.
fn decided<T>(
    event: &str,
    caller: Caller<'_>,
    answer: Result<BackendReply<T>, ProxyError>,
) -> Result<T, Refusal> {
    match answer {
        Ok(BackendReply::Result(result)) => Ok(result),
        Ok(BackendReply::Error(error)) => Err(Refusal::Error(error)),
        Ok(BackendReply::Disconnect(disconnect)) => Err(Refusal::Disconnect(disconnect)),
        Err(error) => Err(Refusal::unavailable(event, caller.client, &error)),
    }
}
