//! Who is subscribed to what on this node, and the fan-out of one publication to them.
//!
//! The table is sharded by channel name so publishers to different channels do not contend.
//! A publication is encoded at most once per format (JSON, Protobuf) for the whole fan-out, and
//! the same prepared frame goes to every subscriber's queue: no per-subscriber encode or copy.
//!
//! A subscriber that is still recovering (its subscribe reply is being built from history)
//! does not get live publications yet: they are kept in its entry and merged, by offset, once
//! the reply is queued. That is how a publication made during a recovery is neither lost nor
//! doubled.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::config::SlowConsumerPolicy;
use crate::engine::{ClientInfo, Publication};
use crate::protocol::{self, Encoding};
use crate::session::{frame, Outbound, SessionHandle};
use duplex::proto::PreparedFrame;

const SHARDS: usize = 32;

/// One shard of the table: the channels whose names hash to it.
type Shard = Mutex<HashMap<Arc<str>, Channel>>;

/// The node's subscription table.
pub(crate) struct Channels {
    shards: Box<[Shard]>,
    hasher: RandomState,
}

/// One channel's subscribers on this node.
#[derive(Default)]
pub(crate) struct Channel {
    subscribers: Vec<Subscriber>,
}

/// One connection's subscription, as the fan-out sees it.
pub(crate) struct Subscriber {
    pub(crate) session: SessionHandle,
    /// Whether this subscriber gets join and leave pushes.
    pub(crate) join_leave: bool,
    /// What to do with a publication when this subscriber's outbound budget is spent.
    pub(crate) policy: SlowConsumerPolicy,
    /// Live publications that arrived while the subscribe reply was being built.
    recovering: Option<Vec<(Publication, Arc<str>)>>,
}

impl Subscriber {
    /// A subscriber that buffers live publications until [`Channels::go_live`].
    pub(crate) fn recovering(
        session: SessionHandle,
        join_leave: bool,
        policy: SlowConsumerPolicy,
    ) -> Self {
        Subscriber {
            session,
            join_leave,
            policy,
            recovering: Some(Vec::new()),
        }
    }
}

/// What a fan-out did, for the metrics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FanOut {
    pub(crate) delivered: u64,
    pub(crate) dropped: u64,
}

/// The frames of one push, encoded lazily: once per format, only if someone needs it.
///
/// A payload that is not JSON cannot reach a JSON connection (its frame would not parse): such
/// a subscriber is closed with 3506 "inappropriate protocol" rather than silently skipped.
struct Encoded<'a> {
    reply: &'a dyn Fn(Encoding) -> Option<Bytes>,
    json: Option<Option<PreparedFrame>>,
    protobuf: Option<Option<PreparedFrame>>,
}

impl Encoded<'_> {
    fn get(&mut self, encoding: Encoding) -> Option<PreparedFrame> {
        let slot = match encoding {
            Encoding::Json => &mut self.json,
            Encoding::Protobuf => &mut self.protobuf,
        };
        slot.get_or_insert_with(|| (self.reply)(encoding).map(|bytes| frame(encoding, bytes)))
            .clone()
    }
}

/// Closes a subscriber that cannot be sent a payload in its encoding.
fn inappropriate(session: &SessionHandle) {
    session.control(crate::session::Control::Disconnect(
        crate::codes::Disconnect::INAPPROPRIATE_PROTOCOL,
    ));
}

