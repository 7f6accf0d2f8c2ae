//! The SQLite broker: the [`Broker`] face of the writer thread and the reader pool.
//!
//! Publishes and the few other writes go to the writer as commands and wait for their commit;
//! reads go to the pool. Joins and leaves are not stored and go straight to the hub, as in the
//! memory broker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::{oneshot, Semaphore};

use super::lock::FolderLock;
use super::reader::{Read, Readers};
use super::writer::{Command, Shared, Writer};
use super::{millis, schema, unix_millis, SqliteConfig};
use crate::engine::{
    Broker, BrokerEvents, ClientInfo, EngineError, HistoryPage, HistoryQuery, Publication,
    PublishOptions, PublishOutcome, StreamOptions,
};

/// A read refreshes a stream's meta only when its expiry would move by more than this (or a
/// quarter of the meta ttl, if shorter): reads of a busy channel cost no write each.
const TOUCH_SLACK_MS: i64 = 60_000;

/// The durable single-node broker of [`Engine::sqlite`](crate::engine::Engine::sqlite).
pub struct SqliteBroker {
    config: SqliteConfig,
    shared: Arc<Shared>,
    commands: Mutex<Sender<Command>>,
    /// Room in the writer's queue for publishes.
    pending: Arc<Semaphore>,
    readers: Readers,
    closed: AtomicBool,
}

impl SqliteBroker {
    /// Opens (or creates) the database in `config.path` and starts the writer thread. Fails
    /// with [`EngineError::Unavailable`] naming the folder when it cannot be created, written
    /// or read as this engine's database.
    pub fn open(config: SqliteConfig) -> Result<Self, EngineError> {
        let folder = schema::create_folder(&config)?;
        let lock = FolderLock::acquire(&folder)?;
        let connection = schema::open_writer(&config)?;
        let readers = Readers::open(&config)?;
        let shared = Arc::new(Shared::default());
        let (commands, queue) = std::sync::mpsc::channel();
        let start_failed = |e: std::io::Error| {
            EngineError::Unavailable(format!("cannot start the sqlite writer: {e}"))
        };
        let writer =
            Writer::new(connection, lock, config.clone(), shared.clone()).map_err(start_failed)?;
        std::thread::Builder::new()
            .name("duplex-sqlite-writer".into())
            .spawn(move || writer.run(queue))
            .map_err(start_failed)?;
        Ok(SqliteBroker {
            pending: Arc::new(Semaphore::new(config.max_pending.max(1))),
            config,
            shared,
            commands: Mutex::new(commands),
            readers,
            closed: AtomicBool::new(false),
        })
    }

    fn events(&self) -> Result<&Arc<dyn BrokerEvents>, EngineError> {
        self.shared
            .events
            .get()
            .map(|(events, _)| events)
            .ok_or_else(|| EngineError::Unavailable("broker not started".into()))
    }

    fn is_subscribed(&self, channel: &str) -> bool {
        self.shared
            .subscribed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(channel)
    }

    fn send(&self, command: Command) -> Result<(), EngineError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        self.commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(command)
            .map_err(|_| closed())
    }

    /// Asks the writer for a live stream for `channel`.
    async fn ensure(&self, channel: &str, stream: &StreamOptions) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Ensure {
            channel: channel.to_owned(),
            stream: stream.clone(),
            reply,
        })?;
        answer.await.map_err(|_| closed())?
    }

    /// Queues a meta refresh after a read, unless it would barely move or one is queued.
    fn keep_alive(&self, stream: i64, meta_expires_ms: i64, options: &StreamOptions) {
        let keep = millis(options.meta_keep());
        let until = unix_millis().saturating_add(keep);
        let slack = (keep / 4).min(TOUCH_SLACK_MS);
        if meta_expires_ms >= until.saturating_sub(slack) {
            return;
        }
        let first = self
            .shared
            .touching
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(stream);
        if first {
            let _ = self.send(Command::Touch {
                stream,
                until_ms: until,
            });
        }
    }
}

#[async_trait]
impl Broker for SqliteBroker {
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError> {
        let runtime = tokio::runtime::Handle::try_current().ok();
        self.shared
            .events
            .set((events, runtime))
            .map_err(|_| EngineError::Internal("broker already started".into()))
    }

    async fn subscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.shared
            .subscribed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(channel.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError> {
        self.shared
            .subscribed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(channel);
        Ok(())
    }

    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError> {
        self.events()?;
        let permit = self
            .pending
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| closed())?;
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish {
            channel: channel.to_owned(),
            publication,
            options: options.clone(),
            reply,
            _permit: permit,
        })?;
        answer.await.map_err(|_| closed())?
    }

    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        let events = self.events()?;
        if self.is_subscribed(channel) {
            events.on_join(channel, info);
        }
        Ok(())
    }

    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError> {
        let events = self.events()?;
        if self.is_subscribed(channel) {
            events.on_leave(channel, info);
        }
        Ok(())
    }

    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError> {
        // At most two reads: the second follows the writer creating the stream, and accepts
        // it even if a tiny meta ttl already ran out.
        let mut just_created = false;
        loop {
            match self.readers.history(channel, query, just_created).await? {
                Read::Page {
                    page,
                    stream: id,
                    meta_expires_ms,
                } => {
                    self.keep_alive(id, meta_expires_ms, stream);
                    return Ok(page);
                }
                Read::NoStream if !just_created => {
                    self.ensure(channel, stream).await?;
                    just_created = true;
                }
                Read::NoStream => {
                    return Err(EngineError::Internal(format!(
                        "sqlite stream of {channel} vanished after its creation"
                    )))
                }
            }
        }
    }

    async fn remove_history(&self, channel: &str) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::RemoveHistory {
            channel: channel.to_owned(),
            reply,
        })?;
        answer.await.map_err(|_| closed())?
    }

    /// Commits what is queued, checkpoints the WAL and stops the writer; later calls that
    /// write fail with [`EngineError::Unavailable`]. Closing twice is harmless.
    async fn close(&self) -> Result<(), EngineError> {
        let (reply, answer) = oneshot::channel();
        if self.send(Command::Close { reply }).is_err() {
            return Ok(());
        }
        self.closed.store(true, Ordering::Release);
        let _ = answer.await;
        Ok(())
    }
}

impl std::fmt::Debug for SqliteBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBroker")
            .field("config", &self.config)
            .field("started", &self.shared.events.get().is_some())
            .finish_non_exhaustive()
    }
}

fn closed() -> EngineError {
    EngineError::Unavailable("sqlite engine closed".into())
}
