//! Bad handshakes get an HTTP status and a reason, never a silent drop.

use std::time::Duration;

use duplex::ServerBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const GOOD: &str =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// Starts a server with `builder`, sends `request`, returns the whole answer and what the
/// server's `accept` returned.
async fn answer_to(builder: ServerBuilder, request: &[u8]) -> (String, Result<(), String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        builder
            .accept(stream)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut answer)).await;
    (
        String::from_utf8_lossy(&answer).into_owned(),
        server.await.unwrap(),
    )
}

async fn status_line(request: &str) -> String {
    let (answer, result) = answer_to(ServerBuilder::new(), request.as_bytes()).await;
    assert!(result.is_err(), "accept should fail for {request:?}");
    answer.lines().next().unwrap_or("").to_owned()
}

#[tokio::test]
async fn each_bad_request_gets_its_status() {
    assert_eq!(
        status_line(&GOOD.replace("GET", "POST")).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(
        status_line("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await,
        "HTTP/1.1 426 Upgrade Required"
    );
    assert_eq!(
        status_line(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "dG9vIHNob3J0")).await,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        status_line("NOT HTTP AT ALL\r\n\r\n").await,
        "HTTP/1.1 400 Bad Request"
    );
}

#[tokio::test]
async fn a_wrong_version_is_told_which_one_we_speak() {
    let (answer, _) = answer_to(
        ServerBuilder::new(),
        GOOD.replace("Version: 13", "Version: 8").as_bytes(),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("\r\nSec-WebSocket-Version: 13\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("unsupported Sec-WebSocket-Version"),
        "{answer}"
    );
}

#[tokio::test]
async fn an_origin_outside_the_allowlist_is_forbidden() {
    let builder = ServerBuilder::new().allow_origin("https://good.example");
    let evil = GOOD.replace(
        "Host: localhost\r\n",
        "Host: localhost\r\nOrigin: https://evil.example\r\n",
    );
    let (answer, result) = answer_to(builder.clone(), evil.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(result.unwrap_err().contains("403"));
    let good = GOOD.replace(
        "Host: localhost\r\n",
        "Host: localhost\r\nOrigin: https://good.example\r\n",
    );
    let (answer, result) = answer_to(builder, good.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{answer}"
    );
    assert_eq!(result, Ok(()));
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_with_431() {
    let huge = GOOD.replace(
        "Host: localhost",
        &format!("Host: localhost\r\nCookie: {}", "x".repeat(10_000)),
    );
    let (answer, _) = answer_to(ServerBuilder::new(), huge.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[tokio::test]
async fn a_slow_handshake_is_cut_at_the_timeout() {
    let builder = ServerBuilder::new().handshake_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let (answer, result) = answer_to(builder, &GOOD.as_bytes()[..20]).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(result.unwrap_err().contains("timed out"));
    assert!(started.elapsed() < Duration::from_secs(3));
}
