//! The database: its tables, the pragmas each connection runs with, and opening it with an
//! error that names the folder and what is wrong with it.
//!
//! Publications are keyed by a stream id, not the channel name: a stream that is forgotten (its
//! meta expired) and begun again gets a new id and a new epoch, so its successor never collides
//! with leftover rows, which the background trimming deletes later (`dead_streams`). The id is
//! `AUTOINCREMENT` so that an id is never reused, and a row of `publications` stores a small
//! integer instead of a possibly long channel name.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::{SqliteConfig, Synchronous, DATABASE_FILE};
use crate::engine::EngineError;

/// The layout this code reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL UNIQUE,
    epoch TEXT NOT NULL,
    top INTEGER NOT NULL,
    -- The lowest offset still kept: everything from here to top is present as a row (the
    -- rows below it may linger until trimmed, and are never read).
    first INTEGER NOT NULL,
    meta_expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS publications (
    stream INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    data BLOB NOT NULL,
    user TEXT,
    client TEXT,
    conn_info BLOB,
    chan_info BLOB,
    tags TEXT,
    delta INTEGER NOT NULL,
    PRIMARY KEY (stream, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_streams (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS idempotency (
    channel TEXT NOT NULL,
    key TEXT NOT NULL,
    offset INTEGER NOT NULL,
    epoch TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    UNIQUE (channel, key)
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_ms);
";

/// The database file of a config's folder.
pub(super) fn database_path(config: &SqliteConfig) -> PathBuf {
    config.path.join(DATABASE_FILE)
}

/// Creates the data folder if needed; fails, naming it, where a file stands in its place.
pub(super) fn create_folder(config: &SqliteConfig) -> Result<PathBuf, EngineError> {
    let folder = &config.path;
    if folder.exists() && !folder.is_dir() {
        return Err(open_error(folder, "it exists and is not a folder"));
    }
    std::fs::create_dir_all(folder).map_err(|e| open_error(folder, e))?;
    Ok(folder.to_owned())
}

/// Opens the database for the writer, sets WAL mode and creates the tables. The folder
/// exists and this engine holds its lock. Every failure says which file and why.
pub(super) fn open_writer(config: &SqliteConfig) -> Result<Connection, EngineError> {
    let path = database_path(config);
    let connection = Connection::open(&path).map_err(|e| open_error(&path, e))?;
    let fail = |e: rusqlite::Error| open_error(&path, e);
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(fail)?;
    let mode: String = connection
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(open_error(
            &path,
            format!("cannot use WAL mode (got {mode})"),
        ));
    }
    let synchronous = match config.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA synchronous = {synchronous};
             PRAGMA journal_size_limit = 67108864;
             PRAGMA foreign_keys = OFF;"
        ))
        .map_err(fail)?;
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(fail)?;
    match version {
        0 => {
            connection.execute_batch(SCHEMA).map_err(fail)?;
            connection
                .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
                .map_err(fail)?;
        }
        SCHEMA_VERSION => {}
        other => {
            return Err(open_error(
                &path,
                format!("schema version {other} is not this hub's ({SCHEMA_VERSION})"),
            ))
        }
    }
    // A write proves the folder is writable now rather than at the first publish.
    connection
        .execute_batch("BEGIN IMMEDIATE; COMMIT;")
        .map_err(fail)?;
    Ok(connection)
}

/// A read-only connection for history reads; the writer has created the database.
pub(super) fn open_reader(config: &SqliteConfig) -> Result<Connection, EngineError> {
    let path = database_path(config);
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(&path, flags).map_err(|e| open_error(&path, e))?;
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| open_error(&path, e))?;
    Ok(connection)
}

fn open_error(path: &Path, why: impl std::fmt::Display) -> EngineError {
    EngineError::Unavailable(format!(
        "sqlite engine cannot use {}: {why}",
        path.display()
    ))
}
