//! The live dashboard's feed: once a second, the hub's own figures (`Hub::stats`, the same
//! counters `/metrics` serves) as rates over the last second, published into `metrics:hub`.
//!
//! The channel keeps a few minutes of history, so a dashboard opened late draws its charts
//! at once; its namespace conflates, so a slow dashboard gets the latest point, never a
//! backlog.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use duplex_hub::{Hub, Stats};
use serde_json::{json, Value};

/// Where the figures go.
pub const CHANNEL: &str = "metrics:hub";

/// How often.
const PERIOD: Duration = Duration::from_secs(1);

/// Publishes the hub's figures every second until the hub stops taking publications.
pub async fn run(hub: Hub) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut before = (hub.stats(), Instant::now());
    loop {
        ticks.tick().await;
        let now = (hub.stats(), Instant::now());
        let info = hub.info();
        let point = point(
            &before.0,
            &now.0,
            now.1 - before.1,
            info.num_users,
            info.num_channels,
        );
        if let Err(error) = hub.publish(CHANNEL, point.to_string()).await {
            tracing::debug!(%error, "the dashboard feed stops");
            return;
        }
        before = now;
    }
}

/// One point of the dashboard: gauges as they are, counters as rates over `elapsed`, command
/// latency percentiles over the same window (null when no command was answered).
fn point(before: &Stats, now: &Stats, elapsed: Duration, users: usize, channels: usize) -> Value {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = |now: u64, before: u64| (now.saturating_sub(before) as f64 / seconds).round();
    let latency = now.command_latency.since(&before.command_latency);
    let millis = |q: f64| {
        latency
            .quantile(q)
            .map(|took| (took.as_secs_f64() * 1e5).round() / 100.0)
    };
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    json!({
        "t": t,
        "connections": now.connections,
        "users": users,
        "channels": channels,
        "subscriptions": now.subscriptions,
        "commands_per_second": rate(now.commands, before.commands),
        "publications_per_second": rate(now.publications, before.publications),
        "deliveries_per_second": rate(now.deliveries, before.deliveries),
        "dropped_per_second": rate(now.dropped, before.dropped),
        "latency_ms": {"p50": millis(0.5), "p90": millis(0.9), "p99": millis(0.99)},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_become_rates_over_the_window() {
        let before = Stats {
            deliveries: 100,
            publications: 10,
            ..Stats::default()
        };
        let now = Stats {
            connections: 3,
            deliveries: 1100,
            publications: 30,
            ..Stats::default()
        };
        let point = point(&before, &now, Duration::from_secs(2), 2, 5);
        assert_eq!(point["deliveries_per_second"], 500.0);
        assert_eq!(point["publications_per_second"], 10.0);
        assert_eq!(point["connections"], 3);
        assert_eq!(
            (point["users"].as_u64(), point["channels"].as_u64()),
            (Some(2), Some(5))
        );
        assert!(point["latency_ms"]["p99"].is_null());
    }
}
