//! `duplex bench hub connect`: how many clients a second the server takes in, each one the
//! whole way an SDK goes: WebSocket handshake, connect (with a JWT minted for it, under the
//! Centrifugo protocol, so the server verifies a signature each time), subscriptions, close.
//! The first half of scenario H4 of the hub benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::protocol::{channels_of, Hub};
use crate::args::HubConnectArgs;
use crate::bench::report::{self, Errors, Latencies, Report};
use crate::bench::{CpuUse, Phases};

/// Runs the benchmark and prints its report.
pub async fn run(args: HubConnectArgs) -> anyhow::Result<()> {
    let hub = Arc::new(Hub::new(&args.target).await?);
    let errors = Arc::new(Errors::default());
    let latencies = Arc::new(Latencies::new());
    let joined = Arc::new(AtomicU64::new(0));
    let phases = Phases::starting_now(args.warmup, args.duration);
    let cpu = tokio::spawn(CpuUse::measure(phases, args.target.server_pid));
    let bar = crate::bench::progress(args.warmup + args.duration, joined.clone(), "clients");
    let mut tasks = JoinSet::new();
    for task in 0..args.concurrency.max(1) {
        let (hub, errors, latencies, joined) = (
            hub.clone(),
            errors.clone(),
            latencies.clone(),
            joined.clone(),
        );
        let (subs, channels, concurrency) =
            (args.subs_per_client, args.channels, args.concurrency.max(1));
        tasks.spawn(async move {
            let mut samples = Vec::with_capacity(256);
            let mut index = task;
            while Instant::now() < phases.stop_at {
                let start = Instant::now();
                let channels = channels_of(index, subs, channels);
                match hub.join(index, &channels, None).await {
                    Ok((mut client, _)) => {
                        if phases.measures(start) {
                            joined.fetch_add(1, Ordering::Relaxed);
                            samples.push(start.elapsed());
                            if samples.len() == samples.capacity() {
                                latencies.record(&mut samples);
                            }
                        }
                        let _ = tokio::time::timeout(
                            Duration::from_secs(1),
                            client.ws.close(duplex::CloseCode::NORMAL, ""),
                        )
                        .await;
                    }
                    Err(e) => errors.add(format!("join: {e:#}")),
                }
                index += concurrency;
            }
            latencies.record(&mut samples);
        });
    }
    while tasks.join_next().await.is_some() {}
    bar.finish_and_clear();
    let cpu = cpu.await??;

    let seconds = args.duration.as_secs_f64();
    let joined = joined.load(Ordering::Relaxed);
    let rate = joined as f64 / seconds;
    let mut report = Report::new(
        "hub-connect",
        format!(
            "duplex bench hub connect {} ({}): {} at once, {} subscriptions each, {seconds:.1} s \
             (after {:.1} s warmup)",
            args.target.common.url,
            hub.protocol_name(),
            args.concurrency,
            args.subs_per_client,
            args.warmup.as_secs_f64()
        ),
    );
    hub.describe(&mut report);
    report.field("concurrency", args.concurrency);
    report.field("subs_per_client", args.subs_per_client);
    report.field("joined", joined);
    report.field("joins_per_s", report::round(rate, 1));
    report.row(
        "joined",
        format!(
            "{} ({}/s)",
            report::count(joined),
            report::count(rate as u64)
        ),
    );
    let (text, json) = latencies.summary();
    report.row("latency connect→subscribed", text);
    report.field("latency_us", json);
    cpu.report(&mut report, joined, "client", seconds);
    errors.report(&mut report);
    report.print(args.target.common.json);
    Ok(())
}
