//! The writer thread: the one read-write connection, fed by a queue of commands.
//!
//! Each turn takes whatever is queued (up to `max_batch`) into one `BEGIN IMMEDIATE`
//! transaction and commits once; only then are the batch's publications handed to the
//! delivery thread, which calls the hub in queue order (offset order per channel, offsets being
//! assigned in that order), and the publishers answered. Delivery on its own thread lets the
//! next commit overlap a large fan-out; its queue is bounded, so a hub slower than the disk
//! slows the writer down instead of growing memory. A failed transaction answers every command of the batch with
//! the error and delivers nothing: nothing of it was stored. Between turns, at most once per
//! trim interval (sooner while there is a backlog), a bounded trimming round runs.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use tokio::sync::{oneshot, OwnedSemaphorePermit};

use super::lock::FolderLock;
use super::row::{self, offset_sql, offset_u64};
use super::trim::Trimmer;
use super::{millis, new_epoch, storage, SqliteConfig};
use crate::engine::{
    BrokerEvents, EngineError, Publication, PublishOptions, PublishOutcome, StreamOptions,
    StreamPosition,
};

/// How many rows a publish deletes inline when its stream's size window moves; more (a size
/// that shrank a lot) is left to the trimming rounds, so one publish never deletes without
/// bound.
const INLINE_TRIM: u64 = 16;

/// How many committed batches may wait for the delivery thread before the writer waits.
const DELIVERY_QUEUE: usize = 64;

/// How soon another trimming round runs when the last one used its whole budget.
const BACKLOG_TRIM_DELAY: Duration = Duration::from_millis(20);

/// What the broker asks of the writer.
// Publishes are nearly every command: boxing their fields to shrink the rare others would cost
// each publish an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Command {
    /// Append (when the stream keeps history) and deliver one publication.
    Publish {
        channel: String,
        publication: Publication,
        options: PublishOptions,
        reply: oneshot::Sender<Result<PublishOutcome, EngineError>>,
        /// Room in the writer's queue, given back when the publish is answered.
        _permit: OwnedSemaphorePermit,
    },
    /// Make sure the channel has a live stream (a read found none).
    Ensure {
        channel: String,
        stream: StreamOptions,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Keep a stream's meta until at least `until_ms` (a read of it).
    Touch { stream: i64, until_ms: i64 },
    /// Forget a channel's publications, keeping its epoch and top.
    RemoveHistory {
        channel: String,
        reply: oneshot::Sender<Result<(), EngineError>>,
    },
    /// Finish the queue, checkpoint the WAL and stop.
    Close { reply: oneshot::Sender<()> },
}

/// State the broker and the writer share.
#[derive(Default)]
pub(super) struct Shared {
    /// The hub, and the runtime to enter while calling it (its callbacks may expect one).
    pub(super) events: OnceLock<(Arc<dyn BrokerEvents>, Option<tokio::runtime::Handle>)>,
    /// Channels this node subscribed to.
    pub(super) subscribed: RwLock<HashSet<String>>,
    /// Streams with a touch queued, so a burst of reads queues one.
    pub(super) touching: Mutex<HashSet<i64>>,
}

/// The writer: its connection, its trimming state and its delivery thread.
pub(super) struct Writer {
    connection: Connection,
    /// The data folder's lock: released when the writer closes, before it answers the close,
    /// so the folder can be opened again as soon as `close` returns.
    lock: Option<FolderLock>,
    config: SqliteConfig,
    trimmer: Trimmer,
    shared: Arc<Shared>,
    /// Committed publications to the delivery thread; `None` once finished.
    delivery: Option<(SyncSender<Vec<Delivery>>, JoinHandle<()>)>,
}

/// A command's answer, sent once its transaction is committed (or failed).
enum Answer {
    Publish(
        oneshot::Sender<Result<PublishOutcome, EngineError>>,
        PublishOutcome,
        OwnedSemaphorePermit,
    ),
    Done(oneshot::Sender<Result<(), EngineError>>),
}

/// A publication to hand to the hub after the commit.
struct Delivery {
    channel: String,
    publication: Publication,
    epoch: String,
}

/// A stream's meta as the writer needs it.
struct Meta {
    id: i64,
    epoch: String,
    top: u64,
    first: u64,
}

