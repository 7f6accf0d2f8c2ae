//! The hub's Prometheus metrics, served as text at `/metrics`: connections, subscriptions,
//! publications in, deliveries out, drops, disconnects by code, recoveries, and command
//! latency by method, and the rows each outbox consumer processed or failed on. The same
//! figures are readable in process as a [`Stats`] snapshot (`Hub::stats`), for a dashboard that
//! lives beside the hub rather than in Prometheus.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::codes::Disconnect;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DisconnectLabels {
    code: u16,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RecoveryLabels {
    recovered: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabels {
    consumer: String,
}

type Latency = Family<MethodLabels, Histogram, fn() -> Histogram>;

/// The hub's counters, gauges and histograms, and the registry that prints them.
pub(crate) struct Metrics {
    registry: Registry,
    connections: Gauge,
    subscriptions: Gauge,
    commands: Counter,
    publications: Counter,
    deliveries: Counter,
    dropped: Counter,
    disconnects: Family<DisconnectLabels, Counter>,
    recoveries: Family<RecoveryLabels, Counter>,
    subscriber_history_reads: Counter,
    latency: Latency,
    /// Every method's command latency in the histogram's buckets, readable in process (the
    /// Prometheus histogram keeps its counts to itself).
    all_latency: [AtomicU64; LATENCY_SLOTS],
    consumer_processed: Family<ConsumerLabels, Counter>,
    consumer_errors: Family<ConsumerLabels, Counter>,
    webhooks: WebhookMetrics,
}

/// The webhook counters, shared with the webhook worker (the counters are handles onto the
/// same values the registry prints).
#[derive(Clone, Default)]
pub(crate) struct WebhookMetrics {
    events: Counter,
    delivered: Counter,
    failed_attempts: Counter,
    dropped: Counter,
    owed: Gauge,
}

impl WebhookMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "webhook_events",
            "Disconnect and unsubscribe events queued for the application's webhook",
            self.events.clone(),
        );
        registry.register(
            "webhook_delivered",
            "Webhook events the application answered with a 2xx",
            self.delivered.clone(),
        );
        registry.register(
            "webhook_failed_attempts",
            "Webhook attempts that failed (a non-2xx answer, a timeout or a network error)",
            self.failed_attempts.clone(),
        );
        registry.register(
            "webhook_dropped",
            "Webhook events dropped, oldest first, because webhook.max_queue were owed",
            self.dropped.clone(),
        );
        registry.register(
            "webhook_owed",
            "Webhook events queued and not yet delivered",
            self.owed.clone(),
        );
    }

    pub(crate) fn queued(&self) {
        self.events.inc();
    }

    pub(crate) fn delivered(&self) {
        self.delivered.inc();
    }

    pub(crate) fn dropped(&self, dropped: usize) {
        self.dropped.inc_by(dropped as u64);
    }

    pub(crate) fn failed(&self) {
        self.failed_attempts.inc();
    }

    pub(crate) fn owed(&self, owed: usize) {
        self.owed.set(owed as i64);
    }
}

/// Command latency buckets: 50 µs to about 3 s, each bound three times the one before.
const LATENCY_START: f64 = 0.000_05;
const LATENCY_FACTOR: f64 = 3.0;
const LATENCY_BOUNDS: u16 = 11;
/// The finite buckets and the one past the last bound.
const LATENCY_SLOTS: usize = LATENCY_BOUNDS as usize + 1;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(
        LATENCY_START,
        LATENCY_FACTOR,
        LATENCY_BOUNDS,
    ))
}

