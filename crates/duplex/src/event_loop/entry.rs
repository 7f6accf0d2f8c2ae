//! One connection of the event loop: its socket, its protocol core, and where its life stands.
//!
//! An `Entry` is what an idle connection costs, so it holds only what every connection needs:
//! no task, no waker, no timer object (the loop's once-a-second sweep compares the `u32` ticks
//! here), no buffers while idle. The protocol itself is [`duplex_proto::Connection`]; this file
//! moves bytes between it and a non-blocking socket, as `driver.rs` does for tokio.

use std::io::IoSlice;
use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use duplex_proto::handshake::server::Request;
use duplex_proto::{CloseFrame, Connection, Event, HandshakeError, ProtocolError, SendBuffer};
use mio::net::TcpStream;

use super::sends::send_vectored;
use crate::driver::MAX_BURST_HINT;
use crate::error::Error;
use crate::io::{FIRST_READ, MAX_IOVECS, MIN_READ};
use crate::lifecycle::{Step, Teardown};

/// Where a connection's life stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Reading the HTTP request.
    Handshake,
    /// Refused: the HTTP error response is queued; write it, then close.
    Rejecting,
    /// WebSocket open (our close may be out, waiting for the peer's).
    Open,
    /// The closing handshake completed: write what is left, close TCP, report.
    Closing,
    /// A protocol error or a timeout: write our close, drain the peer until it is done, report.
    Failing,
}

/// How a connection ended, kept from the moment it is known until it is reported.
#[derive(Debug)]
pub(crate) enum End {
    Closed(Option<CloseFrame>),
    Failed(Error),
}

impl End {
    pub(crate) fn into_result(self) -> Result<Option<CloseFrame>, Error> {
        match self {
            End::Closed(frame) => Ok(frame),
            End::Failed(e) => Err(e),
        }
    }
}

/// The parts of an entry most connections never fill.
#[derive(Debug, Default)]
struct Rare {
    protocol: Option<Box<str>>,
    end: Option<End>,
}

/// One connection. The ticks are whole seconds of the loop's clock; 0 means "not set".
pub(crate) struct Entry {
    pub(crate) stream: TcpStream,
    pub(crate) conn: Connection,
    /// Bytes read and not yet parsed; `None` while the connection is idle. Boxed: 8 bytes in
    /// an idle connection instead of 32, for one small allocation per burst of activity.
    read_buf: Option<Box<BytesMut>>,
    /// The subprotocol and how the connection ended: boxed together, because few connections
    /// have a subprotocol and the end is known only at the end (8 bytes instead of 24 in every
    /// connection).
    rare: Option<Box<Rare>>,
    /// Which connection this is, among all that ever had this slot (see `SocketId`).
    pub(crate) serial: u32,
    /// Bytes read since the socket last had nothing to read (see `driver.rs`).
    pub(crate) burst: u32,
    pub(crate) phase: Phase,
    /// In the loop's list of connections with bytes queued by someone else's callback.
    pub(crate) dirty: bool,
    /// How far the end of the transport has gone (see `lifecycle.rs`).
    teardown: Teardown,
    /// The last read found the socket empty (it returned less than it asked for, or nothing):
    /// the next bytes will come with a readiness event, so reading again before one would
    /// only return `EAGAIN`. tokio's reads make the same inference. Cleared by each event.
    pub(crate) drained: bool,
    /// Sent one of the broadcasts in the loop's batch (so its view of the batch skips them).
    pub(crate) excepted: bool,
    /// The peer's FIN came with the last readiness event: read on past a short read, to the
    /// end of stream, instead of taking a short read for an empty socket (the FIN may have
    /// arrived in the same edge as the last bytes, and no other event would follow).
    pub(crate) read_closed: bool,
    /// A broadcast already counted this connection as closed (each counts once, as the task
    /// driver's `Broadcaster` counts a member once and drops it).
    pub(crate) counted_closed: bool,
    /// How many of the batch's broadcasts this connection already has in its own queue, or
    /// must not get (it opened after them, or the slow-consumer policy skipped them): see
    /// `fanout.rs`.
    pub(crate) absorbed: u16,
}

