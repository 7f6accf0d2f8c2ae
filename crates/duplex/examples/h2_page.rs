//! A page and a WebSocket over HTTPS on one port, with HTTP/2 (ALPN `h2`) and extended CONNECT
//! enabled: a browser that loaded the page over HTTP/2 opens its `wss://` to the same origin as
//! an RFC 8441 extended CONNECT on that connection. The WebSocket (permessage-deflate accepted)
//! answers `version?` with the HTTP version its handshake arrived in, so a test can tell which
//! one the browser used; the page closes with 4000 once its message came back.
//!
//! ```text
//! cargo run -p duplex --features axum,http2 --example h2_page -- 127.0.0.1:3443
//! ```
//!
//! The certificate is self-signed for `localhost` and `127.0.0.1`, made at start (a browser
//! needs `--ignore-certificate-errors`). It prints `listening on https://ADDR/` once ready.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::{any, get};
use axum::Router;
use duplex::axum::WebSocketUpgrade;
use duplex::{tokio_rustls, DeflateConfig, Message, ServerBuilder};
use tokio::net::{TcpListener, TcpStream};

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>duplex: WebSocket over HTTP/2</title>
<p id="status">connecting</p>
<ul id="log"></ul>
<script>
  const log = (line) => {
    const li = document.createElement('li');
    li.textContent = line;
    document.getElementById('log').append(li);
  };
  const nav = performance.getEntriesByType('navigation')[0];
  log('page protocol: ' + (nav ? nav.nextHopProtocol : 'unknown'));
  const ws = new WebSocket('wss://' + location.host + '/ws', ['echo']);
  ws.onopen = () => {
    document.getElementById('status').textContent = 'open, subprotocol ' + ws.protocol;
    log('extensions: ' + ws.extensions);
    ws.send('version?');
    ws.send('hello over h2 ✓');
  };
  ws.onmessage = (event) => {
    log('echo: ' + event.data);
    if (event.data === 'hello over h2 ✓') ws.close(4000, 'bye ✓');
  };
  ws.onerror = () => log('error');
  ws.onclose = (event) => log(`closed ${event.code} ${event.reason} clean=${event.wasClean}`);
</script>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3443".into());
    let tcp = TcpListener::bind(&addr).await?;
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(std::io::Error::other)?;
    let config = duplex::tls::server_config_from_pem(
        certified.cert.pem().as_bytes(),
        certified.key_pair.serialize_pem().as_bytes(),
    )
    .map_err(std::io::Error::other)?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![duplex::tls::ALPN_H2.to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        // `any`: over HTTP/2 the handshake is a CONNECT, not a GET.
        .route("/ws", any(echo));
    println!("listening on https://{}/", tcp.local_addr()?);
    // axum::serve (axum's `http2` feature) serves HTTP/1.1 and HTTP/2 with extended CONNECT.
    axum::serve(TlsListener { tcp, acceptor }, app).await
}

/// Echoes every message; `version?` gets the HTTP version of the handshake.
async fn echo(upgrade: WebSocketUpgrade, request: Request) -> Response {
    let version = format!("{:?}", request.version());
    println!("websocket handshake over {version}");
    upgrade
        .server(ServerBuilder::new().deflate(DeflateConfig::default()))
        .protocols(["echo"])
        .on_upgrade(move |mut ws| async move {
            while let Ok(Some(message)) = ws.recv().await {
                let reply = match message.as_text() {
                    Some("version?") => Message::text(format!("handshake over {version}")),
                    _ => message,
                };
                if ws.send(reply).await.is_err() {
                    break;
                }
            }
        })
}

/// TLS in front of `axum::serve`; a failed TLS handshake drops that connection only.
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
            // Bounded, since handshakes run one at a time here.
            let handshake = self.acceptor.accept(tcp);
            match tokio::time::timeout(std::time::Duration::from_secs(5), handshake).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => eprintln!("tls handshake with {addr} failed: {e}"),
                Err(_) => eprintln!("tls handshake with {addr} timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
