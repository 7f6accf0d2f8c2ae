//! `frame_server` and `frame_client`: arbitrary bytes from the peer into a [`Connection`].
//!
//! Input layout: four control bytes, then the byte stream the peer sent.
//!
//! - `flags`: bit 0 turns permessage-deflate on; bits 1 and 2 set `server_no_context_takeover`
//!   and `client_no_context_takeover`; bit 3 turns auto-pong off; bit 4 makes our own
//!   [`DeflateConfig`] lean; bit 5 echoes every message back (so our compressor runs too);
//!   bit 6 compresses every message we send (threshold 0).
//! - `windows`: bits 0-2 give `server_max_window_bits` = 8 + n, bits 4-6
//!   `client_max_window_bits` = 8 + n; bit 3 caps our compressor's window at 9 bits; bit 7
//!   uses compression level 1.
//! - `limits`: bits 0-1 pick one of [`LIMITS`] (all small, so bombs and oversized frames are
//!   exercised).
//! - `chunking`: how the stream is split into reads (see [`Chunks`]).
//!
//! Invariants checked, beyond "never panics": after an error or the peer's close, every later
//! call returns `Ok(None)`; a text message is UTF-8 by `std`'s judgement; no message exceeds
//! the limit; every byte we write is a whole, valid frame for our role (a server never masks,
//! a client always does; RSV1 only on compressed data frames; nothing after our close); and a
//! second, conforming `Connection` in the other role accepts everything we wrote, seeing our
//! echoes, our pongs and the close frame with the code our error calls for.

use std::collections::VecDeque;

use bytes::{Buf, BytesMut};
use duplex_proto::{
    apply_mask, CloseFrame, CloseState, Config, Connection, DeflateConfig, DeflateParams, Event,
    FrameHeader, Message, OpCode, ProtocolError, Role,
};

use crate::input::{Chunks, Input};

/// The limit sets `limits & 3` picks: (max frame size, max message size).
pub const LIMITS: [(usize, usize); 4] = [
    (64 << 10, 64 << 10),
    (1 << 10, 64 << 10),
    (4 << 10, 4 << 10),
    (125, 256),
];

/// The connection settings the control bytes choose.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Limits and auto-pong.
    pub config: Config,
    /// The agreed parameters and our own deflate settings, when deflate is on.
    pub deflate: Option<(DeflateParams, DeflateConfig)>,
    /// Echo every message received.
    pub echo: bool,
}

impl Setup {
    /// Decodes the `flags`, `windows` and `limits` control bytes (see the module docs).
    pub fn from_bytes(flags: u8, windows: u8, limits: u8) -> Self {
        let (frame, message) = LIMITS[(limits & 3) as usize];
        let config = Config::default()
            .max_message_size(message)
            .max_frame_size(frame)
            .auto_pong(flags & 0x08 == 0);
        let deflate = (flags & 1 != 0).then(|| {
            let params = DeflateParams {
                server_no_context_takeover: flags & 0x02 != 0,
                client_no_context_takeover: flags & 0x04 != 0,
                server_max_window_bits: 8 + (windows & 7),
                client_max_window_bits: 8 + ((windows >> 4) & 7),
            };
            let own = if flags & 0x10 != 0 {
                DeflateConfig::lean()
            } else {
                DeflateConfig::default()
            };
            let own = own
                .max_window_bits(if windows & 0x08 != 0 { 9 } else { 15 })
                .level(if windows & 0x80 != 0 { 1 } else { 6 })
                .threshold(if flags & 0x40 != 0 { 0 } else { 64 });
            (params, own)
        });
        Setup {
            config,
            deflate,
            echo: flags & 0x20 != 0,
        }
    }
}

/// The `frame_server` target.
pub fn run_server(data: &[u8]) {
    run(Role::Server, data);
}

/// The `frame_client` target.
pub fn run_client(data: &[u8]) {
    run(Role::Client, data);
}

/// How our side of the connection ended, if it did.
#[derive(Debug)]
#[expect(dead_code, reason = "read through Debug, in assertion messages")]
enum End {
    /// The peer's close arrived (and we echoed it).
    PeerClosed(Option<CloseFrame>),
    /// The input broke the protocol.
    Failed(ProtocolError),
}