/// What one read brought.
pub(crate) enum Read {
    Bytes,
    /// Nothing to read now; the next readiness event will say when.
    WouldBlock,
    /// The peer closed its side.
    Eof,
    Error(std::io::Error),
}

impl Entry {
    pub(crate) fn new(stream: TcpStream, conn: Connection, serial: u32) -> Self {
        Entry {
            stream,
            conn,
            read_buf: None,
            rare: None,
            serial,
            burst: 0,
            phase: Phase::Handshake,
            dirty: false,
            teardown: Teardown::default(),
            drained: false,
            excepted: false,
            read_closed: false,
            counted_closed: false,
            absorbed: 0,
        }
    }

    /// Puts this connection (slot `index`) on the loop's list of queues to write after the
    /// batch, once.
    pub(crate) fn mark_dirty(&mut self, index: u32, dirty: &mut Vec<u32>) {
        if !self.dirty {
            self.dirty = true;
            dirty.push(index);
        }
    }

    pub(crate) fn protocol(&self) -> Option<&str> {
        self.rare.as_ref()?.protocol.as_deref()
    }

    pub(crate) fn set_protocol(&mut self, protocol: Option<String>) {
        if let Some(protocol) = protocol {
            self.rare.get_or_insert_with(Box::default).protocol = Some(protocol.into());
        }
    }

    /// Records how the connection ended (the first word stands).
    pub(crate) fn set_end(&mut self, end: End) {
        self.rare
            .get_or_insert_with(Box::default)
            .end
            .get_or_insert(end);
    }

    pub(crate) fn take_end(&mut self) -> Option<End> {
        self.rare.as_mut()?.end.take()
    }

    /// Reads once into the read buffer. A connection without a buffer reads into the stack
    /// first and allocates only when bytes came, or, if its last burst was larger than a
    /// first read, into a buffer sized for such a burst (one read, not a small one, a copy
    /// and another).
    pub(crate) fn read(&mut self) -> Read {
        let fresh = self.read_buf.is_none();
        let result = match self.read_buf.as_deref_mut() {
            Some(buf) => {
                if buf.capacity() - buf.len() < MIN_READ / 4 {
                    buf.reserve(MIN_READ);
                }
                read_spare(&self.stream, buf)
            }
            None => {
                let last = self.burst as usize;
                if last > FIRST_READ && last <= MAX_BURST_HINT {
                    let buf = BytesMut::with_capacity(last + MIN_READ);
                    read_spare(&self.stream, self.read_buf.insert(Box::new(buf)))
                } else {
                    read_first(&self.stream, &mut self.read_buf)
                }
            }
        };
        match result {
            Ok((0, _)) => Read::Eof,
            Ok((n, asked)) => {
                let before = if fresh { 0 } else { self.burst };
                self.burst = before.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
                self.drained = n < asked && !self.read_closed;
                Read::Bytes
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                self.settle();
                Read::WouldBlock
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Read::Bytes,
            Err(e) => Read::Error(e),
        }
    }

    /// The socket has nothing more for now. An idle connection gives its buffer back (the
    /// messages handed out keep their own bytes); one with a frame still arriving starts
    /// counting a new burst.
    pub(crate) fn settle(&mut self) {
        self.drained = true;
        if self.read_buf.as_ref().is_none_or(|buf| buf.is_empty()) {
            self.read_buf = None;
        } else {
            self.burst = 0;
        }
    }

    /// Parses what was read (see [`Connection::receive`]).
    pub(crate) fn receive(&mut self) -> Result<Option<Event>, ProtocolError> {
        match self.read_buf.as_deref_mut() {
            Some(buf) => self.conn.receive(buf),
            None => Ok(None),
        }
    }

    /// The request head, once it has all arrived; it is then consumed from the read buffer.
    pub(crate) fn request(&mut self, max_head: usize) -> Result<Option<Request>, HandshakeError> {
        let Some(buf) = self.read_buf.as_deref_mut() else {
            return Ok(None);
        };
        let Some((request, head_len)) = Request::parse(buf, max_head)? else {
            return Ok(None);
        };
        let _ = buf.split_to(head_len);
        Ok(Some(request))
    }

    /// Writes as much of the queue as the socket takes now. `Ok` with bytes left means the
    /// socket is full: its writable event will come.
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        let out = self.conn.outgoing();
        if out.is_empty() {
            return Ok(());
        }
        write_queued(&mut self.stream, out)?;
        if self.conn.outgoing().is_empty() {
            self.conn.shrink_when_idle();
        }
        Ok(())
    }

