//! Who is subscribed to what on this node, and the fan-out of publications to them.
//!
//! The table is sharded by channel name so publishers to different channels do not contend.
//! A publication is encoded at most once per format (JSON, Protobuf) and payload form (as
//! published; whole or as a fossil delta for subscribers that negotiated deltas) for the whole
//! fan-out, and the same prepared frame goes to every subscriber's queue: no per-subscriber
//! encode or copy (see `frames`).
//!
//! A subscriber that is still recovering (its subscribe reply is being built from history)
//! does not get live publications yet: they are kept in its entry and merged, by offset, once
//! the reply is queued. That is how a publication made during a recovery is neither lost nor
//! doubled.
//!
//! Deltas: while one of its subscribers takes them, a channel keeps its last payload, and the
//! next publication goes to them as the fossil delta from it. A delta subscriber's first
//! publication after subscribing is whole (its SDK has nothing to apply a delta to), and so
//! are the ones merged after a recovery; from then on it holds the channel's previous payload.
//! Whether a publication goes as a delta is the namespace's `delta_publish` or the publisher's
//! own ask (the server API's `delta`), so the last payload is kept for any delta subscriber.
//!
//! A fan-out only queues under the shard's lock; the socket writes (one non-blocking write per
//! session that got a frame) happen once the lock is released, so publishers to the channel
//! and subscribers joining it do not wait for a thousand system calls.
//!
//! Runs: a publication handed to the node while the flusher is still writing waits in its
//! channel's entry, and the flusher fans out everything its channel kept at the start of its
//! next round, together. Each subscriber is then reached once for the whole run, and one that
//! takes every publication of it as published (no recovery in progress, no deltas) gets the
//! run's pushes in one frame, one reply stream as Centrifugo's batched writes are: one queue
//! entry and one slice of one write for all of them. That is what keeps a channel with ten
//! thousand subscribers from costing a queue entry per subscriber per publication once
//! publications come faster than a round of writes; when they come slower, nothing waits (the
//! flusher is idle, and a publication is fanned out at once). Only large channels wait
//! (`client.batch_from_subscribers`): for small ones the writes, not the queueing, are the
//! cost. Whatever changes a channel's subscribers (one joins, leaves or goes live after its
//! recovery), a join or leave push, a hole in the stream and lost events first fan out what
//! the channel kept (`Channels::settle_pending`), so the deferral changes no order.

mod continuity;
mod frames;

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::watch;

use crate::codes::Unsubscribe;
use crate::config::SlowConsumerPolicy;
use crate::engine::{ClientInfo, Publication};
use crate::protocol::{self, Encoding};
use crate::pusher;
use crate::session::{frame, Format, Offer, Offered, SessionHandle};
use duplex::proto::PreparedFrame;

use super::flusher::{FanOutJob, Flusher};
use continuity::{Continuity, Seen};
use frames::{encode_push, publication_push, Form, Frames, Payloads};
pub(crate) use frames::{full_for_delta, protocol_info, protocol_publication};

const SHARDS: usize = 32;

/// How many subscribers ahead a fan-out asks for a session's state to be loaded (and half as
/// many for its transport's).
const PREFETCH_AHEAD: usize = 16;

/// A channel's publications deferred to the flusher's next round, at most: past this, the
/// publisher fans them out itself (and so waits for it).
const MAX_PENDING: usize = 1024;

thread_local! {
    /// The sessions a fan-out queued to; kept from one fan-out to the next on this thread (the
    /// flusher empties it) so that a publication does not allocate a list of its own.
    static FLUSH: RefCell<Vec<SessionHandle>> = const { RefCell::new(Vec::new()) };
}

/// One shard of the table: the channels whose names hash to it.
type Shard = Mutex<HashMap<Arc<str>, Channel>>;

/// The node's subscription table.
pub(crate) struct Channels {
    shards: Arc<[Shard]>,
    hasher: RandomState,
    /// Writes what fan-outs queued, off their path (`flusher.rs`).
    flusher: Flusher,
    /// The number of the next channel entry (see [`Stamp`]).
    entries: AtomicU64,
    /// The node's counters of deliveries and drops, which every fan-out adds to (a deferred
    /// one runs on the flusher's task, with no caller to report to).
    counters: FanOutCounters,
    /// The fewest subscribers a channel has for its publications to wait for the flusher's
    /// next round while it writes (`client.batch_from_subscribers`). Waiting costs up to a
    /// round of latency; it pays where queueing to every subscriber is a large share of the
    /// work. Measured on the hub benchmark's fan-out (server on one core): at 10,000
    /// subscribers queueing was 43% of the server's CPU and the batches halved the cost per
    /// delivery; at 1,000 the socket writes are most of it, and waiting raised the median
    /// latency at 800 publications/s (6.7-10.4 ms to 11.6-16.1 ms) for no gain.
    batch_from: usize,
}

