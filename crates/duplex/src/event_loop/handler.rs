//! What a server on the loop implements ([`Handler`]) and what its callbacks get: the
//! connection the event is about ([`Socket`]) and every open connection ([`Sockets`]).
//!
//! Callbacks only queue: what they queue is written by the loop after the batch of events (or
//! before the connection that caused it reads again), one vectored write per connection, so a
//! broadcast to ten thousand receivers costs ten thousand writes however many messages it
//! carried.

use std::net::SocketAddr;

use duplex_proto::{CloseCode, CloseFrame, Message, PreparedFrame};

use super::entry::{Entry, Phase};
use super::fanout::Fanout;
use super::sends::Sends;
use super::table::{SocketId, Table};
use crate::broadcast::BroadcastReport;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Admission};
use crate::options::{Delivery, Options};

/// What a server built on the loop does with its connections. Every method runs on the loop's
/// thread; a callback that blocks stalls every connection.
///
/// ```
/// use duplex::event_loop::{Handler, Socket, SocketId, Sockets};
/// use duplex::{CloseFrame, Message, PreparedFrame};
///
/// /// Every message goes to every other connection, and everyone hears who left.
/// struct Chat {
///     online: usize,
/// }
///
/// impl Handler for Chat {
///     fn on_open(&mut self, _socket: &mut Socket<'_>) {
///         self.online += 1;
///     }
///     fn on_message(&mut self, socket: &mut Socket<'_>, message: Message) {
///         socket.broadcast(&PreparedFrame::new(&message));
///     }
///     fn on_close(
///         &mut self,
///         sockets: &mut Sockets<'_>,
///         id: SocketId,
///         _end: Result<Option<CloseFrame>, duplex::Error>,
///     ) {
///         self.online -= 1;
///         let left = Message::text(format!("{id} left; {} online", self.online));
///         sockets.broadcast(&PreparedFrame::new(&left));
///     }
/// }
/// ```
pub trait Handler {
    /// The handshake completed: the connection is open. Nothing to do by default.
    fn on_open(&mut self, socket: &mut Socket<'_>) {
        let _ = socket;
    }

    /// A whole message arrived (pings are answered by the protocol core).
    fn on_message(&mut self, socket: &mut Socket<'_>, message: Message);

    /// An open connection ended: with the peer's close frame (`Ok`, `None` if it had no
    /// status), or with what went wrong. Called once for every connection `on_open` saw,
    /// after it left `sockets` (which reaches the others, to tell them, say).
    fn on_close(
        &mut self,
        sockets: &mut Sockets<'_>,
        id: SocketId,
        end: Result<Option<CloseFrame>, Error>,
    ) {
        let _ = (sockets, id, end);
    }

    /// Another thread woke the loop with its [`LoopWaker`](super::LoopWaker) (at least once
    /// since the last call), to hand it work: messages for its connections, most often. Called
    /// on shutdown too. Nothing to do by default.
    fn on_wake(&mut self, sockets: &mut Sockets<'_>) {
        let _ = sockets;
    }
}

/// The open connection a callback is about, and a way to reach the others.
///
/// What it queues is written after the current batch of events, coalesced with everything
/// else queued for the same connection.
pub struct Socket<'a> {
    pub(super) index: u32,
    pub(super) id: SocketId,
    pub(super) shared: Sockets<'a>,
}

/// Every open connection of the loop, as a callback may reach them. What it queues is written
/// after the current batch of events.
pub struct Sockets<'a> {
    pub(super) table: &'a mut Table,
    pub(super) dirty: &'a mut Vec<u32>,
    pub(super) options: &'a Options,
    pub(super) fanout: &'a mut Fanout,
    pub(super) sends: &'a mut Sends,
}