/// Feeds `data` (control bytes, then the peer's stream) to a connection in `role`.
pub fn run(role: Role, data: &[u8]) {
    let mut input = Input::new(data);
    let (flags, windows, limits, chunking) =
        (input.byte(), input.byte(), input.byte(), input.byte());
    let setup = Setup::from_bytes(flags, windows, limits);
    let stream = input.rest();

    let mut conn = Connection::new(role, setup.config);
    let mut checker = OutputChecker::new(role, setup.deflate);
    if let Some((params, own)) = &setup.deflate {
        conn.enable_deflate(params, own);
    }

    let mut buf = BytesMut::new();
    let mut end: Option<End> = None;
    for piece in Chunks::new(stream, chunking) {
        buf.extend_from_slice(piece);
        // Every event consumes at least a two-byte header, so this bounds the calls.
        let max_calls = buf.len() / 2 + 2;
        for call in 0.. {
            assert!(
                call <= max_calls,
                "receive keeps returning events without consuming"
            );
            let before = buf.len();
            let result = conn.receive(&mut buf);
            assert!(buf.len() <= before, "receive grew the input");
            match result {
                Ok(None) => {
                    checker.take(&mut conn);
                    break;
                }
                Ok(Some(event)) => {
                    assert!(end.is_none(), "event {event:?} after {end:?}");
                    check_event(&conn, &event);
                    match event {
                        Event::Message(message) => {
                            if setup.echo {
                                conn.send(message.clone()).expect("echo while open");
                                checker.expect(Event::Message(message));
                            }
                        }
                        Event::Ping(payload) => {
                            if setup.config.auto_pong {
                                checker.expect(Event::Pong(payload));
                            }
                        }
                        Event::Pong(_) => {}
                        Event::Close(frame) => {
                            assert_eq!(conn.close_state(), CloseState::Closed);
                            assert!(conn.is_receive_done());
                            checker.expect(Event::Close(frame.clone()));
                            end = Some(End::PeerClosed(frame));
                        }
                    }
                }
                Err(err) => {
                    assert!(end.is_none(), "error {err:?} after {end:?}");
                    assert!(conn.is_failed());
                    assert_ne!(conn.close_state(), CloseState::Open);
                    checker.expect_close_code(err.close_code().0);
                    end = Some(End::Failed(err));
                }
            }
            checker.take(&mut conn);
        }
    }
    // Once ended, more input (even a fresh valid frame) yields nothing.
    if end.is_some() {
        let mut more = BytesMut::from(&[0x89, 0x80, 0, 0, 0, 0, 0x89, 0x00][..]);
        assert_eq!(conn.receive(&mut more), Ok(None));
        checker.take(&mut conn);
        assert!(!conn.can_send());
    }
    checker.finish();
}

/// Checks one event against the connection's limits.
fn check_event(conn: &Connection, event: &Event) {
    match event {
        Event::Message(message) => {
            let limit = conn.config().max_message_size;
            assert!(
                message.len() <= limit,
                "message of {} bytes, limit {limit}",
                message.len()
            );
            if let Message::Text(text) = message {
                assert!(std::str::from_utf8(text.as_bytes()).is_ok());
                assert_eq!(text.as_str().as_bytes(), &text.as_bytes()[..]);
            }
        }
        Event::Ping(payload) | Event::Pong(payload) => assert!(payload.len() <= 125),
        Event::Close(Some(frame)) => {
            assert!(frame.code.is_sendable(), "{frame:?}");
            assert!(frame.reason.len() <= 123, "{frame:?}");
        }
        Event::Close(None) => {}
    }
}

/// Checks everything a connection writes: frame by frame, then through a conforming peer.
pub struct OutputChecker {
    role: Role,
    deflate: bool,
    /// Our close frame has been seen: nothing may follow it.
    closed: bool,
    /// A `Connection` in the other role, with the same deflate agreement and default limits.
    peer: Connection,
    peer_buf: BytesMut,
    /// What the peer must see, in order.
    expected: VecDeque<Event>,
    /// Our error's close code, which the peer's close event must carry.
    expected_close_code: Option<u16>,
    peer_saw_close: bool,
}

