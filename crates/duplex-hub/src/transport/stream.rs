//! The fallbacks for networks that block WebSocket, as Centrifugo defines them so that the
//! `centrifuge` SDK's own fallbacks work unchanged:
//!
//! - **HTTP-streaming**, `POST /connection/http_stream`: the request body holds the client's
//!   first commands (its connect); the response is a never-ending body of replies and pushes,
//!   newline-delimited JSON or varint-delimited Protobuf, as in a WebSocket message.
//! - **Server-Sent Events**, `GET /connection/sse?cf_connect=<connect command>`: the same
//!   replies as `data:` lines of `text/event-stream` (JSON only, as EventSource is text).
//!
//! Both are one-way: the client's later commands arrive by POST at the emulation endpoint
//! ([`super::emulation`]), quoting the session id its connect reply gave it. The session itself
//! is the WebSocket one ([`crate::session::run`]): same auth, limits, pings, recovery and
//! outbound budget. What differs is here: the way in ([`StreamInbound`]) and the way out
//! ([`StreamOut`]), a queue of byte chunks that the response body drains.
//!
//! The session ends with a disconnect push (code and reason: there is no close frame), and
//! when the client goes away the response body is dropped, which the session sees as a lost
//! connection.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes as BodyBytes};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use duplex::proto::PreparedFrame;
use http::{header, HeaderMap, StatusCode};
use tokio::sync::{mpsc, oneshot, Notify};

use super::emulation::{Fallbacks, Registration};
use crate::codes::Disconnect;
use crate::protocol::{self, Encoding, Reply};
use crate::session::{self, Inbound, Incoming, Queued, Transport};

/// How replies are laid out in the response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// HTTP-streaming: each message as it is, then a newline (JSON) or nothing (Protobuf,
    /// whose replies carry their own length).
    Stream(Encoding),
    /// SSE: each line of a message as `data: <line>`, then an empty line.
    EventStream,
}

impl Framing {
    /// `payload` (one or more encoded replies) as bytes of the response body. Protobuf goes
    /// as it is: the same bytes every subscriber of a fan-out shares, no copy.
    fn wrap(self, payload: Bytes) -> Bytes {
        match self {
            Framing::Stream(Encoding::Protobuf) => payload,
            Framing::Stream(Encoding::Json) => {
                let mut out = BytesMut::with_capacity(payload.len() + 1);
                out.put_slice(&payload);
                out.put_u8(b'\n');
                out.freeze()
            }
            Framing::EventStream => {
                let mut out = BytesMut::with_capacity(payload.len() + 16);
                for line in payload.split(|b| *b == b'\n') {
                    out.put_slice(b"data: ");
                    out.put_slice(line);
                    out.put_u8(b'\n');
                }
                out.put_u8(b'\n');
                out.freeze()
            }
        }
    }
}

/// How long a stream stays open after the disconnect push. The SDK reads a stream's end as
/// "transport closed" (reconnect, code 1) and may see it before it has handled the push that
/// came just before; left open, the client closes it itself once it has read the push, with
/// the push's code and its reconnect advice.
const LINGER: Duration = Duration::from_secs(5);

/// A streaming connection's way out: chunks waiting for the response body, within the
/// session's outbound budget.
pub(crate) struct StreamOut {
    state: Mutex<OutState>,
    /// Wakes the response body when a chunk is queued or the stream ends.
    ready: Notify,
    framing: Framing,
    /// `client.queue_max_size`: past it, frames are refused (`Full`) and the namespace's
    /// slow-consumer policy decides, exactly as on WebSocket.
    budget: usize,
}

#[derive(Default)]
struct OutState {
    chunks: VecDeque<Bytes>,
    queued: usize,
    /// No more chunks: the body ends once the queue is drained.
    closed: bool,
    /// How long the body stays open after its last chunk (see [`LINGER`]).
    linger: Option<Duration>,
}

