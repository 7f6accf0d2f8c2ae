//! The bytes a NATS message carries: one publication, join or leave, in the networked
//! engines' binary form ([`crate::engine::wire`]) behind a version and a kind:
//!
//! ```text
//! version (u8 = 1) | kind (u8: 1 publication, 2 join, 3 leave) | publication or client info
//! ```
//!
//! Decoding checks every length against what is left, so a message from some other client on
//! our subjects is refused (and logged by the caller), never a panic or a huge allocation. There
//! is no offset: the NATS broker keeps no history and publications travel with offset 0.

use bytes::{BufMut, Bytes, BytesMut};

use crate::engine::wire::{self, Reader};
use crate::engine::{ClientInfo, Publication};

const VERSION: u8 = 1;
const PUBLICATION: u8 = 1;
const JOIN: u8 = 2;
const LEAVE: u8 = 3;

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
    wire::put_publication(&mut out, publication);
    out.freeze()
}

/// Encodes a join (`join` true) or a leave.
pub(crate) fn encode_presence(info: &ClientInfo, join: bool) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    out.put_u8(VERSION);
    out.put_u8(if join { JOIN } else { LEAVE });
    wire::put_info(&mut out, info);
    out.freeze()
}

/// Decodes a message; the error says what was wrong, for the log.
pub(crate) fn decode(message: &Bytes) -> Result<Envelope, String> {
    let mut reader = Reader::new(message);
    let version = reader.u8()?;
    if version != VERSION {
        return Err(format!("unknown envelope version {version}"));
    }
    let envelope = match reader.u8()? {
        PUBLICATION => Envelope::Publication(reader.publication(0)?),
        JOIN => Envelope::Join(reader.info()?),
        LEAVE => Envelope::Leave(reader.info()?),
        kind => return Err(format!("unknown envelope kind {kind}")),
    };
    reader.end()?;
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

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
