//! Hundreds of connections trickling their handshake a byte at a time hold no place for
//! long: each is answered 408 at the handshake timeout, before its request is complete, and
//! while they trickle a normal client connects and gets its echoes. On both drivers.
//!
//! How fast the echoes are under attack is a benchmark's question, not this test's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use duplex::ServerBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[macro_use]
mod common;
use common::{bounded, raw, serve, wait_until, App, Driver};

const TRICKLERS: usize = 300;
/// Long enough that a normal client is served well inside it, which the test checks.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A byte per tick: the request would take about 15 s, far past the timeout.
const TRICKLE: Duration = Duration::from_millis(100);

/// What one trickler got: the server's answer and how many request bytes it had sent.
struct Cut {
    answer: String,
    sent: usize,
}

/// Sends the request one byte per [`TRICKLE`] until the server answers and closes.
async fn trickle(addr: std::net::SocketAddr, connected: Arc<AtomicUsize>) -> Cut {
    let request = raw::request();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.split();
    let mut sent = 0;
    let sender = async {
        for byte in &request {
            if write.write_all(&[*byte]).await.is_err() {
                break;
            }
            sent += 1;
            if sent == 1 {
                connected.fetch_add(1, Ordering::AcqRel);
            }
            tokio::time::sleep(TRICKLE).await;
        }
        std::future::pending::<()>().await
    };
    let mut answer = Vec::new();
    tokio::select! {
        () = sender => {}
        _ = read.read_to_end(&mut answer) => {}
    }
    Cut {
        answer: String::from_utf8_lossy(&answer).into_owned(),
        sent,
    }
}

async fn trickling_handshakes_are_cut_and_a_real_client_is_served_meanwhile(driver: Driver) {
    let builder = ServerBuilder::new().handshake_timeout(HANDSHAKE_TIMEOUT);
    let server = serve(driver, builder, App::Echo);
    let connected = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let attackers: Vec<_> = (0..TRICKLERS)
        .map(|_| tokio::spawn(trickle(server.addr, connected.clone())))
        .collect();
    wait_until("every trickler connected", || {
        connected.load(Ordering::Acquire) == TRICKLERS
    })
    .await;

    // A new connection while they all hold theirs, and its echoes.
    let (mut ws, _) = bounded("a connection", duplex::connect(&server.url))
        .await
        .unwrap();
    for i in 0..100 {
        let text = format!("ping {i}");
        ws.send(text.clone()).await.unwrap();
        let echo = bounded("an echo", ws.recv()).await.unwrap().unwrap();
        assert_eq!(echo.as_text(), Some(text.as_str()));
    }
    let still_trickling = attackers.iter().filter(|a| !a.is_finished()).count();
    assert_eq!(
        still_trickling, TRICKLERS,
        "the client must be served while every trickler holds its connection; a slower \
         machine needs a longer HANDSHAKE_TIMEOUT"
    );

    let request_len = raw::request().len();
    for attacker in attackers {
        let cut = bounded("the trickler's answer", attacker).await.unwrap();
        assert!(
            cut.answer.starts_with("HTTP/1.1 408 "),
            "a trickler got {:?}",
            cut.answer
        );
        assert!(cut.sent < request_len, "its whole request went through");
    }
    // Never early (the event loop's deadlines are whole seconds, rounded up).
    assert!(
        started.elapsed() >= HANDSHAKE_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    ws.send("after").await.unwrap();
    assert_eq!(
        bounded("an echo", ws.recv())
            .await
            .unwrap()
            .unwrap()
            .as_text(),
        Some("after")
    );
}
for_each_driver!(trickling_handshakes_are_cut_and_a_real_client_is_served_meanwhile,
    tasks: #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
    event_loop: #[tokio::test(flavor = "multi_thread", worker_threads = 2)]);
