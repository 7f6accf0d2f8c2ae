//! A WebSocket route in an axum 0.8 router, on the same port as its HTTP routes
//! (`duplex::axum::WebSocketUpgrade`, feature `axum`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use duplex::axum::WebSocketUpgrade;
use duplex::proto::HandshakeError;
use duplex::{ClientBuilder, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::raw;

async fn echo(upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols(["superchat", "chat"])
        .allow_origin("https://good.example")
        .on_upgrade(|mut ws| async move {
            while let Ok(Some(message)) = ws.recv().await {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        })
}

/// The same route answering a page to plain requests and a WebSocket to upgrades.
async fn page_or_echo(upgrade: Option<WebSocketUpgrade>) -> Response {
    match upgrade {
        Some(upgrade) => echo(upgrade).await,
        None => Response::new("a page at /both\n".into()),
    }
}

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { "plain http\n" }))
        .route("/ws", get(echo))
        .route("/any-method", any(echo))
        .route("/both", get(page_or_echo));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends `request` as is and returns the whole answer (the server closes after it).
async fn raw(addr: SocketAddr, request: impl AsRef<[u8]>) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_ref()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server should answer and close")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn plain_http_and_websocket_share_one_port() {
    let addr = serve().await;

    let page = raw(
        addr,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.ends_with("\r\n\r\nplain http\n"), "{page}");

    let (mut ws, response) = duplex::connect(&format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.protocol, None);
    for text in ["hello through axum", "", "✓ utf-8"] {
        ws.send(text).await.unwrap();
        let echo = ws.recv().await.unwrap().unwrap();
        assert_eq!(echo.as_text(), Some(text));
    }
    let big = vec![7u8; 200_000];
    ws.send(big.clone()).await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo, duplex::Message::binary(big));
    ws.close(duplex::CloseCode::NORMAL, "bye").await.unwrap();
}

#[tokio::test]
async fn the_subprotocol_is_negotiated_through_the_extractor() {
    let addr = serve().await;
    let (mut ws, response) = ClientBuilder::new()
        .protocol("chat")
        .protocol("superchat")
        .connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    assert_eq!(response.protocol.as_deref(), Some("chat"));
    assert_eq!(ws.protocol(), Some("chat"));
    ws.send("with a subprotocol").await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo.as_text(), Some("with a subprotocol"));
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn a_request_without_upgrade_gets_426_with_the_version() {
    let addr = serve().await;
    let answer = raw(
        addr,
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("\r\nsec-websocket-version: 13\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("send Upgrade: websocket\n"), "{answer}");
}

#[tokio::test]
async fn a_wrong_method_gets_405_allowing_get() {
    let addr = serve().await;
    // On a route that takes any method, the extractor itself refuses everything but GET.
    let request = raw::Request::new()
        .method("POST")
        .path("/any-method")
        .header("Connection", "Upgrade, close")
        .header("Content-Length", "0");
    let answer = raw(addr, request.bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("\r\nallow: get\r\n"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_origin_not_allowed_gets_403() {
    let addr = serve().await;
    let refused = ClientBuilder::new()
        .origin("https://evil.example")
        .connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Handshake(HandshakeError::Rejected { status: 403, .. })
        ),
        "{refused:?}"
    );

    let (mut ws, _) = ClientBuilder::new()
        .origin("https://good.example")
        .connect(&format!("ws://{addr}/ws"))
        .await
        .unwrap();
    ws.send("allowed").await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo.as_text(), Some("allowed"));
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn an_optional_extractor_serves_http_and_websocket_on_one_route() {
    let addr = serve().await;
    let page = raw(
        addr,
        "GET /both HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.ends_with("\r\n\r\na page at /both\n"), "{page}");

    let (mut ws, _) = duplex::connect(&format!("ws://{addr}/both")).await.unwrap();
    ws.send("one route").await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo.as_text(), Some("one route"));
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();

    // A WebSocket request that is broken is still refused, not served the page.
    let request = raw::Request::new()
        .path("/both")
        .header("Connection", "Upgrade, close")
        .without("Sec-WebSocket-Key");
    let answer = raw(addr, request.bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(answer.contains("missing Sec-WebSocket-Key"), "{answer}");
}
