//! Frames: several commands or replies in one WebSocket message, and their errors.
//!
//! JSON frames hold one JSON object per line (`\n` between them; blank lines are skipped);
//! Protobuf frames hold each message after its length as a varint. Decoding is an iterator
//! ([`Decoder`]) so a session can stop at its per-frame command limit without decoding the
//! rest; a length prefix is checked against the bytes actually left before anything is
//! decoded, so a malformed frame costs an error, never a large allocation.
//!
//! Encoding appends to a buffer the frame is being built in. For a fan-out, encode the push
//! once per channel and encoding ([`EncodedReply`]), then copy those bytes into each
//! subscriber's frame ([`FrameWriter::push_encoded`]).

use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::json::WriteJson;
use super::{Command, Encoding, Reply};
use crate::codes;

/// A frame from the peer could not be decoded. Always the peer's fault: close the connection
/// with [`DecodeError::disconnect`] (3501, bad request).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The frame holds no message at all.
    #[error("empty frame")]
    Empty,
    /// A JSON line is not an object.
    #[error("message {index}: not a JSON object")]
    NotAnObject {
        /// The message's position in the frame, from 0.
        index: usize,
    },
    /// A JSON line is not valid JSON, or a field has the wrong type.
    #[error("message {index}: {source}")]
    Json {
        /// The message's position in the frame, from 0.
        index: usize,
        /// What serde_json found.
        #[source]
        source: serde_json::Error,
    },
    /// A Protobuf length prefix is not a valid varint.
    #[error("message {index}: malformed length prefix")]
    BadLength {
        /// The message's position in the frame, from 0.
        index: usize,
    },
    /// A Protobuf length prefix promises more bytes than the frame has left.
    #[error("message {index}: length {len} but {remaining} bytes left in the frame")]
    Truncated {
        /// The message's position in the frame, from 0.
        index: usize,
        /// The length the prefix gave.
        len: u64,
        /// The bytes left after the prefix.
        remaining: usize,
    },
    /// A Protobuf message is malformed.
    #[error("message {index}: {source}")]
    Protobuf {
        /// The message's position in the frame, from 0.
        index: usize,
        /// What prost found.
        #[source]
        source: prost::DecodeError,
    },
}

impl DecodeError {
    /// How to close the connection: 3501, bad request.
    pub fn disconnect(&self) -> codes::Disconnect {
        codes::Disconnect::BAD_REQUEST
    }
}

/// A message could not be encoded for this connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A payload field is not JSON text, so a JSON connection cannot carry it (binary data
    /// published by a Protobuf client or through the API's `b64data`).
    #[error("field {field} is not valid JSON")]
    NotJson {
        /// The field's name.
        field: &'static str,
    },
    /// An [`EncodedReply`] was pushed into a frame of the other encoding.
    #[error("reply encoded as {encoded:?} pushed into a {frame:?} frame")]
    EncodingMismatch {
        /// The reply's encoding.
        encoded: Encoding,
        /// The frame's encoding.
        frame: Encoding,
    },
}

impl EncodeError {
    /// How to close a connection that cannot receive the data: 3506, inappropriate protocol.
    pub fn disconnect(&self) -> codes::Disconnect {
        codes::Disconnect::INAPPROPRIATE_PROTOCOL
    }
}

/// Decodes every command of a frame. An empty frame is an error ([`DecodeError::Empty`]).
///
/// This decodes the whole frame; to stop at a limit, iterate a [`Decoder`] instead.
///
/// ```
/// use duplex_hub::protocol::{decode_commands, Encoding};
///
/// let frame = b"{\"id\":1,\"connect\":{\"token\":\"t\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"news\"}}";
/// let commands = decode_commands(Encoding::Json, frame)?;
/// assert_eq!(commands.len(), 2);
/// assert_eq!(commands[1].subscribe.as_ref().map(|s| s.channel.as_str()), Some("news"));
/// # Ok::<(), duplex_hub::protocol::DecodeError>(())
/// ```
pub fn decode_commands(encoding: Encoding, frame: &[u8]) -> Result<Vec<Command>, DecodeError> {
    let commands = Decoder::<Command>::new(encoding, frame).collect::<Result<Vec<_>, _>>()?;
    if commands.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(commands)
}