/// Where fan-outs count what they delivered and dropped: the node's metrics.
#[derive(Clone, Default)]
pub(crate) struct FanOutCounters {
    pub(crate) delivered: Counter,
    pub(crate) dropped: Counter,
}

impl FanOutCounters {
    fn count(&self, report: FanOut) {
        self.delivered.inc_by(report.delivered);
        self.dropped.inc_by(report.dropped);
    }
}

/// A channel entry's state as a shared recovery read sees it when it begins (`recovery.rs`).
/// The read's page still answers a later subscriber while the stamp is unchanged: while this
/// node kept subscribers in the channel (the same entry), with its broker subscription up,
/// and was handed no publication in it. Anything published after the read began has then not
/// reached this node yet, and reaches the new subscriber live, after its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Default))]
pub(crate) struct Stamp {
    entry: u64,
    publications: u64,
}

/// One channel's subscribers on this node.
#[derive(Default)]
pub(crate) struct Channel {
    subscribers: Vec<Subscriber>,
    /// The payload of the channel's last publication, kept while a subscriber takes deltas: the
    /// next publication is sent to them as the difference from it.
    previous: Option<Bytes>,
    /// The last position delivered here, to notice what the engine failed to deliver.
    seen: Option<Seen>,
    /// This entry's number, never reused: a channel left and joined again is a new entry.
    entry: u64,
    /// How many publications (and losses of them) this node was handed in the channel.
    publications: u64,
    /// Whether the broker sends this node the channel's publications.
    link: Link,
    /// Publications handed to this node while the flusher was writing, with their epochs: they
    /// are fanned out together at the start of its next round (see [`Channels::publish`]).
    pending: Vec<(Publication, Arc<str>)>,
}

/// Where this node's broker subscription to a channel stands. A subscriber is not added for
/// good (and its subscribe not answered) until it is up: a subscriber that read the channel's
/// position while it was not would miss what is published before it is.
#[derive(Default)]
enum Link {
    /// A subscriber is asking the broker; its outcome comes here (`Some(true)`: up). A sender
    /// dropped without an outcome means its subscribe was abandoned (the session went away):
    /// the next subscriber asks again.
    Asking(watch::Receiver<Option<bool>>),
    Up,
    /// No one is asking (the last ask failed): the next subscriber asks.
    #[default]
    Down,
}

/// What a subscriber of a channel must do about the node's broker subscription to it.
pub(crate) enum Linking {
    /// Nothing: it is up.
    Up,
    /// Wait for another subscriber's ask.
    Wait(watch::Receiver<Option<bool>>),
    /// Ask the broker, then tell the table and the waiters ([`Channels::linked`]).
    Ask(watch::Sender<Option<bool>>),
}

impl Link {
    /// What the next subscriber must do; asking falls to it when no one else is.
    fn linking(&mut self) -> Linking {
        match self {
            Link::Up => Linking::Up,
            // Still asked by someone: `has_changed` fails once the sender is gone.
            Link::Asking(outcome) if outcome.has_changed().is_ok() => {
                Linking::Wait(outcome.clone())
            }
            _ => {
                let (ask, outcome) = watch::channel(None);
                *self = Link::Asking(outcome);
                Linking::Ask(ask)
            }
        }
    }
}

/// One connection's subscription, as the fan-out sees it.
///
/// A channel holds one of these per subscriber, so it is kept at 24 bytes: what only a
/// subscriber in the middle of its subscribe needs is boxed in `catch_up`.
pub(crate) struct Subscriber {
    pub(crate) session: SessionHandle,
    /// Set while the subscribe is answered, and after it until live publications pass the
    /// position its reply brought the subscriber to; `None` for almost every subscriber.
    catch_up: Option<Box<CatchUp>>,
    /// What to do with a publication when this subscriber's outbound budget is spent.
    pub(crate) policy: SlowConsumerPolicy,
    /// Whether this subscriber gets join and leave pushes.
    pub(crate) join_leave: bool,
    /// This node missed publications of the channel and told the subscriber to recover them
    /// (unsubscribe 2500): it gets nothing more here, so its position cannot jump the hole.
    lost: bool,
    /// Set when the subscriber negotiated fossil deltas.
    delta: Option<DeltaState>,
}