impl OutputChecker {
    /// A checker for what a connection in `role` writes.
    pub fn new(role: Role, deflate: Option<(DeflateParams, DeflateConfig)>) -> Self {
        let peer_role = match role {
            Role::Server => Role::Client,
            Role::Client => Role::Server,
        };
        let mut peer = Connection::new(peer_role, Config::default());
        if let Some((params, _)) = &deflate {
            peer.enable_deflate(params, &DeflateConfig::default());
        }
        OutputChecker {
            role,
            deflate: deflate.is_some(),
            closed: false,
            peer,
            peer_buf: BytesMut::new(),
            expected: VecDeque::new(),
            expected_close_code: None,
            peer_saw_close: false,
        }
    }

    /// The peer must see `event` next (after those expected before it).
    pub fn expect(&mut self, event: Event) {
        self.expected.push_back(event);
    }

    /// The peer must see a close frame with this code (our error's).
    pub fn expect_close_code(&mut self, code: u16) {
        self.expected_close_code = Some(code);
    }

    /// Takes what `conn` wrote, checks its frames and hands it to the peer.
    pub fn take(&mut self, conn: &mut Connection) {
        let out = conn.outgoing();
        let bytes = out.copy_to_bytes(out.remaining());
        if bytes.is_empty() {
            return;
        }
        self.check_frames(&bytes);
        self.peer_buf.extend_from_slice(&bytes);
        loop {
            match self.peer.receive(&mut self.peer_buf) {
                Ok(None) => break,
                Ok(Some(event)) => self.on_peer_event(event),
                Err(err) => panic!("a conforming peer rejects what we wrote: {err}"),
            }
        }
    }

    fn on_peer_event(&mut self, event: Event) {
        assert!(!self.peer_saw_close, "peer event {event:?} after our close");
        if let Event::Close(frame) = &event {
            self.peer_saw_close = true;
            if let Some(code) = self.expected_close_code {
                assert!(self.expected.is_empty(), "never saw {:?}", self.expected);
                let got = frame.as_ref().map(|f| f.code.0);
                assert_eq!(got, Some(code), "our close frame carries the wrong code");
                return;
            }
        }
        let expected = self.expected.pop_front();
        assert_eq!(
            Some(&event),
            expected.as_ref(),
            "the peer saw something else"
        );
    }

    /// Every frame whole and valid for our role; masks undone to read close payloads.
    fn check_frames(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            assert!(!self.closed, "bytes after our close frame");
            let (h, n) = FrameHeader::decode(bytes)
                .expect("we wrote an invalid frame header")
                .expect("we wrote a partial frame header");
            match self.role {
                Role::Server => assert!(h.mask.is_none(), "a server masked a frame"),
                Role::Client => assert!(h.mask.is_some(), "a client sent an unmasked frame"),
            }
            assert!(!h.rsv2 && !h.rsv3, "we set RSV2/RSV3");
            if h.rsv1 {
                assert!(self.deflate, "RSV1 without deflate");
                assert!(matches!(h.opcode, OpCode::Text | OpCode::Binary));
            }
            // This harness never sends fragments.
            assert!(h.fin && h.opcode != OpCode::Continuation, "{h:?}");
            if h.opcode.is_control() {
                assert!(h.payload_len <= 125, "control frame of {}", h.payload_len);
            }
            let len = usize::try_from(h.payload_len).expect("length fits");
            assert!(bytes.len() >= n + len, "we wrote a partial frame");
            if h.opcode == OpCode::Close {
                self.closed = true;
                let mut payload = bytes[n..n + len].to_vec();
                if let Some(key) = h.mask {
                    apply_mask(&mut payload, key);
                }
                CloseFrame::parse(&payload).expect("we wrote an invalid close payload");
            }
            bytes = &bytes[n + len..];
        }
    }

    /// At the end: the peer consumed everything and saw all it had to.
    pub fn finish(self) {
        assert!(
            self.peer_buf.is_empty() || self.peer_saw_close,
            "{} bytes left over at the peer",
            self.peer_buf.len()
        );
        assert!(
            self.expected.is_empty(),
            "the peer never saw {:?}",
            self.expected
        );
        if self.expected_close_code.is_some() {
            assert!(self.peer_saw_close, "we failed but sent no close frame");
        }
    }
}
