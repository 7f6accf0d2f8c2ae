//! The binary form in which the networked engines carry publications and client descriptions
//! between nodes: the Redis engine stores and publishes it, the NATS broker wraps it in its
//! envelope. One form, written once, so the two engines cannot drift apart.
//!
//! Binary rather than JSON because payloads are opaque bytes (Protobuf clients publish binary)
//! and JSON would need base64 on every publication. Integers are big-endian; every variable
//! field is a `u32` length, then its bytes:
//!
//! ```text
//! publication: flags (u8: bit 0 delta, bit 1 has info) | time_ms (i64) | data
//!              | tag count (u32) | (key, value)* | [client info]
//! client info: user | client | conn_info present (u8) [| conn_info]
//!              | chan_info present (u8) [| chan_info]
//! ```
//!
//! The offset is not part of it: Redis assigns it in the publish script, NATS has none. Each
//! engine puts its own version (and the NATS envelope its kind) in front. Reading checks every
//! length against what is left, so bytes some other client wrote on our keys or subjects are
//! refused, never a panic or a huge allocation.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::{ClientInfo, Publication};

const FLAG_DELTA: u8 = 1;
const FLAG_INFO: u8 = 2;

/// Appends `publication` (all but its offset).
pub(super) fn put_publication(out: &mut BytesMut, publication: &Publication) {
    let mut flags = 0;
    if publication.delta {
        flags |= FLAG_DELTA;
    }
    if publication.info.is_some() {
        flags |= FLAG_INFO;
    }
    out.put_u8(flags);
    out.put_i64(publication.time_ms);
    put_bytes(out, &publication.data);
    out.put_u32(len32(publication.tags.len()));
    for (key, value) in &publication.tags {
        put_bytes(out, key.as_bytes());
        put_bytes(out, value.as_bytes());
    }
    if let Some(info) = &publication.info {
        put_info(out, info);
    }
}

/// Appends a client description.
pub(super) fn put_info(out: &mut BytesMut, info: &ClientInfo) {
    put_bytes(out, info.user.as_bytes());
    put_bytes(out, info.client.as_bytes());
    put_optional(out, info.conn_info.as_deref());
    put_optional(out, info.chan_info.as_deref());
}

/// A length as a `u32`; no payload reaches 4 GiB (the hub's limits are far below), so
/// saturating only guards against a caller bypassing them.
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(len32(bytes.len()));
    out.put_slice(bytes);
}

fn put_optional(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            out.put_u8(1);
            put_bytes(out, bytes);
        }
        None => out.put_u8(0),
    }
}

/// A bounds-checked cursor over encoded bytes; the fields it returns share their buffer.
pub(super) struct Reader<'a> {
    source: &'a Bytes,
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(source: &'a Bytes) -> Self {
        Reader { source, at: 0 }
    }

    /// A publication (see the layout above), with `offset`.
    pub(super) fn publication(&mut self, offset: u64) -> Result<Publication, String> {
        let flags = self.u8()?;
        let time_ms = i64::from_be_bytes(self.array()?);
        let data = self.bytes()?;
        let count = self.u32()?;
        let mut tags = BTreeMap::new();
        for _ in 0..count {
            let key = self.string()?;
            let value = self.string()?;
            tags.insert(key, value);
        }
        let info = if flags & FLAG_INFO != 0 {
            Some(self.info()?)
        } else {
            None
        };
        Ok(Publication {
            offset,
            data,
            info,
            tags,
            time_ms,
            delta: flags & FLAG_DELTA != 0,
        })
    }

    /// A client description.
    pub(super) fn info(&mut self) -> Result<ClientInfo, String> {
        Ok(ClientInfo {
            user: self.string()?,
            client: self.string()?,
            conn_info: self.optional()?,
            chan_info: self.optional()?,
        })
    }

    pub(super) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    /// Succeeds if everything was read.
    pub(super) fn end(&self) -> Result<(), String> {
        if self.at == self.source.len() {
            Ok(())
        } else {
            Err("bytes after the value".to_owned())
        }
    }

    fn take(&mut self, len: usize) -> Result<std::ops::Range<usize>, String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.source.len())
            .ok_or("truncated value")?;
        let range = self.at..end;
        self.at = end;
        Ok(range)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let range = self.take(N)?;
        let mut array = [0; N];
        array.copy_from_slice(&self.source[range]);
        Ok(array)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn bytes(&mut self) -> Result<Bytes, String> {
        let len = usize::try_from(self.u32()?).map_err(|_| "length overflow")?;
        let range = self.take(len)?;
        Ok(self.source.slice(range))
    }

    fn string(&mut self) -> Result<String, String> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "a text field is not UTF-8".to_owned())
    }

    fn optional(&mut self) -> Result<Option<Bytes>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            other => Err(format!("bad presence marker {other}")),
        }
    }
}
