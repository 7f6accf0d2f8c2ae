//! The WebSocket connection state machine: bytes in, events out; commands in, bytes out.
//!
//! This is the whole of RFC 6455 after the handshake, with no I/O: the driver reads from its
//! socket into a `BytesMut`, hands it to [`Connection::receive`] until that returns `Ok(None)`,
//! and writes whatever [`Connection::outgoing`] holds. Frames are unmasked and text is validated
//! *as bytes arrive*, even inside a partial frame, so invalid UTF-8 fails the connection before
//! the rest of the message is read. A frame that arrives whole becomes a message without a copy.

use bytes::{Buf, Bytes, BytesMut};

use crate::close::CloseFrame;
use crate::config::Config;
use crate::deflate::{Deflate, DeflateConfig, DeflateParams, InflateError};
use crate::error::ProtocolError;
use crate::frame::{FrameHeader, OpCode};
use crate::mask::apply_mask_at;
use crate::message::{Event, Message, Utf8Bytes};
use crate::send_buffer::SendBuffer;
use crate::utf8::Utf8Validator;

mod send;
mod timers;

use timers::Deadline;
pub use timers::{Expired, Timeouts, IDLE_CLOSE};

/// Which end of the connection we are. Clients mask what they send; servers never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that sent the opening handshake.
    Client,
    /// The end that accepted it.
    Server,
}

/// Where the closing handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseState {
    /// Neither side has sent a close frame.
    Open,
    /// We sent a close frame (or failed the connection) and wait for the peer's.
    CloseSent,
    /// Both close frames have been exchanged: the server closes TCP now; a client waits briefly
    /// for the server to do so.
    Closed,
}

/// One WebSocket connection after the opening handshake.
///
/// Its methods come in four kinds:
/// - **getters**: [`role`](Self::role), [`config`](Self::config),
///   [`close_state`](Self::close_state), [`can_send`](Self::can_send);
/// - **input**: [`receive`](Self::receive) parses bytes the peer sent into [`Event`]s;
/// - **commands**: [`send`](Self::send), [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`ping`](Self::ping), [`pong`](Self::pong),
///   [`close`](Self::close) encode frames;
/// - **output**: [`outgoing`](Self::outgoing) holds the bytes to write, including automatic
///   pongs and close replies produced by `receive`. Write them after every call.
///
/// ```
/// use bytes::{Buf, BytesMut};
/// use duplex_proto::{Connection, Config, Event, Message, Role};
///
/// let mut client = Connection::new(Role::Client, Config::default());
/// let mut server = Connection::new(Role::Server, Config::default());
/// client.send_text("hello").unwrap();
///
/// // Carry the client's bytes to the server.
/// let out = client.outgoing();
/// let mut wire = BytesMut::from(&out.copy_to_bytes(out.remaining())[..]);
/// let event = server.receive(&mut wire).unwrap();
/// assert_eq!(event, Some(Event::Message(Message::text("hello"))));
/// assert_eq!(server.receive(&mut wire).unwrap(), None); // need more bytes
/// ```
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    /// The frame whose header we have and whose payload is still arriving.
    frame: Option<IncomingFrame>,
    /// The fragmented message being assembled, if any. Boxed: most messages come in one
    /// frame, and every open connection would otherwise carry 40 bytes for this.
    fragments: Option<Box<Fragments>>,
    /// Validates the text message in progress.
    utf8: Utf8Validator,
    /// permessage-deflate, when negotiated: RSV1 marks a compressed message.
    deflate: Option<Box<Deflate>>,
    out: SendBuffer,
    close_sent: bool,
    close_received: bool,
    /// A protocol error failed the connection: later input is only scanned for the peer's
    /// close frame, so the socket is not reset while the peer is still sending.
    failed: bool,
    /// While failed: payload bytes of the current frame still to skip, or `None` when the
    /// input can no longer be parsed as frames.
    drain_skip: u64,
    /// When the peer was last heard from, in the driver's unit of time (see `timers.rs`).
    heard_at: u32,
    /// When the next keepalive ping starts counting: the last byte heard or the last ping.
    quiet_since: u32,
    /// The armed deadline, if `deadline_for` says one is.
    deadline: u32,
    deadline_for: Deadline,
    /// A test's fixed sequence of masking keys (see [`Connection::seed_masks`]): the state of
    /// a xorshift generator, or 0 for the thread's CSPRNG. Four bytes, not a boxed generator:
    /// the event loop's connections are counted in bytes.
    mask_seed: u32,
}

