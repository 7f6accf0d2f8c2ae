//! A WebSocket route inside a plain hyper 1 server, on the same port as its HTTP routes
//! (`duplex::upgrade`, feature `hyper`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use duplex::proto::HandshakeError;
use duplex::{ClientBuilder, Error, ServerBuilder};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::raw;

/// `/` is a page, `/ws` a WebSocket echo, with `server`'s policy.
async fn route(
    server: ServerBuilder,
    mut request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        return Ok(Response::new(Full::from("plain http\n")));
    }
    match duplex::upgrade::upgrade(&server, &mut request) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                let mut ws = pending.await?;
                while let Some(message) = ws.recv().await? {
                    ws.send(message).await?;
                }
                Ok::<_, Error>(())
            });
            Ok(response)
        }
        Err(refusal) => Ok(refusal.response()),
    }
}

/// Serves [`route`] on a free port until the test ends.
async fn serve(server: ServerBuilder) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let server = server.clone();
            let service = hyper::service::service_fn(move |request| route(server.clone(), request));
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades(),
            );
        }
    });
    addr
}

/// Sends `request` as is and returns the whole answer (the server closes after it).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("the server should answer and close")
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn plain_http_and_websocket_share_one_port() {
    let addr = serve(ServerBuilder::new()).await;

    let page = raw(
        addr,
        "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.ends_with("\r\n\r\nplain http\n"), "{page}");

    let (mut ws, response) = duplex::connect(&format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.protocol, None);
    ws.send("hello through hyper").await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo.as_text(), Some("hello through hyper"));
    ws.send(vec![0u8, 1, 2, 255]).await.unwrap();
    let echo = ws.recv().await.unwrap().unwrap();
    assert_eq!(echo, duplex::Message::binary(vec![0u8, 1, 2, 255]));
    ws.close(duplex::CloseCode::NORMAL, "bye").await.unwrap();
}

#[tokio::test]
async fn the_subprotocol_is_negotiated_through_the_upgrade() {
    let addr = serve(ServerBuilder::new().protocols(["superchat", "chat"])).await;
    let (mut ws, response) = ClientBuilder::new()
        .protocol("chat")
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
    let addr = serve(ServerBuilder::new()).await;
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
async fn an_origin_not_allowed_gets_403() {
    let addr = serve(ServerBuilder::new().allow_origin("https://good.example")).await;
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
    ws.close(duplex::CloseCode::NORMAL, "").await.unwrap();
}

#[tokio::test]
async fn a_request_hyper_cannot_upgrade_gets_500() {
    // A valid handshake, but not from a hyper connection: there is no upgrade handle.
    let mut request = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", raw::KEY)
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let refusal = duplex::upgrade::upgrade::<_, String>(&ServerBuilder::new(), &mut request)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(refusal.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    let response: Response<String> = refusal.response();
    assert!(
        response.body().contains("cannot be upgraded"),
        "{response:?}"
    );
}

#[tokio::test]
async fn the_101_answer_carries_the_accept_key_and_no_body() {
    let addr = serve(ServerBuilder::new().protocols(["chat"])).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = raw::Request::new()
        .path("/ws")
        .header("Sec-WebSocket-Protocol", "chat");
    stream.write_all(&request.bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte));
        assert_eq!(
            read.await.unwrap().unwrap(),
            1,
            "closed before the end of the head"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 101 switching protocols\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nupgrade: websocket\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: upgrade\r\n"), "{head}");
    assert!(
        head.contains("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nsec-websocket-protocol: chat\r\n"),
        "{head}"
    );
    assert!(!head.contains("content-length"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
}
