//! One message to many connections: encoded once, queued by reference, written from one loop.
//!
//! A [`Broadcaster`] holds the writing halves of its members. [`Broadcaster::send`] encodes the
//! message into one [`PreparedFrame`] and offers that same allocation to every member; each
//! member's queue gets a reference, not a copy. A member whose queue is past
//! [`Options::max_buffered`](crate::Options::max_buffered) is handled by its
//! [`SlowConsumer`](crate::SlowConsumer) policy (drop the message for it, or close it with
//! 1008), so one stalled receiver never slows the others.

use std::sync::Mutex;

use duplex_proto::{Message, PreparedFrame};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::options::Delivery;
use crate::split::WebSocketWriter;

/// Identifies a member, to remove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId(u64);

/// What one [`Broadcaster::send`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BroadcastReport {
    /// Members the message was queued for.
    pub queued: usize,
    /// Members whose queue was full and who missed the message.
    pub dropped: usize,
    /// Members found closing or closed (removed from the broadcaster).
    pub closed: usize,
}

/// A set of server connections that receive the same messages.
///
/// ```no_run
/// # async fn run(listener: tokio::net::TcpListener) -> Result<(), duplex::Error> {
/// use std::sync::Arc;
/// let room = Arc::new(duplex::Broadcaster::new());
/// let (stream, _) = listener.accept().await?;
/// let (mut reader, writer) = duplex::accept(stream).await?.split();
/// let id = room.join(writer);
/// let report = room.send(&duplex::Message::text("welcome"));
/// assert_eq!(report.queued, 1);
/// // The member's task keeps reading: that is what writes its queue and answers pings.
/// while reader.recv().await?.is_some() {}
/// room.leave(id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Broadcaster<S> {
    members: Mutex<Members<S>>,
}

#[derive(Debug)]
struct Members<S> {
    next_id: u64,
    list: Vec<(MemberId, WebSocketWriter<S>)>,
}

impl<S> Default for Broadcaster<S> {
    fn default() -> Self {
        Broadcaster {
            members: Mutex::new(Members {
                next_id: 0,
                list: Vec::new(),
            }),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Broadcaster<S> {
    /// An empty broadcaster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection; keep reading from its other half so its queue is written.
    pub fn join(&self, writer: WebSocketWriter<S>) -> MemberId {
        let mut members = self.lock();
        let id = MemberId(members.next_id);
        members.next_id += 1;
        members.list.push((id, writer));
        id
    }

    /// Removes a connection (a no-op if it is already gone).
    pub fn leave(&self, id: MemberId) {
        self.lock().list.retain(|(member, _)| *member != id);
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.lock().list.len()
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends `message` to every member: one encode, one reference per member.
    pub fn send(&self, message: &Message) -> BroadcastReport {
        self.send_prepared(&PreparedFrame::new(message))
    }

    /// Sends an already prepared frame to every member.
    pub fn send_prepared(&self, frame: &PreparedFrame) -> BroadcastReport {
        self.send_prepared_except(frame, None)
    }

    /// Sends `message` to every member but `sender` (a relay: what one says, the others hear).
    pub fn send_except(&self, message: &Message, sender: MemberId) -> BroadcastReport {
        self.send_prepared_except(&PreparedFrame::new(message), Some(sender))
    }

    /// Sends a prepared frame to every member except `skip`.
    pub fn send_prepared_except(
        &self,
        frame: &PreparedFrame,
        skip: Option<MemberId>,
    ) -> BroadcastReport {
        self.offer(frame, skip, WebSocketWriter::try_send_prepared)
    }

    /// Queues a frame for every member except `skip` without writing: when several messages
    /// arrive together, queue them all, then [`Broadcaster::flush`] once, so each member gets
    /// them in one write instead of one write per message.
    pub fn queue_except(&self, frame: &PreparedFrame, skip: Option<MemberId>) -> BroadcastReport {
        self.offer(frame, skip, WebSocketWriter::queue_prepared)
    }

    /// Writes what [`Broadcaster::queue_except`] queued, to every member.
    pub fn flush(&self) {
        for (_, writer) in &self.lock().list {
            writer.write_queued();
        }
    }

    fn offer(
        &self,
        frame: &PreparedFrame,
        skip: Option<MemberId>,
        offer: fn(&WebSocketWriter<S>, &PreparedFrame) -> crate::Result<Delivery>,
    ) -> BroadcastReport {
        let mut report = BroadcastReport::default();
        self.lock().list.retain(|(id, writer)| {
            if Some(*id) == skip {
                return true;
            }
            match offer(writer, frame) {
                Ok(Delivery::Queued) => report.queued += 1,
                Ok(Delivery::Full | Delivery::Dropped) => report.dropped += 1,
                Ok(Delivery::Closed) | Err(_) => {
                    report.closed += 1;
                    return false;
                }
            }
            true
        });
        report
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Members<S>> {
        self.members
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