    /// Ends the transport after the closing handshake, a failure or a refusal, in the order
    /// [`Teardown`] gives (the tokio driver follows the same steps). Returns true when the
    /// socket may be closed, false while it must wait for the socket; `expired` (the deadline
    /// passed) stops waiting.
    ///
    /// The caller closes the socket as soon as this returns true, and `close` sends the FIN
    /// itself (after anything still queued in the kernel), so only the early FIN of a failed
    /// connection needs a `shutdown`: one syscall less per connection than the tokio driver,
    /// whose `WebSocket` may outlive its close.
    pub(crate) fn teardown(&mut self, expired: bool) -> bool {
        let refused = self.phase == Phase::Rejecting;
        loop {
            match self.teardown.next(&self.conn, refused, expired) {
                Step::Flush => {
                    if self.flush().is_err() {
                        self.teardown.broken = true;
                    } else if !self.conn.outgoing().is_empty() {
                        return false; // the socket is full: its writable event resumes us
                    }
                }
                Step::ShutdownWrite => {
                    let _ = self.stream.shutdown(std::net::Shutdown::Write);
                    self.teardown.write_shut = true;
                }
                Step::Drain => {
                    if self.drained {
                        return false;
                    }
                    match self.read() {
                        Read::Bytes => {
                            let _ = self.receive();
                        }
                        Read::WouldBlock => return false,
                        Read::Eof | Read::Error(_) => self.teardown.eof = true,
                    }
                }
                Step::Close => {
                    self.read_buf = None;
                    return true;
                }
            }
        }
    }
}

/// The first read of a connection that holds no buffer: into the stack, then into a new
/// buffer only if bytes came (an idle connection woken for nothing allocates nothing).
fn read_first(
    stream: &TcpStream,
    slot: &mut Option<Box<BytesMut>>,
) -> std::io::Result<(usize, usize)> {
    let mut first = [MaybeUninit::<u8>::uninit(); FIRST_READ];
    let n = read_raw(stream, &mut first)?;
    if n > 0 {
        // SAFETY: `read` initialised the first `n` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(first.as_ptr().cast::<u8>(), n) };
        let mut buf = BytesMut::with_capacity(MIN_READ);
        buf.extend_from_slice(bytes);
        *slot = Some(Box::new(buf));
    }
    Ok((n, FIRST_READ))
}

/// Reads into the spare capacity of `buf`; how much came and how much room there was.
fn read_spare(stream: &TcpStream, buf: &mut BytesMut) -> std::io::Result<(usize, usize)> {
    let spare = buf.spare_capacity_mut();
    let asked = spare.len();
    let n = read_raw(stream, spare)?;
    // SAFETY: `read` initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok((n, asked))
}

/// `read(2)` on the descriptor into possibly uninitialised memory, which a `&mut [u8]` (what
/// `Read::read` takes) may not point at.
fn read_raw(stream: &TcpStream, into: &mut [MaybeUninit<u8>]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: the pointer and length describe `into`, writable memory we borrow mutably.
    let n = unsafe { libc::read(stream.as_raw_fd(), into.as_mut_ptr().cast(), into.len()) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Writes queued frames with vectored writes until the queue is empty or the socket is full.
fn write_queued(stream: &mut TcpStream, out: &mut SendBuffer) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    while out.has_remaining() {
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let count = out.chunks_vectored(&mut slices);
        match send_vectored(stream.as_raw_fd(), &slices[..count]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => out.advance(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
