//! `duplex bench hub fanout`: publications through the server API, fanned out to subscribers
//! over the hub's client protocol; scenarios H1 (one channel, many subscribers) and H2 (many
//! channels, several subscriptions per client) of the hub benchmark.
//!
//! One publish stream per channel: a channel's next publication is requested once the server
//! answered the previous one, at the channel's share of `--rate` (in bursts when the server is
//! slower than that). That is what lets every subscriber check each channel's stream: every
//! sequence number once, in order. Latency runs from the publish request to the kernel's
//! receive timestamp on the subscriber's socket, so a busy loader does not inflate it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::open_clients;
use super::protocol::{channels_of, Client, Hub, Publisher};
use super::stamp::{stamps_in, Stamp};
use crate::args::HubFanoutArgs;
use crate::bench::report::{self, Errors, Latencies, Report};
use crate::bench::{CpuUse, Phases};

/// How long subscribers may take to get the last publications once publishing stopped.
const DRAIN: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Counts {
    delivered: AtomicU64,
    measured: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    out_of_order: AtomicU64,
    published: AtomicU64,
    /// Publications sent in the measured window: below the rate when the server is slower.
    published_measured: AtomicU64,
    publish_failed: AtomicU64,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: HubFanoutArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.size >= 64, "--size must be at least 64 bytes");
    anyhow::ensure!(args.rate > 0, "--rate must be at least 1");
    let layout = &args.layout;
    let hub = Arc::new(Hub::new(&args.target).await?);
    let publisher = Publisher::new(&args.target)?;
    let errors = Arc::new(Errors::default());
    let clock = Instant::now();
    let clock_realtime_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;

    let clients = open_clients(&hub, layout, &errors).await?;
    anyhow::ensure!(
        !clients.is_empty(),
        "no client could join ({})",
        errors.first().unwrap_or_default()
    );
    // Let the server settle every subscription before counting on it.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let counts = Arc::new(Counts::default());
    let latencies = Arc::new(Latencies::new());
    let phases = Phases::starting_now(args.warmup, args.duration);
    let cpu = tokio::spawn(CpuUse::measure(phases, args.target.server_pid));
    // Once publishing is over: how many publications each channel got.
    let (done_tx, done) = watch::channel(None::<End>);
    let mut receivers = JoinSet::new();
    let mut expected_deliveries_per_channel = vec![0u64; layout.channels.max(1)];
    for (index, client) in clients {
        let channels = channels_of(index, layout.subs_per_client, layout.channels);
        for c in &channels {
            expected_deliveries_per_channel[*c as usize] += 1;
        }
        let (counts, latencies, errors, done) = (
            counts.clone(),
            latencies.clone(),
            errors.clone(),
            done.clone(),
        );
        receivers.spawn(receive(
            client,
            channels,
            phases,
            clock,
            clock_realtime_ns,
            counts,
            latencies,
            errors,
            done,
        ));
    }

    let bar = crate::bench::progress(args.warmup + args.duration, Arc::new(AtomicU64::new(0)), "");
    let channels = layout.channels.max(1);
    // The publishers run on a thread of their own: on the receivers' thread, each answer of
    // the server API would wait behind the deliveries of the publication it answers, and one
    // stream per channel would publish at the loader's pace, not the server's.
    let (published_tx, published_rx) = tokio::sync::oneshot::channel();
    let streams = Streams {
        publisher,
        hub: hub.clone(),
        counts: counts.clone(),
        errors: errors.clone(),
        channels,
        rate: args.rate as f64,
        size: args.size,
        phases,
        clock,
    };
    std::thread::Builder::new()
        .name("publishers".into())
        .spawn(move || {
            // Sharing one core with the receivers, the publishers wait for the scheduler's
            // slice to end (milliseconds) after each answer; a higher priority lets them run
            // as soon as an answer arrives. Unprivileged, the call fails and nothing changes.
            // SAFETY: gettid and setpriority take no pointers.
            unsafe {
                let thread = libc::gettid();
                libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, -20);
            }
            let published = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .map(|runtime| runtime.block_on(streams.run()));
            let _ = published_tx.send(published);
        })?;
    let published = published_rx
        .await
        .map_err(|_| anyhow::anyhow!("the publishers' thread ended early"))??;
    bar.finish_and_clear();
    let published = Arc::new(published);
    let end = |give_up| End {
        published: published.clone(),
        give_up,
    };
    let _ = done_tx.send(Some(end(false)));
    let _ = tokio::time::timeout(DRAIN, async {
        while receivers.join_next().await.is_some() {}
    })
    .await;
    if !receivers.is_empty() {
        errors.add(format!(
            "{} subscribers still waiting after {DRAIN:?}",
            receivers.len()
        ));
        // They stop now and count what they never got as lost (see `receive`).
        let _ = done_tx.send(Some(end(true)));
        while receivers.join_next().await.is_some() {}
    }
    let cpu = cpu.await??;

    let seconds = args.duration.as_secs_f64();
    let measured = counts.measured.load(Ordering::Relaxed);
    let total_published: u64 = published.iter().sum();
    let expected: u64 = published
        .iter()
        .zip(&expected_deliveries_per_channel)
        .map(|(p, subs)| p * subs)
        .sum();
    let delivered = counts.delivered.load(Ordering::Relaxed);
    let lost = counts.lost.load(Ordering::Relaxed);
    let (duplicated, out_of_order) = (
        counts.duplicated.load(Ordering::Relaxed),
        counts.out_of_order.load(Ordering::Relaxed),
    );
    let rate = measured as f64 / seconds;
    let mut report = Report::new(
        "hub-fanout",
        format!(
            "duplex bench hub fanout {} ({}): {} clients x {} subscriptions over {} channels, \
             {} publications/s of {} B, {seconds:.1} s (after {:.1} s warmup)",
            args.target.common.url,
            hub.protocol_name(),
            layout.clients,
            layout.subs_per_client,
            channels,
            args.rate,
            args.size,
            args.warmup.as_secs_f64()
        ),
    );
    let publish_failed = counts.publish_failed.load(Ordering::Relaxed);
    let publish_rate = counts.published_measured.load(Ordering::Relaxed) as f64 / seconds;
    hub.describe(&mut report);
    for (name, value) in [
        ("clients", serde_json::Value::from(layout.clients)),
        ("channels", channels.into()),
        ("subs_per_client", layout.subs_per_client.into()),
        ("rate", args.rate.into()),
        ("size", args.size.into()),
        ("duration_s", seconds.into()),
        ("published", total_published.into()),
        ("publish_failed", publish_failed.into()),
        ("publish_rate", report::round(publish_rate, 1).into()),
        ("expected_deliveries", expected.into()),
        ("delivered", delivered.into()),
        ("deliveries", measured.into()),
        ("deliveries_per_s", report::round(rate, 1).into()),
        ("lost", lost.into()),
        ("duplicated", duplicated.into()),
        ("out_of_order", out_of_order.into()),
    ] {
        report.field(name, value);
    }
    report.row(
        "published",
        format!(
            "{} in all; {publish_rate:.0}/s in the measured window (asked: {}/s); \
             {publish_failed} refused",
            report::count(total_published),
            args.rate
        ),
    );
    report.row(
        "deliveries",
        format!(
            "{} in the measured window ({}/s); {} of {} expected in all",
            report::count(measured),
            report::count(rate as u64),
            report::count(delivered),
            report::count(expected)
        ),
    );
    report.row(
        "lost",
        format!("{lost} (duplicated: {duplicated}, out of order: {out_of_order})"),
    );
    let (latency_text, latency_json) = latencies.summary();
    report.row("latency publish→receive", latency_text);
    report.field("latency_us", latency_json);
    cpu.report(&mut report, measured, "delivery", seconds);
    errors.report(&mut report);
    report.print(args.target.common.json);
    if lost > 0 || duplicated > 0 || out_of_order > 0 {
        anyhow::bail!(
            "{lost} deliveries lost, {duplicated} duplicated, {out_of_order} out of order"
        );
    }
    Ok(())
}

