//! The application's database as a source of server API commands: Centrifugo's PostgreSQL
//! outbox consumer (`consumers` of type `postgresql`).
//!
//! The application inserts a row (`method`, a JSON `payload`, a `partition`) into its outbox
//! table inside the same transaction as the change the row announces. Once that transaction
//! commits the row becomes visible and the hub publishes it; a transaction that rolls back
//! leaves no row, so nothing is published. That is the point of an outbox: no publication
//! without the change, and no change without its publication.
//!
//! How it is shaped, and why:
//! - one task per partition (`partition.rs`) reads its rows in id order inside a transaction
//!   that holds a per-partition advisory lock (Centrifugo's lock name, so our hubs and
//!   Centrifugo exclude each other), dispatches them through the server API's own command path
//!   (`command.rs`), deletes them and commits. Only one hub works a partition at a time, so a
//!   channel whose rows always go to one partition is published in order even with several hubs;
//! - delivery is at least once: a hub that dies between publishing and committing leaves the
//!   rows for the next one. Each `publish` and `broadcast` therefore carries the row's id as
//!   its idempotency key (`outbox:<table>:<id>`, unless the payload has its own), so a
//!   repeat within the idempotency window is recognised and not sent twice;
//! - a listener (`listener.rs`) on the notification channel wakes a partition the moment a
//!   trigger announces a row; polling every `partition_poll_interval` covers everything else
//!   (no trigger, a missed notification, a listener reconnecting);
//! - PostgreSQL going away never stops the hub: every task reconnects with a growing delay
//!   (`backoff.rs`), logs, and counts the failure in `duplex_hub_consumer_errors_total`.
//!
//! A hub holds its consumers in [`Consumers`]; the tasks hold the hub only weakly, so dropping
//! the last handle of a hub ends them, and [`Consumers::stop`] ends them on shutdown.

mod backoff;
mod command;
mod listener;
mod partition;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::{Client, NoTls};

use crate::config::{ConsumerConfig, PostgresConsumerConfig};
use crate::hub::WeakHub;

/// How long connecting to PostgreSQL may take when the DSN does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopping hub waits for a partition to finish its transaction before cutting it
/// off (the rows of a cut-off transaction stay in the table and are delivered later).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Why a consumer could not be started.
#[derive(Debug, thiserror::Error)]
#[error("consumer {name}: {reason}")]
pub struct ConsumerError {
    name: String,
    reason: String,
}

/// The running consumers of one hub.
pub(crate) struct Consumers {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What every task of one consumer shares.
struct Consumer {
    name: String,
    config: PostgresConsumerConfig,
    database: tokio_postgres::Config,
    hub: WeakHub,
    /// One per partition; a permit stored while the partition is busy makes it look again
    /// right after, so a row announced during a transaction is not left for the next poll.
    wake: Vec<Notify>,
    stop: watch::Receiver<bool>,
}

impl Consumers {
    /// No consumers yet.
    pub(crate) fn new() -> Self {
        Consumers {
            stop: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
        }
    }

    /// Starts every enabled consumer of `configs` (checked by the configuration already):
    /// a task per partition and one listener where a notification channel is set. The tasks
    /// connect on their own, so a database that is down at start delays delivery, not the hub.
    pub(crate) fn start(
        &self,
        configs: &[ConsumerConfig],
        hub: &WeakHub,
    ) -> Result<(), ConsumerError> {
        let mut tasks = lock(&self.tasks);
        for config in configs.iter().filter(|config| config.enabled) {
            let error = |reason: String| ConsumerError {
                name: config.name.clone(),
                reason,
            };
            if config.kind != "postgresql" {
                return Err(error(format!("unknown consumer type {:?}", config.kind)));
            }
            let database =
                database_config(&config.postgresql.dsn).map_err(|e| error(format!("dsn: {e}")))?;
            let partitions = config.postgresql.num_partitions;
            let consumer = Arc::new(Consumer {
                name: config.name.clone(),
                config: config.postgresql.clone(),
                database,
                hub: hub.clone(),
                wake: (0..partitions).map(|_| Notify::new()).collect(),
                stop: self.stop.subscribe(),
            });
            tracing::info!(
                consumer = %consumer.name,
                table = %consumer.config.outbox_table_name,
                partitions,
                notifications = %consumer.config.partition_notification_channel,
                "outbox consumer starting"
            );
            if !consumer.config.partition_notification_channel.is_empty() {
                tasks.push(tokio::spawn(listener::run(consumer.clone())));
            }
            for partition in 0..partitions {
                tasks.push(tokio::spawn(partition::run(consumer.clone(), partition)));
            }
        }
        Ok(())
    }

    /// Stops every consumer: each finishes the transaction it is in (for up to a few seconds)
    /// and connects no more.
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for mut task in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for Consumers {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        for task in lock(&self.tasks).iter() {
            task.abort();
        }
    }
}

impl Consumer {
    /// The lock that gives one partition to one consumer at a time, named as Centrifugo names
    /// it, so that hubs and Centrifugo nodes sharing an outbox (during a migration) exclude
    /// each other too.
    fn lock_name(&self, partition: usize) -> String {
        format!("centrifugo_partition_lock_{}{partition}", self.name)
    }

    /// Whether the hub is stopping.
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    fn wake_all(&self) {
        for wake in &self.wake {
            wake.notify_one();
        }
    }
}

/// The connection settings from the DSN, with a connect timeout and an application name
/// where it gives none.
fn database_config(dsn: &str) -> Result<tokio_postgres::Config, tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = dsn.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("duplex-hub outbox");
    }
    Ok(config)
}

/// A client whose connection runs on its own task until the client is dropped or the server
/// goes away (then [`Client::is_closed`] turns true).
async fn connect(config: &tokio_postgres::Config) -> Result<Client, String> {
    let connecting = tokio::time::timeout(
        CONNECT_TIMEOUT + Duration::from_secs(1),
        config.connect(NoTls),
    );
    let (client, connection) = match connecting.await {
        Ok(Ok(pair)) => pair,
        Ok(Err(error)) => return Err(describe(&error)),
        Err(_) => return Err("connecting timed out".to_owned()),
    };
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "outbox: connection ended");
        }
    });
    Ok(client)
}

/// A database error as the operator needs it: the server's message and SQLSTATE
/// (tokio-postgres shows only "db error" for those), else the error and its cause.
fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

/// Resolves once the hub is stopping (or the consumers are gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Waits `delay`; true if the hub started stopping meanwhile.
async fn sleep_or_stop(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => *stop.borrow(),
        () = stopped(stop) => true,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A task list stays valid even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
