//! One connection's way out: the outbound byte budget and what happens when it is spent.
//!
//! Everything a session sends — replies, pushes, publications — goes through [`SessionHandle`]
//! without waiting: a frame prepared once for a whole fan-out is queued by reference on the
//! connection's transport. While the bytes queued there stay under the budget
//! (`client.queue_max_size`), that is all. Past it, the channel's namespace decides:
//!
//! - `disconnect` (the default, as Centrifugo): the connection is closed with 3008 "slow", and
//!   the client reconnects and recovers from history — nothing is silently lost;
//! - `drop_oldest`: the frame waits in a small backlog of this session's own, and the oldest
//!   waiting publications make room for the newest;
//! - `conflate`: a waiting publication of the same channel is replaced by the newer one, so a
//!   dashboard gets the latest value instead of a backlog.
//!
//! Replies and control pushes are never dropped: if they do not fit, the connection is slow
//! whatever the policy. The backlog is drained by the connection's own task as its transport
//! queue empties.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;

use duplex::proto::{Message, PreparedFrame};
use duplex::upgrade::UpgradedIo;
use duplex::WebSocketWriter;
use futures_util::task::AtomicWaker;

use crate::codes::Disconnect;
use crate::config::SlowConsumerPolicy;
use crate::protocol::Encoding;

use super::control::Control;
use crate::transport::stream::StreamWriter;

/// Where a session's frames are written: a WebSocket, or an HTTP stream (HTTP-streaming and
/// SSE, `transport/stream.rs`).
///
/// An enum rather than a boxed trait object: every connection has one, and the box was an
/// allocation of its own. Each transport enforces the byte budget itself (for WebSocket,
/// duplex's `Options::max_buffered` with `SlowConsumer::Wait`), so one call both checks and
/// queues, under one lock.
pub(crate) enum Transport {
    WebSocket(WebSocketWriter<UpgradedIo>),
    Stream(StreamWriter),
}

impl Transport {
    /// Queues a frame without waiting, unless the budget is spent (`Full`).
    fn queue(&self, frame: &PreparedFrame) -> Queued {
        match self {
            Transport::WebSocket(writer) => match writer.queue_prepared(frame) {
                Ok(duplex::Delivery::Queued) => Queued::Yes,
                Ok(duplex::Delivery::Full | duplex::Delivery::Dropped) => Queued::Full,
                Ok(duplex::Delivery::Closed) | Err(_) => Queued::Closed,
            },
            Transport::Stream(writer) => writer.queue(frame),
        }
    }

    /// Writes what is queued, as far as the socket takes it without waiting.
    fn flush(&self) {
        match self {
            Transport::WebSocket(writer) => writer.write_queued(),
            Transport::Stream(writer) => writer.flush(),
        }
    }
}

/// What became of a frame offered to a [`Transport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Queued; a flush writes it.
    Yes,
    /// Not queued: the budget is spent.
    Full,
    /// Not queued: the connection is closing or closed.
    Closed,
}

/// Frees the pending box once nothing waits in it: a connection that was slow for a moment
/// does not keep its backlog's memory.
fn forget_if_empty(pending: &mut Option<Box<Pending>>) {
    if pending
        .as_ref()
        .is_some_and(|p| p.backlog.frames.is_empty() && p.control.is_empty())
    {
        *pending = None;
    }
}

/// A frame on its way out.
pub(crate) struct Outbound {
    frame: PreparedFrame,
    /// The channel of a publication (for conflation); `None` for replies and other pushes.
    channel: Option<Arc<str>>,
    policy: SlowConsumerPolicy,
}

impl Outbound {
    /// A reply or a push that must not be dropped.
    pub(crate) fn push(frame: PreparedFrame) -> Self {
        Outbound {
            frame,
            channel: None,
            policy: SlowConsumerPolicy::Disconnect,
        }
    }

    fn borrowed(&self) -> Offered<'_> {
        Offered {
            frame: &self.frame,
            channel: self.channel.as_ref(),
            policy: self.policy,
        }
    }
}

/// A frame offered to a session, borrowed: a fan-out offers one frame to every subscriber,
/// and almost all of them queue it on their transport at once (a reference count on the
/// frame's bytes). Only a session that must keep it in its backlog copies the handle, so the
/// fan-out pays no reference counting of its own per subscriber.
#[derive(Clone, Copy)]
pub(crate) struct Offered<'a> {
    frame: &'a PreparedFrame,
    channel: Option<&'a Arc<str>>,
    policy: SlowConsumerPolicy,
}

impl<'a> Offered<'a> {
    /// A publication of `channel`, under its namespace's slow-consumer policy.
    pub(crate) fn publication(
        channel: &'a Arc<str>,
        frame: &'a PreparedFrame,
        policy: SlowConsumerPolicy,
    ) -> Self {
        Offered {
            frame,
            channel: Some(channel),
            policy,
        }
    }

