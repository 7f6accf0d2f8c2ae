//! The memory engine's own promise beyond the contract: its memory is bounded by what is live.
//! Idle channels are forgotten by the inline sweep, and the stream limit holds.

use std::sync::Arc;
use std::time::Duration;

use super::{MemoryBroker, MemoryConfig, MemoryPresence};
use crate::engine::{
    Broker, BrokerEvents, ClientInfo, EngineError, HistoryQuery, PresenceManager, Publication,
    PublishOptions, StreamOptions,
};

struct Ignore;

impl BrokerEvents for Ignore {
    fn on_publication(&self, _: &str, _: &Publication, _: &str) {}
    fn on_join(&self, _: &str, _: &ClientInfo) {}
    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

fn quick_sweeps(max_streams: usize) -> MemoryConfig {
    MemoryConfig {
        sweep_interval: Duration::from_millis(50),
        max_streams,
        ..MemoryConfig::default()
    }
}

fn short_lived() -> StreamOptions {
    StreamOptions {
        size: 10,
        ttl: Duration::from_millis(50),
        meta_ttl: Some(Duration::from_millis(100)),
    }
}

async fn started(config: MemoryConfig) -> MemoryBroker {
    let broker = MemoryBroker::new(config);
    broker.start(Arc::new(Ignore)).await.unwrap();
    broker
}

#[tokio::test]
async fn idle_channels_are_forgotten_by_the_sweep() {
    let broker = started(quick_sweeps(1_000)).await;
    let options = PublishOptions {
        stream: Some(short_lived()),
        ..PublishOptions::default()
    };
    for n in 0..100 {
        let channel = format!("idle:{n}");
        broker
            .publish(&channel, Publication::default(), &options)
            .await
            .unwrap();
        broker
            .history(&channel, &HistoryQuery::default(), &short_lived())
            .await
            .unwrap();
    }
    assert_eq!(broker.stream_count(), 100);
    tokio::time::sleep(Duration::from_millis(250)).await;
    broker
        .history("live", &HistoryQuery::default(), &short_lived())
        .await
        .unwrap();
    assert_eq!(
        broker.stream_count(),
        1,
        "only the channel just read is left"
    );
}

#[tokio::test]
async fn the_stream_limit_forgets_empty_streams_then_refuses() {
    let broker = started(quick_sweeps(2)).await;
    let keep = StreamOptions::new(10, Duration::from_secs(60));
    let options = PublishOptions {
        stream: Some(keep.clone()),
        ..PublishOptions::default()
    };
    broker
        .publish("a", Publication::default(), &options)
        .await
        .unwrap();
    // A read of an unknown channel takes the second place, with nothing kept in it.
    broker
        .history("read-only", &HistoryQuery::default(), &keep)
        .await
        .unwrap();
    broker
        .publish("b", Publication::default(), &options)
        .await
        .unwrap();
    assert_eq!(broker.stream_count(), 2, "the empty stream made room");

    let refused = broker.publish("c", Publication::default(), &options).await;
    assert!(
        matches!(refused, Err(EngineError::Unavailable(_))),
        "{refused:?}"
    );
    let page = broker
        .history("d", &HistoryQuery::default(), &keep)
        .await
        .unwrap();
    assert_eq!(page.position.offset, 0, "a read at the limit still answers");
    assert_eq!(broker.stream_count(), 2);
    let delivered = broker
        .publish("c", Publication::default(), &PublishOptions::default())
        .await;
    assert!(
        delivered.is_ok(),
        "publishing without history needs no stream"
    );
}

#[tokio::test]
async fn presence_of_gone_clients_is_forgotten() {
    let presence = MemoryPresence::new(quick_sweeps(10));
    for n in 0..50 {
        let info = ClientInfo {
            user: "u".into(),
            client: format!("c{n}"),
            ..ClientInfo::default()
        };
        let channel = format!("room:{n}");
        presence
            .add_presence(&channel, &info, Duration::from_millis(50))
            .await
            .unwrap();
    }
    assert_eq!(presence.channel_count(), 50);
    tokio::time::sleep(Duration::from_millis(150)).await;
    presence.presence_stats("another").await.unwrap();
    assert_eq!(presence.channel_count(), 0);
}
