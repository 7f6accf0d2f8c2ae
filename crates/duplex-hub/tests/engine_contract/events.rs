//! Delivery: what the hub receives through `BrokerEvents` — in offset order, exactly once, only
//! after the publication is in history, only for subscribed channels.

use std::sync::{Arc, Mutex, OnceLock};

use duplex_hub::engine::{
    Broker, BrokerEvents, ClientInfo, Engine, EngineError, HistoryQuery, Publication,
    PublishOptions, StreamOptions, StreamPosition,
};

use crate::support::{channel, client, into, started, stream, text, Event, EVENT_TIMEOUT};

/// A hub stand-in that, on each publication, reads history back through the broker and records
/// whether the publication was already there.
struct HistoryChecker {
    broker: OnceLock<Arc<dyn Broker>>,
    runtime: tokio::runtime::Handle,
    stream: StreamOptions,
    seen: Mutex<Vec<Publication>>,
    problems: Mutex<Vec<String>>,
}

impl HistoryChecker {
    fn check(&self, channel: &str, publication: &Publication, epoch: &str) -> Result<(), String> {
        let broker = self.broker.get().ok_or("no broker")?;
        let query = HistoryQuery {
            since: Some(StreamPosition {
                offset: publication.offset - 1,
                epoch: epoch.to_owned(),
            }),
            limit: Some(1),
            reverse: false,
        };
        // The callback is synchronous; a real hub would not wait here, but waiting proves the
        // publication is readable at the moment its event fires (and that the engine holds no
        // lock a reader needs while delivering).
        let page = tokio::task::block_in_place(|| {
            self.runtime
                .block_on(broker.history(channel, &query, &self.stream))
        })
        .map_err(|e| format!("offset {}: {e}", publication.offset))?;
        match page.publications.first() {
            Some(kept) if kept == publication => Ok(()),
            other => Err(format!(
                "offset {}: history has {other:?}",
                publication.offset
            )),
        }
    }
}

impl BrokerEvents for HistoryChecker {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        if let Err(problem) = self.check(channel, publication, epoch) {
            self.problems.lock().unwrap().push(problem);
        }
        self.seen.lock().unwrap().push(publication.clone());
    }

    fn on_join(&self, _: &str, _: &ClientInfo) {}

    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

pub async fn events_follow_offset_order_under_concurrent_publishers(engine: Engine) {
    const PUBLISHERS: usize = 8;
    const EACH: usize = 125;
    let (ch, stream) = (channel("order"), stream(PUBLISHERS * EACH));
    let checker = Arc::new(HistoryChecker {
        broker: OnceLock::new(),
        runtime: tokio::runtime::Handle::current(),
        stream: stream.clone(),
        seen: Mutex::new(Vec::new()),
        problems: Mutex::new(Vec::new()),
    });
    let _ = checker.broker.set(engine.broker.clone());
    engine.broker.start(checker.clone()).await.unwrap();
    engine.broker.subscribe(&ch).await.unwrap();

    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|publisher| {
            let (broker, ch, options) = (engine.broker.clone(), ch.clone(), into(&stream));
            tokio::spawn(async move {
                for n in 0..EACH {
                    let data = format!("{publisher}/{n}");
                    broker.publish(&ch, text(&data), &options).await.unwrap();
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
    while checker.seen.lock().unwrap().len() < PUBLISHERS * EACH
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    let seen = checker.seen.lock().unwrap().clone();
    let expected: Vec<u64> = (1..=(PUBLISHERS * EACH) as u64).collect();
    assert_eq!(
        seen.iter().map(|p| p.offset).collect::<Vec<_>>(),
        expected,
        "each once, in order"
    );
    // Each publisher's own publications keep the order it published them in.
    for publisher in 0..PUBLISHERS {
        let prefix = format!("{publisher}/");
        let own: Vec<String> = seen
            .iter()
            .filter_map(|p| String::from_utf8(p.data.to_vec()).ok())
            .filter(|d| d.starts_with(&prefix))
            .collect();
        let in_order: Vec<String> = (0..EACH).map(|n| format!("{prefix}{n}")).collect();
        assert_eq!(own, in_order);
    }
    assert_eq!(*checker.problems.lock().unwrap(), Vec::<String>::new());
}

pub async fn only_subscribed_channels_produce_events(engine: Engine) {
    let recorder = started(&engine).await;
    let ch = channel("subscribed");
    let options = PublishOptions::default();
    engine
        .broker
        .publish(&ch, text("before"), &options)
        .await
        .unwrap();
    engine.broker.subscribe(&ch).await.unwrap();
    engine.broker.subscribe(&ch).await.unwrap();
    engine
        .broker
        .publish(&ch, text("during"), &options)
        .await
        .unwrap();
    recorder.wait_for(1).await;
    engine.broker.unsubscribe(&ch).await.unwrap();
    engine
        .broker
        .publish(&ch, text("after"), &options)
        .await
        .unwrap();

    let data: Vec<_> = recorder
        .settled()
        .await
        .into_iter()
        .map(|event| match event {
            Event::Publication { publication, .. } => publication.data,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(data, ["during"], "subscribing twice is one subscription");
}

pub async fn join_and_leave_reach_subscribers(engine: Engine) {
    let recorder = started(&engine).await;
    let (ch, unwatched) = (channel("presence-events"), channel("unwatched"));
    engine.broker.subscribe(&ch).await.unwrap();
    let alice = client("alice", "c1");
    engine
        .broker
        .publish_join(&unwatched, &alice)
        .await
        .unwrap();
    engine.broker.publish_join(&ch, &alice).await.unwrap();
    engine.broker.publish_leave(&ch, &alice).await.unwrap();

    recorder.wait_for(2).await;
    let expected = [
        Event::Join {
            channel: ch.clone(),
            info: alice.clone(),
        },
        Event::Leave {
            channel: ch.clone(),
            info: alice,
        },
    ];
    assert_eq!(recorder.settled().await, expected);
}

pub async fn publish_before_start_is_unavailable(engine: Engine) {
    let ch = channel("unstarted");
    let published = engine
        .broker
        .publish(&ch, text("early"), &into(&stream(10)))
        .await;
    assert!(
        matches!(published, Err(EngineError::Unavailable(_))),
        "{published:?}"
    );
    started(&engine).await;
    let again = engine
        .broker
        .start(Arc::new(crate::support::Recorder::default()))
        .await;
    assert!(again.is_err(), "a broker has one events receiver");
    assert!(engine
        .broker
        .publish(&ch, text("now"), &into(&stream(10)))
        .await
        .is_ok());
}
