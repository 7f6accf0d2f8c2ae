//! WebSocket over HTTP/2 (RFC 8441, feature `http2`): our client against our server over h2c
//! (prior knowledge) and TLS (ALPN `h2`), through the axum extractor and the hyper upgrade;
//! the fallback to HTTP/1.1 where the server lacks it; and bad extended CONNECTs answered with
//! the right status, sent by a bare `h2` client that is not ours.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use bytes::Bytes;
use duplex::axum::WebSocketUpgrade;
use duplex::{
    rustls, tokio_rustls, ClientBuilder, CloseCode, DeflateConfig, Error, Http2, Message,
    ServerBuilder,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// Echoes every message; `close me` is answered with a close 4321 "as asked"; `version?` with
/// the HTTP version the handshake came in.
async fn echo(upgrade: WebSocketUpgrade, version: http::Version) -> Response {
    upgrade
        .server(ServerBuilder::new().deflate(DeflateConfig::default()))
        .protocols(["chat"])
        .on_upgrade(move |mut ws| async move {
            while let Ok(Some(message)) = ws.recv().await {
                let reply = match message.as_text() {
                    Some("close me") => {
                        let _ = ws.close(CloseCode::from(4321), "as asked").await;
                        return;
                    }
                    Some("version?") => Message::text(format!("{version:?}")),
                    _ => message,
                };
                if ws.send(reply).await.is_err() {
                    break;
                }
            }
        })
}

/// A page on plain requests, the echo on WebSocket handshakes (over either HTTP version).
fn app() -> Router {
    Router::new().route(
        "/ws",
        any(
            |upgrade: Option<WebSocketUpgrade>, request: Request| async move {
                match upgrade {
                    Some(upgrade) => echo(upgrade, request.version()).await,
                    None => Response::new(format!("a page, over {:?}\n", request.version()).into()),
                }
            },
        ),
    )
}

/// `axum::serve` (HTTP/1.1 and h2c with extended CONNECT, as axum's `http2` feature sets it).
async fn serve_h2c() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app()).await });
    addr
}

/// A self-signed certificate for `localhost`, as a server config offering `alpn`.
fn tls_config(alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let config = duplex::tls::server_config_from_pem(
        certified.cert.pem().as_bytes(),
        certified.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    let mut config = (*config).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS listener for `axum::serve`.
struct TlsListener {
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The axum app over TLS, ALPN `h2` then `http/1.1`.
async fn serve_tls() -> SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config(&[b"h2", b"http/1.1"]));
    tokio::spawn(async move { axum::serve(TlsListener { tcp, acceptor }, app()).await });
    addr
}

/// A hyper service that upgrades with `duplex::upgrade::upgrade` and echoes.
async fn hyper_echo(
    mut request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<String>, Infallible> {
    let version = request.version();
    match duplex::upgrade::upgrade(&ServerBuilder::new(), &mut request) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                let mut ws = pending.await?;
                while let Some(message) = ws.recv().await? {
                    let reply = match message.as_text() {
                        Some("version?") => Message::text(format!("{version:?}")),
                        _ => message,
                    };
                    ws.send(reply).await?;
                }
                Ok::<_, Error>(())
            });
            Ok(response)
        }
        Err(refusal) => Ok(refusal.response()),
    }
}

/// hyper-util's auto server (HTTP/1.1 and h2c) with the hyper service above, with extended
/// CONNECT enabled or not.
async fn serve_hyper(connect_protocol: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                if connect_protocol {
                    builder.http2().enable_connect_protocol();
                }
                let io = hyper_util::rt::TokioIo::new(tcp);
                let service = hyper::service::service_fn(hyper_echo);
                let _ = builder.serve_connection_with_upgrades(io, service).await;
            });
        }
    });
    addr
}

/// duplex's own server, HTTP/1.1 only, over TLS with ALPN `http/1.1` or plain TCP.
async fn serve_http1_only(tls: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config(&[b"http/1.1"]));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if tls {
                    let tls = acceptor.accept(tcp).await?;
                    echo_plain(ServerBuilder::new().accept(tls).await?).await
                } else {
                    echo_plain(ServerBuilder::new().accept(tcp).await?).await
                }
            });
        }
    });
    addr
}

async fn echo_plain<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: duplex::WebSocket<S>,
) -> Result<(), Error> {
    while let Some(message) = ws.recv().await? {
        ws.send(message).await?;
    }
    Ok(())
}

fn client(mode: Http2) -> ClientBuilder {
    ClientBuilder::new()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .connect_timeout(Duration::from_secs(5))
        .http2(mode)
}

fn has_accept_key(response: &duplex::handshake::Response) -> bool {
    response
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-accept"))
}

async fn ask_version<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut duplex::WebSocket<S>) -> String {
    ws.send("version?").await.unwrap();
    let reply = ws.recv().await.unwrap().unwrap();
    reply.as_text().unwrap().to_owned()
}

