//! The history stream: offsets and epochs, reads with limit/since/reverse, trimming and expiry,
//! and the positions a stream cannot continue from — which must fail, never skip.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use duplex_hub::engine::{
    Engine, EngineError, HistoryQuery, PublishOptions, StreamOptions, StreamPosition,
};

use crate::support::{channel, client, into, offsets, publications_in, started, stream, text};

/// Publishes `count` publications "0", "1", ... and returns their positions.
async fn publish_many(
    engine: &Engine,
    channel: &str,
    options: &PublishOptions,
    count: usize,
) -> Vec<StreamPosition> {
    let mut positions = Vec::new();
    for n in 0..count {
        let outcome = engine
            .broker
            .publish(channel, text(&n.to_string()), options)
            .await
            .unwrap();
        assert!(!outcome.suppressed);
        positions.push(outcome.position);
    }
    positions
}

fn since(offset: u64, epoch: &str, limit: Option<usize>, reverse: bool) -> HistoryQuery {
    HistoryQuery {
        since: Some(StreamPosition {
            offset,
            epoch: epoch.to_owned(),
        }),
        limit,
        reverse,
    }
}

fn all(limit: Option<usize>, reverse: bool) -> HistoryQuery {
    HistoryQuery {
        since: None,
        limit,
        reverse,
    }
}

pub async fn offsets_increase_by_one_from_one_in_one_epoch(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("offsets"), stream(100));
    let positions = publish_many(&engine, &ch, &into(&stream), 5).await;
    let epoch = positions[0].epoch.clone();
    assert!(!epoch.is_empty());
    assert!(positions.iter().all(|p| p.epoch == epoch));
    assert_eq!(
        positions.iter().map(|p| p.offset).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );

    let page = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap();
    assert_eq!(page.position, positions[4]);
    assert_eq!(offsets(&page.publications), [1, 2, 3, 4, 5]);
    assert_eq!(page.publications[2].data, Bytes::from("2"));
}

pub async fn history_honours_limit_and_reverse(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("limit"), stream(100));
    let top = publish_many(&engine, &ch, &into(&stream), 5)
        .await
        .pop()
        .unwrap();
    let read = |query: HistoryQuery| {
        let (broker, ch, stream) = (engine.broker.clone(), ch.clone(), stream.clone());
        async move { broker.history(&ch, &query, &stream).await.unwrap() }
    };

    assert_eq!(
        offsets(&read(all(Some(2), false)).await.publications),
        [1, 2]
    );
    assert_eq!(
        offsets(&read(all(Some(2), true)).await.publications),
        [5, 4]
    );
    assert_eq!(
        offsets(&read(all(None, true)).await.publications),
        [5, 4, 3, 2, 1]
    );
    assert_eq!(
        offsets(&read(all(Some(50), false)).await.publications),
        [1, 2, 3, 4, 5]
    );
    let position_only = read(all(Some(0), false)).await;
    assert!(position_only.publications.is_empty());
    assert_eq!(position_only.position, top);
}

pub async fn history_since_reads_after_or_before_a_position(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("since"), stream(100));
    let epoch = publish_many(&engine, &ch, &into(&stream), 5).await[0]
        .epoch
        .clone();
    let read = |query: HistoryQuery| {
        let (broker, ch, stream) = (engine.broker.clone(), ch.clone(), stream.clone());
        async move {
            offsets(
                &broker
                    .history(&ch, &query, &stream)
                    .await
                    .unwrap()
                    .publications,
            )
        }
    };

    assert_eq!(read(since(2, &epoch, None, false)).await, [3, 4, 5]);
    assert_eq!(read(since(2, &epoch, Some(2), false)).await, [3, 4]);
    assert_eq!(read(since(0, &epoch, None, false)).await, [1, 2, 3, 4, 5]);
    assert_eq!(read(since(5, &epoch, None, false)).await, Vec::<u64>::new());
    assert_eq!(read(since(4, &epoch, None, true)).await, [3, 2, 1]);
    assert_eq!(read(since(4, &epoch, Some(2), true)).await, [3, 2]);
    assert_eq!(read(since(1, &epoch, None, true)).await, Vec::<u64>::new());
}

pub async fn size_trimming_keeps_the_newest(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("trim"), stream(3));
    publish_many(&engine, &ch, &into(&stream), 10).await;
    let page = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap();
    assert_eq!(offsets(&page.publications), [8, 9, 10]);
    assert_eq!(page.publications[0].data, Bytes::from("7"));
    assert_eq!(page.position.offset, 10);
}

