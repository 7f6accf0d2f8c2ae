//! Keepalive, idle timeout and the closing-handshake deadline, over loopback.
//!
//! The event loop keeps time in whole seconds, so the server timers here are a second or a
//! few: the event-loop tests take that long in real time. The task driver keeps tokio's time,
//! so its tests run on a paused clock, which jumps from timer to timer. No test decides by how
//! long something took, only by what happened in which order (and that nothing came early).

use std::time::Duration;

use duplex::{ClientBuilder, CloseCode, Error, Event, Options, ServerBuilder};
use tokio::net::TcpListener;

#[macro_use]
mod common;
use common::raw;
use common::{bounded, quiet_client, serve, App, Driver};

const PING: Duration = Duration::from_secs(1);
const IDLE: Duration = Duration::from_secs(3);

/// Server options: a ping every [`PING`], closed after [`IDLE`] without a byte from the peer.
fn keepalive() -> Options {
    Options::default()
        .ping_interval(Some(PING))
        .idle_timeout(Some(IDLE))
        .close_timeout(Duration::from_secs(1))
}

async fn a_silent_peer_is_pinged_then_dropped_with_1001(driver: Driver) {
    let server = serve(driver, ServerBuilder::new().options(keepalive()), App::Echo);
    let started = tokio::time::Instant::now();
    let mut client = raw::connect(server.addr, &raw::request()).await;
    // Never answer: no pong, nothing. The server gives up on us after its close timeout.
    let answer = raw::read_to_end(&mut client, false).await;
    assert!(
        started.elapsed() >= IDLE,
        "closed early: {:?}",
        started.elapsed()
    );
    let frames = raw::frames(&answer);
    let (close, before) = frames.split_last().expect("frames");
    assert!(
        before.len() >= 2 && before.iter().all(|frame| frame.opcode == 9),
        "pings, then the close: {frames:?}"
    );
    assert_eq!(close.opcode, 8, "{frames:?}");
    assert_eq!(
        raw::close_payload(&close.payload),
        (1001, "idle timeout".to_owned())
    );
    assert_eq!(
        server.wait_for_ends(1).await,
        [Err(Error::Timeout("peer idle").to_string())]
    );
}
for_each_driver!(a_silent_peer_is_pinged_then_dropped_with_1001,
    tasks: #[tokio::test(start_paused = true)],
    event_loop: #[tokio::test]);

async fn a_peer_that_answers_pings_stays_connected_past_the_idle_timeout(driver: Driver) {
    let server = serve(driver, ServerBuilder::new().options(keepalive()), App::Echo);
    let (mut ws, _) = ClientBuilder::new()
        .options(quiet_client())
        .connect(&server.url)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    // The client answers each ping as it reads it. A ping a second past the idle timeout
    // means the server kept the connection open because of the answers.
    let mut pings = 0;
    while started.elapsed() < IDLE + PING {
        match bounded("a ping", ws.next_event()).await {
            Ok(Event::Ping(_)) => pings += 1,
            other => panic!("expected only pings, got {other:?}"),
        }
    }
    assert!(pings >= 3, "only {pings} pings");
    ws.send("still here").await.unwrap();
    loop {
        match bounded("the echo", ws.next_event()).await.unwrap() {
            Event::Message(m) => break assert_eq!(m.as_text(), Some("still here")),
            Event::Ping(_) => continue,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(server.ends(), [], "nothing ended");
}
for_each_driver!(a_peer_that_answers_pings_stays_connected_past_the_idle_timeout,
    tasks: #[tokio::test(start_paused = true)],
    event_loop: #[tokio::test]);

/// The client's close deadline: not a server driver's, so one test, on tokio's paused clock.
#[tokio::test(start_paused = true)]
async fn close_gives_up_after_the_close_timeout() {
    // A server that completes the handshake and then ignores everything.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ws = duplex::accept(stream).await.unwrap();
        std::future::pending::<()>().await;
    });
    let close_timeout = Duration::from_millis(300);
    let (mut ws, _) = ClientBuilder::new()
        .options(quiet_client().close_timeout(close_timeout))
        .connect(&format!("ws://{addr}/"))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let result = ws.close(CloseCode::NORMAL, "bye").await;
    assert!(
        matches!(result, Err(Error::Timeout("closing handshake"))),
        "{result:?}"
    );
    assert!(
        started.elapsed() >= close_timeout,
        "{:?}",
        started.elapsed()
    );
}