    /// A push that must not be dropped (a join or leave).
    pub(crate) fn push(frame: &'a PreparedFrame) -> Self {
        Offered {
            frame,
            channel: None,
            policy: SlowConsumerPolicy::Disconnect,
        }
    }

    fn to_owned(self) -> Outbound {
        Outbound {
            frame: self.frame.clone(),
            channel: self.channel.cloned(),
            policy: self.policy,
        }
    }
}

/// A WebSocket frame of one encoded reply batch: text for JSON, binary for Protobuf.
pub(crate) fn frame(encoding: Encoding, bytes: bytes::Bytes) -> PreparedFrame {
    let message = match encoding {
        // The JSON encoder writes UTF-8 only; a failure here would be our bug, and sending it
        // as binary is still readable by every SDK.
        Encoding::Json => match duplex::proto::Utf8Bytes::try_from_bytes(bytes.clone()) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(bytes),
        },
        Encoding::Protobuf => Message::Binary(bytes),
    };
    PreparedFrame::new(&message)
}

/// The part of a session that others (fan-out, server API) reach: cheap to clone.
#[derive(Clone)]
pub(crate) struct SessionHandle(pub(crate) Arc<Shared>);

/// State shared between the connection's task and the rest of the node. Every connection has
/// one, so what only a slow or busy connection needs (a backlog, requests for its task) is
/// boxed in `pending`, allocated when first needed. The transport is an enum held inline: a
/// boxed trait object cost an allocation of its own, and an unsized last field would make every
/// `SessionHandle` a 16-byte pointer (a channel holds one per subscriber).
pub(crate) struct Shared {
    /// The client id, a UUID in its hyphenated text form (36 ASCII bytes), kept inline: as a
    /// string of its own it would cost a 64-byte allocation per connection.
    client: [u8; CLIENT_ID_LEN],
    /// Set once, by a successful connect.
    user: OnceLock<Arc<str>>,
    budget: usize,
    pending: Mutex<Option<Box<Pending>>>,
    /// Wakes the connection's task: requests, backlog to drain, a deadline.
    waker: AtomicWaker,
    woken: AtomicBool,
    closing: AtomicBool,
    /// Listed for the node's flusher (`node::flusher`), which has yet to flush it.
    flush_marked: AtomicBool,
    /// The tick of the node's clock at which the session's next timer is due, for the node's
    /// sweep (`node::sweep`); `NEVER` for none.
    due: AtomicU32,
    pub(crate) format: Format,
    transport: Transport,
}

/// What a connection speaks, so that a fan-out builds each frame once per format: Centrifugo's
/// protocol in one of its encodings, or Pusher's (`pusher/`), always JSON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Centrifugo's client protocol.
    Centrifugo(Encoding),
    /// The Pusher Channels protocol.
    Pusher,
}

impl From<Encoding> for Format {
    fn from(encoding: Encoding) -> Self {
        Format::Centrifugo(encoding)
    }
}

/// The length of a client id: a hyphenated UUID.
const CLIENT_ID_LEN: usize = 36;

/// The number the node's table of clients keys a client id by; `None` for text that is no
/// client id of ours.
pub(crate) fn client_key(client: &str) -> Option<u128> {
    uuid::Uuid::try_parse(client).ok().map(|id| id.as_u128())
}

/// What waits for the connection's task.
#[derive(Default)]
struct Pending {
    backlog: Backlog,
    control: Vec<Control>,
}

/// What [`SessionHandle::offer`] did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) struct Offer {
    /// False if the frame was dropped (or the connection is going).
    pub(crate) kept: bool,
    /// The frame is queued on the transport and waits for [`SessionHandle::flush`].
    pub(crate) flush: bool,
    /// Publications that made room for it in the backlog (dropped, or replaced by this one).
    pub(crate) evicted: u64,
}

#[derive(Default)]
struct Backlog {
    frames: VecDeque<Outbound>,
    bytes: usize,
}

impl SessionHandle {
    pub(crate) fn new(
        client: uuid::Uuid,
        format: Format,
        transport: Transport,
        budget: usize,
    ) -> Self {
        let mut text = [0; CLIENT_ID_LEN];
        client.hyphenated().encode_lower(&mut text);
        SessionHandle(Arc::new(Shared {
            client: text,
            user: OnceLock::new(),
            transport,
            budget,
            pending: Mutex::new(None),
            waker: AtomicWaker::new(),
            woken: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            flush_marked: AtomicBool::new(false),
            due: AtomicU32::new(crate::node::sweep::NEVER),
            format,
        }))
    }

