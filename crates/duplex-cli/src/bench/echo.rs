//! `duplex bench echo`: N connections each keep P messages in flight against an echo server;
//! every echo is compared with what was sent, in order.
//!
//! A message's first bytes spell its sequence number (hex, lowest digit first) and the rest
//! is a pattern shifted by it, so a lost, repeated, reordered or corrupted echo differs from
//! the expected message at the head of the in-flight queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use duplex::{Event, Message};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::report::{self, Errors, Latencies, Report};
use super::{CpuUse, Phases};
use crate::args::EchoBenchArgs;

/// How long the in-flight messages may take to come back after the load stops.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections being opened at once before the load starts.
const OPEN_CONCURRENCY: usize = 64;

/// What all connections share.
struct Shared {
    latencies: Latencies,
    errors: Errors,
    /// Echoes received, all phases (for the progress bar).
    received: Arc<AtomicU64>,
    /// Echoes received in the measured phase.
    measured: AtomicU64,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: EchoBenchArgs) -> anyhow::Result<()> {
    let builder = crate::client::builder(&args.common.client)?;
    duplex::handshake::Target::parse(&args.common.url)?;
    let shared = Arc::new(Shared {
        latencies: Latencies::new(),
        errors: Errors::default(),
        received: Arc::default(),
        measured: AtomicU64::new(0),
    });

    let sockets =
        super::connect::open_all(&builder, &args.common.url, args.conns, OPEN_CONCURRENCY).await;
    let mut connected = Vec::new();
    for socket in sockets {
        match socket {
            Ok(ws) => connected.push(ws),
            Err(e) => shared.errors.add(format!("connect: {e}")),
        }
    }
    if connected.is_empty() {
        anyhow::bail!("no connection could be opened");
    }

    let phases = Phases::starting_now(args.warmup, args.duration);
    let cpu = tokio::spawn(CpuUse::measure(phases, args.server_pid));
    let bar = super::progress(args.warmup + args.duration, shared.received.clone(), "msg");
    let pattern = pattern(args.size);
    let mut tasks = JoinSet::new();
    for ws in connected {
        let load = Load {
            size: args.size,
            pipeline: args.pipeline as usize,
            binary: args.binary,
            pattern: pattern.clone(),
            phases,
        };
        let shared = shared.clone();
        tasks.spawn(async move {
            if let Err(e) = load.run(ws, &shared).await {
                shared.errors.add(e);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    bar.finish_and_clear();
    let cpu = cpu.await??;

    let seconds = args.duration.as_secs_f64();
    let messages = shared.measured.load(Ordering::Relaxed);
    let rate = messages as f64 / seconds;
    let mb_per_s = rate * args.size as f64 / 1e6;
    let kind = if args.binary { "binary" } else { "text" };
    let mut report = Report::new(
        "echo",
        format!(
            "duplex bench echo {}: {} connections x {} in flight, {} B {kind}, {:.1} s (after {:.1} s warmup)",
            args.common.url, args.conns, args.pipeline, args.size, seconds,
            args.warmup.as_secs_f64()
        ),
    );
    for (name, value) in [
        ("url", serde_json::Value::from(args.common.url.as_str())),
        ("conns", args.conns.into()),
        ("pipeline", args.pipeline.into()),
        ("size", args.size.into()),
        ("binary", args.binary.into()),
        ("duration_s", seconds.into()),
        ("messages", messages.into()),
        ("messages_per_s", report::round(rate, 1).into()),
        ("mb_per_s", report::round(mb_per_s, 3).into()),
    ] {
        report.field(name, value);
    }
    report.row(
        "messages",
        format!(
            "{} ({}/s)",
            report::count(messages),
            report::count(rate as u64)
        ),
    );
    report.row(
        "throughput",
        format!("{mb_per_s:.2} MB/s of payload echoed"),
    );
    let (latency_text, latency_json) = shared.latencies.summary();
    report.row("latency", latency_text);
    report.field("latency_us", latency_json);
    shared.errors.report(&mut report);
    cpu.report(&mut report, messages, "message", seconds);
    report.print(args.common.json);
    Ok(())
}

/// One connection's share of the load.
struct Load {
    size: usize,
    pipeline: usize,
    binary: bool,
    pattern: Bytes,
    phases: Phases,
}

impl Load {
    async fn run<S>(self, mut ws: duplex::WebSocket<S>, shared: &Shared) -> anyhow::Result<()>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut in_flight: VecDeque<(Instant, Message)> = VecDeque::with_capacity(self.pipeline);
        let mut next = 0u64;
        let mut samples = Vec::with_capacity(64);
        for _ in 0..self.pipeline {
            let message = self.message(next);
            next += 1;
            in_flight.push_back((Instant::now(), message.clone()));
            ws.feed(message).await?;
        }
        ws.flush().await?;
        let drain_deadline = self.phases.stop_at + DRAIN_TIMEOUT;
        while !in_flight.is_empty() {
            let event = match tokio::time::timeout_at(drain_deadline, ws.next_event()).await {
                Ok(event) => event?,
                Err(_) => anyhow::bail!(
                    "{} echoes still missing {} s after the end",
                    in_flight.len(),
                    DRAIN_TIMEOUT.as_secs()
                ),
            };
            let echo = match event {
                Event::Message(echo) => echo,
                Event::Ping(_) | Event::Pong(_) => continue,
                Event::Close(frame) => anyhow::bail!("the server closed the connection: {frame:?}"),
            };
            let now = Instant::now();
            let Some((sent_at, sent)) = in_flight.pop_front() else {
                anyhow::bail!("an echo of a message never sent");
            };
            if echo != sent {
                anyhow::bail!(
                    "echo {} differs from the message sent (wrong content, type or order)",
                    next - in_flight.len() as u64 - 1
                );
            }
            shared.received.fetch_add(1, Ordering::Relaxed);
            if self.phases.measures(now) {
                shared.measured.fetch_add(1, Ordering::Relaxed);
                samples.push(now - sent_at);
                if samples.len() == samples.capacity() {
                    shared.latencies.record(&mut samples);
                }
            }
            if now < self.phases.stop_at {
                let message = self.message(next);
                next += 1;
                in_flight.push_back((now, message.clone()));
                ws.feed(message).await?;
            }
        }
        shared.latencies.record(&mut samples);
        if let Err(e) = ws.close(duplex::CloseCode::NORMAL, "").await {
            tracing::debug!("close: {e}");
        }
        Ok(())
    }

    /// Message number `seq`: its digits, lowest first, then the pattern shifted by `seq`.
    fn message(&self, seq: u64) -> Message {
        let size = self.size;
        let shift = (seq % 16) as usize;
        let mut payload = BytesMut::with_capacity(size);
        payload.extend_from_slice(&self.pattern[shift..shift + size]);
        for (i, byte) in payload.iter_mut().take(16).enumerate() {
            *byte = HEX[((seq >> (4 * i)) & 0xf) as usize];
        }
        let payload = payload.freeze();
        if self.binary {
            Message::binary(payload)
        } else {
            // ASCII digits and letters only, so always valid UTF-8.
            match duplex::Utf8Bytes::try_from_bytes(payload) {
                Ok(text) => Message::Text(text),
                Err(_) => unreachable!("the payload is ASCII"),
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A repeating letter pattern 16 bytes longer than a payload: a message is a window into it.
fn pattern(size: usize) -> Bytes {
    (0..size + 16)
        .map(|i| b'a' + (i % 26) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(size: usize, binary: bool) -> Load {
        Load {
            size,
            pipeline: 1,
            binary,
            pattern: pattern(size),
            phases: Phases::starting_now(Duration::ZERO, Duration::ZERO),
        }
    }

    #[test]
    fn messages_differ_and_have_the_size() {
        let load = load(64, false);
        let (a, b) = (load.message(1), load.message(2));
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(a.as_text().unwrap().starts_with("1000000000000000"));
        assert_eq!(load.message(1), a);
        let tiny = self::load(1, true);
        assert_ne!(tiny.message(0), tiny.message(1));
        assert!(self::load(0, false).message(5).is_empty());
    }
}
