//! `duplex-proto`: the WebSocket protocol (RFC 6455) as a state machine with no I/O.
//!
//! Bytes go in, events come out; commands go in, bytes come out. Nothing here opens a socket,
//! spawns a task or reads a clock, so every rule of the protocol can be tested with byte slices,
//! and any runtime can drive it (the `duplex` crate drives it with tokio).
//!
//! - [`frame`]: the frame header codec. [`mask`]: payload masking. [`utf8`]: incremental UTF-8
//!   validation. [`close`]: close codes and payloads.
//! - [`Connection`]: framing, fragmentation, control frames and the closing handshake.
//! - [`handshake`]: the opening handshake, client and server.
//! - [`deflate`]: permessage-deflate (RFC 7692), negotiation and codec.
//!
//! ```
//! use bytes::{Buf, BytesMut};
//! use duplex_proto::{CloseCode, CloseFrame, Config, Connection, Event, Role};
//!
//! let mut server = Connection::new(Role::Server, Config::default());
//! // A masked ping from a client, then its close frame with code 1000.
//! let mut input = BytesMut::from(&[0x89, 0x80, 1, 2, 3, 4, 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8][..]);
//! assert_eq!(server.receive(&mut input).unwrap(), Some(Event::Ping(Default::default())));
//! let close = server.receive(&mut input).unwrap();
//! assert_eq!(close, Some(Event::Close(Some(CloseFrame::new(CloseCode::NORMAL, "")))));
//! // The pong and the close reply are waiting to be written.
//! let out = server.outgoing();
//! assert_eq!(&out.copy_to_bytes(out.remaining())[..], &[0x8a, 0x00, 0x88, 0x02, 0x03, 0xe8]);
//! ```

pub mod close;
mod config;
mod connection;
pub mod deflate;
mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod prepared;
mod send_buffer;
pub mod utf8;

pub use bytes;
pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{CloseState, Connection, Expired, Role, Timeouts, IDLE_CLOSE};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{HandshakeError, ProtocolError, SendError};
pub use frame::{FrameHeader, OpCode};
pub use mask::{apply_mask, apply_mask_at};
pub use message::{Event, Message, Utf8Bytes};
pub use prepared::PreparedFrame;
pub use send_buffer::SendBuffer;
pub use utf8::Utf8Validator;
