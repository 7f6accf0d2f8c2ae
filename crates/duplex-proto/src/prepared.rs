//! A server frame encoded once and shared by every connection it is sent to.
//!
//! Server frames are never masked, so the bytes of a broadcast message are the same for every
//! receiver: encode header and payload once into one [`Bytes`] and queue that same allocation
//! on each connection ([`crate::Connection::send_prepared`]), by reference, without a copy.
//! Prepared frames are never compressed (compression is per connection and optional per
//! message, RFC 7692 6.1).

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::message::Message;

/// A whole message as a server frame, ready to be queued on any number of connections.
///
/// ```
/// use duplex_proto::{Config, Connection, Message, PreparedFrame, Role};
/// use bytes::Buf;
/// let frame = PreparedFrame::new(&Message::text("tick"));
/// assert_eq!(&frame.as_bytes()[..], b"\x81\x04tick");
/// let mut a = Connection::new(Role::Server, Config::default());
/// let mut b = Connection::new(Role::Server, Config::default());
/// a.send_prepared(&frame).unwrap();
/// b.send_prepared(&frame).unwrap();
/// // Both queues point at the same bytes.
/// assert_eq!(a.outgoing().chunk().as_ptr(), b.outgoing().chunk().as_ptr());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedFrame {
    bytes: Bytes,
}

impl PreparedFrame {
    /// Encodes `message` as one unmasked, uncompressed final frame.
    pub fn new(message: &Message) -> Self {
        let opcode = if message.is_text() {
            OpCode::Text
        } else {
            OpCode::Binary
        };
        let payload = message.payload();
        let header = FrameHeader::new(opcode, payload.len() as u64);
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let mut bytes = BytesMut::with_capacity(head_len + payload.len());
        bytes.put_slice(&head[..head_len]);
        bytes.put_slice(payload);
        PreparedFrame {
            bytes: bytes.freeze(),
        }
    }

    /// The encoded frame.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The message's payload alone, without the frame header: a view of the same allocation
    /// (no copy), for transports that carry messages without WebSocket framing.
    ///
    /// ```
    /// use duplex_proto::{Message, PreparedFrame};
    /// let frame = PreparedFrame::new(&Message::text("x".repeat(200)));
    /// assert_eq!(frame.payload(), "x".repeat(200).as_bytes());
    /// assert_eq!(frame.len(), 200 + 4); // a 16-bit length in the header
    /// ```
    pub fn payload(&self) -> Bytes {
        // Server frames are unmasked: 2 header bytes, plus a 16- or 64-bit extended length.
        let header = match self.bytes.get(1).map(|b| b & 0x7f) {
            Some(126) => 4,
            Some(127) => 10,
            _ => 2,
        };
        self.bytes.slice(header.min(self.bytes.len())..)
    }

    /// Length of the encoded frame in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a frame has at least a two-byte header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_skips_every_header_length() {
        for size in [0usize, 125, 126, 65_535, 65_536, 70_000] {
            let data = vec![b'a'; size];
            let frame = PreparedFrame::new(&Message::binary(data.clone()));
            assert_eq!(frame.payload(), data, "payload of {size} bytes");
        }
    }
}
