//! Upgrading a request inside an existing hyper 1 server (feature `hyper`).
//!
//! An application usually has one port and one HTTP server: pages, REST routes, and a path
//! such as `/ws` where browsers open WebSockets. Here the other server's parser has already
//! read the request head, so duplex does not parse HTTP again: [`upgrade`] checks the parsed
//! request with [`Request::from_head`] (method, version, `Upgrade`, `Sec-WebSocket-Key`...),
//! applies the [`ServerBuilder`]'s policy ([`ServerBuilder::negotiate`]: origin, subprotocol)
//! and hands back two things, because hyper needs them at different times:
//!
//! 1. the [`http::Response`] to return from the service right away: `101 Switching Protocols`
//!    with `Sec-WebSocket-Accept` and the chosen subprotocol, or, on [`Refusal`], the status
//!    and a one-line text reason (never a silent drop: the person debugging the client needs
//!    to know why);
//! 2. a [`PendingUpgrade`], a future that resolves to the [`WebSocket`] once hyper has sent
//!    the 101 and let go of the connection. Spawn a task that awaits it.
//!
//! The connection must be served with upgrades enabled
//! (`hyper::server::conn::http1::Builder::serve_connection(..).with_upgrades()`, or
//! `hyper_util::server::conn::auto::Builder::serve_connection_with_upgrades`). The request head
//! is read by the HTTP server, so its limits and timeouts apply to it, not
//! [`ServerBuilder::handshake_timeout`] or [`ServerBuilder::max_request_head`].
//!
//! WebSockets over HTTP/2 (RFC 8441, feature `http2`): the same calls accept an extended
//! CONNECT (`:method CONNECT`, `:protocol websocket`, `sec-websocket-version: 13`) and answer
//! `200` (HTTP/2 has no 101 and no `Sec-WebSocket-Accept`); the WebSocket then runs over that
//! one HTTP/2 stream, with the same type. The HTTP/2 connection must be served with extended
//! CONNECT enabled (`hyper::server::conn::http2::Builder::enable_connect_protocol`, or
//! `auto::Builder::http2().enable_connect_protocol()`; `axum::serve` does it when axum's
//! `http2` feature is on), else clients never send one. Routers that dispatch on the method
//! must let `CONNECT` through to the WebSocket route (axum: `any(handler)`, or
//! `get(handler).connect(handler)`). Without the feature, HTTP/2 requests are refused with 400.
//!
//! For axum, the `axum` feature wraps this in an extractor: `duplex::axum::WebSocketUpgrade`.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::BytesMut;
use duplex_proto::handshake::server::Request;
use duplex_proto::HandshakeError;
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;

use crate::error::Error;
use crate::server::{Accepted, ServerBuilder};
use crate::websocket::WebSocket;

mod http2;
#[cfg(feature = "axum")]
pub(crate) use http2::is_extended_connect;

/// The connection an upgrade produces: a [`WebSocket`] over the stream hyper handed back.
pub type UpgradedWebSocket = WebSocket<UpgradedIo>;

/// The stream under an [`UpgradedWebSocket`]: what hyper hands back after the upgrade.
pub type UpgradedIo = TokioIo<Upgraded>;

/// Answers a WebSocket upgrade request that a hyper 1 server has parsed.
///
/// On success, return the `101 Switching Protocols` response from your service and await the
/// [`PendingUpgrade`] in a spawned task: it yields the connection once hyper has sent the
/// response. On [`Refusal`], return [`Refusal::response`] (a 4xx with a one-line reason).
///
/// The response body type `R` is whatever your service returns, as long as it can be made from
/// a `String`: `String`, `http_body_util::Full<Bytes>`, `axum::body::Body`...
///
/// A hyper service with a page at `/` and a WebSocket echo at `/ws`, on the same port:
///
/// ```no_run
/// use std::convert::Infallible;
/// use hyper::{body::Incoming, Request, Response};
/// use hyper_util::rt::TokioIo;
///
/// async fn route(
///     server: duplex::ServerBuilder,
///     mut request: Request<Incoming>,
/// ) -> Result<Response<String>, Infallible> {
///     if request.uri().path() != "/ws" {
///         return Ok(Response::new("a page; the WebSocket is at /ws\n".to_owned()));
///     }
///     match duplex::upgrade::upgrade(&server, &mut request) {
///         Ok((response, pending)) => {
///             tokio::spawn(async move {
///                 let mut ws = pending.await?;
///                 while let Some(message) = ws.recv().await? {
///                     ws.send(message).await?;
///                 }
///                 Ok::<_, duplex::Error>(())
///             });
///             Ok(response)
///         }
///         Err(refusal) => Ok(refusal.response()),
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let server = duplex::ServerBuilder::new().protocols(["chat"]);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// loop {
///     let (stream, _) = listener.accept().await?;
///     let server = server.clone();
///     let service = hyper::service::service_fn(move |request| route(server.clone(), request));
///     tokio::spawn(
///         hyper::server::conn::http1::Builder::new()
///             .serve_connection(TokioIo::new(stream), service)
///             .with_upgrades(), // without this, hyper keeps the connection to itself
///     );
/// }
/// # }
/// ```
pub fn upgrade<B, R: From<String>>(
    server: &ServerBuilder,
    request: &mut http::Request<B>,
) -> Result<(http::Response<R>, PendingUpgrade), Refusal> {
    let (checked, wire) = check(
        request.method(),
        request.version(),
        request.uri(),
        request.headers(),
        request.extensions(),
    )?;
    accept(server.clone(), &checked, wire, || {
        request.extensions_mut().remove::<OnUpgrade>()
    })
}

