//! The SQLite engine's own promises beyond the contract: what was published survives a restart
//! (same epoch, offsets continue), disk use follows history_size, history_ttl, the meta ttl and
//! the idempotency ttl through the background trimming, and a folder it cannot use is refused
//! at startup with an error that says which and why.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use duplex_hub::engine::sqlite::{SqliteConfig, DATABASE_FILE};
use duplex_hub::engine::{
    BrokerEvents, ClientInfo, Engine, EngineError, HistoryQuery, Publication, PublishOptions,
    StreamOptions, StreamPosition,
};

struct Ignore;

impl BrokerEvents for Ignore {
    fn on_publication(&self, _: &str, _: &Publication, _: &str) {}
    fn on_join(&self, _: &str, _: &ClientInfo) {}
    fn on_leave(&self, _: &str, _: &ClientInfo) {}
}

async fn open(config: SqliteConfig) -> Engine {
    let engine = Engine::sqlite_with(config).expect("sqlite engine");
    engine.broker.start(Arc::new(Ignore)).await.unwrap();
    engine
}

/// Trimming rounds every 20 ms, so tests watch them within a fraction of a second.
fn quick(folder: &std::path::Path) -> SqliteConfig {
    SqliteConfig {
        trim_interval: Duration::from_millis(20),
        ..SqliteConfig::new(folder)
    }
}

fn into(stream: &StreamOptions) -> PublishOptions {
    PublishOptions {
        stream: Some(stream.clone()),
        ..PublishOptions::default()
    }
}

fn text(data: &str) -> Publication {
    Publication {
        data: data.to_owned().into(),
        ..Publication::default()
    }
}

fn everything() -> HistoryQuery {
    HistoryQuery::default()
}

/// Counts rows in the engine's file, as a second connection sees them.
fn rows(folder: &std::path::Path, table: &str) -> i64 {
    let connection = rusqlite::Connection::open(folder.join(DATABASE_FILE)).unwrap();
    connection
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .unwrap()
}

