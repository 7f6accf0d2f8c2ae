//! A publication as a row of `publications` and back: the payload and infos as blobs, the
//! publisher's ids as text (NULL when the server API published), tags as a JSON object (NULL
//! when empty, the usual case, so they cost one byte).

use std::collections::BTreeMap;

use bytes::Bytes;
use rusqlite::{params, Connection, Row};

use crate::engine::{ClientInfo, Publication};

/// The columns [`read`] expects, in order.
pub(super) const COLUMNS: &str =
    "offset, time_ms, data, user, client, conn_info, chan_info, tags, delta";

/// Inserts `publication` (its offset set) into stream `stream`, kept until `expires_ms`.
pub(super) fn insert(
    connection: &Connection,
    stream: i64,
    publication: &Publication,
    expires_ms: i64,
) -> rusqlite::Result<()> {
    let info = publication.info.as_ref();
    let tags = if publication.tags.is_empty() {
        None
    } else {
        serde_json::to_string(&publication.tags).ok()
    };
    connection.prepare_cached(INSERT)?.execute(params![
        stream,
        offset_sql(publication.offset),
        expires_ms,
        publication.time_ms,
        publication.data.as_ref(),
        info.map(|i| i.user.as_str()),
        info.map(|i| i.client.as_str()),
        info.and_then(|i| i.conn_info.as_deref()),
        info.and_then(|i| i.chan_info.as_deref()),
        tags,
        publication.delta,
    ])?;
    Ok(())
}

const INSERT: &str = "INSERT INTO publications (stream, offset, expires_ms, time_ms, \
     data, user, client, conn_info, chan_info, tags, delta) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// A publication from a row selected with [`COLUMNS`].
pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Publication> {
    let blob = |index: usize| -> rusqlite::Result<Option<Bytes>> {
        Ok(row.get::<_, Option<Vec<u8>>>(index)?.map(Bytes::from))
    };
    let client: Option<String> = row.get(4)?;
    let info = match client {
        Some(client) => Some(ClientInfo {
            user: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
            client,
            conn_info: blob(5)?,
            chan_info: blob(6)?,
        }),
        None => None,
    };
    let tags = match row.get::<_, Option<String>>(7)? {
        // The engine wrote this JSON itself; unreadable tags (a damaged row) read as none
        // rather than failing the whole page.
        Some(json) => serde_json::from_str::<BTreeMap<String, String>>(&json).unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Publication {
        offset: offset_u64(row.get(0)?),
        time_ms: row.get(1)?,
        data: blob(2)?.unwrap_or_default(),
        info,
        tags,
        delta: row.get(8)?,
    })
}

/// An offset as SQLite's signed integer; offsets never come near `i64::MAX`.
pub(super) fn offset_sql(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// A stored offset back; a negative one (never written) reads as 0.
pub(super) fn offset_u64(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}
