//! The hub's Prometheus metrics, served as text at `/metrics`: connections, subscriptions,
//! publications in, deliveries out, drops, disconnects by code, recoveries, and command
//! latency by method, and the rows each outbox consumer processed or failed on.

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
    latency: Latency,
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

fn latency_histogram() -> Histogram {
    // 50 µs to about 3 s.
    Histogram::new(exponential_buckets(0.00005, 3.0, 11))
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
            latency,
            consumer_processed,
            consumer_errors,
            webhooks,
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
        self.latency
            .get_or_create(&MethodLabels { method })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn published(&self) {
        self.publications.inc();
    }

    pub(crate) fn delivered(&self, delivered: u64, dropped: u64) {
        self.deliveries.inc_by(delivered);
        self.dropped.inc_by(dropped);
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