#[derive(Debug)]
struct IncomingFrame {
    header: FrameHeader,
    /// Payload bytes already unmasked (and validated, for text).
    processed: usize,
    /// Whether the payload is text to validate as it arrives.
    is_text: bool,
}

#[derive(Debug)]
struct Fragments {
    is_text: bool,
    /// RSV1 was set on the first frame: `data` is deflate data to inflate at the end.
    compressed: bool,
    data: BytesMut,
}

/// How much a read buffer grows ahead of a large frame's payload at a time: enough to make
/// reads efficient, small enough that a peer announcing a huge frame and sending nothing
/// cannot make us allocate it.
const MAX_RESERVE: usize = 256 * 1024;

/// `drain_skip` when the input can no longer be parsed as frames: no frame is that long, since
/// a header with the length's top bit set fails to decode (RFC 6455 5.2). A sentinel rather
/// than an `Option`, which would cost every connection 8 more bytes.
const UNPARSEABLE: u64 = u64::MAX;

/// Extra room beyond the frame being read, at least.
const READ_AHEAD: usize = 16 * 1024;

/// Extra room beyond the frame being read, in frames of its size (up to `MAX_RESERVE`).
const READ_AHEAD_FRAMES: usize = 4;

impl Connection {
    /// A connection in the open state.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            config,
            frame: None,
            fragments: None,
            utf8: Utf8Validator::new(),
            deflate: None,
            out: SendBuffer::default(),
            close_sent: false,
            close_received: false,
            failed: false,
            drain_skip: 0,
            heard_at: 0,
            quiet_since: 0,
            deadline: 0,
            deadline_for: Deadline::None,
            mask_seed: 0,
        }
    }

    /// Which end we are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the closing handshake stands.
    pub fn close_state(&self) -> CloseState {
        match (self.close_sent, self.close_received) {
            (false, false) => CloseState::Open,
            (true, true) => CloseState::Closed,
            // A close received is answered at once, so only a failed connection waits here.
            (true, false) | (false, true) => CloseState::CloseSent,
        }
    }

    /// True while data frames may still be sent (no close frame sent yet).
    pub fn can_send(&self) -> bool {
        !self.close_sent
    }

    /// True once the peer's close frame arrived, or the connection failed and its input can no
    /// longer be parsed: nothing more needs to be read, and the transport may be closed.
    pub fn is_receive_done(&self) -> bool {
        self.close_received || (self.failed && self.drain_skip == UNPARSEABLE)
    }

    /// True if a protocol error failed the connection.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Parses frames from the front of `buf`, consuming them, until one yields an event.
    ///
    /// Returns `Ok(None)` when `buf` holds no complete event yet: read more bytes into it and
    /// call again. On a protocol violation the close frame with the matching code is queued in
    /// [`outgoing`](Self::outgoing) and the error returned. After that, and after the peer's
    /// close, every call returns `Ok(None)`; keep feeding input until
    /// [`is_receive_done`](Self::is_receive_done), which a failed connection reaches when the
    /// peer's close frame arrives.
    pub fn receive(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        if self.failed {
            self.drain(buf);
            return Ok(None);
        }
        match self.receive_inner(buf) {
            Ok(event) => Ok(event),
            Err(err) => {
                self.fail(&err);
                self.drain(buf);
                Err(err)
            }
        }
    }

    /// Skips frames after a failure, looking only for the peer's close.
    fn drain(&mut self, buf: &mut BytesMut) {
        while self.drain_skip != UNPARSEABLE {
            let skip = self.drain_skip;
            if self.close_received {
                buf.clear();
                return;
            }
            if skip > 0 {
                let n = (buf.len() as u64).min(skip);
                buf.advance(n as usize);
                self.drain_skip = skip - n;
                if n < skip {
                    return;
                }
                continue;
            }
            match FrameHeader::decode(buf) {
                Ok(Some((header, n))) => {
                    buf.advance(n);
                    self.close_received = header.opcode == OpCode::Close;
                    self.drain_skip = header.payload_len;
                }
                Ok(None) => return,
                Err(_) => self.drain_skip = UNPARSEABLE,
            }
        }
        buf.clear();
    }

    fn receive_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, ProtocolError> {
        loop {
            if self.close_received {
                buf.clear();
                return Ok(None);
            }
            let frame = match self.frame.take() {
                Some(frame) => frame,
                None => {
                    let Some((header, header_len)) =
                        FrameHeader::decode(buf).inspect_err(|_| {
                            self.drain_skip = UNPARSEABLE;
                        })?
                    else {
                        return Ok(None);
                    };
                    let is_text = self.check_header(&header).inspect_err(|_| {
                        buf.advance(header_len);
                        self.drain_skip = header.payload_len;
                        // Even an invalid close frame means the peer will send nothing more.
                        self.close_received |= header.opcode == OpCode::Close;
                    })?;
                    buf.advance(header_len);
                    IncomingFrame {
                        header,
                        processed: 0,
                        is_text,
                    }
                }
            };
            let frame = self.frame.insert(frame);
            // Bounded by max_frame_size in check_header, which is a usize.
            let len = frame.header.payload_len as usize;
            let available = buf.len().min(len);
            if available > frame.processed {
                let fresh = &mut buf[frame.processed..available];
                if let Some(key) = frame.header.mask {
                    apply_mask_at(fresh, key, frame.processed);
                }
                if frame.is_text && self.utf8.feed(fresh).is_err() {
                    self.drain_skip = len as u64;
                    return Err(ProtocolError::InvalidUtf8);
                }
                frame.processed = available;
            }
            if available < len {
                // Room for the rest of this frame and then some, so that when frames are
                // pipelined one read brings the next ones too (and their replies go out
                // together) instead of stopping exactly at this frame's end.
                //
                // The room ahead scales with the frame: a message handed out keeps sharing
                // this buffer, so once the room runs out the partial frame after it must be
                // copied into a new one. Room for a few more frames of this size makes that
                // copy rare when they come pipelined (16 KiB echo: 12.4 -> 7 us/msg).
                let ahead = (len * READ_AHEAD_FRAMES).clamp(READ_AHEAD, MAX_RESERVE);
                buf.reserve((len - available).min(MAX_RESERVE) + ahead);
                return Ok(None);
            }
            let header = frame.header;
            self.frame = None;
            let payload = buf.split_to(len).freeze();
            if let Some(event) = self.on_frame(header, payload)? {
                return Ok(Some(event));
            }
        }
    }

    /// Checks a header against the connection's state before any payload is read; returns
    /// whether the payload is text to validate.
    fn check_header(&mut self, h: &FrameHeader) -> Result<bool, ProtocolError> {
        // RSV1 means "compressed" on the first frame of a message, once deflate is agreed.
        let rsv1_ok = self.deflate.is_some() && matches!(h.opcode, OpCode::Text | OpCode::Binary);
        if h.rsv2 || h.rsv3 || (h.rsv1 && !rsv1_ok) {
            return Err(ProtocolError::ReservedBits);
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            if !h.fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if h.payload_len > 125 {
                return Err(ProtocolError::ControlFrameTooBig);
            }
            return Ok(false);
        }
        if h.payload_len > self.config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooBig {
                size: h.payload_len,
                limit: self.config.max_frame_size,
            });
        }
        let (is_text, so_far) = match (h.opcode, &self.fragments) {
            (OpCode::Continuation, Some(f)) => (f.is_text && !f.compressed, f.data.len() as u64),
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (_, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
            (opcode, None) => {
                self.utf8 = Utf8Validator::new();
                // Compressed text is validated once inflated, not as it arrives.
                (opcode == OpCode::Text && !h.rsv1, 0)
            }
        };
        let size = so_far + h.payload_len;
        if size > self.config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooBig {
                size,
                limit: self.config.max_message_size,
            });
        }
        Ok(is_text)
    }

    /// Acts on a whole frame whose header passed [`Self::check_header`].
    fn on_frame(
        &mut self,
        header: FrameHeader,
        payload: Bytes,
    ) -> Result<Option<Event>, ProtocolError> {
        let (message, is_text, compressed) = match header.opcode {
            OpCode::Text | OpCode::Binary if header.fin => {
                (payload, header.opcode == OpCode::Text, header.rsv1)
            }
            OpCode::Text | OpCode::Binary => {
                let mut data = BytesMut::with_capacity(payload.len() * 2);
                data.extend_from_slice(&payload);
                self.fragments = Some(Box::new(Fragments {
                    is_text: header.opcode == OpCode::Text,
                    compressed: header.rsv1,
                    data,
                }));
                return Ok(None);
            }
            OpCode::Continuation => {
                let Some(fragments) = self.fragments.as_mut() else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                fragments.data.extend_from_slice(&payload);
                if !header.fin {
                    return Ok(None);
                }
                match self.fragments.take() {
                    Some(f) => (f.data.freeze(), f.is_text, f.compressed),
                    None => return Err(ProtocolError::UnexpectedContinuation),
                }
            }
            OpCode::Ping => {
                if self.config.auto_pong && self.can_send() {
                    self.write_frame(OpCode::Pong, true, false, &payload, None);
                }
                return Ok(Some(Event::Ping(payload)));
            }
            OpCode::Pong => return Ok(Some(Event::Pong(payload))),
            OpCode::Close => {
                // Even an invalid close ends the peer's side: it will send nothing more.
                self.close_received = true;
                let frame = CloseFrame::parse(&payload)?;
                if !self.close_sent {
                    // Echo the peer's code and reason: its payload was just validated.
                    self.close_sent = true;
                    self.write_frame(OpCode::Close, true, false, &payload, None);
                }
                return Ok(Some(Event::Close(frame)));
            }
        };
        if compressed {
            let message = self.inflate(&message)?;
            if is_text {
                if simdutf8::basic::from_utf8(&message).is_err() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                return Ok(Some(Event::Message(Message::Text(
                    Utf8Bytes::from_validated(message),
                ))));
            }
            return Ok(Some(Event::Message(Message::Binary(message))));
        }
        if is_text {
            // Uncompressed text was validated as it arrived; only the end remains to check.
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            return Ok(Some(Event::Message(Message::Text(
                Utf8Bytes::from_validated(message),
            ))));
        }
        Ok(Some(Event::Message(Message::Binary(message))))
    }

    /// Inflates a whole compressed message within the message size limit.
    fn inflate(&mut self, data: &[u8]) -> Result<Bytes, ProtocolError> {
        let limit = self.config.max_message_size;
        let deflate = self.deflate.as_mut().ok_or(ProtocolError::ReservedBits)?;
        let mut out = Vec::new();
        match deflate.decompress(data, &mut out, limit) {
            Ok(()) => Ok(Bytes::from(out)),
            Err(InflateError::Corrupt) => Err(ProtocolError::InvalidCompressedData),
            Err(InflateError::TooBig) => Err(ProtocolError::MessageTooBig {
                size: out.len() as u64,
                limit,
            }),
        }
    }

    /// Fails the connection: queue a close frame with the error's code, stop delivering input.
    fn fail(&mut self, err: &ProtocolError) {
        self.failed = true;
        self.frame = None;
        self.fragments = None;
        if !self.close_sent {
            self.close_sent = true;
            let mut reason = err.to_string();
            // A close reason holds at most 123 bytes; cut on a character boundary, since a
            // message may one day quote something that is not ASCII.
            let mut end = reason.len().min(123);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
            let payload = CloseFrame::new(err.close_code(), reason)
                .encode()
                .unwrap_or_else(|_| Bytes::from_static(&[0x03, 0xea])); // 1002, no reason
            self.write_frame(OpCode::Close, true, false, &payload, None);
        }
    }

    /// The bytes waiting to be written to the peer. Write as many as the socket takes, then
    /// [`Buf::advance`] past them (`write_buf` does both).
    pub fn outgoing(&mut self) -> &mut SendBuffer {
        &mut self.out
    }

    /// The bytes waiting to be written, to read without writing them: for a driver that
    /// gathers the queues of many connections into one batch of writes before it changes any.
    pub fn queued_output(&self) -> &SendBuffer {
        &self.out
    }

    /// How many bytes wait in [`outgoing`](Self::outgoing).
    pub fn outgoing_len(&self) -> usize {
        self.out.len()
    }

    /// Gives back buffer memory that idle connections do not need.
    pub fn shrink_when_idle(&mut self) {
        self.out.shrink_when_empty();
        if let Some(deflate) = self.deflate.as_mut() {
            deflate.scratch = Vec::new();
        }
    }

    /// Turns on permessage-deflate with the parameters the handshake agreed (see
    /// [`DeflateConfig::accept_offers`] and [`DeflateConfig::check_answer`]); `config` supplies
    /// our own level, threshold and limits.
    pub fn enable_deflate(&mut self, params: &DeflateParams, config: &DeflateConfig) {
        let is_server = self.role == Role::Server;
        self.deflate = Some(Box::new(Deflate::new(params, config, is_server)));
    }

    /// True once permessage-deflate is on.
    pub fn is_deflate_enabled(&self) -> bool {
        self.deflate.is_some()
    }
}

impl CloseState {
    /// True when no more frames will be exchanged.
    pub fn is_closed(self) -> bool {
        self == CloseState::Closed
    }
}
