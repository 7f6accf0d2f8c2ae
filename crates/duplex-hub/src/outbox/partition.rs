//! One partition of an outbox table: read its rows in id order, dispatch them, delete them and
//! commit, all in one transaction; then wait for a notification or the poll interval.
//!
//! The transaction first takes the partition's advisory lock with `pg_try_advisory_xact_lock`:
//! a hub that does not get it leaves the partition to the one that has it and looks again
//! later. This keeps a partition's rows in order across hubs, which `FOR UPDATE SKIP LOCKED`
//! alone would not (a second hub would skip the locked batch and publish the next one first);
//! `SKIP LOCKED` is still there, so a consumer configured under another name (another lock)
//! never takes rows that one is working on. Rows are deleted in the transaction that read
//! them, so a row is done exactly when its deletion commits.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::{Client, IsolationLevel};

use super::backoff::Backoff;
use super::command::{self, Outcome};
use super::{connect, describe, sleep_or_stop, stopped, Consumer};

/// The longest one batch (its transaction and its dispatches) may take; past it the connection
/// is dropped, which rolls the transaction back and leaves its rows for later.
const BATCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The largest payload run: the server API's default request body limit.
const MAX_PAYLOAD_BYTES: usize = crate::api::DEFAULT_MAX_BODY_BYTES;

/// What one transaction did.
#[derive(Debug, Default)]
struct Batch {
    /// Rows read.
    selected: usize,
    /// Rows dispatched (or dropped as unusable) and deleted.
    done: usize,
    /// Why the batch stopped before its end, keeping the rest of its rows.
    retry: Option<String>,
}

/// Why a batch did not commit.
enum BatchError {
    Database(tokio_postgres::Error),
    /// The hub is gone: the task ends.
    HubGone,
}

impl From<tokio_postgres::Error> for BatchError {
    fn from(error: tokio_postgres::Error) -> Self {
        BatchError::Database(error)
    }
}

/// Works partition `partition` of `consumer` until the hub stops.
pub(super) async fn run(consumer: Arc<Consumer>, partition: usize) {
    let mut stop = consumer.stop.clone();
    let mut backoff = Backoff::default();
    let mut client: Option<Client> = None;
    let limit = consumer.config.partition_select_limit;
    loop {
        if consumer.stopping() {
            return;
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            client = None;
            match connect(&consumer.database).await {
                Ok(connected) => {
                    if backoff.failures() > 0 {
                        tracing::info!(consumer = %consumer.name, partition, "outbox: connected to PostgreSQL again");
                    }
                    client = Some(connected);
                }
                Err(error) => {
                    fail(&consumer, partition, &mut backoff, &error);
                    if sleep_or_stop(backoff.next(), &mut stop).await {
                        return;
                    }
                    continue;
                }
            }
        }
        let Some(connection) = client.as_mut() else {
            continue;
        };
        let batch =
            tokio::time::timeout(BATCH_TIMEOUT, process(connection, &consumer, partition)).await;
        let failure = match batch {
            Ok(Ok(batch)) => {
                if let Some(hub) = consumer.hub.upgrade() {
                    hub.metrics()
                        .consumer_processed(&consumer.name, batch.done as u64);
                }
                if batch.retry.is_none() {
                    backoff.reset();
                    // A full batch means more rows may be waiting: no pause then.
                    if batch.selected < limit {
                        tokio::select! {
                            () = tokio::time::sleep(consumer.config.partition_poll_interval) => {}
                            () = consumer.wake[partition].notified() => {}
                            () = stopped(&mut stop) => return,
                        }
                    }
                }
                batch.retry
            }
            Ok(Err(BatchError::HubGone)) => return,
            Ok(Err(BatchError::Database(error))) => {
                if connection.is_closed() {
                    client = None;
                }
                Some(describe(&error))
            }
            Err(_) => {
                client = None;
                Some("a batch timed out".to_owned())
            }
        };
        // After a failure only time brings the next attempt: notifications must not make a
        // failing partition hammer the database.
        if let Some(reason) = failure {
            fail(&consumer, partition, &mut backoff, &reason);
            if sleep_or_stop(backoff.next(), &mut stop).await {
                return;
            }
        }
    }
}

/// One transaction over the partition.
async fn process(
    client: &mut Client,
    consumer: &Consumer,
    partition: usize,
) -> Result<Batch, BatchError> {
    let table = &consumer.config.outbox_table_name;
    let transaction = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await?;
    let locked: bool = transaction
        .query_one(
            "SELECT pg_try_advisory_xact_lock(hashtext($1))",
            &[&consumer.lock_name(partition)],
        )
        .await?
        .try_get(0)?;
    if !locked {
        transaction.rollback().await?;
        return Ok(Batch::default());
    }
    // The table name passed the configuration's identifier check; the rest are parameters.
    // A payload over the server API's body limit comes back as NULL, and a method is cut to a
    // length no method has: a batch's memory stays bounded whatever the table holds.
    let select = format!(
        "SELECT id::bigint, left(method, 64), \
                CASE WHEN octet_length(payload::text) <= $3::bigint THEN payload::text END \
         FROM {table} \
         WHERE partition = $1::bigint ORDER BY id LIMIT $2::bigint FOR UPDATE SKIP LOCKED"
    );
    let partition_number = i64::try_from(partition).unwrap_or(i64::MAX);
    let limit = i64::try_from(consumer.config.partition_select_limit).unwrap_or(i64::MAX);
    let max_payload = i64::try_from(MAX_PAYLOAD_BYTES).unwrap_or(i64::MAX);
    let rows = transaction
        .query(&select, &[&partition_number, &limit, &max_payload])
        .await?;
    let mut batch = Batch {
        selected: rows.len(),
        ..Batch::default()
    };
    let mut done: Vec<i64> = Vec::with_capacity(rows.len());
    {
        let Some(hub) = consumer.hub.upgrade() else {
            return Err(BatchError::HubGone);
        };
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let method: String = row.try_get(1)?;
            let payload: Option<String> = row.try_get(2)?;
            let key = format!("outbox:{table}:{id}");
            let outcome = match payload {
                Some(payload) => command::dispatch(&hub, &method, &payload, &key).await,
                None => Outcome::Dropped(format!(
                    "payload larger than {MAX_PAYLOAD_BYTES} bytes (the server API's limit)"
                )),
            };
            match outcome {
                Outcome::Done => done.push(id),
                Outcome::Dropped(reason) => {
                    tracing::error!(consumer = %consumer.name, partition, id, %method, %reason, "outbox: row dropped");
                    hub.metrics().consumer_failed(&consumer.name);
                    done.push(id);
                }
                Outcome::Retry(reason) => {
                    // Stop here: the rows before are done, this one and those after stay, in
                    // order, for the next attempt.
                    batch.retry = Some(format!("row {id} ({method}): {reason}"));
                    break;
                }
            }
        }
    }
    if !done.is_empty() {
        let delete = format!("DELETE FROM {table} WHERE id = ANY($1::bigint[])");
        transaction.execute(&delete, &[&done]).await?;
    }
    transaction.commit().await?;
    batch.done = done.len();
    Ok(batch)
}

/// Logs a failure and counts it.
fn fail(consumer: &Consumer, partition: usize, backoff: &mut Backoff, error: &str) {
    tracing::warn!(
        consumer = %consumer.name,
        partition,
        failures = backoff.failures() + 1,
        %error,
        "outbox: partition failed, retrying"
    );
    if let Some(hub) = consumer.hub.upgrade() {
        hub.metrics().consumer_failed(&consumer.name);
    }
}
