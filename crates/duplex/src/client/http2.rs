//! The client's WebSocket over HTTP/2 (RFC 8441, feature `http2`): an extended CONNECT
//! (`:method CONNECT`, `:protocol websocket`) on a new HTTP/2 connection, answered 200.
//!
//! HTTP/2 is chosen per connection, as browsers do: over TLS the server picks it in ALPN (we
//! offer `h2` and `http/1.1`); over cleartext there is no negotiation, so the client speaks
//! HTTP/2 with prior knowledge (h2c). A server that speaks HTTP/2 must also say, in its first
//! SETTINGS frame, that it accepts extended CONNECT. [`Http2`] says what to do when it does
//! not: go on over HTTP/1.1, or fail. The server's SETTINGS are read before the request is
//! sent: a PING is answered only after them, so the answer to ours settles the question in one
//! round trip without guessing at timings.

use bytes::BytesMut;
use duplex_proto::handshake::client::Response;
use duplex_proto::{HandshakeError, Role};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{step, ClientBuilder, Target};
use crate::error::{Error, Result};
use crate::http2::Http2Stream;
use crate::maybe_tls::MaybeTlsStream;
use crate::websocket::WebSocket;

/// Whether [`ClientBuilder::connect`] opens the WebSocket over HTTP/2 (RFC 8441).
///
/// ```no_run
/// # async fn run() -> Result<(), duplex::Error> {
/// let (ws, _) = duplex::ClientBuilder::new()
///     .http2(duplex::Http2::Prefer)
///     .connect("wss://example.com/ws")
///     .await?;
/// println!("over HTTP/2: {}", ws.get_ref().is_http2());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Http2 {
    /// HTTP/1.1 Upgrade only (the default).
    #[default]
    Never,
    /// HTTP/2 when the server offers it, else HTTP/1.1. Over TLS: on the same connection when
    /// ALPN picks `http/1.1`; on a new one when the server speaks HTTP/2 without enabling
    /// extended CONNECT. Over cleartext: HTTP/2 with prior knowledge first, and a new HTTP/1.1
    /// connection when the server does not answer in HTTP/2 or lacks extended CONNECT (so a
    /// server that speaks only HTTP/1.1 costs a second connection: prefer `Never` for it).
    Prefer,
    /// HTTP/2 or nothing: fails with [`Error::Http2`] when the server picks `http/1.1` in ALPN,
    /// does not answer in HTTP/2, or does not enable extended CONNECT.
    Require,
}

/// The HTTP/2 flow-control window, per stream and for the connection (a WebSocket is its
/// connection's only stream): 1 MiB.
const WINDOW: u32 = 1024 * 1024;

/// How an HTTP/2 attempt ended.
pub(crate) enum Attempt {
    /// The WebSocket is open over HTTP/2.
    Open(Box<(WebSocket<MaybeTlsStream<TcpStream>>, Response)>),
    /// ALPN picked HTTP/1.1: the Upgrade handshake goes on over this connection.
    Http1(MaybeTlsStream<TcpStream>),
    /// No HTTP/2 WebSocket here (the reason given); HTTP/1.1 needs a new connection.
    Unavailable(String),
}

/// Opens a connection offering HTTP/2 and, where the server takes it, the WebSocket over it.
pub(crate) async fn connect(
    builder: &ClientBuilder,
    target: &Target,
    deadline: Instant,
) -> Result<Attempt> {
    let stream = builder.open(target, deadline, true).await?;
    let tls = stream.is_tls();
    if !alpn_chose_h2(&stream) {
        return Ok(Attempt::Http1(stream));
    }
    step(
        deadline,
        "HTTP/2 extended CONNECT",
        extended_connect(builder, stream, target, tls),
    )
    .await
}

/// True unless TLS negotiated something other than `h2` (cleartext is prior knowledge).
fn alpn_chose_h2(stream: &MaybeTlsStream<TcpStream>) -> bool {
    match stream {
        #[cfg(feature = "tls")]
        MaybeTlsStream::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(b"h2"),
        _ => true,
    }
}

