//! `duplex`: WebSocket client and server for tokio.
//!
//! The protocol is [`duplex_proto`], a state machine with no I/O; this crate connects it to
//! sockets. It speaks the browser's verbs: [`connect`] to a URL with subprotocols, [`send`]
//! text or binary, [`close`] with a code and reason, and receive messages, pings, pongs and the
//! close as typed [`Event`]s. Servers [`accept`] a stream (or wrap one an HTTP server upgraded).
//!
//! `wss://` runs over rustls (the `tls` feature, on by default): a client trusts the web PKI
//! roots unless told otherwise, and a server terminates TLS with [`tls::acceptor_from_pem_files`]
//! before [`accept`]. Clients honour the usual proxy environment variables (see
//! [`ClientBuilder::proxy`]).
//!
//! [`send`]: WebSocket::send
//! [`close`]: WebSocket::close
//!
//! Inside an existing HTTP server (same port as its pages): `upgrade` for hyper 1 (feature
//! `hyper`) and the `axum::WebSocketUpgrade` extractor for axum 0.8 (feature `axum`).
//!
//! WebSocket over HTTP/2 (RFC 8441, feature `http2`): `ClientBuilder::http2` opens one with
//! an extended CONNECT, and with `hyper` or `axum` the same upgrade calls accept one.
//!
//! Many mostly idle connections on one core: `event_loop` (feature `event-loop`, Unix only)
//! drives the same protocol core from one epoll loop with callbacks instead of a task per
//! connection (about 250 bytes per idle connection instead of about 1.4 KB), with the same
//! [`ServerBuilder`] policy. Without the feature the crate needs only tokio and builds wherever
//! tokio does.
//!
//! An echo server:
//!
//! ```no_run
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), duplex::Error> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let mut ws = duplex::accept(stream).await?;
//!             while let Some(message) = ws.recv().await? {
//!                 ws.feed(message).await?; // written with the next read, coalesced
//!             }
//!             Ok::<_, duplex::Error>(())
//!         });
//!     }
//! }
//! ```
//!
//! A client:
//!
//! ```no_run
//! # async fn run() -> Result<(), duplex::Error> {
//! let (mut ws, response) = duplex::ClientBuilder::new()
//!     .protocol("chat")
//!     .connect("ws://127.0.0.1:9001/")
//!     .await?;
//! println!("open, subprotocol {:?}", response.protocol);
//! ws.send("hello").await?;
//! if let Some(reply) = ws.recv().await? {
//!     println!("echo: {}", reply.as_text().unwrap_or("<binary>"));
//! }
//! ws.close(duplex::CloseCode::NORMAL, "bye").await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod __fuzz;
mod broadcast;
mod client;
mod driver;
mod error;
#[cfg(all(unix, feature = "event-loop"))]
pub mod event_loop;
#[cfg(feature = "http2")]
mod http2;
mod io;
mod lifecycle;
mod maybe_tls;
mod options;
#[doc(hidden)]
pub mod prefetch;
mod proxy;
mod server;
mod shutdown;
mod split;
#[cfg(feature = "tls")]
pub mod tls;
mod websocket;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "hyper")]
pub mod upgrade;

pub use broadcast::{BroadcastReport, Broadcaster, MemberId};
#[cfg(feature = "http2")]
pub use client::Http2;
pub use client::{connect, ClientBuilder};
pub use duplex_proto::{
    CloseCode, CloseFrame, Config, DeflateConfig, Event, Message, PreparedFrame, Role, Utf8Bytes,
};
pub use error::{Error, ProxyError, Result, TlsError};
#[cfg(feature = "http2")]
pub use http2::Http2Stream;
pub use maybe_tls::MaybeTlsStream;
pub use options::{Delivery, Options, SlowConsumer};
pub use server::{accept, ServerBuilder};
pub use shutdown::Shutdown;
pub use split::{WebSocketReader, WebSocketWriter};
pub use websocket::WebSocket;

/// The opening handshake below [`ServerBuilder`] and [`ClientBuilder`]: the parsed request
/// and response, the URL target, what a server agreed to, and which end a connection is. Kept
/// out of the crate root, where `Request` and `Response` would clash with `http`'s in every
/// axum or hyper application.
///
/// ```
/// use duplex::handshake::Target;
/// let target = Target::parse("wss://example.com/chat").unwrap();
/// assert_eq!(target.port, 443);
/// ```
pub mod handshake {
    pub use crate::client::Target;
    pub use crate::server::{Accepted, ProtocolSelector};
    pub use duplex_proto::handshake::client::Response;
    pub use duplex_proto::handshake::server::Request;
}

/// Shared byte buffers, as used in [`Message`] payloads.
pub use bytes::Bytes;
/// The sans-IO protocol core, for lower-level use.
pub use duplex_proto as proto;
/// The TLS library behind `wss://`, for [`ClientBuilder::tls_config`] and server configs.
#[cfg(feature = "tls")]
pub use rustls;
/// The tokio adapter of [`rustls`], for accepting TLS on a server.
#[cfg(feature = "tls")]
pub use tokio_rustls;