/// Where a new subscriber stands against the live stream.
enum CatchUp {
    /// Its subscribe reply is being built: live publications wait here (with the channel's
    /// name) until [`Channels::go_live`].
    Buffering(Vec<(Publication, Arc<str>)>),
    /// The position its reply (and the buffer after it) brought the subscriber to. An engine
    /// may show a publication to a history read before it hands it to the node's fan-out
    /// (SQLite commits, then tells): such a publication was in the reply already, and must
    /// not come twice.
    DeliveredThrough { epoch: Arc<str>, offset: u64 },
}

/// Where a delta subscriber stands.
#[derive(Debug, Clone, Copy)]
struct DeltaState {
    /// Whether the namespace publishes deltas (`delta_publish`); if not, the subscriber still
    /// takes payloads in the delta shape, whole unless a publication asks for a delta.
    deltas: bool,
    /// Whether it has had a publication since it subscribed: its SDK then holds the channel's
    /// previous payload, which the next delta applies to. Until then it gets a whole one.
    primed: bool,
}

impl Subscriber {
    /// A subscriber that buffers live publications until [`Channels::go_live`].
    pub(crate) fn recovering(
        session: SessionHandle,
        join_leave: bool,
        policy: SlowConsumerPolicy,
    ) -> Self {
        Subscriber {
            catch_up: Some(Box::new(CatchUp::Buffering(Vec::new()))),
            ..Subscriber::live(session, join_leave, policy)
        }
    }

    /// A subscriber that takes live publications at once: one with no position to catch up
    /// from (a Pusher connection's).
    pub(crate) fn live(
        session: SessionHandle,
        join_leave: bool,
        policy: SlowConsumerPolicy,
    ) -> Self {
        Subscriber {
            session,
            catch_up: None,
            policy,
            join_leave,
            lost: false,
            delta: None,
        }
    }

    /// This subscriber negotiated fossil deltas; `deltas` if the namespace publishes them.
    ///
    /// A delta applies to the payload before it: one dropped on the way would corrupt every
    /// later one. So such a subscriber is never silently dropped from: when its budget is spent
    /// it is disconnected (and recovers), whatever the namespace's slow-consumer policy.
    pub(crate) fn with_delta(mut self, deltas: bool) -> Self {
        self.delta = Some(DeltaState {
            deltas,
            primed: false,
        });
        self.policy = SlowConsumerPolicy::Disconnect;
        self
    }

    /// The form in which this subscriber takes the next publication; `delta` if its publisher
    /// asked for a delta whatever the namespace says.
    fn form(&self, previous_known: bool, delta: bool) -> Form {
        match self.delta {
            None => Form::Plain,
            Some(state) if (state.deltas || delta) && state.primed && previous_known => Form::Delta,
            Some(_) => Form::Full,
        }
    }

    /// Whether the channel must keep its last payload for this subscriber: for any delta
    /// subscriber, since any publication may ask for a delta (the server API's `delta`).
    fn wants_previous(&self) -> bool {
        self.delta.is_some()
    }

    /// Whether its subscribe reply is still being built.
    fn is_buffering(&self) -> bool {
        matches!(self.catch_up.as_deref(), Some(CatchUp::Buffering(_)))
    }

    /// Whether a live publication is for this subscriber now: false if it was buffered for
    /// after the reply, or was in the reply already.
    fn takes_live(&mut self, publication: &Publication, name: &Arc<str>, epoch: &str) -> bool {
        match self.catch_up.as_deref_mut() {
            None => true,
            Some(CatchUp::Buffering(buffer)) => {
                buffer.push((publication.clone(), name.clone()));
                false
            }
            Some(CatchUp::DeliveredThrough {
                epoch: through_epoch,
                offset,
            }) => {
                if publication.offset != 0
                    && **through_epoch == *epoch
                    && publication.offset <= *offset
                {
                    return false;
                }
                self.catch_up = None;
                true
            }
        }
    }
}

impl Channel {
    /// Something happened in the channel's stream: a recovery read from before it is stale.
    fn moved(&mut self) {
        self.publications = self.publications.wrapping_add(1);
    }

    /// Sends every subscriber not yet told back to history (unsubscribe 2500, after which the
    /// SDK subscribes again from its last position and recovers what this node missed).
    fn lose_subscribers(&mut self, channel: &str) {
        for subscriber in self.subscribers.iter_mut().filter(|s| !s.lost) {
            subscriber.lost = true;
            subscriber.catch_up = None;
            subscriber
                .session
                .control(crate::session::Control::Unsubscribe {
                    channel: channel.to_owned(),
                    code: Unsubscribe::INSUFFICIENT_STATE,
                });
        }
    }
}

/// What a fan-out did, for the metrics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FanOut {
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
}