/// Decodes every reply of a frame: the client's side, for tests and tools.
pub fn decode_replies(encoding: Encoding, frame: &[u8]) -> Result<Vec<Reply>, DecodeError> {
    let replies = Decoder::<Reply>::new(encoding, frame).collect::<Result<Vec<_>, _>>()?;
    if replies.is_empty() {
        return Err(DecodeError::Empty);
    }
    Ok(replies)
}

/// Appends one reply to a frame being built in `out`, with the separator (JSON: `\n` when
/// `out` is not empty) or length prefix (Protobuf) it needs. On error `out` is unchanged.
///
/// ```
/// use duplex_hub::protocol::{encode_reply, Encoding, Reply};
///
/// let mut frame = Vec::new();
/// encode_reply(Encoding::Json, &Reply::default(), &mut frame)?; // a server ping
/// encode_reply(Encoding::Json, &Reply::default(), &mut frame)?;
/// assert_eq!(frame, b"{}\n{}");
/// # Ok::<(), duplex_hub::protocol::EncodeError>(())
/// ```
pub fn encode_reply(
    encoding: Encoding,
    reply: &Reply,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_message(encoding, reply, out)
}

/// Appends one reply encoded beforehand to a frame being built in `out`: JSON replies are one
/// per line, Protobuf ones carry their own length.
pub(crate) fn append_encoded(encoding: Encoding, out: &mut Vec<u8>, encoded: &[u8]) {
    if encoding == Encoding::Json && !out.is_empty() {
        out.push(b'\n');
    }
    out.extend_from_slice(encoded);
}

/// Appends one command to a frame being built in `out`: the client's side, for tests and
/// tools. Framing as for [`encode_reply`].
pub fn encode_command(
    encoding: Encoding,
    command: &Command,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    encode_message(encoding, command, out)
}

fn encode_message<M: WriteJson + prost::Message>(
    encoding: Encoding,
    message: &M,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    match encoding {
        Encoding::Json => {
            let start = out.len();
            if start > 0 {
                out.push(b'\n');
            }
            message.write_json(out).inspect_err(|_| out.truncate(start))
        }
        Encoding::Protobuf => {
            let len = message.encoded_len();
            out.reserve(len + prost::length_delimiter_len(len));
            prost::encoding::encode_varint(len as u64, out);
            message.encode_raw(out);
            Ok(())
        }
    }
}

/// Decodes the messages of one frame, one per `next`. After the first error it yields nothing.
pub struct Decoder<'a, M> {
    encoding: Encoding,
    rest: &'a [u8],
    index: usize,
    failed: bool,
    message: PhantomData<fn() -> M>,
}

impl<'a, M> Decoder<'a, M> {
    /// A decoder over `frame`.
    pub fn new(encoding: Encoding, frame: &'a [u8]) -> Self {
        Decoder {
            encoding,
            rest: frame,
            index: 0,
            failed: false,
            message: PhantomData,
        }
    }
}

impl<M: DeserializeOwned + prost::Message + Default> Decoder<'_, M> {
    fn next_json(&mut self) -> Option<Result<M, DecodeError>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&self.rest[..at], &self.rest[at + 1..]),
                None => (self.rest, &self.rest[..0]),
            };
            self.rest = rest;
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let index = self.index;
            self.index += 1;
            if line[0] != b'{' {
                return Some(Err(DecodeError::NotAnObject { index }));
            }
            return Some(
                serde_json::from_slice(line).map_err(|source| DecodeError::Json { index, source }),
            );
        }
    }

    fn next_protobuf(&mut self) -> Option<Result<M, DecodeError>> {
        if self.rest.is_empty() {
            return None;
        }
        let index = self.index;
        self.index += 1;
        let mut buf = self.rest;
        let Ok(len) = prost::encoding::decode_varint(&mut buf) else {
            return Some(Err(DecodeError::BadLength { index }));
        };
        let remaining = buf.len();
        let Some(message) = usize::try_from(len).ok().and_then(|n| buf.get(..n)) else {
            return Some(Err(DecodeError::Truncated {
                index,
                len,
                remaining,
            }));
        };
        self.rest = &buf[message.len()..];
        Some(M::decode(message).map_err(|source| DecodeError::Protobuf { index, source }))
    }
}

