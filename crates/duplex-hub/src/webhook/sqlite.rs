//! The queue in a SQLite file, so that a hub that stops — gracefully or killed — still owes
//! the events it had not delivered, and the next hub on the same file delivers them.
//!
//! WAL with `synchronous = NORMAL`: a commit is a write to the log without an fsync, so it
//! survives the process being killed (the kernel has it) but not a power cut in the last
//! moments; an fsync per disconnect would cost more than the guarantee is worth here. One
//! connection behind a mutex: changes come in batches from one writer thread (`writer.rs`),
//! and the delivery worker's reads are short.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection};

use super::queue::{Change, Owed, Queue, QueueError};

/// The queue in a SQLite file.
pub(crate) struct SqliteQueue {
    max: usize,
    connection: Mutex<Connection>,
    /// Rows in the table, kept beside it so that `len` and the bound need no query.
    len: AtomicUsize,
}

impl From<rusqlite::Error> for QueueError {
    fn from(error: rusqlite::Error) -> Self {
        QueueError(error.to_string())
    }
}

impl SqliteQueue {
    /// Opens (or creates) the queue at `path`; its folder is created if missing.
    pub(crate) fn open(path: &Path, max: usize) -> Result<SqliteQueue, QueueError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|e| QueueError(format!("cannot create {}: {e}", folder.display())))?;
        }
        let connection = Connection::open(path)
            .map_err(|e| QueueError(format!("cannot open {}: {e}", path.display())))?;
        // Another hub on the same file (a restart that overlaps) waits a little, not forever.
        connection.busy_timeout(Duration::from_secs(2))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS webhook_events (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 body BLOB NOT NULL,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 due_ms INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS webhook_events_due ON webhook_events (due_ms, seq);",
        )?;
        let len: i64 =
            connection.query_row("SELECT COUNT(*) FROM webhook_events", [], |row| row.get(0))?;
        Ok(SqliteQueue {
            max: max.max(1),
            connection: Mutex::new(connection),
            len: AtomicUsize::new(usize::try_from(len).unwrap_or(0)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Queue for SqliteQueue {
    fn apply(&self, changes: &[Change]) -> Result<usize, QueueError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        let mut len = self.len.load(Ordering::Relaxed);
        let mut dropped = 0;
        for change in changes {
            match change {
                Change::Add(owed) => {
                    let known: i64 = transaction
                        .prepare_cached("SELECT COUNT(*) FROM webhook_events WHERE id = ?1")?
                        .query_row(params![owed.id], |row| row.get(0))?;
                    if known > 0 {
                        continue;
                    }
                    if len >= self.max {
                        let removed = transaction
                            .prepare_cached(
                                "DELETE FROM webhook_events WHERE seq IN
                                     (SELECT seq FROM webhook_events ORDER BY seq LIMIT ?1)",
                            )?
                            .execute(params![(len + 1 - self.max) as i64])?;
                        dropped += removed;
                        len -= removed.min(len);
                    }
                    len += transaction
                        .prepare_cached(
                            "INSERT OR IGNORE INTO webhook_events (id, body, attempts, due_ms)
                             VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute(params![owed.id, owed.body, owed.attempts, owed.due_ms])?;
                }
                Change::Delivered(id) => {
                    let removed = transaction
                        .prepare_cached("DELETE FROM webhook_events WHERE id = ?1")?
                        .execute(params![id])?;
                    len -= removed.min(len);
                }
                Change::Retry {
                    id,
                    attempts,
                    due_ms,
                } => {
                    transaction
                        .prepare_cached(
                            "UPDATE webhook_events SET attempts = ?2, due_ms = ?3 WHERE id = ?1",
                        )?
                        .execute(params![id, attempts, due_ms])?;
                }
            }
        }
        transaction.commit()?;
        self.len.store(len, Ordering::Relaxed);
        Ok(dropped)
    }

    fn due(
        &self,
        now_ms: i64,
        limit: usize,
        skip: &HashSet<String>,
    ) -> Result<Vec<Owed>, QueueError> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT id, body, attempts, due_ms FROM webhook_events
             WHERE due_ms <= ?1 ORDER BY due_ms, seq LIMIT ?2",
        )?;
        // The skipped ones are among the earliest due: read past them.
        let wanted = (limit + skip.len()).min(i64::MAX as usize) as i64;
        let rows = statement.query_map(params![now_ms, wanted], |row| {
            Ok(Owed {
                id: row.get(0)?,
                body: row.get(1)?,
                attempts: row.get(2)?,
                due_ms: row.get(3)?,
            })
        })?;
        let mut owed = Vec::new();
        for row in rows {
            let row = row?;
            if !skip.contains(&row.id) {
                owed.push(row);
                if owed.len() == limit {
                    break;
                }
            }
        }
        Ok(owed)
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

/// The rows a queue file holds, read by a connection of its own, as the next hub would.
#[cfg(test)]
fn count(path: &Path) -> i64 {
    let connection = Connection::open(path).unwrap();
    connection
        .query_row("SELECT COUNT(*) FROM webhook_events", [], |row| row.get(0))
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_queue_keeps_the_contract() {
        let folder = tempfile::tempdir().unwrap();
        let queue = SqliteQueue::open(&folder.path().join("webhooks.sqlite3"), 3).unwrap();
        super::super::queue::contract::keeps_the_contract(&queue);
    }

    #[test]
    fn what_is_owed_is_still_owed_after_reopening() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("deeper/webhooks.sqlite3");
        {
            let queue = SqliteQueue::open(&path, 10).unwrap();
            let add = |id: &str, body: &[u8], due_ms| {
                Change::Add(Owed {
                    id: id.into(),
                    body: body.to_vec(),
                    attempts: 0,
                    due_ms,
                })
            };
            queue
                .apply(&[add("a", b"A", 1), add("b", b"B", 2)])
                .unwrap();
            queue
                .apply(&[
                    Change::Retry {
                        id: "a".into(),
                        attempts: 4,
                        due_ms: 3,
                    },
                    Change::Delivered("b".into()),
                ])
                .unwrap();
        }
        assert_eq!(count(&path), 1);
        let queue = SqliteQueue::open(&path, 10).unwrap();
        assert_eq!(queue.len(), 1);
        let owed = queue.due(i64::MAX, 10, &HashSet::new()).unwrap();
        assert_eq!(
            owed,
            [Owed {
                id: "a".into(),
                body: b"A".to_vec(),
                attempts: 4,
                due_ms: 3
            }]
        );
    }
}
