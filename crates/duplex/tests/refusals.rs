//! Bad handshakes get an HTTP status and a reason, never a silent drop; a handshake that
//! takes too long gets 408, one past the connection cap 503. Every test runs on both drivers.

use std::time::Duration;

use duplex::ServerBuilder;
use tokio::io::AsyncWriteExt;

#[macro_use]
mod common;
use common::raw::{self, Request};
use common::{serve, wait_until, App, Driver, TestServer};

/// Sends `request` on a new connection; returns the whole answer, up to the server's close.
async fn answer_to(server: &TestServer, request: &[u8]) -> String {
    let mut client = raw::connect(server.addr, request).await;
    String::from_utf8_lossy(&raw::read_to_end(&mut client, false).await).into_owned()
}

/// Checks that the server's application saw `n` refusals and nothing open, and returns the
/// refusals' errors (the task driver's `accept` returns them; the event loop calls no
/// callback for a connection that never opened, so there is nothing more to see there).
async fn refused(server: &TestServer, n: usize) -> Vec<String> {
    if server.driver == Driver::Tasks {
        wait_until("every refusal reported", || server.refusals().len() >= n).await;
    }
    assert_eq!(server.opened(), [] as [Option<String>; 0], "nothing opened");
    server.refusals()
}

async fn each_bad_request_gets_its_status(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let status = |request: Vec<u8>| {
        let server = &server;
        async move { raw::status_line(answer_to(server, &request).await.as_bytes()) }
    };
    assert_eq!(
        status(Request::new().method("POST").bytes()).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
    let plain_http = Request::new()
        .without("Upgrade")
        .without("Connection")
        .without("Sec-WebSocket-Key")
        .without("Sec-WebSocket-Version");
    assert_eq!(
        status(plain_http.bytes()).await,
        "HTTP/1.1 426 Upgrade Required"
    );
    let short_key = Request::new().header("Sec-WebSocket-Key", "dG9vIHNob3J0");
    assert_eq!(status(short_key.bytes()).await, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        status(b"NOT HTTP AT ALL\r\n\r\n".to_vec()).await,
        "HTTP/1.1 400 Bad Request"
    );
    refused(&server, 4).await;
}
for_each_driver!(each_bad_request_gets_its_status);

async fn a_wrong_version_is_told_which_one_we_speak(driver: Driver) {
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let request = Request::new().header("Sec-WebSocket-Version", "8").bytes();
    let answer = answer_to(&server, &request).await;
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
    refused(&server, 1).await;
}
for_each_driver!(a_wrong_version_is_told_which_one_we_speak);

async fn an_origin_outside_the_allowlist_is_forbidden(driver: Driver) {
    let builder = ServerBuilder::new().allow_origin("https://good.example");
    let server = serve(driver, builder, App::Echo);
    let evil = Request::new()
        .header("Origin", "https://evil.example")
        .bytes();
    let answer = answer_to(&server, &evil).await;
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    for refusal in refused(&server, 1).await {
        assert!(refusal.contains("403"), "{refusal}");
    }
    let good = Request::new()
        .header("Origin", "https://good.example")
        .bytes();
    let mut client = raw::connect(server.addr, &good).await;
    client.write_all(&raw::close_frame(1000)).await.unwrap();
    let answer = raw::read_to_end(&mut client, false).await;
    assert_eq!(
        raw::status_line(&answer),
        "HTTP/1.1 101 Switching Protocols"
    );
    assert_eq!(server.wait_for_ends(1).await.len(), 1);
    assert_eq!(server.opened(), [None]);
}
for_each_driver!(an_origin_outside_the_allowlist_is_forbidden);

async fn an_oversized_request_head_is_refused_with_431(driver: Driver) {
    // The default limit, and one set lower.
    let server = serve(driver, ServerBuilder::new(), App::Echo);
    let huge = Request::new().header("Cookie", &"x".repeat(10_000)).bytes();
    let answer = answer_to(&server, &huge).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    refused(&server, 1).await;
    let server = serve(
        driver,
        ServerBuilder::new().max_request_head(1024),
        App::Echo,
    );
    let big = Request::new().header("X-Big", &"a".repeat(2000)).bytes();
    assert_eq!(
        raw::status_line(answer_to(&server, &big).await.as_bytes()),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    refused(&server, 1).await;
}
for_each_driver!(an_oversized_request_head_is_refused_with_431);

/// The handshake timeout of these tests: a second, the event loop's tick.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

async fn a_slow_handshake_is_cut_at_the_timeout(driver: Driver) {
    let builder = ServerBuilder::new().handshake_timeout(HANDSHAKE_TIMEOUT);
    let server = serve(driver, builder, App::Echo);
    let started = tokio::time::Instant::now();
    let answer = answer_to(&server, &raw::request()[..20]).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    // Never early (the event loop's deadlines are whole seconds, rounded up).
    assert!(
        started.elapsed() >= HANDSHAKE_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    for refusal in refused(&server, 1).await {
        assert!(refusal.contains("timed out"), "{refusal}");
    }
}
for_each_driver!(a_slow_handshake_is_cut_at_the_timeout,
    tasks: #[tokio::test(start_paused = true)],
    event_loop: #[tokio::test]);

async fn a_handshake_in_progress_holds_its_place_under_the_cap(driver: Driver) {
    let builder = ServerBuilder::new()
        .handshake_timeout(HANDSHAKE_TIMEOUT)
        .max_connections(1);
    let server = serve(driver, builder, App::Echo);
    let mut slow = raw::connect(server.addr, b"GET / HTTP/1.1\r\nHost: loc").await;
    // The slow one holds the only place: the next connection is refused at once.
    let answer = answer_to(&server, &raw::request()).await;
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    assert!(answer.contains("too many connections"), "{answer}");
    let answer = raw::read_to_end(&mut slow, false).await;
    assert_eq!(raw::status_line(&answer), "HTTP/1.1 408 Request Timeout");
    refused(&server, 2).await;
}
for_each_driver!(a_handshake_in_progress_holds_its_place_under_the_cap,
    tasks: #[tokio::test(start_paused = true)],
    event_loop: #[tokio::test]);

async fn a_protocol_selector_refuses_with_its_status(driver: Driver) {
    let builder = ServerBuilder::new().protocol_selector(|request| {
        match request.protocols.iter().any(|p| p == "chat") {
            true => Ok(Some("chat".to_owned())),
            false => Err(401),
        }
    });
    let server = serve(driver, builder, App::Echo);
    let answer = answer_to(&server, &raw::request()).await;
    // The status is the selector's; the reason phrase is not checked (it is "Error" today).
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer}");
    refused(&server, 1).await;
    let chat = Request::new().header("Sec-WebSocket-Protocol", "other, chat");
    let mut client = raw::connect(server.addr, &chat.bytes()).await;
    let head = raw::read_head(&mut client).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        head.contains("\r\nSec-WebSocket-Protocol: chat\r\n"),
        "{head}"
    );
    drop(client);
    server.wait_for_ends(1).await;
    assert_eq!(server.opened(), [Some("chat".to_owned())]);
}
for_each_driver!(a_protocol_selector_refuses_with_its_status);