impl StreamOut {
    fn new(framing: Framing, budget: usize) -> Arc<Self> {
        Arc::new(StreamOut {
            state: Mutex::new(OutState::default()),
            ready: Notify::new(),
            framing,
            budget,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `payload` whatever the budget (the last words of a session), then ends, after
    /// [`LINGER`] when there were last words.
    fn finish_with(&self, payload: Option<Bytes>) {
        {
            let mut state = self.lock();
            if let Some(payload) = payload {
                let chunk = self.framing.wrap(payload);
                state.queued += chunk.len();
                state.chunks.push_back(chunk);
                state.linger = Some(LINGER);
            }
            state.closed = true;
        }
        self.ready.notify_one();
    }

    /// The response body: the queued chunks as they come, until the stream is finished. When
    /// the client goes away, the body is dropped and so is `gone`, which ends the session.
    fn body(self: Arc<Self>, gone: oneshot::Sender<()>) -> Body {
        let stream = futures_util::stream::unfold((self, gone), |(out, gone)| async move {
            loop {
                let linger = {
                    let mut state = out.lock();
                    if let Some(chunk) = state.chunks.pop_front() {
                        state.queued -= chunk.len();
                        drop(state);
                        return Some((Ok::<_, std::convert::Infallible>(chunk), (out, gone)));
                    }
                    if !state.closed {
                        None
                    } else if let Some(linger) = state.linger.take() {
                        Some(linger)
                    } else {
                        return None;
                    }
                };
                match linger {
                    Some(linger) => tokio::time::sleep(linger).await,
                    None => out.ready.notified().await,
                }
            }
        });
        Body::from_stream(stream)
    }
}

/// The session's handle on a [`StreamOut`].
pub(crate) struct StreamWriter(Arc<StreamOut>);

impl StreamWriter {
    /// Queues a chunk without waiting, unless the budget is spent.
    pub(crate) fn queue(&self, frame: &PreparedFrame) -> Queued {
        let out = &self.0;
        let chunk = out.framing.wrap(frame.payload());
        let mut state = out.lock();
        if state.closed {
            return Queued::Closed;
        }
        // As on WebSocket: one frame always fits into an empty queue.
        if state.queued > 0 && state.queued + chunk.len() > out.budget {
            return Queued::Full;
        }
        state.queued += chunk.len();
        state.chunks.push_back(chunk);
        Queued::Yes
    }

    /// Wakes the response body, which writes what is queued.
    pub(crate) fn flush(&self) {
        self.0.ready.notify_one();
    }
}

/// A streaming connection's way in: its first commands from the request, then what the
/// emulation endpoint hands over.
struct StreamInbound {
    first: Option<Bytes>,
    commands: mpsc::Receiver<Bytes>,
    /// Resolves (with an error) when the response body is dropped: the client went away.
    gone: oneshot::Receiver<()>,
    out: Arc<StreamOut>,
    encoding: Encoding,
    /// Keeps the session reachable from `/emulation` while the session lives.
    registration: Registration,
}

impl Inbound for StreamInbound {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Incoming::Message(first));
        }
        if let Poll::Ready(command) = self.commands.poll_recv(cx) {
            return Poll::Ready(match command {
                Some(command) => Incoming::Message(command),
                None => Incoming::Lost,
            });
        }
        match Pin::new(&mut self.gone).poll(cx) {
            Poll::Ready(_) => Poll::Ready(Incoming::Lost),
            Poll::Pending => Poll::Pending,
        }
    }

