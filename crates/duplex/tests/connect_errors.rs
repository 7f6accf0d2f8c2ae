//! A client that cannot connect says why: refused, no such host, a refusal with its status and
//! body, and which step ran out of time.

use std::time::Duration;

use duplex::proto::HandshakeError;
use duplex::{ClientBuilder, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that reads one request head and answers with `answer`, then waits a while before
/// closing (so the client cannot rely on the close to find the end of the body).
async fn answering(answer: &'static str, linger: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1 {
            head.push(byte[0]);
        }
        let _ = stream.write_all(answer.as_bytes()).await;
        tokio::time::sleep(linger).await;
    });
    port
}

#[tokio::test]
async fn refused_connection_names_the_address() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error = duplex::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    let Error::Connect { addr, source } = &error else {
        panic!("expected Error::Connect, got {error:?}");
    };
    assert_eq!(addr, &format!("127.0.0.1:{port}"));
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(
        error
            .to_string()
            .starts_with(&format!("could not connect to 127.0.0.1:{port}: ")),
        "{error}"
    );
}

#[tokio::test]
async fn unknown_host_is_a_resolve_error() {
    let error = duplex::connect("ws://no-such-host.invalid/")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Resolve { host, .. } if host == "no-such-host.invalid"),
        "{error:?}"
    );
}

#[tokio::test]
async fn refusal_carries_status_line_and_body() {
    let port = answering(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n\r\n\
         token expired; log in again",
        Duration::from_secs(5),
    )
    .await;
    let started = std::time::Instant::now();
    let error = duplex::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for the close"
    );
    let Error::Handshake(HandshakeError::Rejected {
        status,
        reason,
        body,
        ..
    }) = &error
    else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!((*status, reason.as_str()), (403, "Forbidden"));
    assert_eq!(body, "token expired; log in again");
    assert_eq!(
        error.to_string(),
        "handshake failed: server answered 403 Forbidden: token expired; log in again"
    );
}

#[tokio::test]
async fn chunked_or_unbounded_refusal_bodies_are_read_briefly() {
    let port = answering(
        "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
         5\r\nlog i\r\n4\r\nn fi\r\n3\r\nrst\r\n0\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    let error = duplex::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "handshake failed: server answered 401 Unauthorized: log in first"
    );

    // No length and the connection stays open: take what came within the short wait.
    let port = answering(
        "HTTP/1.1 502 Bad Gateway\r\n\r\nupstream down\n",
        Duration::from_secs(5),
    )
    .await;
    let started = std::time::Instant::now();
    let error = duplex::connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        error.to_string(),
        "handshake failed: server answered 502 Bad Gateway: upstream down"
    );
}

/// Regression (issue 15): a chunk size of `ffffffffffffffff` overflowed `size + 2` in the
/// client's de-chunking of a refusal's body, a panic in debug builds.
#[tokio::test]
async fn refusal_with_a_chunk_size_of_u64_max_is_a_rejection_not_a_panic() {
    let port = answering(
        "HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n\
         ffffffffffffffff\r\nno such luck",
        Duration::ZERO,
    )
    .await;
    let error = ClientBuilder::new()
        .no_proxy()
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    let Error::Handshake(HandshakeError::Rejected { status, body, .. }) = &error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!((*status, body.as_str()), (403, "no such luck"));
}

#[tokio::test]
async fn duplex_servers_refusal_reason_reaches_the_client() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let server = duplex::ServerBuilder::new().allow_origin("https://good.example");
        let _ = server.accept(stream).await;
    });
    let error = ClientBuilder::new()
        .origin("https://evil.example")
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("403 Forbidden"), "{text}");
    assert!(
        text.contains("origin https://evil.example is not allowed"),
        "{text}"
    );
}

#[tokio::test]
async fn timeout_names_the_step_that_ran_out() {
    // Accepts TCP but never answers the request.
    let port = answering("", Duration::from_secs(30)).await;
    let error = ClientBuilder::new()
        .connect_timeout(Duration::from_millis(300))
        .connect(&format!("ws://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout("WebSocket handshake")),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "timed out during WebSocket handshake");
}
