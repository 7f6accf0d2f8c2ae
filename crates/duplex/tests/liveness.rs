//! Keepalive, idle timeout, the closing-handshake deadline and graceful shutdown, over
//! loopback with short timers.

use std::time::{Duration, Instant};

use duplex::{ClientBuilder, CloseCode, Error, Event, Options, ServerBuilder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::echo_server;

const REQUEST: &str =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn quick(ping: Option<u64>, idle: Option<u64>) -> Options {
    Options::default()
        .ping_interval(ping.map(Duration::from_millis))
        .idle_timeout(idle.map(Duration::from_millis))
        .close_timeout(Duration::from_millis(300))
}

/// Serves one connection with `builder`, echoing; returns the URL and how the server's
/// connection ended.
async fn serve_one(builder: ServerBuilder) -> (String, tokio::task::JoinHandle<Result<(), Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = builder.accept(stream).await?;
        while let Some(m) = ws.recv().await? {
            ws.send(m).await?;
        }
        Ok(())
    });
    (url, task)
}

/// Reads raw frames after the 101 head; returns (opcode, payload) pairs until EOF or `limit`.
async fn raw_frames(stream: &mut TcpStream, limit: Duration) -> Vec<(u8, Vec<u8>)> {
    let mut data = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let start = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut frames = Vec::new();
    let mut at = start;
    while at + 2 <= data.len() {
        let len = (data[at + 1] & 0x7f) as usize;
        frames.push((data[at] & 0x0f, data[at + 2..at + 2 + len].to_vec()));
        at += 2 + len;
    }
    frames
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_dropped_with_1001() {
    let (url, server) = serve_one(ServerBuilder::new().options(quick(Some(100), Some(350)))).await;
    let mut raw = TcpStream::connect(url.trim_start_matches("ws://").trim_end_matches('/'))
        .await
        .unwrap();
    raw.write_all(REQUEST.as_bytes()).await.unwrap();
    let started = Instant::now();
    // Never answer: no pong, nothing.
    let frames = raw_frames(&mut raw, Duration::from_secs(3)).await;
    let pings = frames.iter().filter(|(op, _)| *op == 9).count();
    assert!(
        pings >= 2,
        "expected pings before the idle timeout, got {frames:?}"
    );
    let close = frames
        .iter()
        .find(|(op, _)| *op == 8)
        .expect("a close frame");
    assert_eq!(u16::from_be_bytes([close.1[0], close.1[1]]), 1001);
    assert_eq!(&close.1[2..], b"idle timeout");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "dropped after {elapsed:?}"
    );
    let result = server.await.unwrap();
    assert!(
        matches!(result, Err(Error::Timeout("peer idle"))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_peer_that_answers_pings_stays_connected_past_the_idle_timeout() {
    let (url, _server) = serve_one(ServerBuilder::new().options(quick(Some(50), Some(200)))).await;
    let (mut ws, _) = ClientBuilder::new()
        .options(quick(None, None))
        .connect(&url)
        .await
        .unwrap();
    let mut pings = 0;
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        match tokio::time::timeout(Duration::from_millis(100), ws.next_event()).await {
            Ok(Ok(Event::Ping(_))) => pings += 1,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => {}
        }
    }
    assert!(pings >= 5, "only {pings} pings");
    ws.send("still here").await.unwrap();
    assert_eq!(
        ws.recv().await.unwrap().unwrap().as_text(),
        Some("still here")
    );
}

#[tokio::test]
async fn close_gives_up_after_the_close_timeout() {
    // A server that completes the handshake and then ignores everything.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = duplex::accept(stream).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(ws);
    });
    let (mut ws, _) = ClientBuilder::new()
        .options(quick(None, None))
        .connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let started = Instant::now();
    let result = ws.close(CloseCode::NORMAL, "bye").await;
    assert!(
        matches!(result, Err(Error::Timeout("closing handshake"))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn graceful_shutdown_closes_every_connection_with_1001_and_refuses_new_ones() {
    let server = ServerBuilder::new().options(quick(None, None));
    let shutdown = server.shutdown_handle();
    let url = echo_server(server).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let (mut ws, _) = duplex::connect(&url).await.unwrap();
        ws.send("hi").await.unwrap();
        ws.recv().await.unwrap();
        clients.push(ws);
    }
    assert_eq!(shutdown.active_connections(), 5);
    shutdown.begin();
    for ws in &mut clients {
        assert_eq!(ws.recv().await.unwrap(), None);
        let frame = ws.close_frame().unwrap();
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode::GOING_AWAY, "server shutting down")
        );
    }
    assert!(
        shutdown.wait(Duration::from_secs(2)).await,
        "{} left",
        shutdown.active_connections()
    );
    let refused = duplex::connect(&url).await.unwrap_err();
    assert!(refused.to_string().contains("503"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reaches_connections_that_replaced_closed_ones_across_threads() {
    let server = ServerBuilder::new().options(quick(None, None));
    let shutdown = server.shutdown_handle();
    let url = echo_server(server).await;
    let open = |n| {
        let url = url.clone();
        async move {
            let mut clients = Vec::new();
            for _ in 0..n {
                let (mut ws, _) = duplex::connect(&url).await.unwrap();
                ws.send("hi").await.unwrap();
                ws.recv().await.unwrap();
                clients.push(ws);
            }
            clients
        }
    };
    // Connections that come and go before the shutdown leave their places to later ones.
    let mut clients = open(20).await;
    for mut ws in clients.drain(10..) {
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.unwrap().is_some() {}
    }
    clients.extend(open(15).await);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while shutdown.active_connections() != 25 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(shutdown.active_connections(), 25);
    shutdown.begin();
    for ws in &mut clients {
        let end = tokio::time::timeout(Duration::from_secs(3), ws.recv()).await;
        assert_eq!(end.expect("closed by the shutdown").unwrap(), None);
        assert_eq!(ws.close_frame().unwrap().code, CloseCode::GOING_AWAY);
    }
    assert!(shutdown.wait(Duration::from_secs(2)).await);
}