pub async fn publications_expire_after_their_ttl(engine: Engine) {
    started(&engine).await;
    let ch = channel("ttl");
    let stream = StreamOptions::new(100, Duration::from_millis(300));
    let positions = publish_many(&engine, &ch, &into(&stream), 2).await;
    let epoch = positions[0].epoch.clone();
    tokio::time::sleep(Duration::from_millis(600)).await;

    let page = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap();
    assert!(
        page.publications.is_empty(),
        "expired publications are not returned"
    );
    assert_eq!(
        page.position, positions[1],
        "the stream's position outlives its publications"
    );
    let at_top = engine
        .broker
        .history(&ch, &since(2, &epoch, None, false), &stream)
        .await;
    assert_eq!(at_top.unwrap().publications, []);
    let behind = engine
        .broker
        .history(&ch, &since(1, &epoch, None, false), &stream)
        .await;
    assert_eq!(behind, Err(EngineError::UnrecoverablePosition));

    let next = engine
        .broker
        .publish(&ch, text("again"), &into(&stream))
        .await
        .unwrap();
    assert_eq!(next.position, StreamPosition { offset: 3, epoch });
}

pub async fn positions_that_cannot_be_continued_are_unrecoverable(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("unrecoverable"), stream(3));
    let epoch = publish_many(&engine, &ch, &into(&stream), 10).await[0]
        .epoch
        .clone();
    let read = |query: HistoryQuery| {
        let (broker, ch, stream) = (engine.broker.clone(), ch.clone(), stream.clone());
        async move {
            broker
                .history(&ch, &query, &stream)
                .await
                .map(|p| offsets(&p.publications))
        }
    };
    let unrecoverable = Err(EngineError::UnrecoverablePosition);

    let other_epoch = format!("{epoch}-old");
    assert_eq!(
        read(since(9, &other_epoch, None, false)).await,
        unrecoverable,
        "another epoch"
    );
    assert_eq!(
        read(since(6, &epoch, None, false)).await,
        unrecoverable,
        "7 was trimmed: a gap"
    );
    assert_eq!(
        read(since(6, &epoch, Some(0), false)).await,
        unrecoverable,
        "even position only"
    );
    assert_eq!(
        read(since(7, &epoch, None, false)).await,
        Ok(vec![8, 9, 10]),
        "no gap at the edge"
    );
    assert_eq!(
        read(since(11, &epoch, None, false)).await,
        unrecoverable,
        "a future offset"
    );
}

pub async fn remove_history_keeps_epoch_and_offsets(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("remove"), stream(100));
    let top = publish_many(&engine, &ch, &into(&stream), 3)
        .await
        .pop()
        .unwrap();
    engine.broker.remove_history(&ch).await.unwrap();

    let page = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap();
    assert!(page.publications.is_empty());
    assert_eq!(page.position, top);
    let at_top = engine
        .broker
        .history(&ch, &since(3, &top.epoch, None, false), &stream)
        .await;
    assert_eq!(at_top.unwrap().publications, []);
    let behind = engine
        .broker
        .history(&ch, &since(1, &top.epoch, None, false), &stream)
        .await;
    assert_eq!(behind, Err(EngineError::UnrecoverablePosition));

    let next = engine
        .broker
        .publish(&ch, text("after"), &into(&stream))
        .await
        .unwrap();
    assert_eq!(
        next.position,
        StreamPosition {
            offset: 4,
            epoch: top.epoch
        }
    );
}

pub async fn meta_expiry_starts_a_new_epoch(engine: Engine) {
    started(&engine).await;
    let ch = channel("meta");
    let stream = StreamOptions {
        size: 100,
        ttl: Duration::from_millis(100),
        meta_ttl: Some(Duration::from_millis(300)),
    };
    let old = publish_many(&engine, &ch, &into(&stream), 2)
        .await
        .pop()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;

    let stale = engine
        .broker
        .history(&ch, &since(2, &old.epoch, None, false), &stream)
        .await;
    assert_eq!(stale, Err(EngineError::UnrecoverablePosition));
    let next = engine
        .broker
        .publish(&ch, text("new"), &into(&stream))
        .await
        .unwrap();
    assert_eq!(next.position.offset, 1);
    assert_ne!(next.position.epoch, old.epoch);
}

