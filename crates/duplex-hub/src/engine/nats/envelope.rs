//! The bytes a NATS message carries: one publication, join or leave, in a small binary envelope.
//!
//! Binary, because the payload is opaque bytes (JSON or Protobuf) that a JSON envelope would have
//! to base64, and because every node decodes every message of its channels. Layout, integers
//! big-endian, every variable field a `u32` length then its bytes:
//!
//! ```text
//! version (u8 = 1) | kind (u8: 1 publication, 2 join, 3 leave) | body
//! publication body: flags (u8: bit 0 delta, bit 1 has info) | time_ms (i64) | data
//!                   | [client info] | tag count (u32) | (key, value)*
//! join/leave body:  client info
//! client info:      user | client | conn_info present (u8) [| conn_info]
//!                   | chan_info present (u8) [| chan_info]
//! ```
//!
//! Decoding checks every length against what is left, so a message from some other client on
//! our subjects is refused (and logged by the caller), never a panic or a huge allocation. There
//! is no offset: the NATS broker keeps no history and publications travel with offset 0.

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::{ClientInfo, Publication};

const VERSION: u8 = 1;
const PUBLICATION: u8 = 1;
const JOIN: u8 = 2;
const LEAVE: u8 = 3;
const FLAG_DELTA: u8 = 1;
const FLAG_INFO: u8 = 2;

/// What one message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Envelope {
    /// A publication (offset always 0).
    Publication(Publication),
    /// A client joined.
    Join(ClientInfo),
    /// A client left.
    Leave(ClientInfo),
}

/// Encodes a publication.
pub(crate) fn encode_publication(publication: &Publication) -> Bytes {
    let mut out = BytesMut::with_capacity(32 + publication.data.len());
    out.put_u8(VERSION);
    out.put_u8(PUBLICATION);
    let mut flags = 0;
    if publication.delta {
        flags |= FLAG_DELTA;
    }
    if publication.info.is_some() {
        flags |= FLAG_INFO;
    }
    out.put_u8(flags);
    out.put_i64(publication.time_ms);
    put_bytes(&mut out, &publication.data);
    if let Some(info) = &publication.info {
        put_info(&mut out, info);
    }
    out.put_u32(len32(publication.tags.len()));
    for (key, value) in &publication.tags {
        put_bytes(&mut out, key.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    out.freeze()
}

/// Encodes a join (`join` true) or a leave.
pub(crate) fn encode_presence(info: &ClientInfo, join: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    out.put_u8(VERSION);
    out.put_u8(if join { JOIN } else { LEAVE });
    put_info(&mut out, info);
    out.freeze()
}

/// Decodes a message; the error says what was wrong, for the log.
pub(crate) fn decode(message: &Bytes) -> Result<Envelope, String> {
    let mut reader = Reader {
        source: message,
        at: 0,
    };
    let version = reader.u8()?;
    if version != VERSION {
        return Err(format!("unknown envelope version {version}"));
    }
    let envelope = match reader.u8()? {
        PUBLICATION => {
            let flags = reader.u8()?;
            let time_ms = i64::from_be_bytes(reader.array()?);
            let data = reader.bytes()?;
            let info = if flags & FLAG_INFO != 0 {
                Some(reader.info()?)
            } else {
                None
            };
            let count = reader.u32()?;
            let mut tags = BTreeMap::new();
            for _ in 0..count {
                let key = reader.string()?;
                let value = reader.string()?;
                tags.insert(key, value);
            }
            Envelope::Publication(Publication {
                offset: 0,
                data,
                info,
                tags,
                time_ms,
                delta: flags & FLAG_DELTA != 0,
            })
        }
        JOIN => Envelope::Join(reader.info()?),
        LEAVE => Envelope::Leave(reader.info()?),
        kind => return Err(format!("unknown envelope kind {kind}")),
    };
    if reader.at != message.len() {
        return Err("bytes after the envelope".to_owned());
    }
    Ok(envelope)
}

/// A length as the envelope's `u32`; no channel payload reaches 4 GiB (the hub's limits are far
/// below), so saturating only guards against a caller bypassing them.
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(len32(bytes.len()));
    out.put_slice(bytes);
}

fn put_optional(out: &mut BytesMut, bytes: Option<&Bytes>) {
    match bytes {
        Some(bytes) => {
            out.put_u8(1);
            put_bytes(out, bytes);
        }
        None => out.put_u8(0),
    }
}

fn put_info(out: &mut BytesMut, info: &ClientInfo) {
    put_bytes(out, info.user.as_bytes());
    put_bytes(out, info.client.as_bytes());
    put_optional(out, info.conn_info.as_ref());
    put_optional(out, info.chan_info.as_ref());
}

/// A bounds-checked cursor over a message.
struct Reader<'a> {
    source: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<std::ops::Range<usize>, String> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.source.len())
            .ok_or("truncated envelope")?;
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

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A length-prefixed field, sharing the message's buffer (no copy).
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

    fn info(&mut self) -> Result<ClientInfo, String> {
        Ok(ClientInfo {
            user: self.string()?,
            client: self.string()?,
            conn_info: self.optional()?,
            chan_info: self.optional()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> ClientInfo {
        ClientInfo {
            user: "42".into(),
            client: "c1".into(),
            conn_info: Some(Bytes::from_static(b"{\"name\":\"Alice\"}")),
            chan_info: None,
        }
    }

    #[test]
    fn publications_round_trip_every_field() {
        let publication = Publication {
            offset: 0,
            data: Bytes::from_static(b"\x00binary\xff"),
            info: Some(alice()),
            tags: BTreeMap::from([("kind".into(), "note".into()), ("é".into(), "".into())]),
            time_ms: 1_700_000_000_123,
            delta: true,
        };
        let decoded = decode(&encode_publication(&publication)).unwrap();
        assert_eq!(decoded, Envelope::Publication(publication));
        let bare = Publication::default();
        assert_eq!(
            decode(&encode_publication(&bare)).unwrap(),
            Envelope::Publication(bare)
        );
    }

    #[test]
    fn joins_and_leaves_round_trip() {
        assert_eq!(
            decode(&encode_presence(&alice(), true)).unwrap(),
            Envelope::Join(alice())
        );
        assert_eq!(
            decode(&encode_presence(&alice(), false)).unwrap(),
            Envelope::Leave(alice())
        );
    }

    #[test]
    fn every_truncation_and_garbage_is_an_error() {
        let whole = encode_publication(&Publication {
            info: Some(alice()),
            tags: BTreeMap::from([("k".into(), "v".into())]),
            data: Bytes::from_static(b"hello"),
            ..Publication::default()
        });
        for cut in 0..whole.len() {
            assert!(decode(&whole.slice(..cut)).is_err(), "cut at {cut}");
        }
        let mut longer = whole.to_vec();
        longer.push(0);
        assert!(decode(&Bytes::from(longer)).is_err());
        // A huge declared length is refused without allocating it.
        let huge = Bytes::from_static(b"\x01\x01\x00\0\0\0\0\0\0\0\0\xff\xff\xff\xff");
        assert!(decode(&huge).is_err());
        assert!(decode(&Bytes::from_static(b"{\"json\":1}")).is_err());
    }
}