/// One publish stream per channel, at the channel's share of the rate.
struct Streams {
    publisher: Publisher,
    hub: Arc<Hub>,
    counts: Arc<Counts>,
    errors: Arc<Errors>,
    channels: usize,
    rate: f64,
    size: usize,
    phases: Phases,
    clock: Instant,
}

impl Streams {
    /// Publishes until the measured window ends; returns how many each channel got.
    async fn run(self) -> Vec<u64> {
        let this = Arc::new(self);
        let started = Instant::now();
        let mut streams = JoinSet::new();
        for channel in 0..this.channels as u32 {
            streams.spawn(this.clone().stream(channel, started));
        }
        let mut published = vec![0u64; this.channels];
        while let Some(done) = streams.join_next().await {
            if let Ok((channel, count)) = done {
                published[channel as usize] = count;
            }
        }
        published
    }

    async fn stream(self: Arc<Self>, channel: u32, started: Instant) -> (u32, u64) {
        let name = self.hub.channel(channel);
        let stop_at = self.phases.stop_at;
        let mut seq = 0u64;
        loop {
            let due = (seq as f64 * self.channels as f64 + channel as f64) / self.rate;
            let at = started + Duration::from_secs_f64(due);
            // A server slower than the rate makes the stream fall behind its schedule: it then
            // publishes back to back, and stops on time all the same.
            if at >= stop_at || Instant::now() >= stop_at {
                break;
            }
            tokio::time::sleep_until(at).await;
            let now = Instant::now();
            let stamp = Stamp {
                channel,
                seq,
                sent_ns: now.duration_since(self.clock).as_nanos() as u64,
            };
            match self.publisher.publish(&name, &stamp.data(self.size)).await {
                Ok(()) => {
                    self.counts.published.fetch_add(1, Ordering::Relaxed);
                    if self.phases.measures(now) {
                        self.counts
                            .published_measured
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    seq += 1;
                }
                Err(e) => {
                    // Not retried at once, and its number is reused: the subscribers' streams
                    // stay gapless.
                    self.counts.publish_failed.fetch_add(1, Ordering::Relaxed);
                    self.errors.add(format!("publish: {e:#}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        (channel, seq)
    }
}

/// What the subscribers learn when publishing is over.
#[derive(Clone)]
struct End {
    /// Publications per channel.
    published: Arc<Vec<u64>>,
    /// Stop waiting for the rest.
    give_up: bool,
}

/// One subscriber: checks each of its channels' streams and times what it gets.
#[allow(clippy::too_many_arguments)]
async fn receive(
    mut client: Client,
    channels: Vec<u32>,
    phases: Phases,
    clock: Instant,
    clock_realtime_ns: u64,
    counts: Arc<Counts>,
    latencies: Arc<Latencies>,
    errors: Arc<Errors>,
    mut done: watch::Receiver<Option<End>>,
) {
    // The next sequence number expected in each of `channels`.
    let mut next = vec![0u64; channels.len()];
    let mut stamps = Vec::with_capacity(8);
    let mut samples = Vec::with_capacity(1024);
    let finished = |next: &[u64], end: &Option<End>| {
        end.as_ref().is_some_and(|end| {
            end.give_up
                || channels
                    .iter()
                    .zip(next)
                    .all(|(c, n)| *n >= end.published.get(*c as usize).copied().unwrap_or(0))
        })
    };
    loop {
        let message = tokio::select! {
            message = client.next_text() => message,
            _ = done.wait_for(|end| finished(&next, end)) => break,
        };
        let message = match message {
            Ok(Some(message)) => message,
            Ok(None) | Err(_) => {
                errors.add("a subscriber was disconnected");
                break;
            }
        };
        stamps.clear();
        stamps_in(message.as_text().unwrap_or_default(), &mut stamps);
        let received = client.ws.get_ref().received_ns();
        for stamp in &stamps {
            let Some(slot) = channels.iter().position(|c| *c == stamp.channel) else {
                errors.add(format!(
                    "a publication of channel {} it never subscribed to",
                    stamp.channel
                ));
                continue;
            };
            let expected = next[slot];
            if stamp.seq < expected {
                counts.duplicated.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if stamp.seq > expected {
                counts.out_of_order.fetch_add(1, Ordering::Relaxed);
                counts
                    .lost
                    .fetch_add(stamp.seq - expected, Ordering::Relaxed);
            }
            next[slot] = stamp.seq + 1;
            counts.delivered.fetch_add(1, Ordering::Relaxed);
            let sent_at = clock + Duration::from_nanos(stamp.sent_ns);
            if phases.measures(sent_at) {
                counts.measured.fetch_add(1, Ordering::Relaxed);
                if let Some(received) = received {
                    let sent = clock_realtime_ns + stamp.sent_ns;
                    samples.push(Duration::from_nanos(received.saturating_sub(sent)));
                }
                if samples.len() == samples.capacity() {
                    latencies.record(&mut samples);
                }
            }
        }
    }
    latencies.record(&mut samples);
    // What never came is lost.
    let end = done.borrow().clone();
    if let Some(end) = end {
        for (c, n) in channels.iter().zip(&next) {
            let count = end.published.get(*c as usize).copied().unwrap_or(0);
            counts
                .lost
                .fetch_add(count.saturating_sub(*n), Ordering::Relaxed);
        }
    }
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        client.ws.close(duplex::CloseCode::NORMAL, ""),
    )
    .await;
}
