//! The contract of a broker that only delivers (NATS): what it must do in place of the history
//! tests it cannot pass — refuse history clearly instead of publishing without the positions a
//! client would be promised, and carry every publication field with the zero position.

use std::collections::BTreeMap;

use bytes::Bytes;
use duplex_hub::engine::{
    Engine, EngineError, HistoryQuery, Publication, PublishOptions, StreamPosition,
};

use crate::support::{channel, client, into, publications_in, started, stream, text};

pub async fn publish_before_start_is_unavailable(engine: Engine) {
    let ch = channel("unstarted");
    let options = PublishOptions::default();
    let published = engine.broker.publish(&ch, text("early"), &options).await;
    assert!(
        matches!(published, Err(EngineError::Unavailable(_))),
        "{published:?}"
    );
    started(&engine).await;
    let again = engine
        .broker
        .start(std::sync::Arc::new(crate::support::Recorder::default()))
        .await;
    assert!(again.is_err(), "a broker has one events receiver");
    assert!(engine
        .broker
        .publish(&ch, text("now"), &options)
        .await
        .is_ok());
}

pub async fn history_is_refused_and_nothing_is_delivered(engine: Engine) {
    let recorder = started(&engine).await;
    let ch = channel("nohistory");
    engine.broker.subscribe(&ch).await.unwrap();
    let published = engine
        .broker
        .publish(&ch, text("kept?"), &into(&stream(10)))
        .await;
    match published {
        Err(EngineError::Unavailable(why)) => assert!(why.contains("no history"), "{why}"),
        other => panic!("a publish asking for history must fail, got {other:?}"),
    }
    let read = engine
        .broker
        .history(&ch, &HistoryQuery::default(), &stream(10))
        .await;
    match read {
        Err(EngineError::Unavailable(why)) => assert!(why.contains("no history"), "{why}"),
        other => panic!("history must fail, got {other:?}"),
    }
    assert_eq!(
        recorder.settled().await,
        [],
        "a refused publish is not delivered"
    );
}

pub async fn publication_fields_round_trip_without_position(engine: Engine) {
    let recorder = started(&engine).await;
    let ch = channel("fields");
    engine.broker.subscribe(&ch).await.unwrap();
    let sent = Publication {
        offset: 99,
        data: Bytes::from_static(b"\x00binary\xff"),
        info: Some(client("42", "c1")),
        tags: BTreeMap::from([("kind".to_owned(), "note".to_owned())]),
        time_ms: 0,
        delta: true,
    };
    let outcome = engine
        .broker
        .publish(&ch, sent.clone(), &PublishOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.position, StreamPosition::default());
    let timed = Publication {
        time_ms: 1_700_000_000_000,
        delta: false,
        info: None,
        ..sent.clone()
    };
    engine
        .broker
        .publish(&ch, timed.clone(), &PublishOptions::default())
        .await
        .unwrap();

    let delivered = publications_in(&recorder.wait_for(2).await, &ch);
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    let (first, epoch) = &delivered[0];
    assert_eq!(epoch, "", "no stream, no epoch");
    assert_eq!(
        (
            first.offset,
            &first.data,
            &first.info,
            &first.tags,
            first.delta
        ),
        (0, &sent.data, &sent.info, &sent.tags, true)
    );
    assert!(
        first.time_ms > 1_700_000_000_000,
        "the broker fills time_ms"
    );
    assert_eq!(delivered[1].0, Publication { offset: 0, ..timed });
}
