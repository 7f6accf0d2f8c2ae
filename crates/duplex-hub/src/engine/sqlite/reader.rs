//! History reads: a small pool of read-only connections, each read one snapshot transaction on
//! a blocking thread, so that reads see only committed publications and never wait for the
//! writer (WAL readers do not block on the writer, nor it on them).
//!
//! Expiry is applied here, as the memory engine applies it: publications leave from the front
//! only, so the kept window begins at the first unexpired publication at or after the stream's
//! `first` and runs, contiguous, to the top. Rows the trimming has not deleted yet are simply
//! not read.

use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::Semaphore;

use super::row::{self, offset_sql, offset_u64};
use super::{schema, storage, unix_millis, SqliteConfig};
use crate::engine::{EngineError, HistoryPage, HistoryQuery, StreamPosition};

/// What a read found.
pub(super) enum Read {
    /// The page, with what the caller needs to keep the stream's meta alive.
    Page {
        page: HistoryPage,
        stream: i64,
        meta_expires_ms: i64,
    },
    /// The channel has no live stream: the writer must create one first.
    NoStream,
}

/// The pool of read-only connections.
pub(super) struct Readers {
    config: SqliteConfig,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    /// Opens `config.readers` connections (at least one) now, so a problem shows at startup.
    pub(super) fn open(config: &SqliteConfig) -> Result<Self, EngineError> {
        let count = config.readers.max(1);
        let idle = (0..count)
            .map(|_| schema::open_reader(config))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers {
            config: config.clone(),
            idle: Mutex::new(idle),
            permits: Semaphore::new(count),
        })
    }

    /// Reads the channel's history. With `accept_expired`, a stream whose meta expired a moment
    /// ago still answers (the writer just created or refreshed it for this read).
    pub(super) async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        accept_expired: bool,
    ) -> Result<Read, EngineError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| EngineError::Unavailable("sqlite readers closed".into()))?;
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        // A connection lost to a panicked read is replaced.
        let mut connection = match pooled {
            Some(connection) => connection,
            None => schema::open_reader(&self.config)?,
        };
        let (channel, query) = (channel.to_owned(), query.clone());
        let (connection, result) = tokio::task::spawn_blocking(move || {
            let result = read(&mut connection, &channel, &query, accept_expired);
            (connection, result)
        })
        .await
        .map_err(|e| EngineError::Internal(format!("sqlite read failed: {e}")))?;
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(connection);
        result
    }
}

/// The stream's meta as stored.
struct Meta {
    id: i64,
    epoch: String,
    top: u64,
    first: u64,
    meta_expires_ms: i64,
}

fn read(
    connection: &mut Connection,
    channel: &str,
    query: &HistoryQuery,
    accept_expired: bool,
) -> Result<Read, EngineError> {
    let now = unix_millis();
    // One snapshot for the meta and the rows: a commit between them cannot tear the page.
    let tx = connection.transaction().map_err(storage)?;
    let meta = tx
        .prepare_cached(
            "SELECT id, epoch, top, first, meta_expires_ms FROM streams WHERE channel = ?1",
        )
        .and_then(|mut statement| {
            statement
                .query_row([channel], |row| {
                    Ok(Meta {
                        id: row.get(0)?,
                        epoch: row.get(1)?,
                        top: offset_u64(row.get(2)?),
                        first: offset_u64(row.get(3)?),
                        meta_expires_ms: row.get(4)?,
                    })
                })
                .optional()
        })
        .map_err(storage)?;
    let Some(meta) = meta.filter(|m| accept_expired || m.meta_expires_ms > now) else {
        return Ok(Read::NoStream);
    };
    let first_kept = tx
        .prepare_cached(
            "SELECT offset FROM publications WHERE stream = ?1 AND offset >= ?2 \
             AND expires_ms > ?3 ORDER BY offset LIMIT 1",
        )
        .and_then(|mut statement| {
            statement
                .query_row(params![meta.id, offset_sql(meta.first), now], |row| {
                    row.get::<_, i64>(0)
                })
                .optional()
        })
        .map_err(storage)?
        .map_or(meta.top + 1, offset_u64);
    let position = StreamPosition {
        offset: meta.top,
        epoch: meta.epoch.clone(),
    };
    let (low, high, descending) = window(query, &position, first_kept)?;
    let limit = query.limit.unwrap_or(usize::MAX);
    let mut publications = Vec::new();
    if limit > 0 && low <= high {
        let order = if descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM publications WHERE stream = ?1 AND offset BETWEEN ?2 AND ?3 \
             ORDER BY offset {order} LIMIT ?4",
            row::COLUMNS
        );
        let mut statement = tx.prepare_cached(&sql).map_err(storage)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(
                params![meta.id, offset_sql(low), offset_sql(high), limit],
                row::read,
            )
            .map_err(storage)?;
        for publication in rows {
            publications.push(publication.map_err(storage)?);
        }
    }
    drop(tx);
    Ok(Read::Page {
        page: HistoryPage {
            position,
            publications,
        },
        stream: meta.id,
        meta_expires_ms: meta.meta_expires_ms,
    })
}

/// The offsets `low..=high` a query may return (before its limit) and their order, with the
/// memory engine's rules: a forward read from a position must find every later offset kept.
fn window(
    query: &HistoryQuery,
    top: &StreamPosition,
    first_kept: u64,
) -> Result<(u64, u64, bool), EngineError> {
    let Some(since) = &query.since else {
        return Ok((first_kept, top.offset, query.reverse));
    };
    if since.epoch != top.epoch || since.offset > top.offset {
        return Err(EngineError::UnrecoverablePosition);
    }
    if query.reverse {
        // Paging back: whatever is kept before `since`; the start of history is not a gap.
        return Ok(match since.offset {
            0 => (1, 0, true),
            offset => (first_kept, offset - 1, true),
        });
    }
    if since.offset + 1 < first_kept {
        return Err(EngineError::UnrecoverablePosition);
    }
    Ok((since.offset + 1, top.offset, false))
}