    async fn close(self, disconnect: &Disconnect) {
        let reply = Reply {
            push: Some(protocol::Push {
                disconnect: Some(disconnect.clone().into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut payload = Vec::new();
        let encoded = protocol::encode_reply(self.encoding, &reply, &mut payload).is_ok();
        self.out.finish_with(encoded.then(|| Bytes::from(payload)));
    }

    async fn finish(self) {
        self.out.finish_with(None);
    }

    fn emulation_session(&self) -> Option<&str> {
        Some(self.registration.id())
    }
}

/// `POST /connection/http_stream`.
pub(crate) async fn http_stream(
    State(fallbacks): State<Arc<Fallbacks>>,
    headers: HeaderMap,
    body: BodyBytes,
) -> Response {
    let encoding = if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/octet-stream"))
    {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    let content_type = match encoding {
        Encoding::Json => "application/json",
        Encoding::Protobuf => "application/octet-stream",
    };
    start(
        &fallbacks,
        &headers,
        body,
        Framing::Stream(encoding),
        content_type,
    )
}

/// `GET /connection/sse?cf_connect=...`.
pub(crate) async fn sse(
    State(fallbacks): State<Arc<Fallbacks>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(connect) = query.get("cf_connect") else {
        return (StatusCode::BAD_REQUEST, "cf_connect is missing\n").into_response();
    };
    let first = Bytes::copy_from_slice(connect.as_bytes());
    start(
        &fallbacks,
        &headers,
        first,
        Framing::EventStream,
        "text/event-stream",
    )
}

/// Checks the request, starts the session and answers with its stream.
fn start(
    fallbacks: &Arc<Fallbacks>,
    headers: &HeaderMap,
    first: Bytes,
    framing: Framing,
    content_type: &'static str,
) -> Response {
    let node = fallbacks.node();
    if let Some(refused) = fallbacks.refuse(headers) {
        return refused;
    }
    if first.is_empty() {
        return (StatusCode::BAD_REQUEST, "the connect command is missing\n").into_response();
    }
    if first.len() > node.config().websocket.message_size_limit {
        return (StatusCode::PAYLOAD_TOO_LARGE, "first message too large\n").into_response();
    }
    let encoding = match framing {
        Framing::Stream(encoding) => encoding,
        Framing::EventStream => Encoding::Json,
    };
    let out = StreamOut::new(framing, node.config().client.queue_max_size);
    let (gone_tx, gone) = oneshot::channel();
    let (registration, commands) = fallbacks.register();
    let inbound = StreamInbound {
        first: Some(first),
        commands,
        gone,
        out: out.clone(),
        encoding,
        registration,
    };
    let proxy_state = node.proxies().capture(&header_pairs(headers));
    tokio::spawn(session::run(
        node.clone(),
        inbound,
        Transport::Stream(StreamWriter(out.clone())),
        encoding,
        proxy_state,
    ));
    let mut response = Response::new(out.body(gone_tx));
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, content_type.parse().expect("static"));
    response_headers.insert(header::CACHE_CONTROL, "no-cache".parse().expect("static"));
    // Buffering proxies (nginx) would hold the stream back.
    response_headers.insert("x-accel-buffering", "no".parse().expect("static"));
    fallbacks.allow_origin(headers, response_headers);
    response
}

/// The request's headers as the proxies to the application take them.
fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let value = value.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_prefixes_every_line_and_ends_the_event() {
        let wrapped = Framing::EventStream.wrap(Bytes::from_static(b"{\"id\":1}\n{\"push\":{}}"));
        assert_eq!(&wrapped[..], b"data: {\"id\":1}\ndata: {\"push\":{}}\n\n");
    }

    #[test]
    fn json_streaming_ends_each_message_with_a_newline_and_protobuf_adds_nothing() {
        assert_eq!(
            &Framing::Stream(Encoding::Json).wrap(Bytes::from_static(b"{}"))[..],
            b"{}\n"
        );
        assert_eq!(
            &Framing::Stream(Encoding::Protobuf).wrap(Bytes::from_static(b"\x02ab"))[..],
            b"\x02ab"
        );
    }

    #[test]
    fn the_budget_refuses_past_its_size_but_never_an_empty_queue() {
        let out = StreamOut::new(Framing::Stream(Encoding::Json), 10);
        let writer = StreamWriter(out.clone());
        let frame = |text: &str| PreparedFrame::new(&duplex::proto::Message::text(text.to_owned()));
        assert_eq!(writer.queue(&frame("0123456789abcdef")), Queued::Yes);
        assert_eq!(writer.queue(&frame("x")), Queued::Full);
        out.finish_with(None);
        assert_eq!(writer.queue(&frame("x")), Queued::Closed);
    }
}