impl Writer {
    /// A writer on `connection`, with its delivery thread started.
    pub(super) fn new(
        connection: Connection,
        lock: FolderLock,
        config: SqliteConfig,
        shared: Arc<Shared>,
    ) -> std::io::Result<Self> {
        let (sender, batches) = std::sync::mpsc::sync_channel(DELIVERY_QUEUE);
        let events = shared.clone();
        let thread = std::thread::Builder::new()
            .name("duplex-sqlite-delivery".into())
            .spawn(move || {
                for batch in batches {
                    deliver(&events, batch);
                }
            })?;
        Ok(Writer {
            lock: Some(lock),
            connection,
            config,
            trimmer: Trimmer::default(),
            shared,
            delivery: Some((sender, thread)),
        })
    }

    /// Serves commands until `Close` or until every sender is gone.
    pub(super) fn run(mut self, commands: Receiver<Command>) {
        let mut next_trim = Instant::now() + self.config.trim_interval;
        loop {
            let wait = next_trim.saturating_duration_since(Instant::now());
            match commands.recv_timeout(wait) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while batch.len() < self.config.max_batch.max(1) {
                        match commands.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    if let Some(reply) = self.apply(batch) {
                        self.finish();
                        drop(self.lock.take());
                        let _ = reply.send(());
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if Instant::now() >= next_trim {
                let backlog = match self.trimmer.round(&mut self.connection, &self.config) {
                    Ok(backlog) => backlog,
                    Err(error) => {
                        tracing::warn!("sqlite trimming failed: {error}");
                        false
                    }
                };
                let delay = if backlog {
                    BACKLOG_TRIM_DELAY
                } else {
                    self.config.trim_interval
                };
                next_trim = Instant::now() + delay;
            }
        }
        self.finish();
    }

    /// Lets the delivery thread finish what was committed, then folds the WAL back into the
    /// database so the folder holds one file at rest.
    fn finish(&mut self) {
        if let Some((sender, thread)) = self.delivery.take() {
            drop(sender);
            let _ = thread.join();
        }
        if let Err(error) = self
            .connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            tracing::warn!("sqlite checkpoint at close failed: {error}");
        }
    }

    /// One batch in one transaction; returns the close reply if the batch asked to close.
    fn apply(&mut self, batch: Vec<Command>) -> Option<oneshot::Sender<()>> {
        let now = super::unix_millis();
        let mut out = Outputs::default();
        let mut commands = batch.into_iter();
        let result = (|| -> rusqlite::Result<()> {
            let tx = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            for command in commands.by_ref() {
                execute(&tx, command, now, &mut out)?;
            }
            tx.commit()
        })();
        // Whatever the failure left unexecuted is answered with it too.
        for command in commands {
            out.abandon(command);
        }
        if !out.touched.is_empty() {
            let mut touching = self
                .shared
                .touching
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for stream in &out.touched {
                touching.remove(stream);
            }
        }
        let answer = match result {
            Ok(()) => {
                // Who is subscribed is decided now, before the publishers are answered, as the
                // memory broker decides it while publishing.
                let mut deliveries = std::mem::take(&mut out.deliveries);
                {
                    let subscribed = self
                        .shared
                        .subscribed
                        .read()
                        .unwrap_or_else(PoisonError::into_inner);
                    deliveries.retain(|delivery| subscribed.contains(&delivery.channel));
                }
                if let (false, Some((sender, _))) = (deliveries.is_empty(), &self.delivery) {
                    if sender.send(deliveries).is_err() {
                        tracing::error!("sqlite delivery thread is gone");
                    }
                }
                Ok(())
            }
            Err(error) => {
                tracing::warn!("sqlite write failed: {error}");
                Err(storage(error))
            }
        };
        for pending in out.answers {
            match pending {
                Answer::Publish(reply, outcome, _permit) => {
                    let _ = reply.send(answer.clone().map(|()| outcome));
                }
                Answer::Done(reply) => {
                    let _ = reply.send(answer.clone());
                }
            }
        }
        out.close
    }
}

/// Hands committed publications to the hub, in order. A panic in the hub's callback is
/// contained: delivery must outlive one bad publication.
fn deliver(shared: &Shared, deliveries: Vec<Delivery>) {
    let Some((events, runtime)) = shared.events.get() else {
        return;
    };
    let _entered = runtime.as_ref().map(|r| r.enter());
    for delivery in deliveries {
        let call =
            || events.on_publication(&delivery.channel, &delivery.publication, &delivery.epoch);
        if std::panic::catch_unwind(AssertUnwindSafe(call)).is_err() {
            tracing::error!(channel = %delivery.channel, "publication delivery panicked");
        }
    }
}

/// What a batch produced so far: answers to send, publications to deliver.
#[derive(Default)]
struct Outputs {
    answers: Vec<Answer>,
    deliveries: Vec<Delivery>,
    touched: Vec<i64>,
    close: Option<oneshot::Sender<()>>,
}

impl Outputs {
    /// Keeps a command's reply without executing it (its batch failed before it).
    fn abandon(&mut self, command: Command) {
        match command {
            Command::Publish { reply, _permit, .. } => {
                self.answers
                    .push(Answer::Publish(reply, placeholder(), _permit));
            }
            Command::Ensure { reply, .. } | Command::RemoveHistory { reply, .. } => {
                self.answers.push(Answer::Done(reply));
            }
            Command::Touch { stream, .. } => self.touched.push(stream),
            Command::Close { reply } => self.close = Some(reply),
        }
    }
}

/// One command inside the batch's transaction. Its reply is recorded before anything can
/// fail, so a failure answers it with the error.
fn execute(
    tx: &Transaction<'_>,
    command: Command,
    now: i64,
    out: &mut Outputs,
) -> rusqlite::Result<()> {
    match command {
        Command::Publish {
            channel,
            publication,
            options,
            reply,
            _permit,
        } => {
            let (outcome, delivery) = match publish(tx, &channel, publication, &options, now) {
                Ok(published) => published,
                Err(error) => {
                    out.answers
                        .push(Answer::Publish(reply, placeholder(), _permit));
                    return Err(error);
                }
            };
            if let Some(publication) = delivery {
                out.deliveries.push(Delivery {
                    channel,
                    epoch: outcome.position.epoch.clone(),
                    publication,
                });
            }
            out.answers.push(Answer::Publish(reply, outcome, _permit));
        }
        Command::Ensure {
            channel,
            stream,
            reply,
        } => {
            out.answers.push(Answer::Done(reply));
            let meta = live_stream(tx, &channel, &stream, now)?;
            touch(tx, meta.id, now.saturating_add(millis(stream.meta_keep())))?;
        }
        Command::Touch { stream, until_ms } => {
            out.touched.push(stream);
            touch(tx, stream, until_ms)?;
        }
        Command::RemoveHistory { channel, reply } => {
            out.answers.push(Answer::Done(reply));
            tx.prepare_cached("UPDATE streams SET first = top + 1 WHERE channel = ?1")?
                .execute([&channel])?;
        }
        Command::Close { reply } => out.close = Some(reply),
    }
    Ok(())
}

/// Keeps a stream's meta until at least `until_ms`.
fn touch(tx: &Transaction<'_>, stream: i64, until_ms: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE streams SET meta_expires_ms = MAX(meta_expires_ms, ?1) WHERE id = ?2",
    )?
    .execute(params![until_ms, stream])?;
    Ok(())
}

