//! The sending half of a connection: messages, fragments and control frames encoded into the
//! send buffer. A server never masks and queues large payloads by reference; a client masks
//! every frame with a fresh key from a CSPRNG (RFC 6455 5.3), or from a seeded generator when a
//! test asked for reproducible bytes.

use bytes::Bytes;

use super::{Connection, Role};
use crate::close::CloseFrame;
use crate::error::SendError;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::message::Message;
use crate::prepared::PreparedFrame;

impl Connection {
    /// Draws this client's masking keys from a generator seeded with `seed` instead of the
    /// thread's CSPRNG, so that a test can reproduce the exact bytes a client sends. Never in
    /// production: RFC 6455 requires keys a script in the page cannot predict.
    ///
    /// ```
    /// use bytes::Buf;
    /// use duplex_proto::{Config, Connection, Role};
    ///
    /// let encode = |seed| {
    ///     let mut client = Connection::new(Role::Client, Config::default());
    ///     client.seed_masks(seed);
    ///     client.send_text("hello").unwrap();
    ///     let out = client.outgoing();
    ///     out.copy_to_bytes(out.remaining())
    /// };
    /// assert_eq!(encode(7), encode(7));
    /// assert_ne!(encode(7), encode(8));
    /// ```
    pub fn seed_masks(&mut self, seed: u32) {
        self.mask_seed = seed.max(1);
    }

    /// The next masking key: from the CSPRNG, or the test's fixed sequence (xorshift32).
    fn next_mask(&mut self) -> [u8; 4] {
        if self.mask_seed == 0 {
            return rand::random();
        }
        let mut x = self.mask_seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_seed = x;
        x.to_le_bytes()
    }

    /// Queues a message.
    ///
    /// A server queues a large payload by reference (no copy); a client masks it while copying.
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.into_bytes()),
            Message::Binary(data) => (OpCode::Binary, data),
        };
        self.check_can_send()?;
        self.write_message(opcode, &payload.clone(), Some(payload));
        Ok(())
    }

    /// Queues a frame prepared once for many connections, by reference (server role only:
    /// a client must mask every frame with its own key).
    pub fn send_prepared(&mut self, frame: &PreparedFrame) -> Result<(), SendError> {
        self.check_can_send()?;
        if self.role == Role::Client {
            return Err(SendError::PreparedFromClient);
        }
        self.out.put_by_reference(frame.as_bytes().clone());
        Ok(())
    }

    /// Queues a text message, copying it.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.check_can_send()?;
        self.write_message(OpCode::Text, text.as_bytes(), None);
        Ok(())
    }

    /// Queues a binary message, copying it.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        self.write_message(OpCode::Binary, data, None);
        Ok(())
    }

    /// One whole message: compressed when deflate is agreed and the message is large enough.
    fn write_message(&mut self, opcode: OpCode, payload: &[u8], shared: Option<Bytes>) {
        match self.deflate.as_mut() {
            Some(deflate) if deflate.should_compress(payload.len()) => {
                let mut scratch = std::mem::take(&mut deflate.scratch);
                deflate.compress(payload, &mut scratch);
                self.write_frame(opcode, true, true, &scratch, None);
                // Keep a modest buffer for the next message; give back a big one.
                if let Some(deflate) = self.deflate.as_mut() {
                    if scratch.capacity() <= 64 * 1024 {
                        scratch.clear();
                        deflate.scratch = scratch;
                    }
                }
            }
            _ => self.write_frame(opcode, true, false, payload, shared),
        }
    }

    /// Queues one frame of a message sent in pieces: `first` is true for its first frame (which
    /// carries `Text` or `Binary`), `fin` for its last. The caller keeps pieces of one message
    /// together; the peer checks that text is UTF-8 as a whole. Pieces are never compressed.
    pub fn send_fragment(
        &mut self,
        is_text: bool,
        first: bool,
        fin: bool,
        data: &[u8],
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let opcode = match (first, is_text) {
            (false, _) => OpCode::Continuation,
            (true, true) => OpCode::Text,
            (true, false) => OpCode::Binary,
        };
        self.write_frame(opcode, fin, false, data, None);
        Ok(())
    }

    /// Queues a ping with up to 125 bytes of payload.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.control(OpCode::Ping, payload)
    }

    /// Queues a pong with up to 125 bytes of payload (pongs to pings are automatic by default).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.control(OpCode::Pong, payload)
    }

    /// Starts the closing handshake (or answers a close, if the peer's arrived and auto-reply was
    /// somehow skipped). `None` sends a close frame with no status code. Nothing may be sent
    /// afterwards; keep calling [`receive`](Self::receive) until [`Event::Close`].
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        self.check_can_send()?;
        let payload = match frame {
            Some(frame) => frame.encode()?,
            None => Bytes::new(),
        };
        self.close_sent = true;
        self.write_frame(OpCode::Close, true, false, &payload, None);
        Ok(())
    }

    fn control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        if payload.len() > 125 {
            return Err(SendError::ControlPayloadTooBig(payload.len()));
        }
        self.write_frame(opcode, true, false, payload, None);
        Ok(())
    }

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.close_sent {
            return Err(SendError::Closed);
        }
        Ok(())
    }

    /// Encodes one frame into the send buffer: masked with a fresh random key for a client,
    /// by reference to `shared` for a server when it is given and large.
    pub(super) fn write_frame(
        &mut self,
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        payload: &[u8],
        shared: Option<Bytes>,
    ) {
        let mut header = FrameHeader::new(opcode, payload.len() as u64).with_fin(fin);
        header.rsv1 = rsv1;
        if self.role == Role::Client {
            header.mask = Some(self.next_mask());
        }
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out.put_slice(&head[..head_len]);
        match (header.mask, shared) {
            (Some(key), _) => {
                let staged = self.out.stage(payload.len());
                staged.copy_from_slice(payload);
                apply_mask(staged, key);
            }
            (None, Some(shared)) => self.out.put_shared(shared),
            (None, None) => self.out.put_slice(payload),
        }
    }
}
