//! The WebSocket endpoint, `/connection/websocket`: the origin check, the encoding (JSON, or
//! Protobuf when the client offers the `centrifuge-protobuf` subprotocol), and the upgrade
//! into a session, with the request headers that proxies to the application forward.

use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use duplex::axum::WebSocketUpgrade;
use duplex::proto::Event;
use duplex::{Options, SlowConsumer, WebSocketReader, WebSocketWriter};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::codes::Disconnect;
use crate::node::Node;
use crate::protocol::Encoding;
use crate::session::{self, Inbound, Incoming, Transport};

/// The subprotocol of the Protobuf encoding.
pub(crate) const PROTOBUF_SUBPROTOCOL: &str = "centrifuge-protobuf";

/// Answers the upgrade request.
pub(crate) async fn handler(State(node): State<Arc<Node>>, upgrade: WebSocketUpgrade) -> Response {
    let request = upgrade.request();
    if let Some(origin) = &request.origin {
        if !origin_allowed(&node.config().client.allowed_origins, origin, &request.host) {
            tracing::info!(%origin, "connection from an origin not allowed");
            return (http::StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
        }
    }
    // What the proxies forward from this request (cookies, configured headers), kept only
    // when some proxy forwards something.
    let proxy_state = node.proxies().capture(&request.headers);
    let encoding = if request.protocols.iter().any(|p| p == PROTOBUF_SUBPROTOCOL) {
        Encoding::Protobuf
    } else {
        Encoding::Json
    };
    upgrade
        .server(node.websocket_server().clone())
        .on_upgrade(move |ws| async move {
            // The session gets a task of its own: the upgrade's task, with the handshake's
            // state in it, ends here instead of living as long as the connection.
            let (reader, writer) = ws.split();
            let transport = Transport::WebSocket(writer.clone());
            let inbound = WebSocketInbound { reader, writer };
            tokio::spawn(session::run(
                node,
                inbound,
                transport,
                encoding,
                proxy_state,
            ));
        })
}

/// A WebSocket connection as a session's way in: its messages, and a close frame at the end.
pub(crate) struct WebSocketInbound<S> {
    pub(crate) reader: WebSocketReader<S>,
    pub(crate) writer: WebSocketWriter<S>,
}

impl<S> Inbound for WebSocketInbound<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Incoming> {
        loop {
            let incoming = match ready!(self.reader.poll_next_event(cx)) {
                Ok(Event::Message(message)) => Incoming::Message(message.payload().clone()),
                Ok(Event::Close(_)) => Incoming::Closed,
                Err(_) => Incoming::Lost,
                // Pings and pongs are answered by the WebSocket layer.
                Ok(_) => continue,
            };
            return Poll::Ready(incoming);
        }
    }

    async fn close(mut self, disconnect: &Disconnect) {
        // The close frame carries the code and reason (Centrifugo does the same over
        // WebSocket); then the reader sees the peer's answer, or the close timeout ends it.
        if self
            .writer
            .close(disconnect.code, &disconnect.reason)
            .await
            .is_ok()
        {
            while let Ok(event) = self.reader.next_event().await {
                if matches!(event, Event::Close(_)) {
                    break;
                }
            }
        }
    }

    async fn finish(self) {}
}

/// The WebSocket policy every hub connection shares (one allocation, not one per upgrade).
///
/// The hub sends its own pings (`{}` in the client protocol, which the SDKs answer and time
/// out on), so the WebSocket layer's pings and idle timeout are off. Its send queue limit *is*
/// the hub's outbound budget (`client.queue_max_size`): past it a frame is refused
/// (`SlowConsumer::Wait`) and the namespace's slow-consumer policy decides (see
/// `session/outbound.rs`). The Protobuf subprotocol is chosen when offered; JSON clients offer
/// none.
pub(crate) fn server_builder(config: &crate::config::HubConfig) -> duplex::ServerBuilder {
    let options = Options::default()
        .ping_interval(None)
        .idle_timeout(None)
        .max_buffered(config.client.queue_max_size)
        .slow_consumer(SlowConsumer::Wait);
    let size_limit = config.websocket.message_size_limit;
    let limits = duplex::proto::Config::default()
        .max_message_size(size_limit)
        .max_frame_size(size_limit);
    let builder = duplex::ServerBuilder::new()
        .options(options)
        .config(limits)
        .protocols([PROTOBUF_SUBPROTOCOL]);
    // `client.connection_limit`: past it, new connections get 503 with Retry-After.
    match config.client.connection_limit {
        0 => builder,
        limit => builder.max_connections(limit),
    }
}

/// Whether a browser page from `origin` may connect. The allowlist takes exact origins and
/// patterns with `*` (`https://*.example.com`, or `*` for any); an empty list allows only the
/// hub's own host, as browsers' same-origin pages.
pub(crate) fn origin_allowed(allowed: &[String], origin: &str, host: &str) -> bool {
    if allowed.is_empty() {
        let origin_host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        return origin_host.eq_ignore_ascii_case(host);
    }
    let origin = origin.to_ascii_lowercase();
    allowed
        .iter()
        .any(|pattern| crate::glob::matches(&pattern.to_ascii_lowercase(), &origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_pattern() {
        let allowed = vec![
            "https://example.com".to_owned(),
            "https://*.example.org".to_owned(),
        ];
        assert!(origin_allowed(&allowed, "https://example.com", "x"));
        assert!(origin_allowed(&allowed, "HTTPS://EXAMPLE.COM", "x"));
        assert!(origin_allowed(&allowed, "https://a.example.org", "x"));
        assert!(!origin_allowed(
            &allowed,
            "https://example.org.evil.com",
            "x"
        ));
        assert!(!origin_allowed(&allowed, "http://example.com", "x"));
        assert!(origin_allowed(&["*".to_owned()], "https://anything", "x"));
    }

    #[test]
    fn without_a_list_only_the_same_host_is_allowed() {
        assert!(origin_allowed(
            &[],
            "http://localhost:8000",
            "localhost:8000"
        ));
        assert!(!origin_allowed(&[], "http://evil.com", "localhost:8000"));
    }
}
