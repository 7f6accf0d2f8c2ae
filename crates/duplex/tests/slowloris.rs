//! Hundreds of connections trickling their handshake a byte at a time are cut at the handshake
//! timeout, and a normal client's echo latency meanwhile stays within twice its unloaded value.

use std::time::{Duration, Instant};

use duplex::ServerBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

const TRICKLERS: usize = 300;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Median round trip of `n` small echoes on one connection.
async fn median_echo(
    ws: &mut duplex::WebSocket<duplex::MaybeTlsStream<TcpStream>>,
    n: usize,
) -> Duration {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        ws.send(format!("ping {i}")).await.unwrap();
        ws.recv().await.unwrap().unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[n / 2]
}

/// Sends the request one byte every 50 ms; returns what the server answered and when.
async fn trickle(addr: String) -> (String, Duration) {
    let request =
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let started = Instant::now();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.split();
    let sender = async {
        for byte in request.iter() {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::future::pending::<()>().await
    };
    let mut answer = Vec::new();
    tokio::select! {
        _ = sender => {}
        _ = read.read_to_end(&mut answer) => {}
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickling_handshakes_are_cut_and_do_not_slow_a_real_client() {
    let builder = ServerBuilder::new().handshake_timeout(HANDSHAKE_TIMEOUT);
    let url = common::echo_server(builder).await;
    let (mut ws, _) = duplex::connect(&url).await.unwrap();
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_owned();
    median_echo(&mut ws, 200).await; // warm up
    let unloaded = median_echo(&mut ws, 500).await;

    let attackers: Vec<_> = (0..TRICKLERS)
        .map(|_| tokio::spawn(trickle(addr.clone())))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await; // all connected and trickling
    let loaded = median_echo(&mut ws, 500).await;

    for attacker in attackers {
        let (answer, elapsed) = attacker.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 408 "),
            "a trickler got {answer:?}"
        );
        assert!(
            elapsed >= HANDSHAKE_TIMEOUT && elapsed < HANDSHAKE_TIMEOUT * 3,
            "cut after {elapsed:?}"
        );
    }
    // Within twice the unloaded median; a few microseconds of slack for timer granularity.
    let allowed = unloaded * 2 + Duration::from_micros(20);
    eprintln!("echo median: unloaded {unloaded:?}, with {TRICKLERS} tricklers {loaded:?}");
    assert!(
        loaded <= allowed,
        "unloaded {unloaded:?}, under slowloris {loaded:?}"
    );
}
