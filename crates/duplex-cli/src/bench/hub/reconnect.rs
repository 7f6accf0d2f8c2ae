//! `duplex bench hub reconnect`: every client of a hub comes back at once after missing
//! publications, and recovers them (the second half of scenario H4 of the hub benchmark).
//!
//! The clients join with history on and note each subscription's position; they all leave (as
//! when a server restarts or a network drops); every channel gets `--missed` publications; then
//! they all join again at once, each subscription asking to recover from its position, and each
//! checks that its reply brought exactly what it missed, once and in order; they stay connected
//! until the last has recovered, as clients do after a real reconnect. Measured: the time
//! from the first reconnect until every client has recovered, the server's CPU over it and,
//! from the hub's metrics, how many times it read its engine: shared reads keep that near one
//! per channel whatever the number of clients.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::open_clients_joined;
use super::protocol::{channels_of, Hub, Publisher};
use super::stamp::{stamps_in, Stamp};
use crate::args::{HubProtocol, HubReconnectArgs};
use crate::bench::report::{self, Errors, Latencies, Report};
use crate::bench::CpuUse;

/// Channels published to at once while the clients are away.
const PUBLISHING_CHANNELS: usize = 64;

/// Runs the benchmark and prints its report.
pub async fn run(args: HubReconnectArgs) -> anyhow::Result<()> {
    if args.target.hub_protocol != HubProtocol::Centrifugo {
        bail!("the reconnect benchmark needs the Centrifugo protocol (recovery by position)");
    }
    let layout = &args.layout;
    let hub = Arc::new(Hub::new(&args.target).await?);
    let publisher = Publisher::new(&args.target)?;
    let errors = Arc::new(Errors::default());

    // 1. Everyone joins and notes where each subscription stands.
    let clients = open_clients_joined(&hub, layout, &errors).await?;
    anyhow::ensure!(
        clients.len() == layout.clients,
        "only {} of {} clients joined ({})",
        clients.len(),
        layout.clients,
        errors.first().unwrap_or_default()
    );
    let mut positions = Vec::with_capacity(clients.len());
    for (index, mut client, joined) in clients {
        if joined.positions.iter().any(Option::is_none) {
            bail!(
                "channel {}{} has no history: recovery needs it",
                hub.prefix,
                channels_of(index, layout.subs_per_client, layout.channels)[0]
            );
        }
        positions.push((index, joined.positions));
        // 2. Everyone leaves.
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            client.ws.close(duplex::CloseCode::NORMAL, "away"),
        )
        .await;
    }

    // 3. Every channel moves on by `missed` publications.
    let channels = layout.channels.max(1);
    let permits = Arc::new(Semaphore::new(PUBLISHING_CHANNELS));
    let mut streams = JoinSet::new();
    for channel in 0..channels as u32 {
        let (publisher, hub, permits) = (publisher.clone(), hub.clone(), permits.clone());
        let (missed, size) = (args.missed, args.size);
        streams.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let name = hub.channel(channel);
            for seq in 0..missed {
                let stamp = Stamp {
                    channel,
                    seq,
                    sent_ns: 0,
                };
                publisher.publish(&name, &stamp.data(size)).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = streams.join_next().await {
        done??;
    }

    // 4. Everyone comes back at once and recovers.
    let metrics = match &args.metrics_url {
        Some(url) => Some((url.clone(), reads(url).await?)),
        None => None,
    };
    let cpu = CpuUse::start(args.target.server_pid)?;
    let bar = crate::bench::counter(layout.clients as u64, "clients recovered");
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(hub.open_concurrency));
    let mut coming_back = JoinSet::new();
    for (index, positions) in positions {
        let (hub, permits) = (hub.clone(), permits.clone());
        let channels = channels_of(index, layout.subs_per_client, layout.channels);
        let missed = args.missed;
        coming_back.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let (client, joined) = hub.join(index, &channels, Some(&positions)).await?;
            let took = started.elapsed();
            check_recovered(&channels, &joined.recovered, &joined.carried, missed)?;
            anyhow::Ok((took, client))
        });
    }
    let mut recovered = 0u64;
    let mut times = Vec::with_capacity(layout.clients);
    // Recovered clients stay, as after a real reconnect, until everyone has recovered: a
    // channel keeps its subscribers, and the hub may answer later ones from what it read for
    // the first (recovery.rs in duplex-hub).
    let mut back = Vec::with_capacity(layout.clients);
    let deadline = started + args.patience;
    loop {
        let next = tokio::time::timeout_at(deadline, coming_back.join_next()).await;
        let Ok(Some(done)) = next else {
            if next.is_err() {
                errors.add(format!(
                    "{} clients had not recovered after {:?}",
                    coming_back.len(),
                    args.patience
                ));
                coming_back.abort_all();
            }
            break;
        };
        match done.context("a client's task")? {
            Ok((took, client)) => {
                recovered += 1;
                bar.inc(1);
                times.push(took);
                back.push(client);
            }
            Err(e) => errors.add(format!("recovery: {e:#}")),
        }
    }
    bar.finish_and_clear();
    let all_s = started.elapsed().as_secs_f64();
    let cpu = cpu.finish()?;
    let engine_reads = match metrics {
        Some((url, before)) => Some(reads(&url).await? - before),
        None => None,
    };
    let mut leaving = JoinSet::new();
    for mut client in back {
        leaving.spawn(async move {
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                client.ws.close(duplex::CloseCode::NORMAL, ""),
            )
            .await;
        });
    }
    while leaving.join_next().await.is_some() {}

    let latencies = Latencies::new();
    let slowest = times.iter().max().copied().unwrap_or_default();
    latencies.record(&mut times);
    let mut report = Report::new(
        "hub-reconnect",
        format!(
            "duplex bench hub reconnect {}: {} clients x {} subscriptions over {} channels, \
             {} publications missed per channel, {} coming back at once",
            args.target.common.url,
            layout.clients,
            layout.subs_per_client,
            channels,
            args.missed,
            args.target.open_concurrency
        ),
    );
    hub.describe(&mut report);
    report.field("clients", layout.clients);
    report.field("channels", channels);
    report.field("subs_per_client", layout.subs_per_client);
    report.field("missed", args.missed);
    report.field("recovered_clients", recovered);
    report.field("all_recovered_s", report::round(slowest.as_secs_f64(), 3));
    report.row(
        "recovered",
        format!(
            "{recovered} of {} clients, every missed publication once and in order; the last \
             {:.2} s after the first reconnect",
            layout.clients,
            slowest.as_secs_f64()
        ),
    );
    let (text, json) = latencies.summary();
    report.row("time to recovered", text);
    report.field("recovered_after_us", json);
    // The loader's row says whether it, not the server, set the pace.
    cpu.report(&mut report, recovered, "client", all_s);
    if let Some(reads) = engine_reads {
        report.field("engine_reads", reads);
        report.row(
            "engine reads",
            format!(
                "{reads} for {} subscriptions over {channels} channels ({:.2} per channel)",
                recovered * layout.subs_per_client as u64,
                reads as f64 / channels as f64
            ),
        );
    }
    errors.report(&mut report);
    report.print(args.target.common.json);
    anyhow::ensure!(
        recovered == layout.clients as u64,
        "{} clients did not recover",
        layout.clients as u64 - recovered
    );
    Ok(())
}