/// The outcome an answer carries until it is known (and when an error replaces it).
fn placeholder() -> PublishOutcome {
    PublishOutcome {
        position: StreamPosition::default(),
        suppressed: false,
    }
}

/// One publish inside the batch's transaction: the idempotency check, the append with its
/// inline size trim, the key. Returns the outcome and the publication to deliver (none for a
/// suppressed retry).
fn publish(
    tx: &Transaction<'_>,
    channel: &str,
    mut publication: Publication,
    options: &PublishOptions,
    now: i64,
) -> rusqlite::Result<(PublishOutcome, Option<Publication>)> {
    if let Some(key) = &options.idempotency_key {
        let seen = tx
            .prepare_cached(
                "SELECT offset, epoch FROM idempotency WHERE channel = ?1 AND key = ?2 \
                 AND expires_ms > ?3",
            )?
            .query_row(params![channel, key, now], |row| {
                Ok(StreamPosition {
                    offset: offset_u64(row.get(0)?),
                    epoch: row.get(1)?,
                })
            })
            .optional()?;
        if let Some(position) = seen {
            let outcome = PublishOutcome {
                position,
                suppressed: true,
            };
            return Ok((outcome, None));
        }
    }
    if publication.time_ms == 0 {
        publication.time_ms = now;
    }
    let position = match options.stream.as_ref().filter(|s| s.keeps_history()) {
        Some(stream) => append(tx, channel, &mut publication, stream, now)?,
        None => {
            publication.offset = 0;
            StreamPosition::default()
        }
    };
    if let Some(key) = &options.idempotency_key {
        tx.prepare_cached(
            "INSERT INTO idempotency (channel, key, offset, epoch, expires_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (channel, key) DO UPDATE SET \
             offset = excluded.offset, epoch = excluded.epoch, expires_ms = excluded.expires_ms",
        )?
        .execute(params![
            channel,
            key,
            offset_sql(position.offset),
            position.epoch,
            now.saturating_add(millis(options.idempotent_ttl)),
        ])?;
    }
    let outcome = PublishOutcome {
        position,
        suppressed: false,
    };
    Ok((outcome, Some(publication)))
}