impl FanOut {
    /// Counts one subscriber's offer of a frame carrying `count` publications (see
    /// [`FanOut::offered`]).
    fn offered_many(
        &mut self,
        offer: Offer,
        count: u64,
        session: &SessionHandle,
        flush: &mut Vec<SessionHandle>,
    ) {
        self.dropped += offer.evicted;
        if offer.kept {
            self.delivered += count;
        } else {
            self.dropped += count;
        }
        if offer.flush && session.mark_for_flush() {
            flush.push(session.clone());
        }
    }

    /// Counts one subscriber's offer, and lists its session in `flush` when the frame waits on
    /// its transport and the session is not listed for the flusher already (the mark is taken
    /// before the handle is cloned, so a listed session costs nothing more).
    fn offered(&mut self, offer: Offer, session: &SessionHandle, flush: &mut Vec<SessionHandle>) {
        self.offered_many(offer, 1, session, flush);
    }
}

/// Largest frame a run of publications is joined into; a run past it takes several.
const RUN_BYTES: usize = 64 * 1024;

/// A run of publications joined into as few frames as [`RUN_BYTES`] allows, for one encoding,
/// built for the first subscriber that takes it: each frame, and how many publications it
/// carries.
#[derive(Default)]
struct Runs(std::cell::OnceCell<Vec<(PreparedFrame, u64)>>);

impl Runs {
    fn get(&self, encoding: Encoding, frames: &[Frames<'_>]) -> &[(PreparedFrame, u64)] {
        self.0.get_or_init(|| {
            let mut runs = Vec::new();
            let mut out: Vec<u8> = Vec::new();
            let mut count = 0;
            let format = Format::Centrifugo(encoding);
            for frames in frames {
                let Some(push) = frames.get(format, Form::Plain).map(PreparedFrame::payload) else {
                    continue;
                };
                if count > 0 && out.len() + push.len() + 1 > RUN_BYTES {
                    runs.push((
                        frame(encoding, Bytes::from(std::mem::take(&mut out))),
                        count,
                    ));
                    count = 0;
                }
                protocol::append_encoded(encoding, &mut out, &push);
                count += 1;
            }
            if count > 0 {
                runs.push((frame(encoding, Bytes::from(out)), count));
            }
            runs
        })
    }
}

/// Closes a subscriber that cannot be sent a payload in its encoding.
fn inappropriate(session: &SessionHandle) {
    session.control(crate::session::Control::Disconnect(
        crate::codes::Disconnect::INAPPROPRIATE_PROTOCOL,
    ));
}

fn lock(shard: &Shard) -> MutexGuard<'_, HashMap<Arc<str>, Channel>> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Default for Channels {
    fn default() -> Self {
        Channels::new(
            FanOutCounters::default(),
            crate::config::ClientConfig::default().batch_from_subscribers,
        )
    }
}

impl Channels {
    /// Runs a fan-out that queues under a shard's lock and lists the sessions to flush, then
    /// hands them to the flusher once the fan-out (and its lock) is done.
    fn fan_out(&self, fan_out: impl FnOnce(&mut Vec<SessionHandle>) -> FanOut) -> FanOut {
        // Taken out of the cell rather than borrowed, so that a nested fan-out (none today)
        // would simply get an empty list of its own.
        let mut flush = FLUSH
            .try_with(|cell| std::mem::take(&mut *cell.borrow_mut()))
            .unwrap_or_default();
        let report = fan_out(&mut flush);
        self.flusher.defer(&mut flush);
        let _ = FLUSH.try_with(|cell| {
            let mut kept = cell.borrow_mut();
            if kept.capacity() < flush.capacity() {
                *kept = flush;
            }
        });
        report
    }

    /// An empty table whose fan-outs count into `counters`, and whose channels with at least
    /// `batch_from` subscribers batch the publications that arrive while the flusher writes.
    pub(crate) fn new(counters: FanOutCounters, batch_from: usize) -> Self {
        Channels {
            batch_from,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            flusher: Flusher::default(),
            entries: AtomicU64::new(0),
            counters,
        }
    }

    /// The broker subscription asked for by [`Linking::Ask`] is up, or failed: tells the
    /// table, then the subscribers waiting for it. Until it is up no subscriber is answered
    /// (see [`Link`]), and no recovery read of the channel is kept for later subscribers: a
    /// publication meanwhile would not be seen to make it stale. The table is told only while
    /// the ask is still the channel's: one abandoned meanwhile has been taken over by another.
    pub(crate) fn linked(&self, channel: &str, ask: watch::Sender<Option<bool>>, up: bool) {
        if let Some(entry) = self.shard(channel).get_mut(channel) {
            if matches!(&entry.link, Link::Asking(outcome) if outcome.same_channel(&ask.subscribe()))
            {
                entry.link = if up { Link::Up } else { Link::Down };
            }
        }
        ask.send_replace(Some(up));
    }