/// The HTTP/2 handshake, the check of the server's SETTINGS, and the extended CONNECT.
async fn extended_connect(
    builder: &ClientBuilder,
    io: MaybeTlsStream<TcpStream>,
    target: &Target,
    tls: bool,
) -> Result<Attempt> {
    // h2's default windows (64 KiB) cost a round trip per 64 KiB of a large message; these are
    // hyper's server defaults. The WebSocket layer bounds what it buffers itself.
    let handshake = h2::client::Builder::new()
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .handshake(io);
    let (mut send_request, mut connection) = match handshake.await {
        Ok(pair) => pair,
        Err(e) => return Ok(Attempt::Unavailable(format!("no HTTP/2 handshake: {e}"))),
    };
    // Invariant: a new connection's ping handle has not been taken yet.
    let Some(mut ping_pong) = connection.ping_pong() else {
        return Err(Error::Http2(
            "the HTTP/2 ping handle was already taken".into(),
        ));
    };
    // The connection answers pings and window updates on its own, whoever reads.
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("http/2 connection ended: {e}");
        }
    });
    // A server's preface starts with its SETTINGS, so by the time our PING is answered they
    // have been read.
    if let Err(e) = ping_pong.ping(h2::Ping::opaque()).await {
        return Ok(Attempt::Unavailable(format!(
            "the server did not answer in HTTP/2 ({e})"
        )));
    }
    if !send_request.is_extended_connect_protocol_enabled() {
        return Ok(Attempt::Unavailable(
            "the server's HTTP/2 SETTINGS do not enable extended CONNECT (RFC 8441)".into(),
        ));
    }
    let request = builder.connect_request(target, tls)?;
    let (response, send) = send_request
        .send_request(request, false)
        .map_err(|e| Error::Http2(format!("cannot send the extended CONNECT: {e}")))?;
    let response = response
        .await
        .map_err(|e| Error::Http2(format!("the server reset the extended CONNECT: {e}")))?;
    let (head, mut body) = response.into_parts();
    let headers: Vec<(String, String)> = head
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    if !head.status.is_success() {
        let body = body_snippet(&mut body).await;
        return Err(HandshakeError::Rejected {
            status: head.status.as_u16(),
            reason: head.status.canonical_reason().unwrap_or("").to_owned(),
            headers,
            body,
        }
        .into());
    }
    let values = |name: &str| -> Vec<String> {
        head.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()))
            .map(str::to_owned)
            .collect()
    };
    let protocol = match values("sec-websocket-protocol").as_slice() {
        [] => None,
        [one] if builder.protocols.contains(one) => Some(one.clone()),
        other => {
            return Err(HandshakeError::InvalidResponse(format!(
                "server chose subprotocol {other:?}, which was not offered"
            ))
            .into())
        }
    };
    let extensions = values("sec-websocket-extensions");
    let agreed = match &builder.deflate {
        Some(deflate) => deflate
            .check_answer(&extensions)
            .map_err(HandshakeError::InvalidResponse)?
            .map(|params| (params, *deflate)),
        None if extensions.is_empty() => None,
        None => {
            return Err(HandshakeError::InvalidResponse(format!(
                "server accepted extensions {extensions:?}, none of which was offered"
            ))
            .into())
        }
    };
    let stream = Http2Stream::new(send, body, tls);
    let mut ws = WebSocket::from_upgraded(
        MaybeTlsStream::Http2(Box::new(stream)),
        Role::Client,
        builder.config,
        builder.options,
        protocol.clone(),
        BytesMut::new(),
    );
    if let Some((params, deflate)) = agreed {
        ws.core.conn.enable_deflate(&params, &deflate);
    }
    let response = Response {
        protocol,
        extensions,
        headers,
    };
    Ok(Attempt::Open(Box::new((ws, response))))
}

/// Headers HTTP/2 forbids (connection-specific) or carries as pseudo-headers: dropped from
/// the caller's extra headers rather than failing the request.
const NOT_IN_HTTP2: [&str; 8] = [
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "host",
    "sec-websocket-key",
];

impl ClientBuilder {
    /// The extended CONNECT request: `:protocol websocket`, version 13, the offers.
    fn connect_request(&self, target: &Target, tls: bool) -> Result<http::Request<()>> {
        let uri = http::Uri::builder()
            .scheme(if tls { "https" } else { "http" })
            .authority(target.host_header.as_str())
            .path_and_query(target.path.as_str())
            .build()
            .map_err(|e| Error::InvalidUrl(format!("{}: {e}", target.host_header)))?;
        let mut request = http::Request::builder()
            .method(http::Method::CONNECT)
            .version(http::Version::HTTP_2)
            .uri(uri)
            .header("sec-websocket-version", "13");
        if !self.protocols.is_empty() {
            request = request.header("sec-websocket-protocol", self.protocols.join(", "));
        }
        if let Some(deflate) = &self.deflate {
            request = request.header("sec-websocket-extensions", deflate.client_offer());
        }
        if let Some(origin) = &self.origin {
            request = request.header("origin", origin.as_str());
        }
        for (name, value) in &self.headers {
            if NOT_IN_HTTP2.iter().any(|n| name.eq_ignore_ascii_case(n)) {
                continue;
            }
            request = request.header(name.to_ascii_lowercase(), value.as_str());
        }
        let mut request = request
            .body(())
            .map_err(|e| Error::Http2(format!("invalid request header: {e}")))?;
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("websocket"));
        Ok(request)
    }
}

/// The start of a refusal's body (up to 1 KiB), for the error message.
async fn body_snippet(body: &mut h2::RecvStream) -> String {
    let mut snippet = Vec::new();
    while snippet.len() < 1024 {
        match body.data().await {
            Some(Ok(data)) => {
                let _ = body.flow_control().release_capacity(data.len());
                snippet.extend_from_slice(&data[..data.len().min(1024 - snippet.len())]);
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&snippet).trim().to_owned()
}
