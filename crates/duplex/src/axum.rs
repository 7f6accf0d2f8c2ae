//! An axum 0.8 extractor for WebSocket routes (feature `axum`).
//!
//! [`WebSocketUpgrade`] reads like axum's own `axum::extract::ws::WebSocketUpgrade`, but the
//! connection it gives the handler is a duplex [`WebSocket`](crate::WebSocket). It is a thin
//! layer over [`crate::upgrade`]: extracting checks that the request is a valid handshake (else the
//! handler is not called and the client gets 400, 405 or 426 with a one-line reason); then
//! [`WebSocketUpgrade::on_upgrade`] applies the [`ServerBuilder`] policy the handler chose
//! (subprotocols, allowed origins, limits) and returns the 101, or the refusal (403...).
//!
//! Policy is applied in `on_upgrade`, not during extraction, so the handler can pick it per
//! route or from its state: `.protocols([...])`, `.allow_origin(...)`, `.config(...)`, or a
//! whole prepared [`ServerBuilder`] with `.server(...)`.

use std::future::Future;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use duplex_proto::handshake::server::Request;
use duplex_proto::Config;
use http::request::Parts;
use hyper::upgrade::OnUpgrade;

use crate::error::Error;
use crate::options::Options;
use crate::server::ServerBuilder;
use crate::upgrade::{self, Refusal};

pub use crate::upgrade::UpgradedWebSocket;

type FailureCallback = Box<dyn FnOnce(Error) + Send + 'static>;

/// Extractor for a WebSocket upgrade request: finish it with
/// [`on_upgrade`](WebSocketUpgrade::on_upgrade).
///
/// A page and a WebSocket echo on one port:
///
/// ```no_run
/// use axum::{response::{Html, Response}, routing::get, Router};
/// use duplex::axum::WebSocketUpgrade;
///
/// async fn ws(upgrade: WebSocketUpgrade) -> Response {
///     upgrade.protocols(["chat"]).on_upgrade(|mut ws| async move {
///         while let Ok(Some(message)) = ws.recv().await {
///             if ws.send(message).await.is_err() {
///                 break;
///             }
///         }
///     })
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let app = Router::new()
///     .route("/", get(|| async { Html("<p>the WebSocket is at /ws</p>") }))
///     .route("/ws", get(ws));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
///
/// Without an `Upgrade: websocket` header the request is refused with 426; use
/// `Option<WebSocketUpgrade>` to serve something else on the same route instead.
///
/// With the `http2` feature it also accepts WebSockets over HTTP/2 (RFC 8441), which arrive
/// as `CONNECT` requests: route with `any(ws)` (or `get(ws).connect(ws)`) instead of
/// `get(ws)`, and serve HTTP/2 with extended CONNECT enabled (`axum::serve` does, with axum's
/// `http2` feature).
#[must_use = "the upgrade only happens when the response from `on_upgrade` is returned"]
pub struct WebSocketUpgrade {
    request: Request,
    /// HTTP/1.1 Upgrade or HTTP/2 extended CONNECT.
    wire: upgrade::Wire,
    /// hyper's handle on the connection; `None` if the server cannot upgrade it.
    on_upgrade: Option<OnUpgrade>,
    server: ServerBuilder,
    on_failed_upgrade: Option<FailureCallback>,
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl WebSocketUpgrade {
    /// The handshake request: path, `Origin`, the subprotocols and extensions offered, and
    /// every header.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Replaces the whole policy with `server`'s (subprotocols, origins, limits). Keep one
    /// [`ServerBuilder`] in the router's state to share it between routes.
    pub fn server(mut self, server: ServerBuilder) -> Self {
        self.server = server;
        self
    }

    /// The subprotocols this route speaks; see [`ServerBuilder::protocols`].
    pub fn protocols<I: IntoIterator<Item = T>, T: Into<String>>(mut self, protocols: I) -> Self {
        self.server = self.server.protocols(protocols);
        self
    }

    /// Accepts browsers from this origin only (and others added the same way); others get 403.
    /// See [`ServerBuilder::allow_origin`].
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.server = self.server.allow_origin(origin);
        self
    }

    /// Sets the protocol limits (message and frame sizes...).
    pub fn config(mut self, config: Config) -> Self {
        self.server = self.server.config(config);
        self
    }

    /// Sets the driver options (close timeout, write buffer).
    pub fn options(mut self, options: Options) -> Self {
        self.server = self.server.options(options);
        self
    }

    /// Called instead of the `on_upgrade` callback if the connection is lost between the 101
    /// response and the hand-over. By default the error is logged at debug level.
    pub fn on_failed_upgrade(mut self, callback: impl FnOnce(Error) + Send + 'static) -> Self {
        self.on_failed_upgrade = Some(Box::new(callback));
        self
    }

    /// Applies the policy and returns the response for the handler to return: 101, with
    /// `callback` then run in a task of its own with the connection; or the refusal (403 for
    /// an origin not allowed, for instance), and `callback` is never called.
    pub fn on_upgrade<C, Fut>(self, callback: C) -> Response
    where
        C: FnOnce(UpgradedWebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let on_upgrade = self.on_upgrade;
        let (response, pending) =
            match upgrade::accept(self.server, &self.request, self.wire, move || on_upgrade) {
                Ok(accepted) => accepted,
                Err(refusal) => return refusal.into_response(),
            };
        let on_failed_upgrade = self.on_failed_upgrade;
        tokio::spawn(async move {
            match pending.await {
                Ok(ws) => callback(ws).await,
                Err(error) => match on_failed_upgrade {
                    Some(on_failed_upgrade) => on_failed_upgrade(error),
                    None => tracing::debug!("websocket upgrade failed: {error}"),
                },
            }
        });
        response
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (request, wire) = upgrade::check(
            &parts.method,
            parts.version,
            &parts.uri,
            &parts.headers,
            &parts.extensions,
        )?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>();
        Ok(WebSocketUpgrade {
            request,
            wire,
            on_upgrade,
            server: ServerBuilder::new(),
            on_failed_upgrade: None,
        })
    }
}

/// `Option<WebSocketUpgrade>` is `None` for a request without `Upgrade: websocket`, so one
/// route can answer both plain HTTP and WebSocket; a broken WebSocket request is still refused.
impl<S: Send + Sync> OptionalFromRequestParts<S> for WebSocketUpgrade {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let wants_websocket = parts
            .headers
            .get_all(http::header::UPGRADE)
            .iter()
            .any(|value| duplex_proto::handshake::header_has_token(value.as_bytes(), "websocket"))
            || upgrade::is_extended_connect(&parts.method, parts.version, &parts.extensions);
        if !wants_websocket {
            return Ok(None);
        }
        <Self as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(Some)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.response()
    }
}