/// Text, binary, and a 3 MiB message (many HTTP/2 DATA frames and window updates) both ways.
async fn echo_checks<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut duplex::WebSocket<S>) {
    ws.send("hello over h2").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap().as_text(),
        Some("hello over h2")
    );
    let binary: Vec<u8> = (0..=255).collect();
    ws.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap().payload()[..], binary[..]);
    let large: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    ws.send(Message::binary(large.clone())).await.unwrap();
    let back = ws.recv().await.unwrap().unwrap();
    assert!(
        back.payload()[..] == large[..],
        "the large message came back changed"
    );
}

#[tokio::test]
async fn h2c_with_prior_knowledge_echoes_through_the_axum_extractor() {
    let addr = serve_h2c().await;
    let (mut ws, response) = client(Http2::Require)
        .connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    assert!(ws.get_ref().is_http2());
    assert!(!ws.get_ref().is_tls());
    assert!(ws.get_ref().transport().is_none());
    assert!(!has_accept_key(&response));
    assert_eq!(ask_version(&mut ws).await, "HTTP/2.0");
    echo_checks(&mut ws).await;
    ws.close(CloseCode::NORMAL, "done").await.unwrap();
    assert!(ws.recv().await.is_err() || ws.close_frame().is_some());
}

#[tokio::test]
async fn tls_with_alpn_h2_echoes_through_the_axum_extractor() {
    let addr = serve_tls().await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (mut ws, _) = client(Http2::Prefer).connect(&url).await.unwrap();
    assert!(ws.get_ref().is_http2());
    assert!(ws.get_ref().is_tls());
    assert_eq!(ask_version(&mut ws).await, "HTTP/2.0");
    echo_checks(&mut ws).await;
    // The same server still speaks HTTP/1.1 to a client that does not ask for HTTP/2.
    let (mut ws, _) = client(Http2::Never).connect(&url).await.unwrap();
    assert!(!ws.get_ref().is_http2());
    assert_eq!(ask_version(&mut ws).await, "HTTP/1.1");
}

#[tokio::test]
async fn h2c_through_the_hyper_upgrade() {
    let addr = serve_hyper(true).await;
    let (mut ws, _) = client(Http2::Require)
        .connect(&format!("ws://{addr}/anything"))
        .await
        .unwrap();
    assert!(ws.get_ref().is_http2());
    assert_eq!(ask_version(&mut ws).await, "HTTP/2.0");
    echo_checks(&mut ws).await;
}

#[tokio::test]
async fn close_codes_cross_in_both_directions() {
    let addr = serve_h2c().await;
    let url = format!("ws://{addr}/ws");
    // The server closes.
    let (mut ws, _) = client(Http2::Require).connect(&url).await.unwrap();
    ws.send("close me").await.unwrap();
    assert!(ws.recv().await.unwrap().is_none());
    let frame = ws.close_frame().expect("the server's close frame");
    assert_eq!(frame.code, CloseCode::from(4321));
    assert_eq!(frame.reason, "as asked");
    // The client closes, and the server answers its close.
    let (mut ws, _) = client(Http2::Require).connect(&url).await.unwrap();
    ws.close(CloseCode::from(4000), "client leaves")
        .await
        .unwrap();
    assert_eq!(
        ws.close_frame().map(|f| f.code),
        Some(CloseCode::from(4000))
    );
}

#[tokio::test]
async fn subprotocol_and_deflate_are_negotiated_as_over_http1() {
    let addr = serve_tls().await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (mut ws, response) = client(Http2::Require)
        .protocol("other")
        .protocol("chat")
        .deflate(DeflateConfig::default())
        .connect(&url)
        .await
        .unwrap();
    assert!(ws.get_ref().is_http2());
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    assert_eq!(ws.protocol(), Some("chat"));
    assert!(ws.is_compressed());
    assert!(response.extensions[0].starts_with("permessage-deflate"));
    echo_checks(&mut ws).await;
    // No offer, no extension.
    let (ws, response) = client(Http2::Require).connect(&url).await.unwrap();
    assert!(!ws.is_compressed());
    assert_eq!(response.protocol, None);
}

#[tokio::test]
async fn prefer_falls_back_to_http1_when_alpn_picks_it_and_require_fails() {
    let addr = serve_http1_only(true).await;
    let url = format!("wss://localhost:{}/", addr.port());
    let (mut ws, _) = client(Http2::Prefer).connect(&url).await.unwrap();
    assert!(!ws.get_ref().is_http2());
    ws.send("over http/1.1").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap().as_text(),
        Some("over http/1.1")
    );
    let error = client(Http2::Require).connect(&url).await.unwrap_err();
    assert!(
        matches!(&error, Error::Http2(why) if why.contains("ALPN")),
        "{error}"
    );
}

#[tokio::test]
async fn prefer_falls_back_to_http1_when_h2_lacks_extended_connect() {
    let addr = serve_hyper(false).await;
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) = client(Http2::Prefer).connect(&url).await.unwrap();
    assert!(!ws.get_ref().is_http2());
    assert_eq!(ask_version(&mut ws).await, "HTTP/1.1");
    let error = client(Http2::Require).connect(&url).await.unwrap_err();
    assert!(
        matches!(&error, Error::Http2(why) if why.contains("extended CONNECT")),
        "{error}"
    );
}