/// Waits until `table` holds `expected` rows, or gives up after a few seconds.
async fn rows_become(folder: &std::path::Path, table: &str, expected: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let count = rows(folder, table);
        if count == expected || tokio::time::Instant::now() >= deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_engine_continues_epochs_offsets_and_history() {
    let folder = tempfile::tempdir().unwrap();
    let stream = StreamOptions::new(100, Duration::from_secs(300));
    let first = open(SqliteConfig::new(folder.path())).await;
    let mut last = StreamPosition::default();
    for n in 1..=5 {
        last = first
            .broker
            .publish("chat:a", text(&format!("m{n}")), &into(&stream))
            .await
            .unwrap()
            .position;
    }
    let keyed = PublishOptions {
        idempotency_key: Some("once".into()),
        ..into(&stream)
    };
    let kept = first
        .broker
        .publish("chat:b", text("keyed"), &keyed)
        .await
        .unwrap();
    first.broker.close().await.unwrap();
    let closed = first
        .broker
        .publish("chat:a", text("late"), &into(&stream))
        .await;
    assert!(
        matches!(closed, Err(EngineError::Unavailable(_))),
        "{closed:?}"
    );
    drop(first);

    let second = open(SqliteConfig::new(folder.path())).await;
    let page = second
        .broker
        .history("chat:a", &everything(), &stream)
        .await
        .unwrap();
    assert_eq!(page.position, last, "same epoch, same top");
    let data: Vec<_> = page.publications.iter().map(|p| p.data.clone()).collect();
    assert_eq!(data, ["m1", "m2", "m3", "m4", "m5"]);
    let since = HistoryQuery {
        since: Some(StreamPosition {
            offset: 3,
            epoch: last.epoch.clone(),
        }),
        ..everything()
    };
    let recovered = second
        .broker
        .history("chat:a", &since, &stream)
        .await
        .unwrap();
    assert_eq!(
        recovered
            .publications
            .iter()
            .map(|p| p.offset)
            .collect::<Vec<_>>(),
        [4, 5]
    );
    let next = second
        .broker
        .publish("chat:a", text("m6"), &into(&stream))
        .await
        .unwrap();
    assert_eq!(
        next.position,
        StreamPosition {
            offset: 6,
            epoch: last.epoch
        }
    );
    let retry = second
        .broker
        .publish("chat:b", text("keyed"), &keyed)
        .await
        .unwrap();
    assert!(retry.suppressed, "idempotency keys survive the restart too");
    assert_eq!(retry.position, kept.position);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_commits_every_publish_it_answered() {
    let folder = tempfile::tempdir().unwrap();
    let stream = StreamOptions::new(10_000, Duration::from_secs(300));
    let engine = open(SqliteConfig::new(folder.path())).await;
    // Ten publishers keep the writer's queue busy; close comes in the middle of it.
    let answered = Arc::new(AtomicUsize::new(0));
    let publishers: Vec<_> = (0..10)
        .map(|publisher| {
            let (broker, options) = (engine.broker.clone(), into(&stream));
            let answered = answered.clone();
            tokio::spawn(async move {
                for n in 0..1_000 {
                    let data = format!("{publisher}/{n}");
                    if broker
                        .publish("burst", text(&data), &options)
                        .await
                        .is_err()
                    {
                        return;
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    engine.broker.close().await.unwrap();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let answered = answered.load(Ordering::SeqCst);
    drop(engine);

    let reopened = open(SqliteConfig::new(folder.path())).await;
    let page = reopened
        .broker
        .history("burst", &everything(), &stream)
        .await
        .unwrap();
    assert!(answered < 10_000, "close stopped the publishers");
    assert_eq!(
        page.publications.len(),
        answered,
        "every answered publish is kept"
    );
    assert_eq!(page.position.offset, answered as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_trimming_deletes_rows_even_when_the_size_shrinks() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open(quick(folder.path())).await;
    let large = StreamOptions::new(1_000, Duration::from_secs(300));
    for n in 0..200 {
        engine
            .broker
            .publish("big", text(&n.to_string()), &into(&large))
            .await
            .unwrap();
    }
    let small = StreamOptions::new(3, Duration::from_secs(300));
    for n in 0..10 {
        engine
            .broker
            .publish("small", text(&n.to_string()), &into(&small))
            .await
            .unwrap();
    }
    assert_eq!(rows(folder.path(), "publications"), 203, "inline trimming");

    // The namespace's size shrank: the window moves at once, the rows go in the background.
    engine
        .broker
        .publish("big", text("after"), &into(&small))
        .await
        .unwrap();
    let page = engine
        .broker
        .history("big", &everything(), &small)
        .await
        .unwrap();
    assert_eq!(
        page.publications
            .iter()
            .map(|p| p.offset)
            .collect::<Vec<_>>(),
        [199, 200, 201]
    );
    assert_eq!(rows_become(folder.path(), "publications", 6).await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_publications_streams_and_keys_leave_the_disk() {
    let folder = tempfile::tempdir().unwrap();
    let engine = open(quick(folder.path())).await;
    let short = StreamOptions {
        size: 100,
        ttl: Duration::from_millis(100),
        meta_ttl: Some(Duration::from_millis(400)),
    };
    for channel in ["x", "y"] {
        for n in 0..20 {
            let options = PublishOptions {
                idempotency_key: Some(format!("k{n}")),
                idempotent_ttl: Duration::from_millis(100),
                ..into(&short)
            };
            engine
                .broker
                .publish(channel, text(&n.to_string()), &options)
                .await
                .unwrap();
        }
    }
    assert_eq!(rows(folder.path(), "publications"), 40);
    assert_eq!(rows(folder.path(), "idempotency"), 40);

    assert_eq!(rows_become(folder.path(), "publications", 0).await, 0);
    assert_eq!(rows_become(folder.path(), "idempotency", 0).await, 0);
    assert_eq!(
        rows(folder.path(), "streams"),
        2,
        "the meta outlives the rows"
    );
    let page = engine
        .broker
        .history("x", &everything(), &short)
        .await
        .unwrap();
    assert_eq!(page.position.offset, 20);
    assert!(page.publications.is_empty());

    assert_eq!(rows_become(folder.path(), "streams", 0).await, 0);
    assert_eq!(rows_become(folder.path(), "dead_streams", 0).await, 0);
}

#[tokio::test]
async fn a_folder_that_is_a_file_is_refused_with_its_name() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = Engine::sqlite(file.path()).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, EngineError::Unavailable(_)), "{error:?}");
    assert!(text.contains(&file.path().display().to_string()), "{text}");
    assert!(text.contains("not a folder"), "{text}");
}

#[tokio::test]
async fn a_corrupt_database_is_refused_with_its_name() {
    let folder = tempfile::tempdir().unwrap();
    let database = folder.path().join(DATABASE_FILE);
    std::fs::write(&database, vec![0x5a_u8; 8192]).unwrap();
    let error = Engine::sqlite(folder.path()).unwrap_err();
    let text = error.to_string();
    assert!(text.contains(&database.display().to_string()), "{text}");
    assert!(text.contains("not a database"), "{text}");
}

#[tokio::test]
async fn a_database_of_another_schema_version_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let connection = rusqlite::Connection::open(folder.path().join(DATABASE_FILE)).unwrap();
    connection
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    drop(connection);
    let text = Engine::sqlite(folder.path()).unwrap_err().to_string();
    assert!(text.contains("schema version 99"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_configured_for_sqlite_keeps_history_across_hubs() {
    let folder = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = duplex_hub::config::HubConfig::default();
        config.set("engine.type", "sqlite").unwrap();
        config
            .set("engine.sqlite.path", &folder.path().display().to_string())
            .unwrap();
        config
            .set(
                "channel.namespaces",
                r#"[{"name": "news", "history_size": 10, "history_ttl": "300s"}]"#,
            )
            .unwrap();
        config
    };
    let first = duplex_hub::Hub::new(config()).await.unwrap();
    let position = first.publish("news:a", "1").await.unwrap().unwrap();
    first.shutdown(Duration::ZERO).await;
    assert!(
        first.publish("news:a", "late").await.is_err(),
        "shutdown closed the engine"
    );
    drop(first);

    let second = duplex_hub::Hub::new(config()).await.unwrap();
    let page = second.history("news:a", &everything()).await.unwrap();
    assert_eq!(page.position, position);
    assert_eq!(page.publications[0].data, "1");
}

#[tokio::test]
async fn a_second_engine_on_a_folder_in_use_is_refused_until_the_first_closes() {
    let folder = tempfile::tempdir().unwrap();
    let first = open(SqliteConfig::new(folder.path())).await;
    let error = Engine::sqlite(folder.path()).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, EngineError::Unavailable(_)), "{error:?}");
    assert!(
        text.contains("another hub is using this data folder"),
        "{text}"
    );
    assert!(
        text.contains(&folder.path().display().to_string()),
        "{text}"
    );
    first.broker.close().await.unwrap();
    Engine::sqlite(folder.path()).expect("the folder is free once the first engine closed");
}
