//! `duplex bench connect`: full handshakes per second. C tasks each connect (TCP, TLS for
//! wss://, the HTTP upgrade), close (the closing handshake and the TCP teardown), and start
//! over; latency is reported for the opening part and the closing part separately.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use duplex::{ClientBuilder, MaybeTlsStream, WebSocket};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::report::{self, Errors, Latencies, Report};
use super::{CpuUse, Phases};
use crate::args::ConnectBenchArgs;

/// A client connection as [`ClientBuilder::connect`] makes it.
pub type Connection = WebSocket<MaybeTlsStream<TcpStream>>;

/// After a failed attempt, a task waits this long, so a dead server is not hammered.
const BACKOFF: Duration = Duration::from_millis(10);

/// Opens `n` connections, at most `concurrency` at a time; results in no particular order.
pub async fn open_all(
    builder: &ClientBuilder,
    url: &str,
    n: usize,
    concurrency: usize,
) -> Vec<anyhow::Result<Connection>> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let (builder, url, permits) = (builder.clone(), url.to_owned(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (ws, _) = builder.connect(&url).await?;
            anyhow::Ok(ws)
        });
    }
    let mut opened = Vec::with_capacity(n);
    while let Some(joined) = tasks.join_next().await {
        opened.push(joined.map_err(anyhow::Error::from).and_then(|r| r));
    }
    opened
}

/// Runs the benchmark and prints its report.
pub async fn run(args: ConnectBenchArgs) -> anyhow::Result<()> {
    let builder = crate::client::builder(&args.common.client)?;
    duplex::handshake::Target::parse(&args.common.url)?;
    let latencies = Arc::new(Latencies::new());
    let closes = Arc::new(Latencies::new());
    let errors = Arc::new(Errors::default());
    let done = Arc::new(AtomicU64::new(0));
    let measured = Arc::new(AtomicU64::new(0));

    let phases = Phases::starting_now(args.warmup, args.duration);
    let cpu = tokio::spawn(CpuUse::measure(phases, args.server_pid));
    let bar = super::progress(args.warmup + args.duration, done.clone(), "handshakes");
    let mut tasks = JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (builder, url) = (builder.clone(), args.common.url.clone());
        let (latencies, closes, errors) = (latencies.clone(), closes.clone(), errors.clone());
        let (done, measured) = (done.clone(), measured.clone());
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(64);
            let mut close_samples = Vec::with_capacity(64);
            loop {
                let start = Instant::now();
                if start >= phases.stop_at {
                    break;
                }
                let opened = match builder.connect(&url).await {
                    Ok((ws, _)) => Ok((ws, start.elapsed())),
                    Err(e) => Err(format!("connect: {e}")),
                };
                let cycle = match opened {
                    Ok((mut ws, handshake)) => {
                        let closing = Instant::now();
                        ws.close(duplex::CloseCode::NORMAL, "")
                            .await
                            .map(|()| (handshake, closing.elapsed()))
                            .map_err(|e| format!("close: {e}"))
                    }
                    Err(e) => Err(e),
                };
                match cycle {
                    Ok((handshake, close)) => {
                        done.fetch_add(1, Ordering::Relaxed);
                        if phases.measures(Instant::now()) {
                            measured.fetch_add(1, Ordering::Relaxed);
                            samples.push(handshake);
                            close_samples.push(close);
                            if samples.len() == samples.capacity() {
                                latencies.record(&mut samples);
                                closes.record(&mut close_samples);
                            }
                        }
                    }
                    Err(e) => {
                        errors.add(e);
                        tokio::time::sleep(BACKOFF).await;
                    }
                }
            }
            latencies.record(&mut samples);
            closes.record(&mut close_samples);
        });
    }
    while tasks.join_next().await.is_some() {}
    bar.finish_and_clear();
    let cpu = cpu.await??;

    let seconds = args.duration.as_secs_f64();
    let handshakes = measured.load(Ordering::Relaxed);
    let rate = handshakes as f64 / seconds;
    let mut report = Report::new(
        "connect",
        format!(
            "duplex bench connect {}: {} at once, {seconds:.1} s (after {:.1} s warmup)",
            args.common.url,
            args.concurrency,
            args.warmup.as_secs_f64()
        ),
    );
    report.field("url", args.common.url.as_str());
    report.field("concurrency", args.concurrency);
    report.field("duration_s", seconds);
    report.field("handshakes", handshakes);
    report.field("handshakes_per_s", report::round(rate, 1));
    report.row(
        "handshakes",
        format!(
            "{} ({}/s, each with its close)",
            report::count(handshakes),
            report::count(rate as u64)
        ),
    );
    let (latency_text, latency_json) = latencies.summary();
    report.row("latency", format!("{latency_text} (connect to 101)"));
    report.field("latency_us", latency_json);
    let (close_text, close_json) = closes.summary();
    report.row("close", format!("{close_text} (close frame to TCP end)"));
    report.field("close_latency_us", close_json);
    errors.report(&mut report);
    cpu.report(&mut report, handshakes, "handshake", seconds);
    report.print(args.common.json);
    Ok(())
}
