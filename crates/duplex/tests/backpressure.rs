//! A receiver that stops reading: the slow-consumer policies of a broadcast that keeps going
//! for everyone else, the connection cap, and the bounds on what a server queues for a peer
//! that does not read. The policies and the cap run on both drivers; `buffered_amount` and
//! the ping flood test the task driver's writer, which the event loop does not have.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use duplex::{Message, Options, ServerBuilder, SlowConsumer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[macro_use]
mod common;
use common::raw;
use common::{bounded, serve, wait_until, App, Driver};

/// Messages the sender may be ahead of the slowest live receiver: 8 of 16 KiB, well under
/// the 256 KiB a receiver's queue may hold, so a live receiver never meets the policy.
const WINDOW: usize = 8;

/// Relays 400 messages of 16 KiB (6.4 MB per receiver, far more than the stalled one can
/// hold) from one client to three that read and one that never does, under `policy`; checks
/// that the three get every message in order. Returns the server, the stalled client and the
/// others (still open).
async fn relay_past_a_stalled_receiver(driver: Driver, policy: SlowConsumer) -> Relayed {
    let options = Options::default()
        .max_buffered(256 * 1024)
        .slow_consumer(policy)
        .close_timeout(std::time::Duration::from_secs(1));
    let server = serve(driver, ServerBuilder::new().options(options), App::Relay);
    let stalled = raw::stalled(server.addr).await;
    let mut readers = Vec::new();
    for _ in 0..3 {
        readers.push(duplex::connect(&server.url).await.unwrap().0);
    }
    let (mut sender, _) = duplex::connect(&server.url).await.unwrap();
    server.wait_for_open(5).await;

    let payload = "x".repeat(16 * 1024);
    let count = 400;
    let received: Arc<Vec<AtomicUsize>> = Arc::new((0..3).map(|_| AtomicUsize::new(0)).collect());
    let receivers: Vec<_> = readers
        .into_iter()
        .enumerate()
        .map(|(me, mut ws)| {
            let (payload, received) = (payload.clone(), received.clone());
            tokio::spawn(async move {
                for i in 0..count {
                    let m = bounded("a relayed message", ws.recv()).await;
                    let expected = format!("{payload}{i}");
                    assert!(
                        m.unwrap().unwrap().as_text() == Some(&expected),
                        "message {i}"
                    );
                    received[me].store(i + 1, Ordering::Release);
                }
                ws
            })
        })
        .collect();
    for i in 0..count {
        // The live receivers keep up; the stalled one cannot.
        let slowest = || received.iter().map(|r| r.load(Ordering::Acquire)).min();
        wait_until("the live receivers keep up", || {
            slowest() >= Some(i.saturating_sub(WINDOW))
        })
        .await;
        sender.send(format!("{payload}{i}")).await.unwrap();
    }
    let mut live = vec![sender];
    for receiver in receivers {
        // A hang here means the stalled receiver held the others up.
        let ws = bounded("every message to the live receivers", receiver).await;
        live.push(ws.unwrap());
    }
    (server, stalled, live)
}

type Relayed = (
    common::TestServer,
    tokio::net::TcpStream,
    Vec<duplex::WebSocket<duplex::MaybeTlsStream<tokio::net::TcpStream>>>,
);