    /// The client id as the node's table of clients keys it.
    pub(crate) fn client_key(&self) -> u128 {
        client_key(self.client()).unwrap_or_default()
    }

    /// Records the user once connect has authenticated it.
    pub(crate) fn set_user(&self, user: Arc<str>) {
        let _ = self.0.user.set(user);
    }

    /// Whether the session was woken (see [`SessionHandle::wake`]) since it last looked; if
    /// not, `cx` is woken at the next wake-up. A wake that came while nobody waited is kept
    /// for the next poll.
    pub(crate) fn poll_woken(&self, cx: &mut std::task::Context<'_>) -> Poll<()> {
        if self.0.woken.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.0.waker.register(cx.waker());
        if self.0.woken.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Option<Box<Pending>>> {
        self.0.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The node-local id of this session: unique among live sessions, as its shared state's
    /// address is (a channel's subscriber keeps that state alive, so no later session can take
    /// the id of one still listed).
    pub(crate) fn id(&self) -> u64 {
        Arc::as_ptr(&self.0) as usize as u64
    }

    /// The client id the SDK sees (a UUID).
    pub(crate) fn client(&self) -> &str {
        // Written from a UUID's hyphenated form: always ASCII.
        std::str::from_utf8(&self.0.client).unwrap_or_default()
    }

    /// The authenticated user ("" for anonymous, or before connect).
    pub(crate) fn user(&self) -> String {
        self.user_str().to_owned()
    }

    /// The authenticated user ("" for anonymous, or before connect), borrowed.
    pub(crate) fn user_str(&self) -> &str {
        self.0.user.get().map_or("", |user| user)
    }

    /// This connection's encoding: JSON for a Pusher connection, whose session never asks (it
    /// writes its own frames).
    pub(crate) fn encoding(&self) -> Encoding {
        match self.0.format {
            Format::Centrifugo(encoding) => encoding,
            Format::Pusher => Encoding::Json,
        }
    }

    /// What this connection speaks.
    pub(crate) fn format(&self) -> Format {
        self.0.format
    }

    /// The tick at which this session's next timer is due.
    pub(crate) fn due(&self) -> u32 {
        self.0.due.load(Ordering::Relaxed)
    }

    /// Tells the node's sweep when this session's next timer is due.
    pub(crate) fn set_due(&self, tick: u32) {
        self.0.due.store(tick, Ordering::Relaxed);
    }

    /// Wakes the connection's task to look at its requests, its backlog and its timers.
    pub(crate) fn wake(&self) {
        self.0.woken.store(true, Ordering::Release);
        self.0.waker.wake();
    }

    /// Asks the connection's task to do something (server-side subscribe, disconnect...).
    pub(crate) fn control(&self, request: Control) {
        self.pending()
            .get_or_insert_with(Box::default)
            .control
            .push(request);
        self.wake();
    }

    /// The control requests waiting for the connection's task.
    pub(crate) fn take_control(&self) -> Vec<Control> {
        let mut pending = self.pending();
        let requests = match pending.as_mut() {
            Some(waiting) => std::mem::take(&mut waiting.control),
            None => Vec::new(),
        };
        forget_if_empty(&mut pending);
        requests
    }

    /// Offers a frame without waiting and writes it out; false if it was dropped (or the
    /// connection is going).
    pub(crate) fn deliver(&self, outbound: Outbound) -> bool {
        let offer = self.offer(outbound.borrowed());
        if offer.flush {
            self.flush();
        }
        offer.kept
    }

    /// Offers a frame without writing anything: a fan-out queues to every subscriber under its
    /// channel's lock and calls [`SessionHandle::flush`] on those that need it once the lock is
    /// released, so that no socket write happens while publishers to the channel wait.
    pub(crate) fn offer(&self, outbound: Offered<'_>) -> Offer {
        let refused = Offer {
            kept: false,
            flush: false,
            evicted: 0,
        };
        let shared = &self.0;
        if shared.closing.load(Ordering::Relaxed) {
            return refused;
        }
        let len = outbound.frame.len();
        let mut pending = self.pending();
        if pending.as_ref().is_none_or(|p| p.backlog.frames.is_empty()) {
            match shared.transport.queue(outbound.frame) {
                Queued::Yes => {
                    return Offer {
                        kept: true,
                        flush: true,
                        evicted: 0,
                    }
                }
                Queued::Closed => return refused,
                Queued::Full => {}
            }
        }
        let (kept, evicted) = self.offer_past_budget(outbound.to_owned(), &mut pending, len);
        Offer {
            kept,
            flush: false,
            evicted,
        }
    }

    /// Starts loading this session's state into the cache (see `WebSocketWriter::prefetch`):
    /// a fan-out calls it a few subscribers ahead of the one it offers to.
    pub(crate) fn prefetch(&self) {
        duplex::prefetch::object(Arc::as_ptr(&self.0));
    }

    /// Starts loading the transport's state into the cache; the session's own (which holds
    /// the way to it) should have been asked for earlier, by [`SessionHandle::prefetch`].
    pub(crate) fn prefetch_transport(&self) {
        if let Transport::WebSocket(writer) = &self.0.transport {
            writer.prefetch();
        }
    }

    /// Writes what is queued on the transport, as far as the socket takes it without waiting.
    pub(crate) fn flush(&self) {
        self.0.transport.flush();
    }

    /// Marks the connection as listed for the node's flusher; false if it already was (it is
    /// then flushed once, for everything queued until then).
    pub(crate) fn mark_for_flush(&self) -> bool {
        !self.0.flush_marked.swap(true, Ordering::AcqRel)
    }

    /// The flusher's flush: clears the mark first, so that a frame queued during the write is
    /// either written by it or listed again.
    pub(crate) fn flush_marked(&self) {
        self.0.flush_marked.store(false, Ordering::Release);
        self.flush();
    }

    /// The slow-consumer policy, for a frame that does not fit in the budget (or must wait
    /// behind a backlog): whether it is kept, in the backlog, and how many publications went
    /// to make room. The backlog is drained by the connection's own task, so nothing here
    /// needs a flush.
    fn offer_past_budget(
        &self,
        outbound: Outbound,
        pending: &mut std::sync::MutexGuard<'_, Option<Box<Pending>>>,
        len: usize,
    ) -> (bool, u64) {
        let shared = &self.0;
        match outbound.policy {
            SlowConsumerPolicy::Disconnect => {
                self.slow_with(pending);
                (false, 0)
            }
            SlowConsumerPolicy::DropOldest | SlowConsumerPolicy::Conflate => {
                let backlog = &mut pending.get_or_insert_with(Box::default).backlog;
                if outbound.policy == SlowConsumerPolicy::Conflate {
                    if let Some(channel) = &outbound.channel {
                        let same = backlog
                            .frames
                            .iter()
                            .position(|o| o.channel.as_deref() == Some(&**channel));
                        if let Some(index) = same {
                            let old = std::mem::replace(&mut backlog.frames[index], outbound);
                            backlog.bytes = backlog.bytes - old.frame.len() + len;
                            self.wake();
                            return (true, 1);
                        }
                    }
                }
                backlog.bytes += len;
                backlog.frames.push_back(outbound);
                let mut kept = true;
                let mut evicted = 0;
                while backlog.bytes > shared.budget {
                    // Only publications may go; a reply or push waiting here makes the
                    // connection slow instead.
                    let Some(index) = backlog.frames.iter().position(|o| o.channel.is_some())
                    else {
                        self.slow_with(pending);
                        return (false, evicted);
                    };
                    let Some(old) = backlog.frames.remove(index) else {
                        break;
                    };
                    backlog.bytes -= old.frame.len();
                    if backlog.frames.is_empty() {
                        kept = false;
                    } else {
                        evicted += 1;
                    }
                }
                self.wake();
                (kept, evicted)
            }
        }
    }

    /// Whether frames wait for the transport to empty.
    pub(crate) fn has_backlog(&self) -> bool {
        self.pending()
            .as_ref()
            .is_some_and(|p| !p.backlog.frames.is_empty())
    }

    /// Moves waiting frames to the transport as it empties; true if some are still waiting.
    pub(crate) fn drain_backlog(&self) -> bool {
        let shared = &self.0;
        let mut pending = self.pending();
        let waiting = match pending.as_mut() {
            Some(waiting) => {
                let backlog = &mut waiting.backlog;
                while let Some(next) = backlog.frames.front() {
                    match shared.transport.queue(&next.frame) {
                        Queued::Full => break,
                        Queued::Yes | Queued::Closed => {
                            backlog.bytes -= next.frame.len();
                            backlog.frames.pop_front();
                        }
                    }
                }
                !backlog.frames.is_empty()
            }
            None => false,
        };
        forget_if_empty(&mut pending);
        shared.transport.flush();
        waiting
    }

    /// Closes this connection as a slow consumer (once), `pending` being already locked.
    fn slow_with(&self, pending: &mut Option<Box<Pending>>) {
        if !self.0.closing.swap(true, Ordering::Relaxed) {
            pending
                .get_or_insert_with(Box::default)
                .control
                .push(Control::Disconnect(Disconnect::SLOW));
            self.wake();
        }
    }

    /// Marks the session as going: later deliveries are refused.
    pub(crate) fn set_closing(&self) {
        self.0.closing.store(true, Ordering::Relaxed);
    }
}