    /// What a subscriber of `channel` must do about the node's broker subscription now, after
    /// the ask it waited for was abandoned; `None` if the channel has no subscriber here.
    pub(crate) fn linking(&self, channel: &str) -> Option<Linking> {
        self.shard(channel)
            .get_mut(channel)
            .map(|entry| entry.link.linking())
    }

    /// `channel`'s history was removed here: a recovery read from before it is stale.
    pub(crate) fn history_removed(&self, channel: &str) {
        if let Some(entry) = self.shard(channel).get_mut(channel) {
            entry.moved();
        }
    }

    /// `channel`'s stamp for a shared recovery read (see [`Stamp`]); `None` while this node
    /// has no broker subscription to it.
    pub(crate) fn stamp(&self, channel: &str) -> Option<Stamp> {
        self.shard(channel)
            .get(channel)
            .filter(|entry| matches!(entry.link, Link::Up))
            .map(|entry| Stamp {
                entry: entry.entry,
                publications: entry.publications,
            })
    }

    fn shard(&self, channel: &str) -> MutexGuard<'_, HashMap<Arc<str>, Channel>> {
        lock(&self.shards[self.shard_index(channel)])
    }

    fn shard_index(&self, channel: &str) -> usize {
        (self.hasher.hash_one(channel) as usize) % SHARDS
    }

    /// The flusher's job for the publications `name` keeps pending: fans them out together.
    fn deferred_fan_out(&self, name: Arc<str>) -> FanOutJob {
        let shards = self.shards.clone();
        let index = self.shard_index(&name);
        let counters = self.counters.clone();
        Box::new(move |flush| {
            let mut shard = lock(&shards[index]);
            let reached = shard.get(&*name).map_or(0, |entry| entry.subscribers.len());
            counters.count(Self::publish_pending_locked(&mut shard, &name, flush));
            reached
        })
    }

    /// Fans out what `channel` keeps pending before its subscribers change, so that the
    /// deferral changes no order (see the module's documentation), and hands the sessions it
    /// queued to to the flusher.
    fn settle_pending(&self, shard: &mut HashMap<Arc<str>, Channel>, channel: &str) {
        if shard
            .get(channel)
            .is_none_or(|entry| entry.pending.is_empty())
        {
            return;
        }
        let mut flush = Vec::new();
        let report = Self::publish_pending_locked(shard, channel, &mut flush);
        self.flusher.defer(&mut flush);
        self.counters.count(report);
    }

    /// Fans out the publications `channel` keeps pending, if any, under the shard's lock.
    fn publish_pending_locked(
        shard: &mut HashMap<Arc<str>, Channel>,
        channel: &str,
        flush: &mut Vec<SessionHandle>,
    ) -> FanOut {
        let Some(entry) = shard.get_mut(channel) else {
            return FanOut::default();
        };
        if entry.pending.is_empty() {
            return FanOut::default();
        }
        let pending = std::mem::take(&mut entry.pending);
        let run: Vec<(&Publication, &str)> =
            pending.iter().map(|(p, epoch)| (p, &**epoch)).collect();
        Self::publish_locked(shard, channel, &run, flush)
    }

    /// Adds a subscriber: whether it is the channel's first on this node, the table's name of
    /// the channel, which the session keeps instead of a copy of its own, and what it must do
    /// about the node's broker subscription to the channel (the first asks for it).
    pub(crate) fn add(&self, channel: &str, subscriber: Subscriber) -> (bool, Arc<str>, Linking) {
        let mut shard = self.shard(channel);
        // What was published before the subscriber came is not for it.
        self.settle_pending(&mut shard, channel);
        let known = shard.get_key_value(channel).map(|(name, _)| name.clone());
        if let (Some(name), Some(existing)) = (known, shard.get_mut(channel)) {
            existing
                .subscribers
                .retain(|s| s.session.id() != subscriber.session.id());
            existing.subscribers.push(subscriber);
            return (false, name.clone(), existing.link.linking());
        }
        let name: Arc<str> = Arc::from(channel);
        let mut link = Link::Down;
        let linking = link.linking();
        shard.insert(
            name.clone(),
            Channel {
                subscribers: vec![subscriber],
                previous: None,
                seen: None,
                entry: self.entries.fetch_add(1, Ordering::Relaxed),
                publications: 0,
                link,
                pending: Vec::new(),
            },
        );
        (true, name, linking)
    }

    /// Removes a session's subscription; true if the channel has no subscriber left here (the
    /// caller then tells the broker this node no longer wants it).
    pub(crate) fn remove(&self, channel: &str, session_id: u64) -> bool {
        let mut shard = self.shard(channel);
        // What was published before the subscriber left reaches it first.
        self.settle_pending(&mut shard, channel);
        let Some(existing) = shard.get_mut(channel) else {
            return false;
        };
        existing
            .subscribers
            .retain(|s| s.session.id() != session_id);
        if existing.subscribers.is_empty() {
            shard.remove(channel);
            true
        } else {
            false
        }
    }

    /// Ends a recovery: `queue_reply` queues the subscribe reply followed, in the same frame,
    /// by every publication buffered meanwhile whose offset is past `last_offset`, in order
    /// (whole, for a delta subscriber) — under the channel's lock, so no live publication can
    /// overtake them; and later live publications up to where the subscriber now is are not
    /// sent again. One frame, because centrifuge-js in Node can handle two WebSocket messages
    /// that arrive together out of order (see docs/protocol.md), and the reply and what
    /// follows it at once are the likeliest pair.
    /// Returns false if the subscriber is gone (unsubscribed or disconnected meanwhile).
    pub(crate) fn go_live(
        &self,
        channel: &str,
        session_id: u64,
        last_offset: u64,
        epoch: &str,
        queue_reply: impl FnOnce(Vec<Bytes>),
    ) -> bool {
        let mut shard = self.shard(channel);
        // Publications made during the recovery join its reply's frame, as they would have
        // had they not waited for the flusher.
        self.settle_pending(&mut shard, channel);
        let Some(subscriber) = shard.get_mut(channel).and_then(|c| {
            c.subscribers
                .iter_mut()
                .find(|s| s.session.id() == session_id)
        }) else {
            return false;
        };
        if subscriber.lost {
            // Its unsubscribe (2500) follows the reply: it will subscribe again and recover.
            queue_reply(Vec::new());
            return true;
        }
        let buffered = match subscriber.catch_up.take().map(|c| *c) {
            Some(CatchUp::Buffering(buffered)) => buffered,
            _ => Vec::new(),
        };
        let form = subscriber.form(false, false);
        let mut last = last_offset;
        let mut pushes = Vec::new();
        for (publication, channel_name) in buffered {
            // Offset 0 means "no history": such publications cannot have been in the reply.
            if publication.offset != 0 && publication.offset <= last {
                continue;
            }
            last = last.max(publication.offset);
            let bytes = match subscriber.session.format() {
                Format::Centrifugo(encoding) => Payloads::new(&publication, None)
                    .publication(encoding, form)
                    .and_then(|wire| publication_push(encoding, &channel_name, wire)),
                Format::Pusher => pusher::relay::publication_frame(&channel_name, &publication),
            };
            match bytes {
                Some(bytes) => pushes.push(bytes),
                None => inappropriate(&subscriber.session),
            }
        }
        let delivered = !pushes.is_empty();
        queue_reply(pushes);
        // The buffer held every publication since the subscriber was added, and the channel's
        // previous payload is the last of them: the SDK now holds it too.
        if let Some(state) = subscriber.delta.as_mut() {
            state.primed = delivered;
        }
        if last > 0 {
            subscriber.catch_up = Some(Box::new(CatchUp::DeliveredThrough {
                epoch: Arc::from(epoch),
                offset: last,
            }));
        }
        true
    }

    /// Sends a publication to every subscriber of `channel` on this node. `delta` is the
    /// publisher's own ask for deltas (the server API's `delta`): delta subscribers get one if
    /// it or the namespace's `delta_publish` says so.
    /// `epoch` is the stream's, to tell a publication that follows the last one delivered here
    /// from one after a hole (see `continuity`).
    pub(crate) fn publish(&self, channel: &str, publication: &Publication, epoch: &str) {
        let report = self.fan_out(|flush| {
            let mut shard = self.shard(channel);
            if let Some(entry) = shard.get_mut(channel) {
                entry.moved();
                match continuity::check(&mut entry.seen, epoch, publication.offset) {
                    Continuity::Follows => {}
                    Continuity::Seen => return FanOut::default(),
                    Continuity::Gap => {
                        tracing::warn!(
                            channel,
                            offset = publication.offset,
                            "publications of the channel did not reach this node: its \
                             subscribers recover them from history"
                        );
                        // What came before the hole is delivered before the subscribers
                        // are sent back to history, from the position it brings them to.
                        self.settle_pending(&mut shard, channel);
                        if let Some(entry) = shard.get_mut(channel) {
                            entry.lose_subscribers(channel);
                        }
                        return FanOut::default();
                    }
                }
            }
            let Some(name) = shard.get_key_value(channel).map(|(name, _)| name.clone()) else {
                return FanOut::default();
            };
            let entry = shard
                .get_mut(channel)
                .expect("looked up under the same lock");
            // While the flusher writes, publications wait for its next round and go out
            // together: each subscriber is then reached once for all of them, not once each.
            if entry.pending.len() >= MAX_PENDING {
                entry.pending.push((publication.clone(), Arc::from(epoch)));
                return Self::publish_pending_locked(&mut shard, channel, flush);
            }
            if !entry.pending.is_empty()
                || (entry.subscribers.len() >= self.batch_from
                    && self
                        .flusher
                        .defer_fan_out(|| self.deferred_fan_out(name.clone())))
            {
                entry.pending.push((publication.clone(), Arc::from(epoch)));
                return FanOut::default();
            }
            Self::publish_locked(&mut shard, channel, &[(publication, epoch)], flush)
        });
        self.counters.count(report);
    }

    /// The engine may have missed events of `channel` (its connection to its backend was
    /// down): every subscriber here recovers from history.
    pub(crate) fn events_lost(&self, channel: &str) {
        let mut shard = self.shard(channel);
        self.settle_pending(&mut shard, channel);
        if let Some(entry) = shard.get_mut(channel) {
            entry.moved();
            entry.seen = None;
            entry.lose_subscribers(channel);
        }
    }

    /// The fan-out of [`Channels::publish`] under the shard's lock, for one publication or a
    /// run of them deferred meanwhile (in order): it only queues, and lists in `flush` the
    /// sessions whose transport must then be written. Each subscriber gets the whole run at
    /// once, so its session and transport are fetched into the cache once for all of it.
    fn publish_locked(
        shard: &mut HashMap<Arc<str>, Channel>,
        channel: &str,
        publications: &[(&Publication, &str)],
        flush: &mut Vec<SessionHandle>,
    ) -> FanOut {
        let Some(name) = shard.get_key_value(channel).map(|(name, _)| name.clone()) else {
            return FanOut::default();
        };
        let Some(entry) = shard.get_mut(channel) else {
            return FanOut::default();
        };
        let Some(last) = publications.last() else {
            return FanOut::default();
        };
        let previous = entry.previous.take();
        let payloads: Vec<Payloads<'_>> = publications
            .iter()
            .enumerate()
            .map(|(j, (publication, _))| {
                let before = match j {
                    0 => previous.as_ref(),
                    j => Some(&publications[j - 1].0.data),
                };
                Payloads::new(publication, before)
            })
            .collect();
        let builds: Vec<_> = publications
            .iter()
            .zip(&payloads)
            .map(|((publication, _), payloads)| {
                let name = &name;
                move |format: Format, form: Form| match format {
                    Format::Centrifugo(encoding) => {
                        publication_push(encoding, name, payloads.publication(encoding, form)?)
                    }
                    Format::Pusher => pusher::relay::publication_frame(name, publication),
                }
            })
            .collect();
        let frames: Vec<Frames<'_>> = builds.iter().map(|build| Frames::new(build)).collect();
        // A Pusher event is not sent back to the connection that sent it.
        let excluded: Vec<Option<_>> = publications
            .iter()
            .map(|(publication, _)| pusher::relay::excluded(publication))
            .collect();
        // A subscriber that takes every publication of a run as published (no recovery in
        // progress, no deltas, no Pusher sender to skip) gets the run's pushes in one frame,
        // one reply stream, as a Centrifugo server batches its writes: one queue entry and one
        // slice of the write for all of them.
        let batched = publications.len() > 1 && excluded.iter().all(Option::is_none);
        let runs = [Runs::default(), Runs::default()];
        let mut report = FanOut::default();
        let mut keep_previous = false;
        let subscribers = &mut entry.subscribers;
        for i in 0..subscribers.len() {
            // Memory, not work, sets the pace of a large fan-out: each subscriber's session
            // and transport are cold. Asked for ahead (the session further ahead, since the
            // way to its transport is read from it), they arrive while earlier ones are served.
            if let Some(ahead) = subscribers.get(i + PREFETCH_AHEAD) {
                ahead.session.prefetch();
            }
            if let Some(ahead) = subscribers.get(i + PREFETCH_AHEAD / 2) {
                ahead.session.prefetch_transport();
            }
            let subscriber = &mut subscribers[i];
            if subscriber.lost {
                continue;
            }
            keep_previous |= subscriber.wants_previous();
            let format = subscriber.session.format();
            if let (true, None, None, Format::Centrifugo(encoding)) =
                (batched, &subscriber.catch_up, &subscriber.delta, format)
            {
                let runs = runs[encoding as usize].get(encoding, &frames);
                for (frame, count) in runs {
                    let offered = Offered::publication(&name, frame, subscriber.policy);
                    let offer = subscriber.session.offer(offered);
                    report.offered_many(offer, *count, &subscriber.session, flush);
                }
                continue;
            }
            for (j, &(publication, epoch)) in publications.iter().enumerate() {
                if !subscriber.takes_live(publication, &name, epoch) {
                    continue;
                }
                if excluded[j]
                    .as_deref()
                    .is_some_and(|client| client == subscriber.session.client())
                {
                    continue;
                }
                let form = subscriber.form(j > 0 || previous.is_some(), publication.delta);
                let Some(prepared) = frames[j].get(format, form) else {
                    inappropriate(&subscriber.session);
                    report.dropped += 1;
                    continue;
                };
                let offered = Offered::publication(&name, prepared, subscriber.policy);
                report.offered(
                    subscriber.session.offer(offered),
                    &subscriber.session,
                    flush,
                );
                // Whether or not this one was delivered: a delta subscriber's budget is never
                // spent silently (see `Subscriber::with_delta`), so it is now closing or primed.
                if let Some(state) = subscriber.delta.as_mut() {
                    state.primed = true;
                }
            }
        }
        entry.previous = keep_previous.then(|| last.0.data.clone());
        report
    }

    /// Sends a join (or leave) push to the subscribers of `channel` that asked for them.
    pub(crate) fn join_leave(&self, channel: &str, info: &ClientInfo, join: bool) {
        let report = self.fan_out(|flush| {
            let mut shard = self.shard(channel);
            // The push follows the publications made before it.
            self.settle_pending(&mut shard, channel);
            Self::join_leave_locked(&shard, channel, info, join, flush)
        });
        self.counters.count(report);
    }

    /// The fan-out of [`Channels::join_leave`] under the shard's lock (see `publish_locked`).
    fn join_leave_locked(
        shard: &HashMap<Arc<str>, Channel>,
        channel: &str,
        info: &ClientInfo,
        join: bool,
        flush: &mut Vec<SessionHandle>,
    ) -> FanOut {
        let Some(entry) = shard.get(channel) else {
            return FanOut::default();
        };
        let reply = |encoding: Encoding| {
            let info = protocol_info(info);
            let push = if join {
                protocol::Push {
                    channel: channel.to_owned(),
                    join: Some(protocol::Join { info: Some(info) }),
                    ..Default::default()
                }
            } else {
                protocol::Push {
                    channel: channel.to_owned(),
                    leave: Some(protocol::Leave { info: Some(info) }),
                    ..Default::default()
                }
            };
            encode_push(encoding, push)
        };
        let build = |format: Format, _: Form| match format {
            Format::Centrifugo(encoding) => reply(encoding),
            Format::Pusher => pusher::relay::join_leave_frame(channel, info, join),
        };
        let frames = Frames::new(&build);
        let mut report = FanOut::default();
        // A subscriber still recovering has not had its reply: a join would come before it.
        for subscriber in entry
            .subscribers
            .iter()
            .filter(|s| s.join_leave && !s.is_buffering() && !s.lost)
        {
            let format = subscriber.session.format();
            // A Pusher member is not told of its own arrival.
            if format == Format::Pusher && subscriber.session.client() == info.client {
                continue;
            }
            let Some(prepared) = frames.get(format, Form::Plain) else {
                inappropriate(&subscriber.session);
                report.dropped += 1;
                continue;
            };
            let offer = subscriber.session.offer(Offered::push(prepared));
            report.offered(offer, &subscriber.session, flush);
        }
        report
    }

    /// How many subscribers `channel` has on this node.
    pub(crate) fn count(&self, channel: &str) -> usize {
        self.shard(channel)
            .get(channel)
            .map_or(0, |entry| entry.subscribers.len())
    }

    /// The channels with subscribers on this node, with their number of subscribers.
    pub(crate) fn list(&self) -> Vec<(String, usize)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let shard = shard
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            all.extend(
                shard
                    .iter()
                    .map(|(name, channel)| (name.to_string(), channel.subscribers.len())),
            );
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_stays_at_24_bytes() {
        // A channel keeps one per subscriber: what only a subscribe in progress needs is boxed.
        assert_eq!(std::mem::size_of::<Subscriber>(), 24);
    }
}
