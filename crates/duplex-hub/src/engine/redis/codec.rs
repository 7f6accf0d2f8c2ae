//! The bytes the Redis engine stores and sends: a publication (without its offset, which the
//! publish script assigns) and a client description, in a small length-prefixed binary form.
//!
//! Binary rather than JSON because payloads are opaque bytes (Protobuf clients publish binary)
//! and JSON would need base64 on every publication. Every node of a cluster decodes what other
//! nodes wrote, so the first byte is a version and decoding never panics: bytes that do not
//! parse (another version, a damaged value) decode to `None` and the caller skips them.

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::engine::{ClientInfo, Publication};

/// The format's version, first byte of every encoded value.
const VERSION: u8 = 1;

const FLAG_DELTA: u8 = 1;
const FLAG_INFO: u8 = 2;

/// A publication's fields except the offset.
pub(super) fn encode_publication(publication: &Publication) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(publication.data.len() + 32);
    out.put_u8(VERSION);
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
    out.put_u32(len_u32(publication.tags.len()));
    for (key, value) in &publication.tags {
        put_bytes(&mut out, key.as_bytes());
        put_bytes(&mut out, value.as_bytes());
    }
    if let Some(info) = &publication.info {
        put_info(&mut out, info);
    }
    out.to_vec()
}

/// A publication back, with `offset` set; `None` for bytes this version cannot read.
pub(super) fn decode_publication(bytes: &[u8], offset: u64) -> Option<Publication> {
    let mut input = bytes;
    if take_u8(&mut input)? != VERSION {
        return None;
    }
    let flags = take_u8(&mut input)?;
    if input.remaining() < 8 {
        return None;
    }
    let time_ms = input.get_i64();
    let data = Bytes::copy_from_slice(take_bytes(&mut input)?);
    let count = take_u32(&mut input)?;
    let mut tags = BTreeMap::new();
    for _ in 0..count {
        let key = String::from_utf8(take_bytes(&mut input)?.to_vec()).ok()?;
        let value = String::from_utf8(take_bytes(&mut input)?.to_vec()).ok()?;
        tags.insert(key, value);
    }
    let info = if flags & FLAG_INFO != 0 {
        Some(take_info(&mut input)?)
    } else {
        None
    };
    Some(Publication {
        offset,
        data,
        info,
        tags,
        time_ms,
        delta: flags & FLAG_DELTA != 0,
    })
}

/// A client description, as presence stores it and join/leave messages carry it.
pub(super) fn encode_info(info: &ClientInfo) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(64);
    out.put_u8(VERSION);
    put_info(&mut out, info);
    out.to_vec()
}

/// A client description back; `None` for bytes this version cannot read.
pub(super) fn decode_info(bytes: &[u8]) -> Option<ClientInfo> {
    let mut input = bytes;
    if take_u8(&mut input)? != VERSION {
        return None;
    }
    take_info(&mut input)
}

fn put_info(out: &mut BytesMut, info: &ClientInfo) {
    put_bytes(out, info.user.as_bytes());
    put_bytes(out, info.client.as_bytes());
    put_optional(out, info.conn_info.as_deref());
    put_optional(out, info.chan_info.as_deref());
}

fn take_info(input: &mut &[u8]) -> Option<ClientInfo> {
    Some(ClientInfo {
        user: String::from_utf8(take_bytes(input)?.to_vec()).ok()?,
        client: String::from_utf8(take_bytes(input)?.to_vec()).ok()?,
        conn_info: take_optional(input)?,
        chan_info: take_optional(input)?,
    })
}

fn put_bytes(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(len_u32(bytes.len()));
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

/// Lengths above 4 GiB never reach here: the hub's message limits are far below.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn take_u8(input: &mut &[u8]) -> Option<u8> {
    (input.remaining() >= 1).then(|| input.get_u8())
}

fn take_u32(input: &mut &[u8]) -> Option<u32> {
    (input.remaining() >= 4).then(|| input.get_u32())
}

fn take_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(take_u32(input)?).ok()?;
    if input.len() < len {
        return None;
    }
    let (head, tail) = input.split_at(len);
    *input = tail;
    Some(head)
}

fn take_optional(input: &mut &[u8]) -> Option<Option<Bytes>> {
    match take_u8(input)? {
        0 => Some(None),
        1 => Some(Some(Bytes::copy_from_slice(take_bytes(input)?))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Publication {
        Publication {
            offset: 0,
            data: Bytes::from_static(b"\x00bin\xff"),
            info: Some(ClientInfo {
                user: "42".into(),
                client: "c1".into(),
                conn_info: Some("{\"a\":1}".into()),
                chan_info: None,
            }),
            tags: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            time_ms: 1_700_000_000_123,
            delta: true,
        }
    }

    #[test]
    fn publications_round_trip_with_their_offset() {
        let encoded = encode_publication(&sample());
        let decoded = decode_publication(&encoded, 7).unwrap();
        assert_eq!(
            decoded,
            Publication {
                offset: 7,
                ..sample()
            }
        );
    }

    #[test]
    fn truncated_or_foreign_bytes_decode_to_none() {
        let encoded = encode_publication(&sample());
        for cut in 0..encoded.len() {
            assert_eq!(decode_publication(&encoded[..cut], 1), None, "cut at {cut}");
        }
        let mut foreign = encoded.clone();
        foreign[0] = 9;
        assert_eq!(decode_publication(&foreign, 1), None);
        let info = sample().info.unwrap();
        assert_eq!(decode_info(&encode_info(&info)), Some(info));
        assert_eq!(decode_info(b"\x01\xff\xff\xff\xff"), None);
    }
}