async fn a_stalled_subscriber_is_dropped_from_without_slowing_the_others(driver: Driver) {
    let (server, _stalled, _live) = relay_past_a_stalled_receiver(driver, SlowConsumer::Drop).await;
    let reports = server.reports();
    assert!(reports.dropped > 0, "{reports:?}");
    assert_eq!(reports.closed, 0, "{reports:?}");
    assert_eq!(server.open_connections(), 5, "nobody was closed");
}
for_each_driver!(a_stalled_subscriber_is_dropped_from_without_slowing_the_others,
    tasks: #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    event_loop: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);

async fn a_stalled_subscriber_is_closed_with_1008_without_slowing_the_others(driver: Driver) {
    let (server, mut stalled, _live) =
        relay_past_a_stalled_receiver(driver, SlowConsumer::Close).await;
    // The stalled one was sent 1008 after what it had queued; it sees the close once it
    // reads at all. It never answers, so the server gives up after the close timeout.
    let answer = raw::read_to_end(&mut stalled, false).await;
    let frames = raw::frames(&answer);
    let close = frames.last().expect("frames");
    assert_eq!(close.opcode, 8);
    assert_eq!(
        raw::close_payload(&close.payload),
        (1008, "slow consumer".to_owned())
    );
    assert_eq!(
        server.wait_for_ends(1).await,
        [Err("timed out during closing handshake".to_owned())]
    );
    assert_eq!(server.open_connections(), 4, "the others remain");
}
for_each_driver!(a_stalled_subscriber_is_closed_with_1008_without_slowing_the_others,
    tasks: #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    event_loop: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);

async fn a_slow_consumer_closed_by_the_policy_is_reported_closed_once(driver: Driver) {
    let (server, _stalled, _live) =
        relay_past_a_stalled_receiver(driver, SlowConsumer::Close).await;
    let reports = server.reports();
    assert_eq!(reports.closed, 1, "{reports:?}");
}
for_each_driver!(a_slow_consumer_closed_by_the_policy_is_reported_closed_once,
    tasks: #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    event_loop: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);

async fn past_the_connection_cap_new_clients_get_503(driver: Driver) {
    let server = serve(driver, ServerBuilder::new().max_connections(2), App::Echo);
    let (mut first, _) = duplex::connect(&server.url).await.unwrap();
    let (_second, _) = duplex::connect(&server.url).await.unwrap();
    let refused = duplex::connect(&server.url).await.unwrap_err();
    let text = refused.to_string();
    assert!(
        text.contains("503") && text.contains("too many connections"),
        "{text}"
    );
    first.close(duplex::CloseCode::NORMAL, "").await.unwrap();
    // Its place is free once the server is done with it.
    server.wait_for_ends(1).await;
    assert!(
        duplex::connect(&server.url).await.is_ok(),
        "a slot is free again"
    );
}
for_each_driver!(past_the_connection_cap_new_clients_get_503);

async fn servers_from_clones_of_one_builder_share_its_cap(driver: Driver) {
    let builder = ServerBuilder::new().max_connections(2);
    let one = serve(driver, builder.clone(), App::Echo);
    let other = serve(driver, builder, App::Echo);
    let (_first, _) = duplex::connect(&one.url).await.unwrap();
    let (_second, _) = duplex::connect(&other.url).await.unwrap();
    match duplex::connect(&one.url).await {
        Ok(_) => panic!("a third connection was accepted past the cap of 2 both servers share"),
        Err(refused) => {
            let text = refused.to_string();
            assert!(
                text.contains("503") && text.contains("too many connections"),
                "{text}"
            );
        }
    }
}
for_each_driver!(servers_from_clones_of_one_builder_share_its_cap,
    tasks: #[tokio::test],
    event_loop: #[tokio::test]);

#[tokio::test]
async fn buffered_amount_shows_what_waits() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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
    let _stalled = raw::stalled(addr).await;
    let (buffered, total) = server.await.unwrap();
    assert!(
        buffered > total / 2 && buffered <= total,
        "{buffered} of {total}"
    );
}

#[tokio::test]
async fn a_ping_flood_from_a_peer_that_does_not_read_stays_bounded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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
        // Samples the queue while the flood lasts.
        let mut most = 0;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            most = most.max(writer.buffered_amount());
        }
        most
    });
    let mut flood = raw::stalled(addr).await;
    // 125-byte masked pings, as fast as the socket takes them, for a second.
    let ping = raw::masked(0x89, &[b'p'; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 100)
        .collect();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
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