/// Whether a client's recovery brought, for each of its channels, publications 0..missed,
/// each once and in order, with the server saying it recovered.
fn check_recovered(
    channels: &[u32],
    recovered: &[bool],
    carried: &[String],
    missed: u64,
) -> anyhow::Result<()> {
    if let Some(at) = recovered.iter().position(|r| !r) {
        bail!("the server did not recover channel {}", channels[at]);
    }
    let mut stamps = Vec::new();
    for line in carried {
        stamps_in(line, &mut stamps);
    }
    let mut next = vec![0u64; channels.len()];
    for stamp in stamps {
        let slot = channels
            .iter()
            .position(|c| *c == stamp.channel)
            .with_context(|| {
                format!(
                    "a publication of channel {} it never asked for",
                    stamp.channel
                )
            })?;
        if stamp.seq != next[slot] {
            bail!(
                "channel {}: publication {} where {} was due",
                stamp.channel,
                stamp.seq,
                next[slot]
            );
        }
        next[slot] += 1;
    }
    if let Some(at) = next.iter().position(|n| *n != missed) {
        bail!(
            "channel {}: recovered {} of {missed}",
            channels[at],
            next[at]
        );
    }
    Ok(())
}

/// The hub's engine reads for subscribers so far, from its Prometheus endpoint.
async fn reads(url: &str) -> anyhow::Result<u64> {
    let text = reqwest::get(url).await?.error_for_status()?.text().await?;
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix("duplex_hub_subscriber_history_reads_total "))
        .with_context(|| format!("{url} has no duplex_hub_subscriber_history_reads_total"))?;
    Ok(value.trim().parse::<f64>()? as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(channel: u32, seqs: std::ops::Range<u64>) -> String {
        let data: Vec<String> = seqs
            .map(|seq| {
                format!(
                    "{{\"data\":{}}}",
                    Stamp {
                        channel,
                        seq,
                        sent_ns: 0
                    }
                    .data(64)
                )
            })
            .collect();
        format!(
            "{{\"id\":2,\"subscribe\":{{\"recovered\":true,\"publications\":[{}]}}}}",
            data.join(",")
        )
    }

    #[test]
    fn a_recovery_must_bring_every_missed_publication_in_order() {
        let all = [line(4, 0..3), line(5, 0..3)];
        assert!(check_recovered(&[4, 5], &[true, true], &all, 3).is_ok());
        let short = [line(4, 0..3), line(5, 0..2)];
        assert!(check_recovered(&[4, 5], &[true, true], &short, 3).is_err());
        let twice = [line(4, 0..3), line(4, 2..3), line(5, 0..3)];
        assert!(check_recovered(&[4, 5], &[true, true], &twice, 3).is_err());
        assert!(check_recovered(&[4, 5], &[true, false], &all, 3).is_err());
        let stranger = [line(4, 0..3), line(5, 0..3), line(6, 0..1)];
        assert!(check_recovered(&[4, 5], &[true, true], &stranger, 3).is_err());
    }
}