impl Sockets<'_> {
    /// Queues a prepared frame for connection `id`, under the slow-consumer policy.
    pub fn send_to(&mut self, id: SocketId, frame: &PreparedFrame) -> Delivery {
        if self.table.by_id(id).is_none() {
            return Delivery::Closed;
        }
        self.offer(id.index, frame)
    }

    /// Queues a prepared frame for every open connection, under the slow-consumer policy. The
    /// frame is held once for all of them until the batch's end, not queued on each.
    ///
    /// Every connection of this loop, that is: in a [`Group`](super::Group), the other loops'
    /// connections are theirs to reach (see the group's documentation for how).
    pub fn broadcast(&mut self, frame: &PreparedFrame) -> BroadcastReport {
        self.broadcast_except(None, frame)
    }

    /// How many connections the loop holds (handshakes included).
    pub fn connections(&self) -> usize {
        self.table.len()
    }

    fn broadcast_except(&mut self, except: Option<u32>, frame: &PreparedFrame) -> BroadcastReport {
        let mut report = BroadcastReport::default();
        let pending = self.fanout.bytes();
        let position = self.fanout.push(frame.as_bytes(), except);
        for index in 0..self.table.capacity() as u32 {
            let Some(entry) = self.table.get_mut(index) else {
                continue;
            };
            if Some(index) == except {
                entry.excepted = true;
                continue;
            }
            if entry.phase != Phase::Open || !entry.conn.can_send() {
                report.closed += usize::from(!entry.counted_closed);
                entry.counted_closed = true;
                continue;
            }
            // The slow-consumer rule, counting the batch's earlier broadcasts as queued (they
            // are, in effect).
            let queued = entry.conn.outgoing_len() + pending;
            let admission = lifecycle::admit(queued, frame.len(), self.options);
            if admission == Admission::Queue {
                report.queued += 1;
                continue;
            }
            // It gets the broadcasts before this one, not this one.
            if self.fanout.absorb_until(entry, index, position) {
                entry.mark_dirty(index, self.dirty);
            }
            entry.absorbed = position as u16 + 1;
            match admission {
                Admission::Queue | Admission::Refuse(_) => report.dropped += 1,
                Admission::Close => {
                    let _ = entry.conn.close(Some(lifecycle::slow_consumer()));
                    report.closed += 1;
                    entry.counted_closed = true;
                    entry.mark_dirty(index, self.dirty);
                }
            }
        }
        if self.fanout.is_full() {
            self.fanout.publish(self.table, self.sends, self.dirty);
        }
        report
    }

    fn mark_dirty(&mut self, index: u32) {
        if let Some(entry) = self.table.get_mut(index) {
            entry.mark_dirty(index, self.dirty);
        }
    }

    /// Queues a prepared frame under the slow-consumer rule (the tokio driver's too).
    fn offer(&mut self, index: u32, frame: &PreparedFrame) -> Delivery {
        let Some(entry) = self.table.get_mut(index) else {
            return Delivery::Closed;
        };
        if entry.phase != Phase::Open || !entry.conn.can_send() {
            return Delivery::Closed;
        }
        // After the broadcasts it has not got yet, not before them; those are written even
        // if this frame is not queued.
        if self.fanout.absorb(entry, index) {
            entry.mark_dirty(index, self.dirty);
        }
        let delivery = match lifecycle::admit(entry.conn.outgoing_len(), frame.len(), self.options)
        {
            Admission::Refuse(delivery) => return delivery,
            Admission::Close => {
                let _ = entry.conn.close(Some(lifecycle::slow_consumer()));
                Delivery::Closed
            }
            Admission::Queue if entry.conn.send_prepared(frame).is_ok() => Delivery::Queued,
            Admission::Queue => Delivery::Closed,
        };
        self.mark_dirty(index);
        delivery
    }

    /// The open connection `id`, with the broadcasts it has not got yet moved into its queue
    /// (what is queued on it next must follow them).
    fn caught_up(&mut self, id: SocketId) -> Option<&mut Entry> {
        let entry = self.table.by_id(id)?;
        if self.fanout.absorb(entry, id.index) {
            entry.mark_dirty(id.index, self.dirty);
        }
        Some(entry)
    }
}

impl Socket<'_> {
    /// This connection's id, valid for as long as the loop runs.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// The subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.entry()?.protocol()
    }

    /// The peer's address (asked of the socket).
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        match self.entry() {
            Some(entry) => entry.stream.peer_addr(),
            None => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }

    /// Queues a text or binary message for this connection. The queue is not bounded here:
    /// while it holds more than [`Options::max_buffered`], the loop stops reading from this
    /// peer, so an echo cannot be made to buffer without limit.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<()> {
        let entry = self.shared.caught_up(self.id).ok_or(Error::AlreadyClosed)?;
        entry.conn.send(message.into())?;
        self.shared.mark_dirty(self.index);
        Ok(())
    }

    /// Queues a frame encoded once for many receivers, under the slow-consumer policy.
    pub fn send_prepared(&mut self, frame: &PreparedFrame) -> Delivery {
        self.shared.offer(self.index, frame)
    }

    /// Queues a prepared frame for another connection, under the slow-consumer policy.
    pub fn send_to(&mut self, id: SocketId, frame: &PreparedFrame) -> Delivery {
        self.shared.send_to(id, frame)
    }

    /// Queues a prepared frame for every other open connection of this loop, under the
    /// slow-consumer policy (as [`Sockets::broadcast`], which says how to reach the other
    /// loops of a [`Group`](super::Group)). The frame is held once for all of them until the
    /// batch's end, not queued on each.
    pub fn broadcast(&mut self, frame: &PreparedFrame) -> BroadcastReport {
        self.shared.broadcast_except(Some(self.index), frame)
    }

    /// Starts the closing handshake with a code and reason; `on_close` follows once the peer
    /// answers (or the close timeout passes). Closing twice is not an error.
    pub fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<()> {
        let entry = self.shared.caught_up(self.id).ok_or(Error::AlreadyClosed)?;
        if entry.conn.can_send() {
            entry.conn.close(Some(CloseFrame::new(code, reason)))?;
            self.shared.mark_dirty(self.index);
        }
        Ok(())
    }

    fn entry(&self) -> Option<&Entry> {
        self.shared.table.get_by_id(self.id)
    }
}

impl<'a> Socket<'a> {
    /// Every open connection, this one included.
    pub fn sockets(&mut self) -> &mut Sockets<'a> {
        &mut self.shared
    }
}
