//! `duplex bench broadcast`: one publisher, N receivers, through a relay server.
//!
//! The publisher sends `--rate` messages per second, each carrying its sequence number and its
//! send time (nanoseconds since the start of the run; publisher and receivers share this
//! process's clock). Every receiver checks that it gets every message once and in order, and
//! records two latencies: from the send to the kernel's receive timestamp on the receiver's
//! socket (the benchmark's definition: what the server took, see `stamped.rs`), and from the
//! send to the receiver's read (which adds the load generator's own delay, large when it is
//! busy). A message a receiver never got by the end is counted lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::{BufMut, BytesMut};
use duplex::handshake::Target;
use duplex::{Event, Message, WebSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::idle::{parse_sources, How};
use super::report::{self, Errors, Latencies, Report};
use super::stamped::Stamped;
use super::{CpuUse, Phases};
use crate::args::BroadcastBenchArgs;

/// How long receivers wait for the last messages after the publisher stops.
const DRAIN: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Counts {
    delivered: AtomicU64,
    measured: AtomicU64,
    lost: AtomicU64,
    out_of_order: AtomicU64,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: BroadcastBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.size >= 16,
        "--size must be at least 16 (sequence number and send time)"
    );
    let target = Target::parse(&args.common.url)?;
    let sources = match &args.source_ips {
        Some(text) => parse_sources(text)?,
        None => Vec::new(),
    };
    let (before, limit) =
        super::sys::raise_nofile_limit().context("cannot raise the open-file limit")?;
    if limit > before {
        eprintln!("duplex: raised the open-file limit from {before} to {limit}");
    }
    let server = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await?
        .next()
        .with_context(|| format!("{} has no address", target.host))?;
    let builder = crate::client::builder(&args.common.client)?;
    let errors = Arc::new(Errors::default());
    let latencies = Arc::new(Latencies::new());
    let read_latencies = Arc::new(Latencies::new());
    let counts = Arc::new(Counts::default());
    let clock = Instant::now();
    // The same instant on the clock kernel timestamps use.
    let clock_realtime_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;

    // Receivers first, all open before the first message.
    let bar = super::counter(args.receivers as u64, "receivers open");
    let mut opening = JoinSet::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(64));
    for i in 0..args.receivers {
        let how = How {
            builder: builder.clone(),
            url: args.common.url.clone(),
            target: target.clone(),
            server,
            source: (!sources.is_empty()).then(|| sources[i % sources.len()]),
            timeout: args.common.client.connect_timeout,
        };
        let permits = permits.clone();
        opening.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            open_receiver(&how).await
        });
    }
    let mut receivers = Vec::with_capacity(args.receivers);
    while let Some(opened) = opening.join_next().await {
        match opened? {
            Ok(ws) => {
                bar.inc(1);
                receivers.push(ws);
            }
            Err(e) => errors.add(format!("receiver: {e:#}")),
        }
    }
    bar.finish_and_clear();
    anyhow::ensure!(!receivers.is_empty(), "no receiver could connect");
    let (publisher, _) = builder
        .connect(&args.common.url)
        .await
        .context("publisher")?;
    // Let the server register every member before counting on it.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let phases = Phases::starting_now(args.warmup, args.duration);
    let cpu = tokio::spawn(CpuUse::measure(phases, args.server_pid));
    let (done_tx, done) = watch::channel(None::<u64>);
    let mut tasks = JoinSet::new();
    // How far each receiver got (the next sequence number it expects), so that receivers
    // still behind when the drain ends count what they never got as lost.
    let mut progress = Vec::with_capacity(receivers.len());
    for mut ws in receivers {
        let reached = Arc::new(AtomicU64::new(0));
        progress.push(reached.clone());
        let (latencies, read_latencies, counts, errors, mut done) = (
            latencies.clone(),
            read_latencies.clone(),
            counts.clone(),
            errors.clone(),
            done.clone(),
        );
        tasks.spawn(async move {
            let mut expected = 0u64;
            let mut samples = Vec::with_capacity(1024);
            let mut read_samples = Vec::with_capacity(1024);
            loop {
                let event = tokio::select! {
                    event = ws.next_event() => event,
                    _ = done.wait_for(|last| last.is_some_and(|last| expected >= last)) => break,
                };
                let message = match event {
                    Ok(Event::Message(m)) => m,
                    Ok(Event::Ping(_) | Event::Pong(_)) => continue,
                    Ok(Event::Close(_)) | Err(_) => {
                        errors.add("a receiver was disconnected");
                        break;
                    }
                };
                let now = Instant::now();
                let payload = message.payload();
                let (Some(seq), Some(sent)) = (read_u64(payload, 0), read_u64(payload, 8)) else {
                    errors.add("a message too short to carry its sequence number");
                    continue;
                };
                if seq != expected {
                    counts.out_of_order.fetch_add(1, Ordering::Relaxed);
                    if seq > expected {
                        counts.lost.fetch_add(seq - expected, Ordering::Relaxed);
                    }
                }
                expected = seq + 1;
                reached.store(expected, Ordering::Relaxed);
                counts.delivered.fetch_add(1, Ordering::Relaxed);
                let sent_at = clock + Duration::from_nanos(sent);
                if phases.measures(sent_at) {
                    counts.measured.fetch_add(1, Ordering::Relaxed);
                    read_samples.push(now.saturating_duration_since(sent_at));
                    if let Some(received) = ws.get_ref().received_ns() {
                        let sent_realtime = clock_realtime_ns + sent;
                        samples.push(Duration::from_nanos(received.saturating_sub(sent_realtime)));
                    }
                    if read_samples.len() == read_samples.capacity() {
                        latencies.record(&mut samples);
                        read_latencies.record(&mut read_samples);
                    }
                }
            }
            latencies.record(&mut samples);
            read_latencies.record(&mut read_samples);
            // What never came is lost.
            if let Some(last) = *done.borrow() {
                counts
                    .lost
                    .fetch_add(last.saturating_sub(expected), Ordering::Relaxed);
            }
            reached.store(u64::MAX, Ordering::Relaxed);
        });
    }

    // The publisher: `rate` per second, in 1 ms slices.
    let bar = super::progress(args.warmup + args.duration, Arc::new(AtomicU64::new(0)), "");
    let mut publisher = publisher;
    let mut seq = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut payload = BytesMut::with_capacity(args.size);
    while Instant::now() < phases.stop_at {
        tick.tick().await;
        let due = (started.elapsed().as_secs_f64() * args.rate as f64) as u64;
        while seq < due {
            payload.clear();
            payload.put_u64_le(seq);
            payload.put_u64_le(Instant::now().duration_since(clock).as_nanos() as u64);
            payload.resize(args.size, b'x');
            publisher
                .feed(Message::Binary(payload.split().freeze()))
                .await?;
            seq += 1;
        }
        publisher.flush().await?;
    }
    bar.finish_and_clear();
    let _ = done_tx.send(Some(seq));
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if !tasks.is_empty() {
        errors.add(format!(
            "{} receivers still waiting after {DRAIN:?}",
            tasks.len()
        ));
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        // Receivers still behind: all they had yet to get is lost (it came too late).
        let behind: u64 = progress
            .iter()
            .map(|reached| seq.saturating_sub(reached.load(Ordering::Relaxed)))
            .sum();
        counts.lost.fetch_add(behind, Ordering::Relaxed);
    }
    let cpu = cpu.await??;
    let _ = publisher.close(duplex::CloseCode::NORMAL, "").await;

    let seconds = args.duration.as_secs_f64();
    let measured = counts.measured.load(Ordering::Relaxed);
    let rate = measured as f64 / seconds;
    let mut report = Report::new(
        "broadcast",
        format!(
            "duplex bench broadcast {}: {} B at {}/s to {} receivers, {seconds:.1} s (after {:.1} s warmup)",
            args.common.url,
            args.size,
            args.rate,
            args.receivers,
            args.warmup.as_secs_f64()
        ),
    );
    let lost = counts.lost.load(Ordering::Relaxed);
    let out_of_order = counts.out_of_order.load(Ordering::Relaxed);
    for (name, value) in [
        ("url", serde_json::Value::from(args.common.url.as_str())),
        ("receivers", args.receivers.into()),
        ("rate", args.rate.into()),
        ("size", args.size.into()),
        ("duration_s", seconds.into()),
        ("published", seq.into()),
        ("deliveries", measured.into()),
        ("deliveries_per_s", report::round(rate, 1).into()),
        ("lost", lost.into()),
        ("out_of_order", out_of_order.into()),
    ] {
        report.field(name, value);
    }
    report.row("published", format!("{} messages", report::count(seq)));
    report.row(
        "deliveries",
        format!(
            "{} ({}/s)",
            report::count(measured),
            report::count(rate as u64)
        ),
    );
    report.row("lost", format!("{lost} (out of order: {out_of_order})"));
    let (latency_text, latency_json) = latencies.summary();
    report.row("latency to kernel receive", latency_text);
    report.field("latency_us", latency_json);
    let (latency_text, latency_json) = read_latencies.summary();
    report.row("latency to read", latency_text);
    report.field("read_latency_us", latency_json);
    cpu.report(&mut report, measured, "delivery", seconds);
    errors.report(&mut report);
    report.print(args.common.json);
    if lost > 0 || out_of_order > 0 {
        anyhow::bail!("{lost} messages lost, {out_of_order} out of order");
    }
    Ok(())
}

/// A receiver: a plain TCP connection whose reads carry the kernel's receive timestamps.
async fn open_receiver(how: &How) -> anyhow::Result<WebSocket<Stamped>> {
    anyhow::ensure!(
        !how.target.secure,
        "the broadcast benchmark measures ws:// (kernel receive timestamps need the TCP reads)"
    );
    let work = async {
        let tcp = Stamped::new(how.tcp().await?)?;
        let (ws, _) = how.builder.handshake(tcp, &how.target).await?;
        anyhow::Ok(ws)
    };
    tokio::time::timeout(how.timeout, work)
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting"))?
}

fn read_u64(payload: &[u8], at: usize) -> Option<u64> {
    payload
        .get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}
