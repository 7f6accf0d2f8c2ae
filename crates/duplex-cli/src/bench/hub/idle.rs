//! `duplex bench hub idle`: what a connected, authenticated, subscribed client costs the
//! server (scenario H3 of the hub benchmark).
//!
//! One client joins and leaves first, so the server's one-time costs (code paged in, tables
//! grown for the first time) are not spread over the measured clients; then the server's
//! VmRSS is read, the clients join, are held (answering heartbeats, as an SDK does), and VmRSS
//! is read again. The difference over the clients still connected is the figure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::open_clients;
use super::protocol::{channels_of, Hub};
use crate::args::HubIdleArgs;
use crate::bench::report::{self, Errors, Report};
use crate::bench::sys;

/// Runs the benchmark and prints its report.
pub async fn run(args: HubIdleArgs) -> anyhow::Result<()> {
    let layout = &args.layout;
    let hub = Arc::new(Hub::new(&args.target).await?);
    let errors = Arc::new(Errors::default());
    let pid = args.target.server_pid;

    // The warm-up client takes the channels of a client past the last.
    let warm = channels_of(layout.clients, layout.subs_per_client, layout.channels);
    if let Ok((mut client, _)) = hub.join(layout.clients, &warm, None).await {
        let _ = client.ws.close(duplex::CloseCode::NORMAL, "warm-up").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = pid.map(sys::rss_bytes).transpose()?;

    let started = Instant::now();
    let clients = open_clients(&hub, layout, &errors).await?;
    let open_s = started.elapsed().as_secs_f64();
    let joined = clients.len();
    let (stop, stopped) = watch::channel(false);
    let dropped = Arc::new(AtomicUsize::new(0));
    let mut holding = JoinSet::new();
    for (_, mut client) in clients {
        let (mut stopped, dropped) = (stopped.clone(), dropped.clone());
        holding.spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|stop| *stop) => break,
                    message = client.next_text() => match message {
                        Ok(Some(_)) => {}
                        // Dropped by the server while idle.
                        Ok(None) | Err(_) => {
                            dropped.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                }
            }
            let _ = tokio::time::timeout(
                Duration::from_secs(1),
                client.ws.close(duplex::CloseCode::NORMAL, ""),
            )
            .await;
        });
    }
    tokio::time::sleep(args.hold).await;
    let after = pid.map(sys::rss_bytes).transpose()?;
    let dropped = dropped.load(Ordering::Relaxed);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while holding.join_next().await.is_some() {}
    })
    .await;

    let live = joined.saturating_sub(dropped).max(1) as f64;
    let per_client = before.zip(after).map(|(b, a)| (a as f64 - b as f64) / live);
    let mut report = Report::new(
        "hub-idle",
        format!(
            "duplex bench hub idle {} ({}): {} clients x {} subscriptions over {} channels, \
             held {:.1} s",
            args.target.common.url,
            hub.protocol_name(),
            layout.clients,
            layout.subs_per_client,
            layout.channels,
            args.hold.as_secs_f64()
        ),
    );
    hub.describe(&mut report);
    report.field("clients", layout.clients);
    report.field("channels", layout.channels);
    report.field("subs_per_client", layout.subs_per_client);
    report.field("joined", joined);
    report.field("dropped", dropped);
    report.field("open_s", report::round(open_s, 3));
    report.row(
        "joined",
        format!(
            "{} of {} in {open_s:.1} s ({:.0}/s); {dropped} dropped while held",
            joined,
            layout.clients,
            joined as f64 / open_s.max(1e-9)
        ),
    );
    if let (Some(before), Some(after), Some(per)) = (before, after, per_client) {
        report.field("server_rss_before", before);
        report.field("server_rss_after", after);
        report.field("bytes_per_client", per.round());
        report.row(
            "server memory",
            format!(
                "{} -> {}: {} per client",
                report::bytes(before as f64),
                report::bytes(after as f64),
                report::bytes(per)
            ),
        );
    }
    errors.report(&mut report);
    report.print(args.target.common.json);
    anyhow::ensure!(joined > 0, "no client could join");
    Ok(())
}