impl<M: DeserializeOwned + prost::Message + Default> Iterator for Decoder<'_, M> {
    type Item = Result<M, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = match self.encoding {
            Encoding::Json => self.next_json(),
            Encoding::Protobuf => self.next_protobuf(),
        };
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

/// One reply encoded on its own, to be copied into many frames: a publication is encoded
/// once per channel and encoding, whatever the number of subscribers. Cloning is cheap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedReply {
    encoding: Encoding,
    /// JSON: the object alone. Protobuf: the message with its length prefix.
    bytes: Bytes,
}

impl EncodedReply {
    /// Encodes `reply`.
    pub fn new(encoding: Encoding, reply: &Reply) -> Result<Self, EncodeError> {
        let mut out = Vec::new();
        encode_message(encoding, reply, &mut out)?;
        Ok(EncodedReply {
            encoding,
            bytes: out.into(),
        })
    }

    /// The encoding it was made for.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The encoded bytes (for Protobuf, with the length prefix): a frame of its own.
    pub fn as_bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Its size in bytes, for outbound byte budgets.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether it is empty (never, for a reply that encoded).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Builds one outgoing frame from several replies.
///
/// ```
/// use duplex_hub::protocol::{EncodedReply, Encoding, FrameWriter, Publication, Push, Reply};
///
/// let push = Reply::push(Push {
///     channel: "news".into(),
///     r#pub: Some(Publication { data: r#"{"text":"hi"}"#.into(), ..Default::default() }),
///     ..Default::default()
/// });
/// let encoded = EncodedReply::new(Encoding::Json, &push)?; // once per channel
/// let mut frame = FrameWriter::new(Encoding::Json);
/// frame.push(&Reply { id: 4, ..Default::default() })?;
/// frame.push_encoded(&encoded)?; // per subscriber: a copy, no encoding
/// assert_eq!(frame.count(), 2);
/// assert_eq!(frame.finish(), br#"{"id":4}
/// {"push":{"channel":"news","pub":{"data":{"text":"hi"}}}}"#);
/// # Ok::<(), duplex_hub::protocol::EncodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameWriter {
    encoding: Encoding,
    buf: Vec<u8>,
    count: usize,
}

impl FrameWriter {
    /// An empty frame.
    pub fn new(encoding: Encoding) -> Self {
        Self::with_buffer(encoding, Vec::new())
    }

    /// An empty frame that reuses `buf`'s allocation (its contents are cleared).
    pub fn with_buffer(encoding: Encoding, mut buf: Vec<u8>) -> Self {
        buf.clear();
        FrameWriter {
            encoding,
            buf,
            count: 0,
        }
    }

    /// The frame's encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Appends a reply. On error the frame is unchanged.
    pub fn push(&mut self, reply: &Reply) -> Result<(), EncodeError> {
        encode_message(self.encoding, reply, &mut self.buf)?;
        self.count += 1;
        Ok(())
    }

    /// Appends a reply encoded beforehand for the same encoding.
    pub fn push_encoded(&mut self, reply: &EncodedReply) -> Result<(), EncodeError> {
        if reply.encoding != self.encoding {
            return Err(EncodeError::EncodingMismatch {
                encoded: reply.encoding,
                frame: self.encoding,
            });
        }
        append_encoded(self.encoding, &mut self.buf, &reply.bytes);
        self.count += 1;
        Ok(())
    }

    /// The frame's size so far, in bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether no reply was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many replies were added.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The frame's bytes: send them as one WebSocket message (text for JSON, binary for
    /// Protobuf; see [`Encoding::is_binary`]).
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}
