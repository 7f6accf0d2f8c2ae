//! A receiver that stops reading: the connection cap, the slow-consumer policies and a
//! broadcast that keeps going for everyone else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use duplex::{Broadcaster, Message, Options, ServerBuilder, SlowConsumer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

const REQUEST: &str =
    "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A room: every accepted connection joins the broadcaster and keeps reading.
async fn room(options: Options) -> (String, Arc<Broadcaster<TcpStream>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let room = Arc::new(Broadcaster::new());
    let server = ServerBuilder::new().options(options);
    let members = room.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (server, members) = (server.clone(), members.clone());
            tokio::spawn(async move {
                let Ok(ws) = server.accept(stream).await else {
                    return;
                };
                let (mut reader, writer) = ws.split();
                let id = members.join(writer);
                while let Ok(Some(_)) = reader.recv().await {}
                members.leave(id);
            });
        }
    });
    (url, room)
}

/// A client that completes the handshake and then never reads, with a tiny receive buffer.
async fn stalled_client(url: &str) -> TcpStream {
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(REQUEST.as_bytes()).await.unwrap();
    stream
}

async fn wait_for_members(room: &Broadcaster<TcpStream>, n: usize) {
    let until = Instant::now() + Duration::from_secs(5);
    while room.len() < n && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(room.len(), n);
}

async fn run_policy(policy: SlowConsumer) {
    let options = Options::default()
        .max_buffered(256 * 1024)
        .slow_consumer(policy);
    let (url, room) = room(options).await;
    let _stalled = stalled_client(&url).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(duplex::connect(&url).await.unwrap().0);
    }
    wait_for_members(&room, 4).await;

    let payload = "x".repeat(16 * 1024);
    let count = 400; // 6.4 MB per receiver: far more than the stalled one can buffer
    let receivers = readers.into_iter().map(|mut ws| {
        tokio::spawn(async move {
            for i in 0..count {
                let m = ws.recv().await.unwrap().unwrap();
                assert_eq!(
                    m.as_text().unwrap().len(),
                    16 * 1024 + format!("{i}").len(),
                    "message {i}"
                );
            }
            ws
        })
    });
    let receivers: Vec<_> = receivers.collect();
    let started = Instant::now();
    let mut totals = duplex::BroadcastReport::default();
    for i in 0..count {
        let report = room.send(&Message::text(format!("{payload}{i}")));
        totals.queued += report.queued;
        totals.dropped += report.dropped;
        totals.closed += report.closed;
        // Let the live receivers drain; the stalled one cannot.
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let mut alive = Vec::new();
    for r in receivers {
        let ws = tokio::time::timeout(Duration::from_secs(10), r)
            .await
            .expect("live receivers got everything");
        alive.push(ws.unwrap());
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(5),
        "the stalled receiver slowed the rest: {elapsed:?}"
    );
    match policy {
        SlowConsumer::Drop => {
            assert!(totals.dropped > 0, "{totals:?}");
            assert_eq!(totals.closed, 0, "{totals:?}");
        }
        SlowConsumer::Close => {
            assert_eq!(totals.closed, 1, "{totals:?}");
            assert_eq!(room.len(), 3, "the three live receivers remain");
        }
        SlowConsumer::Wait => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_dropped_from_without_slowing_the_others() {
    run_policy(SlowConsumer::Drop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_closed_with_1008_without_slowing_the_others() {
    run_policy(SlowConsumer::Close).await;
}

#[tokio::test]
async fn buffered_amount_shows_what_waits() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let server = ServerBuilder::new().options(Options::default().max_buffered(64 << 20));
        let ws = server.accept(stream).await.unwrap();
        let (_reader, writer) = ws.split();
        let frame = duplex::PreparedFrame::new(&Message::binary(vec![0u8; 1 << 20]));
        let mut total = 0;
        for _ in 0..16 {
            let delivery = writer.try_send_prepared(&frame).unwrap();
            assert_eq!(delivery, duplex::Delivery::Queued);
            total += frame.len();
        }
        (writer.buffered_amount(), total)
    });
    let _stalled = stalled_client(&url).await;
    let (buffered, total) = server.await.unwrap();
    assert!(
        buffered > total / 2 && buffered <= total,
        "{buffered} of {total}"
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_clients_get_503() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = ServerBuilder::new().max_connections(2);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let server = server.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = server.accept(stream).await else {
                    return;
                };
                while let Ok(Some(_)) = ws.recv().await {}
            });
        }
    });
    let (mut first, _) = duplex::connect(&url).await.unwrap();
    let (_second, _) = duplex::connect(&url).await.unwrap();
    let refused = duplex::connect(&url).await.unwrap_err();
    let text = refused.to_string();
    assert!(
        text.contains("503") && text.contains("too many connections"),
        "{text}"
    );
    first.close(duplex::CloseCode::NORMAL, "").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(duplex::connect(&url).await.is_ok(), "a slot is free again");
}

#[tokio::test]
async fn a_ping_flood_from_a_peer_that_does_not_read_stays_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let limit = 64 * 1024;
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let options = Options::default().max_buffered(limit);
        let ws = ServerBuilder::new()
            .options(options)
            .accept(stream)
            .await
            .unwrap();
        let (mut reader, writer) = ws.split();
        tokio::spawn(async move { while reader.next_event().await.is_ok() {} });
        let mut most = 0;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            most = most.max(writer.buffered_amount());
        }
        most
    });
    let mut flood = stalled_client(&url).await;
    // 125-byte masked pings, as fast as the socket takes them, for a second.
    let mut ping = vec![0x89, 0x80 | 125, 0, 0, 0, 0];
    ping.extend_from_slice(&[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 100)
        .collect();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            if flood.write_all(&burst).await.is_err() {
                return;
            }
        }
    })
    .await;
    let most = server.await.unwrap();
    // Parsing pauses once the queue passes the limit, so it ends at most one pong (2 + 125
    // bytes) past it, however much one read brought in.
    assert!(most <= limit + 127, "pongs queued up to {most} bytes");
}
