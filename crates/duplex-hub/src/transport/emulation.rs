//! The emulation endpoint, `POST /emulation`: how a client on a one-way fallback
//! (HTTP-streaming, SSE; see [`super::stream`]) sends its commands after connect.
//!
//! The body names the session (the `session` of the connect reply, a random id that only that
//! client was told, not its client id, which other clients see in presence) and carries the
//! commands: `{"session": "...", "node": "...", "data": "<commands as JSON lines>"}` in JSON, or
//! Centrifugo's `EmulationRequest` in Protobuf. The commands are handed to the session's task,
//! which answers on its stream; this request only says whether they were delivered.
//!
//! Sessions are found on this node only: behind a load balancer, the fallbacks need sticky
//! sessions (or one node), where WebSocket needs none.
//!
//! Also here: what both fallbacks check before starting a session (origin, connection limit)
//! and CORS, since a page on the application's origin reaches the hub's with `fetch`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes as BodyBytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use tokio::sync::mpsc;

use crate::node::Node;

/// Commands waiting for one session's task; more and the POST waits.
const QUEUE: usize = 64;
/// How long a POST waits for room in a session's queue before it is refused.
const HANDOVER: Duration = Duration::from_secs(5);

/// What the fallback endpoints share: the node, and the sessions reachable from
/// `/emulation`.
pub(crate) struct Fallbacks {
    node: Arc<Node>,
    sessions: Mutex<HashMap<Box<str>, mpsc::Sender<Bytes>>>,
}

/// A session's entry in [`Fallbacks`], removed when dropped (when the session ends).
pub(crate) struct Registration {
    fallbacks: Arc<Fallbacks>,
    id: Box<str>,
}

impl Registration {
    /// The session id the client quotes.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.fallbacks.lock().remove(&self.id);
    }
}

impl Fallbacks {
    pub(crate) fn new(node: Arc<Node>) -> Arc<Self> {
        Arc::new(Fallbacks {
            node,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn node(&self) -> &Arc<Node> {
        &self.node
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, mpsc::Sender<Bytes>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session id and the queue its commands arrive on.
    pub(crate) fn register(self: &Arc<Self>) -> (Registration, mpsc::Receiver<Bytes>) {
        let id: Box<str> = uuid::Uuid::new_v4().simple().to_string().into();
        let (sender, receiver) = mpsc::channel(QUEUE);
        self.lock().insert(id.clone(), sender);
        let registration = Registration {
            fallbacks: self.clone(),
            id,
        };
        (registration, receiver)
    }

    /// The answer to a fallback connection that may not start: an origin not allowed, or the
    /// node's connection limit reached (as WebSocket answers it: 503).
    pub(crate) fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        if let Some(origin) = origin(headers) {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let allowed = &self.node.config().client.allowed_origins;
            if !super::websocket::origin_allowed(allowed, origin, host) {
                tracing::info!(%origin, "fallback connection from an origin not allowed");
                return Some((StatusCode::FORBIDDEN, "origin not allowed\n").into_response());
            }
        }
        let limit = self.node.config().client.connection_limit;
        if limit > 0 && self.node.metrics().open_connections() >= limit as i64 {
            return Some(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "1")],
                    "connection limit reached\n",
                )
                    .into_response(),
            );
        }
        None
    }

    /// CORS for an allowed origin: a page on another origin (the application's) may read the
    /// response. Disallowed origins get no header, so the browser keeps the response from them.
    pub(crate) fn allow_origin(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let Some(origin) = origin(request) else {
            return;
        };
        let host = request
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let allowed = &self.node.config().client.allowed_origins;
        if super::websocket::origin_allowed(allowed, origin, host) {
            if let Ok(value) = HeaderValue::from_str(origin) {
                response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
                response.insert(header::VARY, HeaderValue::from_static("Origin"));
            }
        }
    }
}

fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// The JSON form of an emulation request (its `node` is not read: this node serves only its
/// own sessions).
#[derive(serde::Deserialize)]
struct JsonRequest {
    session: String,
    /// The commands, as the JSON lines a WebSocket message would hold.
    data: String,
}

/// The Protobuf form (`EmulationRequest` in Centrifugo's client.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct ProtobufRequest {
    #[prost(string, tag = "1")]
    node: String,
    #[prost(string, tag = "2")]
    session: String,
    #[prost(bytes = "bytes", tag = "3")]
    data: Bytes,
}

/// `POST /emulation`.
pub(crate) async fn handler(
    State(fallbacks): State<Arc<Fallbacks>>,
    headers: HeaderMap,
    body: BodyBytes,
) -> Response {
    let mut response = deliver(&fallbacks, &headers, body).await;
    fallbacks.allow_origin(&headers, response.headers_mut());
    response
}

async fn deliver(fallbacks: &Fallbacks, headers: &HeaderMap, body: BodyBytes) -> Response {
    if body.len() > fallbacks.node.config().websocket.message_size_limit + 1024 {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request too large\n").into_response();
    }
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"));
    let (session, data) = if protobuf {
        match <ProtobufRequest as prost::Message>::decode(body) {
            Ok(request) => (request.session, request.data),
            Err(_) => return (StatusCode::BAD_REQUEST, "malformed request\n").into_response(),
        }
    } else {
        match serde_json::from_slice::<JsonRequest>(&body) {
            Ok(request) => (request.session, Bytes::from(request.data)),
            Err(_) => return (StatusCode::BAD_REQUEST, "malformed request\n").into_response(),
        }
    };
    let Some(sender) = fallbacks.lock().get(session.as_str()).cloned() else {
        return (StatusCode::NOT_FOUND, "no such session on this node\n").into_response();
    };
    if data.is_empty() {
        return (StatusCode::BAD_REQUEST, "no commands\n").into_response();
    }
    match tokio::time::timeout(HANDOVER, sender.send(data)).await {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(_)) => (StatusCode::NOT_FOUND, "the session has ended\n").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the session is busy\n").into_response(),
    }
}

/// `OPTIONS` on the fallback endpoints: the CORS preflight of a cross-origin POST with a JSON
/// body.
pub(crate) async fn preflight(
    State(fallbacks): State<Arc<Fallbacks>>,
    headers: HeaderMap,
) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let out = response.headers_mut();
    fallbacks.allow_origin(&headers, out);
    if out.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Content-Type"),
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}
