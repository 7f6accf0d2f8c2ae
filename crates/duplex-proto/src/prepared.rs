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

    /// Length of the encoded frame in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a frame has at least a two-byte header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}