pub async fn a_channel_read_before_its_first_publish_keeps_its_epoch(engine: Engine) {
    started(&engine).await;
    let (ch, stream) = (channel("fresh"), stream(100));
    let before = engine
        .broker
        .history(&ch, &all(Some(0), false), &stream)
        .await
        .unwrap();
    assert_eq!(before.position.offset, 0);
    assert!(!before.position.epoch.is_empty());

    let first = engine
        .broker
        .publish(&ch, text("first"), &into(&stream))
        .await
        .unwrap();
    assert_eq!(
        first.position,
        StreamPosition {
            offset: 1,
            epoch: before.position.epoch.clone()
        }
    );
    let query = since(0, &before.position.epoch, None, false);
    let recovered = engine.broker.history(&ch, &query, &stream).await.unwrap();
    assert_eq!(offsets(&recovered.publications), [1]);
}

pub async fn publication_fields_round_trip(engine: Engine) {
    let recorder = started(&engine).await;
    let (ch, stream) = (channel("fields"), stream(100));
    engine.broker.subscribe(&ch).await.unwrap();
    let sent = duplex_hub::engine::Publication {
        offset: 99,
        data: Bytes::from_static(b"\x00binary\xff"),
        info: Some(client("42", "c1")),
        tags: BTreeMap::from([("kind".to_owned(), "note".to_owned())]),
        time_ms: 0,
        delta: true,
    };
    let outcome = engine
        .broker
        .publish(&ch, sent.clone(), &into(&stream))
        .await
        .unwrap();
    assert_eq!(outcome.position.offset, 1, "the engine assigns offsets");
    let timed = duplex_hub::engine::Publication {
        time_ms: 1_700_000_000_000,
        ..sent.clone()
    };
    engine
        .broker
        .publish(&ch, timed, &into(&stream))
        .await
        .unwrap();

    let kept = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap()
        .publications;
    let delivered = publications_in(&recorder.wait_for(2).await, &ch);
    assert_eq!(
        delivered.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        kept
    );
    let (first, second) = (&kept[0], &kept[1]);
    assert_eq!(
        (first.offset, &first.data, &first.info, &first.tags),
        (1, &sent.data, &sent.info, &sent.tags)
    );
    assert!(
        first.time_ms > 1_700_000_000_000,
        "the engine stamps the time when given 0"
    );
    assert_eq!(second.time_ms, 1_700_000_000_000, "a given time is kept");
}

pub async fn publish_without_stream_delivers_without_history(engine: Engine) {
    let recorder = started(&engine).await;
    let ch = channel("nohistory");
    engine.broker.subscribe(&ch).await.unwrap();
    let outcome = engine
        .broker
        .publish(&ch, text("live"), &PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.position, StreamPosition::default());

    let delivered = publications_in(&recorder.wait_for(1).await, &ch);
    assert_eq!(delivered.len(), 1);
    assert_eq!((delivered[0].0.offset, delivered[0].1.as_str()), (0, ""));
    let page = engine
        .broker
        .history(&ch, &all(None, false), &stream(100))
        .await
        .unwrap();
    assert!(page.publications.is_empty());
    assert_eq!(page.position.offset, 0);
}

pub async fn idempotent_retry_is_suppressed_within_its_ttl(engine: Engine) {
    let recorder = started(&engine).await;
    let (ch, other, stream) = (channel("idem"), channel("idem-other"), stream(100));
    engine.broker.subscribe(&ch).await.unwrap();
    let keyed = |key: &str| PublishOptions {
        idempotency_key: Some(key.to_owned()),
        idempotent_ttl: Duration::from_millis(400),
        ..into(&stream)
    };

    let first = engine
        .broker
        .publish(&ch, text("a"), &keyed("k"))
        .await
        .unwrap();
    let retry = engine
        .broker
        .publish(&ch, text("a again"), &keyed("k"))
        .await
        .unwrap();
    assert!(retry.suppressed);
    assert_eq!(retry.position, first.position);
    let elsewhere = engine
        .broker
        .publish(&other, text("a"), &keyed("k"))
        .await
        .unwrap();
    assert!(!elsewhere.suppressed, "keys are per channel");
    let fresh = engine
        .broker
        .publish(&ch, text("b"), &keyed("k2"))
        .await
        .unwrap();
    assert_eq!(fresh.position.offset, 2);

    let kept = engine
        .broker
        .history(&ch, &all(None, false), &stream)
        .await
        .unwrap();
    assert_eq!(offsets(&kept.publications), [1, 2]);
    assert_eq!(
        publications_in(&recorder.settled().await, &ch).len(),
        2,
        "no event for a retry"
    );

    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = engine
        .broker
        .publish(&ch, text("a later"), &keyed("k"))
        .await
        .unwrap();
    assert!(!later.suppressed, "the key is forgotten after its ttl");
    assert_eq!(later.position.offset, 3);
}