#[tokio::test]
async fn prefer_over_cleartext_falls_back_when_the_server_speaks_only_http1() {
    let addr = serve_http1_only(false).await;
    let url = format!("ws://{addr}/");
    let (mut ws, _) = client(Http2::Prefer).connect(&url).await.unwrap();
    assert!(!ws.get_ref().is_http2());
    ws.send("hi").await.unwrap();
    assert_eq!(ws.recv().await.unwrap().unwrap().as_text(), Some("hi"));
    let error = client(Http2::Require).connect(&url).await.unwrap_err();
    assert!(matches!(&error, Error::Http2(_)), "{error}");
}

/// A bare h2 client (the `h2` crate, not ours) on an h2c connection to `addr`.
async fn bare_h2(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (send_request, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut send_request = send_request.ready().await.unwrap();
    // Let the server's SETTINGS arrive.
    for _ in 0..100 {
        if send_request.is_extended_connect_protocol_enabled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        send_request = send_request.ready().await.unwrap();
    }
    assert!(send_request.is_extended_connect_protocol_enabled());
    send_request
}

fn extended_connect(addr: SocketAddr, version: Option<&str>) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .version(http::Version::HTTP_2)
        .uri(format!("http://{addr}/ws"));
    if let Some(version) = version {
        request = request.header("sec-websocket-version", version);
    }
    let mut request = request.body(()).unwrap();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    request
}

async fn answer(
    send_request: &mut h2::client::SendRequest<Bytes>,
    request: http::Request<()>,
) -> (http::response::Parts, String) {
    let (response, _send) = send_request.send_request(request, false).unwrap();
    let (parts, mut body) = response.await.unwrap().into_parts();
    let mut text = Vec::new();
    if parts.status != http::StatusCode::OK {
        while let Some(Ok(data)) = body.data().await {
            text.extend_from_slice(&data);
        }
    }
    (parts, String::from_utf8_lossy(&text).into_owned())
}

#[tokio::test]
async fn bad_extended_connects_get_400_with_the_reason() {
    let addr = serve_h2c().await;
    let mut h2 = bare_h2(addr).await;
    // Version 8: 400 (HTTP/2 has no 426), saying which version we speak.
    let (parts, body) = answer(&mut h2, extended_connect(addr, Some("8"))).await;
    assert_eq!(parts.status, http::StatusCode::BAD_REQUEST);
    assert_eq!(parts.headers["sec-websocket-version"], "13");
    assert!(parts.headers.get("upgrade").is_none());
    assert!(body.contains("this server speaks 13"), "{body}");
    // No version at all: the same.
    let (parts, _) = answer(&mut h2, extended_connect(addr, None)).await;
    assert_eq!(parts.status, http::StatusCode::BAD_REQUEST);
    assert_eq!(parts.headers["sec-websocket-version"], "13");
    // A plain GET over HTTP/2 is not a WebSocket: the optional extractor lets the page answer.
    let get = http::Request::get(format!("http://{addr}/ws"))
        .body(())
        .unwrap();
    let (response, _) = h2.send_request(get, true).unwrap();
    let (parts, mut body) = response.await.unwrap().into_parts();
    assert_eq!(parts.status, http::StatusCode::OK);
    let page = body.data().await.unwrap().unwrap();
    assert_eq!(&page[..], b"a page, over HTTP/2.0\n");
    // A good one: 200, no Sec-WebSocket-Accept, and raw frames echo (a text message in three
    // fragments, masked with a zero key).
    let (response, mut send) = h2
        .send_request(extended_connect(addr, Some("13")), false)
        .unwrap();
    let (parts, mut recv) = response.await.unwrap().into_parts();
    assert_eq!(parts.status, http::StatusCode::OK);
    assert!(parts.headers.get("sec-websocket-accept").is_none());
    let mut frames = Vec::new();
    for (opcode_and_fin, part) in [(0x01, "frag"), (0x00, "ment"), (0x80, "ed")] {
        frames.extend_from_slice(&[opcode_and_fin, 0x80 | part.len() as u8, 0, 0, 0, 0]);
        frames.extend_from_slice(part.as_bytes());
    }
    send.send_data(Bytes::from(frames), false).unwrap();
    let mut echoed = Vec::new();
    while echoed.len() < 2 + "fragmented".len() {
        let data = recv.data().await.unwrap().unwrap();
        let _ = recv.flow_control().release_capacity(data.len());
        echoed.extend_from_slice(&data);
    }
    assert_eq!(&echoed[..], b"\x81\x0afragmented");
}

#[tokio::test]
async fn http1_upgrades_still_work_beside_http2() {
    let addr = serve_h2c().await;
    let (mut ws, response) = ClientBuilder::new()
        .no_proxy()
        .protocol("chat")
        .connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    assert!(!ws.get_ref().is_http2());
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    assert!(has_accept_key(&response));
    assert_eq!(ask_version(&mut ws).await, "HTTP/1.1");
}