/// [`upgrade`] for a request already split into its parts (`http::Request::into_parts`), as
/// extractors and middleware see it.
pub fn upgrade_parts<R: From<String>>(
    server: &ServerBuilder,
    parts: &mut http::request::Parts,
) -> Result<(http::Response<R>, PendingUpgrade), Refusal> {
    let (checked, wire) = check(
        &parts.method,
        parts.version,
        &parts.uri,
        &parts.headers,
        &parts.extensions,
    )?;
    accept(server.clone(), &checked, wire, || {
        parts.extensions.remove::<OnUpgrade>()
    })
}

/// How the handshake arrived: an HTTP/1.1 Upgrade (answered 101) or an HTTP/2 extended
/// CONNECT (answered 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// RFC 6455's GET with `Upgrade: websocket`.
    Http1,
    /// RFC 8441's CONNECT with `:protocol websocket`.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    Http2,
}

/// Checks that a request head is a valid WebSocket handshake (no policy applied yet), over
/// HTTP/1.1 or, with the `http2` feature, HTTP/2.
pub(crate) fn check(
    method: &Method,
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<(Request, Wire), Refusal> {
    #[cfg(feature = "http2")]
    if version == Version::HTTP_2 {
        return http2::check(method, uri, headers, extensions).map(|r| (r, Wire::Http2));
    }
    let _ = extensions;
    check_http1(method, version, uri, headers).map(|r| (r, Wire::Http1))
}

/// RFC 6455's GET with `Upgrade: websocket` over HTTP/1.1.
fn check_http1(
    method: &Method,
    version: Version,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Request, Refusal> {
    let version_minor = match version {
        Version::HTTP_10 => 0,
        Version::HTTP_11 => 1,
        // Anything else (HTTP/0.9, 2, 3) is refused by from_head as "needs HTTP/1.1".
        _ => u8::MAX,
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let raw: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    Ok(Request::from_head(
        method.as_str(),
        version_minor,
        path,
        &raw,
    )?)
}

/// Applies `server`'s policy to a checked request, then takes hyper's upgrade handle (only once
/// the answer is 101, so a refusal leaves the request as it was).
pub(crate) fn accept<R: From<String>>(
    server: ServerBuilder,
    request: &Request,
    wire: Wire,
    take_upgrade_handle: impl FnOnce() -> Option<OnUpgrade>,
) -> Result<(http::Response<R>, PendingUpgrade), Refusal> {
    let over_http2 = |refusal: Refusal| match wire {
        Wire::Http1 => refusal,
        Wire::Http2 => refusal.over_http2(),
    };
    let accepted = server
        .negotiate(request)
        .map_err(|e| over_http2(e.into()))?;
    let mut response = http::Response::new(R::from(String::new()));
    let headers = response.headers_mut();
    if wire == Wire::Http1 {
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
    *response.status_mut() = match wire {
        Wire::Http1 => StatusCode::SWITCHING_PROTOCOLS,
        Wire::Http2 => StatusCode::OK,
    };
    let headers = response.headers_mut();
    for (name, value) in accepted.response_headers(request) {
        // HTTP/2 proves nothing with a key (RFC 8441 section 5).
        if wire == Wire::Http2 && name.eq_ignore_ascii_case("sec-websocket-accept") {
            continue;
        }
        // A subprotocol from a custom selector might not be a valid header value: that is the
        // server's mistake, so say so instead of sending a broken 101.
        let name = HeaderName::try_from(name);
        let value = HeaderValue::try_from(value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(over_http2(Refusal::internal(
                "the server chose a subprotocol or extension that is not a valid header value",
            )));
        };
        headers.append(name, value);
    }
    let Some(on_upgrade) = take_upgrade_handle() else {
        return Err(over_http2(Refusal::internal(
            "this HTTP connection cannot be upgraded (serve it with upgrades enabled)",
        )));
    };
    Ok((
        response,
        PendingUpgrade {
            on_upgrade,
            server,
            accepted: Some(accepted),
        },
    ))
}

/// The second half of an [`upgrade`]: resolves to the [`WebSocket`] once hyper has sent the
/// 101 response and handed over the connection.
///
/// Await it in a spawned task, not in the service that returns the response: hyper only sends
/// the response after the service returns. It fails with [`Error::Io`] if the connection ends
/// first or was served without upgrades enabled.
#[derive(Debug)]
#[must_use = "the WebSocket only exists once this future is awaited"]
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    server: ServerBuilder,
    /// `None` once the future has completed.
    accepted: Option<Accepted>,
}

impl PendingUpgrade {
    /// The subprotocol agreed in the 101 response.
    pub fn protocol(&self) -> Option<&str> {
        self.accepted.as_ref()?.protocol.as_deref()
    }
}

impl Future for PendingUpgrade {
    type Output = Result<UpgradedWebSocket, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx))
            .map_err(|e| Error::Io(std::io::Error::other(format!("http upgrade failed: {e}"))))?;
        let Some(accepted) = this.accepted.take() else {
            return Poll::Ready(Err(Error::AlreadyClosed));
        };
        // hyper's `Upgraded` replays whatever it read past the request head, so there are no
        // leftover bytes to pass on here.
        let io = TokioIo::new(upgraded);
        Poll::Ready(Ok(this.server.wrap(io, accepted, BytesMut::new())))
    }
}

