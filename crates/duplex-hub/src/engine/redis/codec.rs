//! The bytes the Redis engine stores and sends: a publication (without its offset, which the
//! publish script assigns) and a client description, in the networked engines' binary form
//! ([`crate::engine::wire`]) behind a version byte.
//!
//! Every node of a cluster decodes what other nodes wrote, so the first byte is a version and
//! decoding never panics: bytes that do not parse (another version, a damaged value) decode to
//! `None` and the caller skips them.

use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::wire::{self, Reader};
use crate::engine::{ClientInfo, Publication};

/// The format's version, first byte of every encoded value.
const VERSION: u8 = 1;

/// A publication's fields except the offset.
pub(super) fn encode_publication(publication: &Publication) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(publication.data.len() + 32);
    out.put_u8(VERSION);
    wire::put_publication(&mut out, publication);
    out.to_vec()
}

/// A publication back, with `offset` set; `None` for bytes this version cannot read.
pub(super) fn decode_publication(bytes: &[u8], offset: u64) -> Option<Publication> {
    let bytes = Bytes::copy_from_slice(bytes);
    let mut reader = Reader::new(&bytes);
    if reader.u8().ok()? != VERSION {
        return None;
    }
    let publication = reader.publication(offset).ok()?;
    reader.end().ok()?;
    Some(publication)
}

/// A client description, as presence stores it and join/leave messages carry it.
pub(super) fn encode_info(info: &ClientInfo) -> Vec<u8> {
    let mut out = BytesMut::with_capacity(64);
    out.put_u8(VERSION);
    wire::put_info(&mut out, info);
    out.to_vec()
}

/// A client description back; `None` for bytes this version cannot read.
pub(super) fn decode_info(bytes: &[u8]) -> Option<ClientInfo> {
    let bytes = Bytes::copy_from_slice(bytes);
    let mut reader = Reader::new(&bytes);
    if reader.u8().ok()? != VERSION {
        return None;
    }
    let info = reader.info().ok()?;
    reader.end().ok()?;
    Some(info)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