impl Channels {
    pub(crate) fn new() -> Self {
        Channels {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, channel: &str) -> MutexGuard<'_, HashMap<Arc<str>, Channel>> {
        let index = (self.hasher.hash_one(channel) as usize) % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a subscriber; true if it is the channel's first on this node (the caller then asks
    /// the broker for the channel's events).
    pub(crate) fn add(&self, channel: &str, subscriber: Subscriber) -> bool {
        let mut shard = self.shard(channel);
        match shard.get_mut(channel) {
            Some(existing) => {
                existing
                    .subscribers
                    .retain(|s| s.session.id() != subscriber.session.id());
                existing.subscribers.push(subscriber);
                false
            }
            None => {
                shard.insert(
                    Arc::from(channel),
                    Channel {
                        subscribers: vec![subscriber],
                    },
                );
                true
            }
        }
    }

    /// Removes a session's subscription; true if the channel has no subscriber left here (the
    /// caller then tells the broker this node no longer wants it).
    pub(crate) fn remove(&self, channel: &str, session_id: u64) -> bool {
        let mut shard = self.shard(channel);
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

    /// Ends a recovery: `queue_reply` queues the subscribe reply (under the channel's lock, so
    /// no live publication can overtake it), then every publication buffered meanwhile whose
    /// offset is past `last_offset` follows it, in order. Returns false if the subscriber is
    /// gone (unsubscribed or disconnected meanwhile).
    pub(crate) fn go_live(
        &self,
        channel: &str,
        session_id: u64,
        last_offset: u64,
        queue_reply: impl FnOnce(),
    ) -> bool {
        let mut shard = self.shard(channel);
        let Some(subscriber) = shard.get_mut(channel).and_then(|c| {
            c.subscribers
                .iter_mut()
                .find(|s| s.session.id() == session_id)
        }) else {
            return false;
        };
        queue_reply();
        let buffered = subscriber.recovering.take().unwrap_or_default();
        let mut last = last_offset;
        for (publication, channel_name) in buffered {
            // Offset 0 means "no history": such publications cannot have been in the reply.
            if publication.offset != 0 && publication.offset <= last {
                continue;
            }
            last = last.max(publication.offset);
            let session = &subscriber.session;
            let encoding = session.encoding();
            match publication_frame(encoding, &channel_name, &publication) {
                Some(bytes) => {
                    session.deliver(Outbound::publication(
                        channel_name.clone(),
                        frame(encoding, bytes),
                        subscriber.policy,
                    ));
                }
                None => inappropriate(session),
            }
        }
        true
    }

    /// Sends a publication to every subscriber of `channel` on this node.
    pub(crate) fn publish(&self, channel: &str, publication: &Publication) -> FanOut {
        let mut shard = self.shard(channel);
        let Some(name) = shard.get_key_value(channel).map(|(name, _)| name.clone()) else {
            return FanOut::default();
        };
        let Some(entry) = shard.get_mut(channel) else {
            return FanOut::default();
        };
        let reply = |encoding: Encoding| publication_frame(encoding, &name, publication);
        let mut encoded = Encoded {
            reply: &reply,
            json: None,
            protobuf: None,
        };
        let mut report = FanOut::default();
        for subscriber in &mut entry.subscribers {
            if let Some(buffer) = subscriber.recovering.as_mut() {
                buffer.push((publication.clone(), name.clone()));
                continue;
            }
            let Some(prepared) = encoded.get(subscriber.session.encoding()) else {
                inappropriate(&subscriber.session);
                report.dropped += 1;
                continue;
            };
            if subscriber.session.deliver(Outbound::publication(
                name.clone(),
                prepared,
                subscriber.policy,
            )) {
                report.delivered += 1;
            } else {
                report.dropped += 1;
            }
        }
        report
    }

    /// Sends a join (or leave) push to the subscribers of `channel` that asked for them.
    pub(crate) fn join_leave(&self, channel: &str, info: &ClientInfo, join: bool) -> FanOut {
        let shard = self.shard(channel);
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
        let mut encoded = Encoded {
            reply: &reply,
            json: None,
            protobuf: None,
        };
        let mut report = FanOut::default();
        // A subscriber still recovering has not had its reply: a join would come before it.
        for subscriber in entry
            .subscribers
            .iter()
            .filter(|s| s.join_leave && s.recovering.is_none())
        {
            let Some(prepared) = encoded.get(subscriber.session.encoding()) else {
                inappropriate(&subscriber.session);
                report.dropped += 1;
                continue;
            };
            if subscriber.session.deliver(Outbound::push(prepared)) {
                report.delivered += 1;
            } else {
                report.dropped += 1;
            }
        }
        report
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

/// The engine's client info in the wire's shape.
pub(crate) fn protocol_info(info: &ClientInfo) -> protocol::ClientInfo {
    protocol::ClientInfo {
        user: info.user.clone(),
        client: info.client.clone(),
        conn_info: info.conn_info.clone().unwrap_or_default(),
        chan_info: info.chan_info.clone().unwrap_or_default(),
    }
}

/// The engine's publication in the wire's shape.
pub(crate) fn protocol_publication(publication: &Publication) -> protocol::Publication {
    protocol::Publication {
        data: publication.data.clone(),
        info: publication.info.as_ref().map(protocol_info),
        offset: publication.offset,
        tags: publication
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

/// One push, encoded as a whole frame of its own; `None` if its payload cannot be written in
/// this encoding (binary data to a JSON connection).
pub(crate) fn encode_push(encoding: Encoding, push: protocol::Push) -> Option<Bytes> {
    let reply = protocol::Reply {
        push: Some(push),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(64);
    protocol::encode_reply(encoding, &reply, &mut out).ok()?;
    Some(Bytes::from(out))
}

/// The frame of a publication push.
pub(crate) fn publication_frame(
    encoding: Encoding,
    channel: &str,
    publication: &Publication,
) -> Option<Bytes> {
    encode_push(
        encoding,
        protocol::Push {
            channel: channel.to_owned(),
            r#pub: Some(protocol_publication(publication)),
            ..Default::default()
        },
    )
}
