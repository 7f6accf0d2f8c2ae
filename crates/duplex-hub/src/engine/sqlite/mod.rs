//! The SQLite engine: a single node's durable broker — history streams, epochs, offsets and
//! idempotency keys in one SQLite file, so a hub that restarts (or is killed) continues every
//! channel's epoch and offsets and its clients recover what they missed.
//!
//! Shape, and why:
//! - **One writer thread** owns the only read-write connection. Publishes queue to it; it takes
//!   everything queued (up to [`SqliteConfig::max_batch`]) into one transaction, commits once,
//!   then delivers the batch's publications to the hub in order and answers the publishers. One
//!   commit (one WAL append, one fsync with `FULL`) is shared by every publish that arrived
//!   while the previous commit ran — group commit — and a single writer makes offsets a plain
//!   read-increment-write with no lock contention.
//! - **WAL mode, separate read-only connections** (a small pool, used through
//!   `spawn_blocking`): history reads see the last committed state and never wait for the
//!   writer. The exception is the first read of a channel that has no stream yet, which must
//!   create its epoch (a write) so the position it hands out survives.
//! - **Trimming in the background**: size trimming is logical at publish time (the stream's
//!   `first` kept offset moves; the row that falls out is deleted inline, at most a few per
//!   publish), ttl expiry is applied by readers as they read, and physical deletion of expired
//!   publications, forgotten streams and old idempotency keys runs in the writer between
//!   batches in bounded rounds (see `trim.rs`), so a large backlog never stalls publishes.
//! - **Presence stays in memory** ([`MemoryPresence`](crate::engine::memory::MemoryPresence)):
//!   presence is live state, refreshed by connected clients; after a restart every client
//!   reconnects and re-announces itself, so persisting it would only resurrect ghosts.
//!
//! Durability: with [`Synchronous::Normal`] (the default) a commit reaches the operating system
//! before the publisher is answered but is fsynced only at checkpoints: a published message
//! survives a crash of the process (including SIGKILL) but not a power loss or kernel crash,
//! which may lose the last commits (never corrupt the file). [`Synchronous::Full`] fsyncs every
//! group commit and survives power loss too, at the cost docs/performance.md measures.
//!
//! One hub per data folder: two processes on one folder would keep the file consistent (SQLite
//! locks) but each would deliver only to its own clients, so the engine locks the folder
//! (`hub.lock`, see `lock.rs`) and a second one is refused with a message that says so.

mod broker;
mod lock;
mod reader;
mod row;
mod schema;
mod trim;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use broker::SqliteBroker;
pub use lock::LOCK_FILE;

use super::{Engine, EngineError};

/// The database file inside the data folder.
pub const DATABASE_FILE: &str = "hub.sqlite3";

/// When a commit is made durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync at WAL checkpoints only: durable across a process crash (SIGKILL included), not
    /// across power loss. SQLite's recommended setting for WAL mode.
    #[default]
    Normal,
    /// fsync the WAL at every (group) commit: durable across power loss.
    Full,
}

/// Settings of the SQLite engine; every queue and round is bounded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The data folder, created if missing; the database is [`DATABASE_FILE`] inside it.
    pub path: PathBuf,
    /// When commits are fsynced (default [`Synchronous::Normal`]).
    pub synchronous: Synchronous,
    /// Read-only connections for history reads (default 4).
    pub readers: usize,
    /// At most this many writer commands in one transaction (default 1,000).
    pub max_batch: usize,
    /// At most this many publishes queued for the writer; further publishers wait for room
    /// (default 10,000).
    pub max_pending: usize,
    /// How often a trimming round runs when the previous one found nothing left to do
    /// (default 1 s).
    pub trim_interval: Duration,
    /// How many rows (publications or idempotency keys) a trimming round deletes at most
    /// (default 5,000); a round that used its budget is followed by another soon.
    pub trim_rows: usize,
    /// How many streams a trimming round inspects for expiry (default 1,000).
    pub trim_streams: usize,
}

impl SqliteConfig {
    /// Defaults for a data folder.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            path: path.into(),
            synchronous: Synchronous::Normal,
            readers: 4,
            max_batch: 1_000,
            max_pending: 10_000,
            trim_interval: Duration::from_secs(1),
            trim_rows: 5_000,
            trim_streams: 1_000,
        }
    }
}

impl Engine {
    /// A durable single-node engine storing history in `data_folder` (created if missing),
    /// with presence in memory.
    ///
    /// ```
    /// # fn demo() -> Result<(), duplex_hub::engine::EngineError> {
    /// let folder = std::env::temp_dir().join(format!("duplex-doc-{}", std::process::id()));
    /// let engine = duplex_hub::engine::Engine::sqlite(&folder)?;
    /// # drop(engine); let _ = std::fs::remove_dir_all(folder);
    /// # Ok(()) }
    /// # demo().unwrap();
    /// ```
    pub fn sqlite(data_folder: impl Into<PathBuf>) -> Result<Self, EngineError> {
        Self::sqlite_with(SqliteConfig::new(data_folder))
    }

    /// [`Engine::sqlite`] with explicit settings.
    pub fn sqlite_with(config: SqliteConfig) -> Result<Self, EngineError> {
        Ok(Engine {
            broker: Arc::new(SqliteBroker::open(config)?),
            presence: Arc::new(super::memory::MemoryPresence::new(
                super::memory::MemoryConfig::default(),
            )),
        })
    }
}

/// Now as Unix milliseconds (the engine's clock: it survives restarts, unlike `Instant`).
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration as milliseconds for arithmetic on stored times, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A random epoch, as the memory engine makes them.
fn new_epoch() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 8)
}

/// An SQLite failure during normal operation: the engine cannot serve (disk full, I/O error).
fn storage(error: rusqlite::Error) -> EngineError {
    EngineError::Unavailable(format!("sqlite: {error}"))
}