/// Appends at the stream's next offset and moves its size window.
fn append(
    tx: &Transaction<'_>,
    channel: &str,
    publication: &mut Publication,
    stream: &StreamOptions,
    now: i64,
) -> rusqlite::Result<StreamPosition> {
    let meta = live_stream(tx, channel, stream, now)?;
    let top = meta.top + 1;
    publication.offset = top;
    let expires = now.saturating_add(millis(stream.ttl));
    row::insert(tx, meta.id, publication, expires)?;
    let size = u64::try_from(stream.size).unwrap_or(u64::MAX);
    let first = meta.first.max((top + 1).saturating_sub(size));
    if first > meta.first {
        tx.prepare_cached(
            "DELETE FROM publications WHERE stream = ?1 AND offset >= ?2 AND offset < ?3",
        )?
        .execute(params![
            meta.id,
            offset_sql(meta.first),
            offset_sql(first.min(meta.first + INLINE_TRIM)),
        ])?;
    }
    tx.prepare_cached(
        "UPDATE streams SET top = ?1, first = ?2, \
         meta_expires_ms = MAX(meta_expires_ms, ?3) WHERE id = ?4",
    )?
    .execute(params![
        offset_sql(top),
        offset_sql(first),
        now.saturating_add(millis(stream.meta_keep())),
        meta.id
    ])?;
    Ok(StreamPosition {
        offset: top,
        epoch: meta.epoch,
    })
}

/// The channel's live stream; a missing one is created, and one whose meta expired is
/// replaced by a new incarnation (new id, new epoch), its rows left to the trimming.
fn live_stream(
    tx: &Transaction<'_>,
    channel: &str,
    stream: &StreamOptions,
    now: i64,
) -> rusqlite::Result<Meta> {
    let found = tx
        .prepare_cached(
            "SELECT id, epoch, top, first, meta_expires_ms FROM streams WHERE channel = ?1",
        )?
        .query_row([channel], |row| {
            Ok((
                Meta {
                    id: row.get(0)?,
                    epoch: row.get(1)?,
                    top: offset_u64(row.get(2)?),
                    first: offset_u64(row.get(3)?),
                },
                row.get::<_, i64>(4)?,
            ))
        })
        .optional()?;
    match found {
        Some((meta, expires)) if expires > now => return Ok(meta),
        Some((meta, _)) => {
            tx.prepare_cached("INSERT OR IGNORE INTO dead_streams (id) VALUES (?1)")?
                .execute([meta.id])?;
            tx.prepare_cached("DELETE FROM streams WHERE id = ?1")?
                .execute([meta.id])?;
        }
        None => {}
    }
    let epoch = new_epoch();
    tx.prepare_cached(
        "INSERT INTO streams (channel, epoch, top, first, meta_expires_ms) \
         VALUES (?1, ?2, 0, 1, ?3)",
    )?
    .execute(params![
        channel,
        epoch,
        now.saturating_add(millis(stream.meta_keep()))
    ])?;
    Ok(Meta {
        id: tx.last_insert_rowid(),
        epoch,
        top: 0,
        first: 1,
    })
}
