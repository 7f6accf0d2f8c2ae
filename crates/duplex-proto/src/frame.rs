//! The frame header (RFC 6455 5.2): what every frame starts with, decoded and encoded.
//!
//! ```text
//!  0               1               2               3
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Decoding answers "need more bytes" with `Ok(None)` and never allocates; the checks that need
//! to know the connection (role, negotiated extensions, fragmentation state) live in
//! [`crate::Connection`], so this file stays a pure codec.

use crate::error::ProtocolError;

/// The longest a frame header can be: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// What a frame carries (RFC 6455 5.2, 11.8). Reserved opcodes are rejected when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// The next piece of a fragmented message.
    Continuation,
    /// The first frame of a UTF-8 text message.
    Text,
    /// The first frame of a binary message.
    Binary,
    /// The close handshake.
    Close,
    /// A liveness probe; the peer answers with a pong.
    Ping,
    /// The answer to a ping, or an unsolicited heartbeat.
    Pong,
}

impl OpCode {
    /// Parses the 4-bit opcode; `None` for the reserved values 3-7 and 0xB-0xF.
    pub fn from_u8(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented, allowed between fragments.
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A decoded or to-be-encoded frame header.
///
/// ```
/// use duplex_proto::{FrameHeader, OpCode};
/// let header = FrameHeader::new(OpCode::Binary, 70_000).with_mask([1, 2, 3, 4]);
/// let mut wire = [0u8; 14];
/// let n = header.encode(&mut wire);
/// assert_eq!(n, 14); // 2 + 64-bit length + mask
/// assert_eq!(FrameHeader::decode(&wire[..n]).unwrap(), Some((header, 14)));
/// assert_eq!(FrameHeader::decode(&wire[..5]).unwrap(), None); // need more bytes
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Last frame of the message.
    pub fin: bool,
    /// Extension bit 1; permessage-deflate's "compressed" flag.
    pub rsv1: bool,
    /// Extension bit 2; no extension we know uses it.
    pub rsv2: bool,
    /// Extension bit 3; no extension we know uses it.
    pub rsv3: bool,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key; clients always set one, servers never do.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// A final, unmasked frame with no extension bits.
    pub fn new(opcode: OpCode, payload_len: u64) -> Self {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// The same header with a masking key.
    pub fn with_mask(mut self, key: [u8; 4]) -> Self {
        self.mask = Some(key);
        self
    }

    /// The same header with FIN set as given.
    pub fn with_fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// How many bytes [`FrameHeader::encode`] writes.
    #[inline]
    pub fn encoded_len(&self) -> usize {
        let len = match self.payload_len {
            0..=125 => 2,
            126..=0xffff => 4,
            _ => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header to the front of `dst` and returns its length. `dst` must hold
    /// [`MAX_HEADER_LEN`] bytes (or at least [`FrameHeader::encoded_len`]).
    #[inline]
    pub fn encode(&self, dst: &mut [u8]) -> usize {
        dst[0] = (self.fin as u8) << 7
            | (self.rsv1 as u8) << 6
            | (self.rsv2 as u8) << 5
            | (self.rsv3 as u8) << 4
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                dst[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xffff => {
                dst[1] = mask_bit | 126;
                dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                dst[1] = mask_bit | 127;
                dst[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            dst[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }

    /// Decodes a header from the front of `src`: `Ok(None)` when more bytes are needed, else the
    /// header and how many bytes it took. Fails on a reserved opcode or a 64-bit length with its
    /// most significant bit set.
    #[inline]
    pub fn decode(src: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let [b0, b1, ..] = *src else {
            return Ok(None);
        };
        let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(ProtocolError::ReservedOpCode(b0 & 0x0f))?;
        let masked = b1 & 0x80 != 0;
        let (len_bytes, short_len) = match b1 & 0x7f {
            126 => (2, 0),
            127 => (8, 0),
            n => (0, n as u64),
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if src.len() < header_len {
            return Ok(None);
        }
        let payload_len = match len_bytes {
            0 => short_len,
            2 => u16::from_be_bytes([src[2], src[3]]) as u64,
            _ => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&src[2..10]);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                len
            }
        };
        let mask = masked.then(|| {
            let at = 2 + len_bytes;
            [src[at], src[at + 1], src[at + 2], src[at + 3]]
        });
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CloseCode;

    #[test]
    fn round_trips_every_length_form() {
        for len in [
            0u64,
            1,
            125,
            126,
            127,
            0xffff,
            0x1_0000,
            1 << 40,
            (1 << 63) - 1,
        ] {
            for mask in [None, Some([9, 8, 7, 6])] {
                for opcode in [
                    OpCode::Text,
                    OpCode::Binary,
                    OpCode::Continuation,
                    OpCode::Ping,
                ] {
                    let mut h = FrameHeader::new(opcode, len);
                    h.mask = mask;
                    h.fin = len % 2 == 0;
                    h.rsv1 = len == 126;
                    let mut buf = [0u8; MAX_HEADER_LEN];
                    let n = h.encode(&mut buf);
                    assert_eq!(n, h.encoded_len());
                    for short in 0..n {
                        assert_eq!(FrameHeader::decode(&buf[..short]).unwrap(), None);
                    }
                    assert_eq!(FrameHeader::decode(&buf[..n]).unwrap(), Some((h, n)));
                }
            }
        }
    }

    #[test]
    fn rejects_reserved_opcodes() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            let err = FrameHeader::decode(&[0x80 | op, 0]).unwrap_err();
            assert_eq!(err, ProtocolError::ReservedOpCode(op));
            assert_eq!(err.close_code(), CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn rejects_a_64_bit_length_with_the_top_bit_set() {
        let mut wire = vec![0x82, 127];
        wire.extend_from_slice(&(1u64 << 63).to_be_bytes());
        assert_eq!(
            FrameHeader::decode(&wire),
            Err(ProtocolError::InvalidLength)
        );
    }

    #[test]
    fn decodes_the_rfc_examples() {
        // RFC 6455 5.7: a single-frame masked text message "Hello".
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (h, n) = FrameHeader::decode(&wire).unwrap().unwrap();
        assert_eq!(n, 6);
        assert_eq!(h.opcode, OpCode::Text);
        assert!(h.fin);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.payload_len, 5);
        // 256 bytes binary message in a single unmasked frame.
        let (h, n) = FrameHeader::decode(&[0x82, 0x7e, 0x01, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, n, h.mask), (256, 4, None));
    }
}