/// Why an upgrade request was refused, and the HTTP answer to send for it.
///
/// ```
/// let mut request = http::Request::get("/ws")
///     .header("host", "example.com")
///     .body(())
///     .unwrap();
/// let server = duplex::ServerBuilder::new();
/// let refusal = duplex::upgrade::upgrade::<_, String>(&server, &mut request).unwrap_err();
/// assert_eq!(refusal.status(), http::StatusCode::UPGRADE_REQUIRED);
/// let response: http::Response<String> = refusal.response();
/// assert_eq!(response.headers()["sec-websocket-version"], "13");
/// assert!(response.body().contains("send Upgrade: websocket"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Refusal {
    error: HandshakeError,
    /// The request came over HTTP/2, where 426 and `Upgrade` mean nothing.
    http2: bool,
}

impl Refusal {
    fn internal(detail: &str) -> Self {
        Refusal::from(HandshakeError::BadRequest {
            status: 500,
            reason: "Internal Server Error",
            detail: detail.to_owned(),
        })
    }

    /// The same refusal for a request that came over HTTP/2.
    #[cfg_attr(not(feature = "http2"), allow(dead_code))]
    pub(crate) fn over_http2(mut self) -> Self {
        self.http2 = true;
        self
    }

    /// The status the handshake error calls for, before HTTP/2 is taken into account.
    fn handshake_status(&self) -> StatusCode {
        self.error
            .status()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .filter(|status| status.is_client_error() || status.is_server_error())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The HTTP status to answer with: 400, 403, 405, 426... or 500 when the server itself
    /// cannot upgrade. Over HTTP/2, 400 where HTTP/1.1 says 426 (an unsupported
    /// `Sec-WebSocket-Version`), with the same `Sec-WebSocket-Version: 13`.
    pub fn status(&self) -> StatusCode {
        match self.handshake_status() {
            StatusCode::UPGRADE_REQUIRED if self.http2 => StatusCode::BAD_REQUEST,
            status => status,
        }
    }

    /// The whole answer: the status, a one-line `text/plain` reason, and the headers the status
    /// calls for (`Sec-WebSocket-Version: 13` with 426, `Allow: GET` with 405).
    pub fn response<R: From<String>>(&self) -> http::Response<R> {
        let detail = match &self.error {
            HandshakeError::BadRequest { detail, .. } => detail.clone(),
            other => other.to_string(),
        };
        let mut response = http::Response::new(R::from(format!("{detail}\n")));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        match self.handshake_status() {
            StatusCode::UPGRADE_REQUIRED => {
                if !self.http2 {
                    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                }
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        response
    }

    /// The handshake error behind the refusal.
    pub fn handshake_error(&self) -> &HandshakeError {
        &self.error
    }
}

impl From<HandshakeError> for Refusal {
    fn from(error: HandshakeError) -> Self {
        Refusal {
            error,
            http2: false,
        }
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::Handshake(refusal.error)
    }
}
