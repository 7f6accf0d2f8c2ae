//! Background trimming: deletes what no read can return any more, in bounded rounds run by the
//! writer between batches, so that disk use follows history_size, history_ttl and the meta ttl
//! without a publish ever waiting for a large delete.
//!
//! A round, in one transaction, spends at most `trim_rows` deleted rows on, in order:
//! expired idempotency keys (by their expiry index); the rows of forgotten stream incarnations
//! (`dead_streams`); then a scan of up to `trim_streams` streams, resumed where the last round
//! stopped, that forgets streams whose meta expired and, for the others, moves `first` past the
//! expired publications at the front and deletes the rows below `first`. Reads never depend on
//! a round having run: they apply expiry themselves. The invariant the rounds keep is the one
//! reads rely on: every offset from `first` to `top` is present.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::row::{offset_sql, offset_u64};
use super::{unix_millis, SqliteConfig};

/// Where the stream scan resumes.
#[derive(Debug, Default)]
pub(super) struct Trimmer {
    cursor: i64,
}

/// A stream as the scan sees it.
struct Scanned {
    id: i64,
    top: u64,
    first: u64,
    meta_expires_ms: i64,
}

impl Trimmer {
    /// One round; true when it used its whole row budget (more is waiting).
    pub(super) fn round(
        &mut self,
        connection: &mut Connection,
        config: &SqliteConfig,
    ) -> rusqlite::Result<bool> {
        let now = unix_millis();
        let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut budget = i64::try_from(config.trim_rows.max(1)).unwrap_or(i64::MAX);
        budget -= as_i64(
            tx.prepare_cached(
                "DELETE FROM idempotency WHERE rowid IN \
                 (SELECT rowid FROM idempotency WHERE expires_ms <= ?1 LIMIT ?2)",
            )?
            .execute(params![now, budget])?,
        );
        if budget > 0 {
            budget = dead_streams(&tx, budget)?;
        }
        if budget > 0 {
            budget = self.scan(&tx, config, now, budget)?;
        }
        tx.commit()?;
        Ok(budget <= 0)
    }

    /// Scans the next streams: forgets expired ones, trims the others' fronts; returns the
    /// budget left.
    fn scan(
        &mut self,
        tx: &Transaction<'_>,
        config: &SqliteConfig,
        now: i64,
        mut budget: i64,
    ) -> rusqlite::Result<i64> {
        let limit = i64::try_from(config.trim_streams.max(1)).unwrap_or(i64::MAX);
        let streams = tx
            .prepare_cached(
                "SELECT id, top, first, meta_expires_ms FROM streams WHERE id > ?1 \
                 ORDER BY id LIMIT ?2",
            )?
            .query_map(params![self.cursor, limit], |row| {
                Ok(Scanned {
                    id: row.get(0)?,
                    top: offset_u64(row.get(1)?),
                    first: offset_u64(row.get(2)?),
                    meta_expires_ms: row.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let wrapped = (streams.len() as i64) < limit;
        for stream in &streams {
            if budget <= 0 {
                return Ok(budget);
            }
            self.cursor = stream.id;
            if stream.meta_expires_ms <= now {
                tx.prepare_cached("INSERT OR IGNORE INTO dead_streams (id) VALUES (?1)")?
                    .execute([stream.id])?;
                tx.prepare_cached("DELETE FROM streams WHERE id = ?1")?
                    .execute([stream.id])?;
                continue;
            }
            // The first unexpired publication, looked for within the budget: a long run of
            // expired ones is crossed over several rounds.
            let window_end = stream.first.saturating_add(offset_u64(budget));
            let unexpired = tx
                .prepare_cached(
                    "SELECT offset FROM publications WHERE stream = ?1 AND offset >= ?2 \
                     AND offset < ?3 AND expires_ms > ?4 ORDER BY offset LIMIT 1",
                )?
                .query_row(
                    params![
                        stream.id,
                        offset_sql(stream.first),
                        offset_sql(window_end),
                        now
                    ],
                    |row| row.get::<_, i64>(0),
                )
                .optional()?
                .map(offset_u64);
            let first = match unexpired {
                Some(offset) => offset,
                None => window_end.min(stream.top + 1),
            };
            if first > stream.first {
                tx.prepare_cached("UPDATE streams SET first = ?1 WHERE id = ?2")?
                    .execute(params![offset_sql(first), stream.id])?;
            }
            budget -= as_i64(
                tx.prepare_cached(
                    "DELETE FROM publications WHERE stream = ?1 AND offset IN \
                     (SELECT offset FROM publications WHERE stream = ?1 AND offset < ?2 \
                      ORDER BY offset LIMIT ?3)",
                )?
                .execute(params![stream.id, offset_sql(first), budget])?,
            );
        }
        if wrapped {
            self.cursor = 0;
        }
        Ok(budget)
    }
}

/// Deletes the rows of forgotten incarnations; returns the budget left.
fn dead_streams(tx: &Transaction<'_>, mut budget: i64) -> rusqlite::Result<i64> {
    let dead = tx
        .prepare_cached("SELECT id FROM dead_streams LIMIT 100")?
        .query_map([], |row| row.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for id in dead {
        if budget <= 0 {
            break;
        }
        let deleted = as_i64(
            tx.prepare_cached(
                "DELETE FROM publications WHERE stream = ?1 AND offset IN \
                 (SELECT offset FROM publications WHERE stream = ?1 ORDER BY offset LIMIT ?2)",
            )?
            .execute(params![id, budget])?,
        );
        if deleted < budget {
            tx.prepare_cached("DELETE FROM dead_streams WHERE id = ?1")?
                .execute([id])?;
        }
        budget -= deleted;
    }
    Ok(budget)
}

fn as_i64(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