/// The upper bound of each finite latency bucket, in seconds.
fn latency_bounds() -> impl Iterator<Item = f64> {
    exponential_buckets(LATENCY_START, LATENCY_FACTOR, LATENCY_BOUNDS)
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("duplex_hub");
        let connections = Gauge::default();
        let subscriptions = Gauge::default();
        let commands = Counter::default();
        let publications = Counter::default();
        let deliveries = Counter::default();
        let dropped = Counter::default();
        let disconnects = Family::<DisconnectLabels, Counter>::default();
        let recoveries = Family::<RecoveryLabels, Counter>::default();
        let subscriber_history_reads = Counter::default();
        let latency: Latency = Family::new_with_constructor(latency_histogram);
        let consumer_processed = Family::<ConsumerLabels, Counter>::default();
        let consumer_errors = Family::<ConsumerLabels, Counter>::default();
        registry.register(
            "connections",
            "Client connections open (WebSocket, HTTP-streaming, SSE), connected or still before their connect command",
            connections.clone(),
        );
        registry.register(
            "subscriptions",
            "Channel subscriptions held",
            subscriptions.clone(),
        );
        registry.register("commands", "Client commands received", commands.clone());
        registry.register(
            "publications",
            "Publications published",
            publications.clone(),
        );
        registry.register(
            "deliveries",
            "Publications queued to subscribers",
            deliveries.clone(),
        );
        registry.register(
            "dropped",
            "Publications not delivered to a slow subscriber (dropped or conflated)",
            dropped.clone(),
        );
        registry.register(
            "disconnects",
            "Connections closed by the server, by code",
            disconnects.clone(),
        );
        registry.register(
            "recoveries",
            "Subscriptions that asked to recover",
            recoveries.clone(),
        );
        registry.register(
            "subscriber_history_reads",
            "Engine reads of a channel's stream for subscribes (recovery, position); concurrent reads of one channel share one",
            subscriber_history_reads.clone(),
        );
        registry.register(
            "command_duration_seconds",
            "Time to answer a client command, by method",
            latency.clone(),
        );
        registry.register(
            "consumer_processed",
            "Outbox rows a consumer dispatched and removed, by consumer",
            consumer_processed.clone(),
        );
        registry.register(
            "consumer_errors",
            "Consumer failures (database unreachable, a transaction or a command failed), by consumer",
            consumer_errors.clone(),
        );
        let webhooks = WebhookMetrics::default();
        webhooks.register(&mut registry);
        Metrics {
            registry,
            connections,
            subscriptions,
            commands,
            publications,
            deliveries,
            dropped,
            disconnects,
            recoveries,
            subscriber_history_reads,
            latency,
            all_latency: Default::default(),
            consumer_processed,
            consumer_errors,
            webhooks,
        }
    }

    /// The counters and gauges as they are now.
    pub(crate) fn stats(&self) -> Stats {
        let mut counts = [0; LATENCY_SLOTS];
        for (count, slot) in counts.iter_mut().zip(&self.all_latency) {
            *count = slot.load(Ordering::Relaxed);
        }
        Stats {
            connections: u64::try_from(self.connections.get()).unwrap_or(0),
            subscriptions: u64::try_from(self.subscriptions.get()).unwrap_or(0),
            commands: self.commands.get(),
            publications: self.publications.get(),
            deliveries: self.deliveries.get(),
            dropped: self.dropped.get(),
            command_latency: LatencyCounts { counts },
        }
    }

    /// The webhook counters.
    pub(crate) fn webhooks(&self) -> &WebhookMetrics {
        &self.webhooks
    }

    /// Connections open now, on every transport.
    pub(crate) fn open_connections(&self) -> i64 {
        self.connections.get()
    }

    pub(crate) fn connection_opened(&self) {
        self.connections.inc();
    }

    pub(crate) fn connection_closed(&self, why: Option<&Disconnect>) {
        self.connections.dec();
        if let Some(disconnect) = why {
            self.disconnects
                .get_or_create(&DisconnectLabels {
                    code: disconnect.code,
                    reason: disconnect.reason.to_string(),
                })
                .inc();
        }
    }

    pub(crate) fn subscribed(&self) {
        self.subscriptions.inc();
    }

    pub(crate) fn unsubscribed(&self) {
        self.subscriptions.dec();
    }

    pub(crate) fn command_received(&self) {
        self.commands.inc();
    }

    pub(crate) fn command_done(&self, method: &'static str, took: Duration) {
        let seconds = took.as_secs_f64();
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(seconds);
        // The first bucket whose bound is at least the value, as the histogram counts it.
        let slot = latency_bounds()
            .position(|bound| seconds <= bound)
            .unwrap_or(LATENCY_SLOTS - 1);
        self.all_latency[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn published(&self) {
        self.publications.inc();
    }

    /// The counters every fan-out of the node's subscription table adds to.
    pub(crate) fn fan_out_counters(&self) -> crate::node::channels::FanOutCounters {
        crate::node::channels::FanOutCounters {
            delivered: self.deliveries.clone(),
            dropped: self.dropped.clone(),
        }
    }

    /// The counter of engine reads for subscribers, handed to the node's shared reads.
    pub(crate) fn subscriber_history_reads(&self) -> Counter {
        self.subscriber_history_reads.clone()
    }

    pub(crate) fn recovery(&self, recovered: bool) {
        let recovered = if recovered { "true" } else { "false" };
        self.recoveries
            .get_or_create(&RecoveryLabels { recovered })
            .inc();
    }

    pub(crate) fn consumer_processed(&self, consumer: &str, rows: u64) {
        self.consumer_processed
            .get_or_create(&ConsumerLabels {
                consumer: consumer.to_owned(),
            })
            .inc_by(rows);
    }

    pub(crate) fn consumer_failed(&self, consumer: &str) {
        self.consumer_errors
            .get_or_create(&ConsumerLabels {
                consumer: consumer.to_owned(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// What the hub has done since it started, and holds now: a snapshot for a dashboard or a
/// health page in the same process (`/metrics` serves the same figures to Prometheus).
///
/// Counters only grow, so a rate is the difference between two snapshots:
///
/// ```no_run
/// # async fn example(hub: duplex_hub::Hub) {
/// let before = hub.stats();
/// tokio::time::sleep(std::time::Duration::from_secs(1)).await;
/// let now = hub.stats();
/// let deliveries_per_second = now.deliveries - before.deliveries;
/// let p99 = now.command_latency.since(&before.command_latency).quantile(0.99);
/// println!("{deliveries_per_second} deliveries/s, p99 {p99:?}");
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Client connections open now, on every transport.
    pub connections: u64,
    /// Channel subscriptions held now.
    pub subscriptions: u64,
    /// Client commands received.
    pub commands: u64,
    /// Publications published.
    pub publications: u64,
    /// Publications queued to subscribers.
    pub deliveries: u64,
    /// Publications not delivered to a slow subscriber (dropped or conflated).
    pub dropped: u64,
    /// Time to answer client commands, every method together.
    pub command_latency: LatencyCounts,
}

/// Command latencies counted in buckets (50 µs to about 3 s, ×3 each, and one past the last),
/// from which quantiles are estimated the way Prometheus's `histogram_quantile` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyCounts {
    counts: [u64; LATENCY_SLOTS],
}

impl LatencyCounts {
    /// How many latencies were counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The latencies counted after `earlier` (a snapshot of the same counts taken before).
    pub fn since(&self, earlier: &LatencyCounts) -> LatencyCounts {
        let mut counts = self.counts;
        for (count, before) in counts.iter_mut().zip(earlier.counts) {
            *count = count.saturating_sub(before);
        }
        LatencyCounts { counts }
    }

    /// The `q` quantile (0 to 1), interpolated within its bucket; `None` when nothing was
    /// counted. A quantile past the last bound is reported as that bound (about 3 s).
    ///
    /// ```
    /// let counts = duplex_hub::LatencyCounts::default();
    /// assert_eq!(counts.quantile(0.99), None);
    /// ```
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut below = 0u64;
        let mut lower = 0.0;
        for (bound, &count) in latency_bounds().zip(&self.counts) {
            if count > 0 && (below + count) as f64 >= rank {
                let within = (rank - below as f64) / count as f64;
                return Some(Duration::from_secs_f64(lower + (bound - lower) * within));
            }
            below += count;
            lower = bound;
        }
        Some(Duration::from_secs_f64(lower))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_commands_since_the_earlier_snapshot() {
        let metrics = Metrics::new();
        for _ in 0..100 {
            metrics.command_done("publish", Duration::from_micros(100));
        }
        let before = metrics.stats().command_latency;
        for _ in 0..99 {
            metrics.command_done("publish", Duration::from_micros(10));
        }
        metrics.command_done("subscribe", Duration::from_millis(2));
        let window = metrics.stats().command_latency.since(&before);
        assert_eq!(window.total(), 100);
        // 99 in the first bucket (0 to 50 µs), one in (1.35 ms, 4.05 ms].
        let p50 = window.quantile(0.5).unwrap();
        assert!(p50 <= Duration::from_micros(50), "{p50:?}");
        let p100 = window.quantile(1.0).unwrap();
        assert!(
            p100 > Duration::from_micros(1350) && p100 <= Duration::from_micros(4051),
            "{p100:?}"
        );
        assert_eq!(
            before.quantile(0.5).map(|d| d > Duration::from_micros(50)),
            Some(true)
        );
    }

    #[test]
    fn a_latency_past_the_last_bound_is_reported_as_that_bound() {
        let metrics = Metrics::new();
        metrics.command_done("rpc", Duration::from_secs(60));
        let last = latency_bounds().last().unwrap();
        assert_eq!(
            metrics.stats().command_latency.quantile(0.99),
            Some(Duration::from_secs_f64(last))
        );
        assert_eq!(LatencyCounts::default().quantile(0.5), None);
    }

    #[test]
    fn stats_count_what_the_hub_did() {
        let metrics = Metrics::new();
        metrics.connection_opened();
        metrics.connection_opened();
        metrics.connection_closed(None);
        metrics.subscribed();
        metrics.published();
        let fan_out = metrics.fan_out_counters();
        fan_out.delivered.inc_by(5);
        fan_out.dropped.inc_by(2);
        let stats = metrics.stats();
        assert_eq!(
            (stats.connections, stats.subscriptions, stats.publications),
            (1, 1, 1)
        );
        assert_eq!((stats.deliveries, stats.dropped), (5, 2));
    }
}
