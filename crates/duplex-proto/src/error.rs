//! Errors, sorted by whose fault they are.
//!
//! A [`ProtocolError`] is the peer's fault and carries the close code to send it (RFC 6455 7.4.1);
//! a [`SendError`] is a misuse by the local application; a [`HandshakeError`] is a failed opening
//! handshake, and on the server side it carries the HTTP status to answer with.

use crate::close::CloseCode;

/// The peer broke RFC 6455, or sent more than our limits allow. The connection is failed with
/// [`ProtocolError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode RFC 6455 reserves (3-7, 0xB-0xF).
    #[error("reserved opcode {0:#x}")]
    ReservedOpCode(u8),
    /// A 64-bit payload length with its most significant bit set.
    #[error("invalid payload length")]
    InvalidLength,
    /// RSV1, RSV2 or RSV3 set without an extension that defines it.
    #[error("reserved bits set without a negotiated extension")]
    ReservedBits,
    /// A client sent a frame without a mask.
    #[error("unmasked frame from client")]
    UnmaskedFrame,
    /// A server sent a masked frame.
    #[error("masked frame from server")]
    MaskedFrame,
    /// A close, ping or pong longer than 125 bytes.
    #[error("control frame longer than 125 bytes")]
    ControlFrameTooBig,
    /// A close, ping or pong without FIN.
    #[error("fragmented control frame")]
    FragmentedControlFrame,
    /// A continuation frame with no message to continue.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A new text or binary frame while a fragmented message is unfinished.
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// A text message or close reason that is not UTF-8.
    #[error("invalid UTF-8 in text")]
    InvalidUtf8,
    /// A compressed message that does not inflate.
    #[error("invalid compressed data")]
    InvalidCompressedData,
    /// A close frame with a one-byte payload.
    #[error("close frame payload of one byte")]
    InvalidClosePayload,
    /// A close code that may not be sent on the wire.
    #[error("invalid close code {0}")]
    InvalidCloseCode(u16),
    /// A frame longer than the configured maximum.
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    FrameTooBig {
        /// The announced payload length.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message longer than the configured maximum.
    #[error("message of {size} bytes or more exceeds the limit of {limit}")]
    MessageTooBig {
        /// How long the message is at least.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
}

impl ProtocolError {
    /// The close code to fail the connection with.
    ///
    /// ```
    /// use duplex_proto::{CloseCode, ProtocolError};
    /// assert_eq!(ProtocolError::InvalidUtf8.close_code(), CloseCode::INVALID_PAYLOAD);
    /// assert_eq!(ProtocolError::UnmaskedFrame.close_code(), CloseCode::PROTOCOL_ERROR);
    /// ```
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// The local application asked for something the protocol does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame has been sent (or the connection failed); nothing more may be sent.
    #[error("the connection is closing or closed")]
    Closed,
    /// A close code that may not be sent (1005, 1006, 1015, or outside the valid ranges).
    #[error("close code {0} may not be sent")]
    InvalidCloseCode(u16),
    /// Prepared frames are unmasked server frames; a client cannot send them.
    #[error("a client cannot send prepared (unmasked) frames")]
    PreparedFromClient,
    /// A close reason over 123 bytes, or a ping/pong payload over 125 bytes.
    #[error("control frame payload of {0} bytes exceeds 125 (close reasons: 123)")]
    ControlPayloadTooBig(usize),
}

/// The opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not an HTTP/1.1 message.
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    /// The request or response head is larger than the limit.
    #[error("HTTP head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The request is HTTP but not a valid WebSocket upgrade; answer with `status`.
    #[error("{status} {reason}: {detail}")]
    BadRequest {
        /// The HTTP status to answer with.
        status: u16,
        /// Its reason phrase.
        reason: &'static str,
        /// What was wrong, for the response body and the logs.
        detail: String,
    },
    /// The server answered with something other than 101 Switching Protocols.
    #[error("server answered {status} {reason}{}", body_note(body))]
    Rejected {
        /// The HTTP status code.
        status: u16,
        /// The reason phrase as sent.
        reason: String,
        /// The response head's headers.
        headers: Vec<(String, String)>,
        /// The start of the response body (the I/O layer reads it; empty from
        /// [`parse_response`](crate::handshake::client::ClientRequest::parse_response)).
        body: String,
    },
    /// The server's 101 response does not complete a valid WebSocket handshake.
    #[error("invalid handshake response: {0}")]
    InvalidResponse(String),
}

/// A refusal's body on one line, after a colon, for [`HandshakeError::Rejected`]'s message.
fn body_note(body: &str) -> String {
    let words: Vec<&str> = body.split_whitespace().collect();
    if words.is_empty() {
        String::new()
    } else {
        format!(": {}", words.join(" "))
    }
}

impl HandshakeError {
    pub(crate) fn bad_request(status: u16, detail: impl Into<String>) -> Self {
        HandshakeError::BadRequest {
            status,
            reason: crate::handshake::reason_phrase(status),
            detail: detail.into(),
        }
    }
}
