//! Hooks for an application that embeds the hub: it can allow, deny or change a connection,
//! a subscription or a publication, answer RPCs and hear messages and disconnects.
//!
//! Every method has a default that keeps the hub's own rules (tokens and namespace options),
//! so an application overrides only what it needs. The standalone server uses the defaults.
//!
//! The HTTP proxies to a backend (`proxy/`, configured with Centrifugo's `*.proxy.*` keys) sit
//! beside these hooks, for applications that are not in Rust: a connection without a token
//! goes to the connect proxy before `on_connecting` (which then sees the backend's user as
//! authenticated); an RPC whose namespace enables the RPC proxy never reaches `on_rpc`; a
//! publication the publish proxy allowed reaches `on_publish` with the backend's data; and a
//! subscription `on_subscribe` allows is not sent to the subscribe proxy.

use async_trait::async_trait;
use bytes::Bytes;

use crate::codes::{Disconnect, Error};

/// A connection about to be accepted.
#[derive(Debug)]
pub struct Connecting<'a> {
    /// The client id the connection will have.
    pub client: &'a str,
    /// The user from the token, or "" without one.
    pub user: &'a str,
    /// Whether a token authenticated `user`.
    pub authenticated: bool,
    /// The connect command's `data` (raw JSON or bytes).
    pub data: &'a Bytes,
    /// The SDK's name and version, as it reports them.
    pub name: &'a str,
    /// The SDK's version.
    pub version: &'a str,
}

/// What [`Handler::on_connecting`] decides.
#[derive(Debug, Default, Clone)]
pub struct ConnectDecision {
    /// Authenticates a connection that came without a token as this user.
    pub user: Option<String>,
    /// Connection info (raw JSON) shown in presence and publications, instead of the token's.
    pub info: Option<Bytes>,
    /// Data sent to the client in the connect reply.
    pub data: Option<Bytes>,
}

/// A client's subscription request.
#[derive(Debug)]
pub struct Subscribing<'a> {
    /// The client id.
    pub client: &'a str,
    /// The user ("" for anonymous).
    pub user: &'a str,
    /// The channel.
    pub channel: &'a str,
}

/// What [`Handler::on_subscribe`] decides.
#[derive(Debug, Default, Clone)]
pub struct SubscribeDecision {
    /// Allow even where the namespace does not allow clients to subscribe.
    pub allow: bool,
    /// Channel info of this subscriber (raw JSON).
    pub info: Option<Bytes>,
    /// Data sent with the subscribe reply.
    pub data: Option<Bytes>,
}

/// A client's publication, after the namespace allowed it.
#[derive(Debug)]
pub struct Publishing<'a> {
    /// The client id.
    pub client: &'a str,
    /// The user.
    pub user: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// The data as the client sent it.
    pub data: Bytes,
}

/// A client's RPC or message.
#[derive(Debug)]
pub struct Call<'a> {
    /// The client id.
    pub client: &'a str,
    /// The user.
    pub user: &'a str,
    /// The RPC method ("" for a message).
    pub method: &'a str,
    /// The data.
    pub data: Bytes,
}

/// A connection that ended.
#[derive(Debug)]
pub struct Disconnected<'a> {
    /// The client id.
    pub client: &'a str,
    /// The user.
    pub user: &'a str,
    /// Why the server closed it, or `None` when the client went away.
    pub disconnect: Option<&'a Disconnect>,
}

/// The application's hooks. Every method has a default that keeps the hub's own rules.
///
/// ```
/// use duplex_hub::callbacks::{Call, Handler};
/// use duplex_hub::codes::Error;
///
/// struct Echo;
///
/// #[async_trait::async_trait]
/// impl Handler for Echo {
///     async fn on_rpc(&self, call: Call<'_>) -> Result<bytes::Bytes, Error> {
///         match call.method {
///             "echo" => Ok(call.data),
///             _ => Err(Error::METHOD_NOT_FOUND),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Called on connect, after the token (if any) was verified. Err refuses the connection.
    async fn on_connecting(&self, _event: Connecting<'_>) -> Result<ConnectDecision, Disconnect> {
        Ok(ConnectDecision::default())
    }

    /// Called on a client's subscribe, before the namespace's rules. Err refuses it.
    async fn on_subscribe(&self, _event: Subscribing<'_>) -> Result<SubscribeDecision, Error> {
        Ok(SubscribeDecision::default())
    }

    /// Called on a client's publish; returns the data to publish (changed or not). Err
    /// refuses it.
    async fn on_publish(&self, event: Publishing<'_>) -> Result<Bytes, Error> {
        Ok(event.data)
    }

    /// Answers a client's RPC, unless the RPC proxy does. Without either, every method is
    /// unknown (104).
    async fn on_rpc(&self, _call: Call<'_>) -> Result<Bytes, Error> {
        Err(Error::METHOD_NOT_FOUND)
    }

    /// A client's asynchronous message (`send`).
    async fn on_message(&self, _call: Call<'_>) {}

    /// A connection ended.
    fn on_disconnect(&self, _event: Disconnected<'_>) {}
}

/// The hooks of a hub without an application: its own rules only.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHandler;

impl Handler for NoHandler {}
