//! The application's database as a source: rows written to a PostgreSQL outbox table in the
//! application's own transactions reach subscribers once committed, in order per channel, at
//! least once and deduplicated by the row id; a rolled-back row never does. Each test runs its
//! own PostgreSQL (tests/common/postgres.rs) and skips when PostgreSQL is not installed, unless
//! `DUPLEX_REQUIRE_POSTGRES=1`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::postgres::Postgres;
use common::{token, TestClient, TestHub, PATIENCE};
use serde_json::{json, Value};
use tokio_postgres::GenericClient;

/// The outbox table as Centrifugo documents it, the index the consumer's query wants, and the
/// trigger that announces each row's partition on commit.
const SCHEMA: &str = r#"
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    method text NOT NULL,
    payload jsonb NOT NULL,
    partition bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_partition_id ON outbox (partition, id);
CREATE FUNCTION outbox_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('outbox_rows', NEW.partition::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH ROW EXECUTE FUNCTION outbox_notify();
"#;

/// How the tests configure the consumer.
struct Consumer {
    partitions: usize,
    poll: &'static str,
    notify: bool,
}

impl Consumer {
    fn config(&self, pg: &Postgres) -> String {
        let channel = if self.notify { "outbox_rows" } else { "" };
        json!([{
            "name": "app",
            "enabled": true,
            "type": "postgresql",
            "postgresql": {
                "dsn": pg.dsn(),
                "outbox_table_name": "outbox",
                "num_partitions": self.partitions,
                "partition_select_limit": 100,
                "partition_poll_interval": self.poll,
                "partition_notification_channel": channel,
            }
        }])
        .to_string()
    }

    async fn hub(&self, pg: &Postgres) -> TestHub {
        TestHub::start(&[("consumers", &self.config(pg))]).await
    }
}

/// A PostgreSQL with the outbox table, and a connection to it; `None` to skip.
async fn database(name: &str) -> Option<(Postgres, tokio_postgres::Client)> {
    // initdb and the server's start are blocking calls of a second or so.
    let pg = tokio::task::block_in_place(|| Postgres::start(name))?;
    let client = pg.client().await;
    client.batch_execute(SCHEMA).await.expect("schema");
    Some((pg, client))
}

/// Inserts a `publish` of `data` into `channel`, as an application does; returns the row id.
async fn insert(db: &impl GenericClient, channel: &str, data: Value, partition: i64) -> i64 {
    let payload = json!({"channel": channel, "data": data}).to_string();
    db.query_one(
        "INSERT INTO outbox (method, payload, partition) VALUES ('publish', $1::text::jsonb, $2) \
         RETURNING id",
        &[&payload, &partition],
    )
    .await
    .expect("insert")
    .get(0)
}

/// A client of `hub` subscribed to `channels`.
async fn subscriber(hub: &TestHub, channels: &[&str]) -> TestClient {
    let (mut client, _) = TestClient::connect(hub, &token("alice", None)).await;
    for channel in channels {
        let reply = client
            .call(json!({"subscribe": {"channel": channel}}))
            .await;
        assert!(reply.get("subscribe").is_some(), "{reply}");
    }
    client
}

/// The next publication's channel and data, whatever the channel.
async fn next_publication(client: &mut TestClient) -> (String, Value) {
    loop {
        let push = client.push().await;
        if let Some(publication) = push.get("pub") {
            let channel = push["channel"].as_str().unwrap_or_default().to_owned();
            return (channel, publication["data"].clone());
        }
    }
}

/// Rows in the outbox.
async fn rows_left(db: &impl GenericClient) -> i64 {
    db.query_one("SELECT count(*) FROM outbox", &[])
        .await
        .expect("count")
        .get(0)
}

/// Waits until the outbox is empty: every row was processed and deleted.
async fn drained(db: &tokio_postgres::Client) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = rows_left(db).await;
        if left == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{left} rows still in the outbox");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `listeners` sessions LISTEN on the notification channel, so that a row
/// inserted next is announced to a hub.
async fn listening(db: &tokio_postgres::Client, listeners: i64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let count: i64 = db
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN \"outbox_rows\"'",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if count >= listeners {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{count} of {listeners} hubs listen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Takes the advisory locks of partitions `0..partitions` in `transaction` (Centrifugo's
/// lock names, which the hub shares), so that no hub consumes them until it ends.
async fn hold_partitions(transaction: &tokio_postgres::Transaction<'_>, partitions: usize) {
    for partition in 0..partitions {
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))",
                &[&format!("centrifugo_partition_lock_app{partition}")],
            )
            .await
            .expect("advisory lock");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_row_reaches_subscribers_and_leaves_the_table() {
    let Some((pg, mut db)) = database("a_committed_row_reaches_subscribers").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 1,
        poll: "100ms",
        notify: false,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:orders"]).await;

    let transaction = db.transaction().await.expect("begin");
    transaction
        .execute("CREATE TABLE orders (id int PRIMARY KEY, total int)", &[])
        .await
        .expect("the application's own change");
    insert(
        &transaction,
        "open:orders",
        json!({"order": 1, "total": 42}),
        0,
    )
    .await;
    transaction.commit().await.expect("commit");

    let (channel, data) = next_publication(&mut client).await;
    assert_eq!(channel, "open:orders");
    assert_eq!(data, json!({"order": 1, "total": 42}));
    drained(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_row_is_never_published() {
    let Some((pg, mut db)) = database("a_rolled_back_row_is_never_published").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 1,
        poll: "100ms",
        notify: true,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:orders"]).await;
    listening(&db, 1).await;

    let transaction = db.transaction().await.expect("begin");
    insert(&transaction, "open:orders", json!({"n": "rolled back"}), 0).await;
    transaction.rollback().await.expect("rollback");
    let transaction = db.transaction().await.expect("begin");
    insert(&transaction, "open:orders", json!({"n": "committed"}), 0).await;
    transaction.commit().await.expect("commit");

    let (_, data) = next_publication(&mut client).await;
    assert_eq!(data, json!({"n": "committed"}));
    assert!(
        client.no_push_within(Duration::from_millis(1000)).await,
        "something else was published"
    );
    drained(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_cannot_run_is_dropped_without_holding_back_its_partition() {
    let Some((pg, db)) = database("a_row_that_cannot_run_is_dropped").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 1,
        poll: "100ms",
        notify: false,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:orders"]).await;

    db.batch_execute(
        "INSERT INTO outbox (method, payload) VALUES \
         ('nonsense', '{}'), ('publish', '{\"data\": {}}'), ('presence', '{\"channel\": \"open:orders\"}')",
    )
    .await
    .expect("bad rows");
    // Larger than the server API takes (4 MiB).
    let huge = json!({"channel": "open:orders", "data": {"blob": "x".repeat(5 << 20)}}).to_string();
    db.execute(
        "INSERT INTO outbox (method, payload) VALUES ('publish', $1::text::jsonb)",
        &[&huge],
    )
    .await
    .expect("huge row");
    insert(&db, "open:orders", json!({"n": "after the bad rows"}), 0).await;

    let (_, data) = next_publication(&mut client).await;
    assert_eq!(data, json!({"n": "after the bad rows"}));
    drained(&db).await;
    let metrics = reqwest::get(format!("http://{}/metrics", hub.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("duplex_hub_consumer_errors_total{consumer=\"app\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("duplex_hub_consumer_processed_total{consumer=\"app\"} 5"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_while_the_hub_is_down_arrive_in_order_when_it_is_back() {
    let Some((pg, mut db)) = database("rows_written_while_the_hub_is_down").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 2,
        poll: "100ms",
        notify: true,
    };
    let first = consumer.hub(&pg).await;
    let mut client = subscriber(&first, &["open:a"]).await;
    insert(&db, "open:a", json!({"seq": -1}), 0).await;
    assert_eq!(next_publication(&mut client).await.1, json!({"seq": -1}));
    first.hub.shutdown(Duration::ZERO).await;
    drop(first);

    // The application keeps writing: three channels, each always in the same partition.
    let channels = ["open:a", "open:b", "open:c"];
    for seq in 0..20 {
        let transaction = db.transaction().await.expect("begin");
        for (index, channel) in channels.iter().enumerate() {
            insert(
                &transaction,
                channel,
                json!({"seq": seq}),
                (index % 2) as i64,
            )
            .await;
        }
        transaction.commit().await.expect("commit");
    }

    // Hold the partitions until the new hub's client is subscribed, so it sees every row.
    let holder = db.transaction().await.expect("begin");
    hold_partitions(&holder, 2).await;
    let second = consumer.hub(&pg).await;
    let mut client = subscriber(&second, &channels).await;
    // A partition another consumer holds is left alone (this is what keeps two hubs from
    // working one partition at once, and so its order).
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rows_left(&holder).await,
        60,
        "rows consumed under another's lock"
    );
    holder.commit().await.expect("release the partitions");

    let mut seen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for _ in 0..channels.len() * 20 {
        let (channel, data) = next_publication(&mut client).await;
        seen.entry(channel)
            .or_default()
            .push(data["seq"].as_i64().expect("seq"));
    }
    let expected: Vec<i64> = (0..20).collect();
    for channel in channels {
        assert_eq!(seen.get(channel), Some(&expected), "{channel}");
    }
    drained(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_outbox_deliver_each_row_once_and_in_order_per_channel() {
    let Some((pg, db)) = database("two_hubs_on_one_outbox").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 4,
        poll: "200ms",
        notify: true,
    };
    let channels: Vec<String> = (0..8).map(|i| format!("open:c{i}")).collect();
    let names: Vec<&str> = channels.iter().map(String::as_str).collect();
    let hubs = [consumer.hub(&pg).await, consumer.hub(&pg).await];
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let mut readers = Vec::new();
    for (which, hub) in hubs.iter().enumerate() {
        let mut client = subscriber(hub, &names).await;
        let sender = sender.clone();
        readers.push(tokio::spawn(async move {
            loop {
                let (channel, data) = next_publication(&mut client).await;
                if sender.send((which, channel, data)).is_err() {
                    return;
                }
            }
        }));
    }
    listening(&db, 2).await;

    const ROWS: usize = 400;
    let writer = pg.client().await;
    let mut next_seq = vec![0i64; channels.len()];
    for batch in 0..ROWS / 20 {
        let rows: Vec<String> = (0..20)
            .map(|i| {
                let index = (batch * 20 + i) % channels.len();
                let seq = next_seq[index];
                next_seq[index] += 1;
                let payload = json!({"channel": channels[index], "data": {"seq": seq}});
                // partition = hash(channel) % num_partitions; here the index stands for the hash.
                format!("('publish', '{payload}', {})", index % 4)
            })
            .collect();
        writer
            .batch_execute(&format!(
                "INSERT INTO outbox (method, payload, partition) VALUES {}",
                rows.join(", ")
            ))
            .await
            .expect("insert");
    }

    let mut per_hub = [0usize; 2];
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    let mut last: BTreeMap<(usize, String), i64> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < ROWS {
        let (which, channel, data) = tokio::time::timeout_at(deadline, received.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {ROWS} rows arrived", seen.len()))
            .expect("readers alive");
        let seq = data["seq"].as_i64().expect("seq");
        assert!(seen.insert((channel.clone(), seq)), "{channel} {seq} twice");
        per_hub[which] += 1;
        if let Some(previous) = last.insert((which, channel.clone()), seq) {
            assert!(
                previous < seq,
                "{channel}: {seq} after {previous} on hub {which}"
            );
        }
    }
    drained(&db).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), received.recv())
            .await
            .is_err(),
        "a row was delivered twice"
    );
    eprintln!("rows published by each hub: {per_hub:?}");
    for reader in readers {
        reader.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_wakes_the_consumer_long_before_the_poll() {
    let Some((pg, db)) = database("a_notification_wakes_the_consumer").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 2,
        poll: "5s",
        notify: true,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:fast"]).await;
    listening(&db, 1).await;
    // Let the partitions finish the pass the listener's start woke them for.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut latencies = Vec::new();
    for seq in 0..5 {
        let started = Instant::now();
        insert(&db, "open:fast", json!({"seq": seq}), seq % 2).await;
        let (_, data) = next_publication(&mut client).await;
        latencies.push(started.elapsed());
        assert_eq!(data, json!({"seq": seq}));
    }
    latencies.sort();
    eprintln!("insert to publication with NOTIFY (poll 5s): {latencies:?}");
    assert!(
        latencies[latencies.len() - 1] < Duration::from_secs(2),
        "{latencies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_published_before_a_crash_is_not_published_twice() {
    let Some((pg, mut db)) = database("a_row_published_before_a_crash").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 1,
        poll: "100ms",
        notify: false,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:once"]).await;

    // A hub that published the row and died before its commit: the row is still there, and
    // its publication went out under the row's idempotency key.
    let holder = db.transaction().await.expect("begin");
    hold_partitions(&holder, 1).await;
    let writer = pg.client().await;
    let id = insert(&writer, "open:once", json!({"n": 1}), 0).await;
    let reply = hub
        .api(
            "publish",
            json!({"channel": "open:once", "data": {"n": 1},
                   "idempotency_key": format!("outbox:outbox:{id}")}),
        )
        .await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(next_publication(&mut client).await.1, json!({"n": 1}));
    holder.commit().await.expect("release");

    drained(&db).await;
    assert!(
        client.no_push_within(Duration::from_millis(500)).await,
        "the row was published again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_reconnects_after_postgresql_restarts() {
    let Some((mut pg, db)) = database("the_consumer_reconnects").await else {
        return;
    };
    let consumer = Consumer {
        partitions: 1,
        poll: "5s",
        notify: true,
    };
    let hub = consumer.hub(&pg).await;
    let mut client = subscriber(&hub, &["open:r"]).await;
    listening(&db, 1).await;
    insert(&db, "open:r", json!({"n": "before"}), 0).await;
    assert_eq!(
        next_publication(&mut client).await.1,
        json!({"n": "before"})
    );

    drop(db);
    tokio::task::block_in_place(|| pg.stop());
    tokio::time::sleep(Duration::from_millis(500)).await;
    tokio::task::block_in_place(|| pg.start_again());

    let db = pg.client().await;
    listening(&db, 1).await;
    let started = Instant::now();
    insert(&db, "open:r", json!({"n": "after"}), 0).await;
    assert_eq!(next_publication(&mut client).await.1, json!({"n": "after"}));
    eprintln!("first row after the restart: {:?}", started.elapsed());
    // Announced by the listener that came back, not found by the 5 s poll.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let metrics = reqwest::get(format!("http://{}/metrics", hub.addr))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    assert!(
        !metrics.contains("duplex_hub_consumer_errors_total{consumer=\"app\"} 0")
            && metrics.contains("duplex_hub_consumer_errors_total{consumer=\"app\"}"),
        "the lost connections were not counted: {metrics}"
    );
}
