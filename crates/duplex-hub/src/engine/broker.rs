//! The broker: how publications, joins and leaves travel between the nodes of a cluster, and
//! where a channel's history stream lives.
//!
//! Shaped after centrifuge's `Broker`: a node subscribes to the channels its clients are
//! subscribed to, any node publishes, and the engine hands every publication to each subscribed
//! node's [`BrokerEvents`]. Keeping the history stream and the delivery behind one trait is what
//! lets an engine make "append to history, then deliver" atomic per channel — the property that
//! recovery depends on. The trait is async and object safe so that engines with a network
//! backend (Redis, NATS) fit the same shape as the memory one.

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    ClientInfo, EngineError, HistoryPage, HistoryQuery, Publication, PublishOptions,
    PublishOutcome, StreamOptions,
};

/// The receiving side of a broker, implemented by the hub.
///
/// Calls are synchronous and come from the engine's own context (for the memory engine, the
/// publisher's task while it holds the channel's publish lock): implementations must return
/// quickly and must not block on the broker. Hand the work to a queue or a task instead.
///
/// The contract every engine keeps, for each channel:
/// - publications reach [`on_publication`](Self::on_publication) in offset order, each exactly
///   once per subscribed node;
/// - a publication with history is in the stream before its event fires, so a reader woken by
///   the event finds it there;
/// - only channels this node [`subscribe`](Broker::subscribe)d to produce events (an engine may
///   not filter perfectly during a subscribe or unsubscribe; the hub ignores strays).
pub trait BrokerEvents: Send + Sync {
    /// A publication arrived; `epoch` is the stream's epoch (empty without history).
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str);
    /// A client joined the channel somewhere in the cluster.
    fn on_join(&self, channel: &str, info: &ClientInfo);
    /// A client left the channel somewhere in the cluster.
    fn on_leave(&self, channel: &str, info: &ClientInfo);

    /// The engine may have missed events of these channels (its connection to its backend was
    /// down and is back): the hub sends their subscribers back to history, where they recover
    /// what was published meanwhile. Engines in the process never call it.
    fn on_events_lost(&self, _channels: &[String]) {}
}

/// Publish/subscribe between nodes, and channels' history streams.
///
/// Lifecycle: the application builds the engine, the hub is built around it, then the hub calls
/// [`start`](Self::start) with itself as the events receiver; publishing before `start` fails
/// with [`EngineError::Unavailable`].
#[async_trait]
pub trait Broker: Send + Sync {
    /// Connects the engine to its events receiver and starts whatever it runs in the background.
    /// Called once; a second call fails with [`EngineError::Internal`].
    async fn start(&self, events: Arc<dyn BrokerEvents>) -> Result<(), EngineError>;

    /// This node wants the channel's publications, joins and leaves. Idempotent: subscribing
    /// twice is one subscription (the hub counts its own clients).
    async fn subscribe(&self, channel: &str) -> Result<(), EngineError>;

    /// This node no longer wants the channel's events.
    async fn unsubscribe(&self, channel: &str) -> Result<(), EngineError>;

    /// Publishes to every subscribed node, first appending to the channel's history stream when
    /// `options.stream` keeps history (the engine assigns the offset and fills `time_ms` if 0).
    /// With an idempotency key seen within its ttl, publishes nothing and returns the first
    /// outcome with `suppressed` set.
    async fn publish(
        &self,
        channel: &str,
        publication: Publication,
        options: &PublishOptions,
    ) -> Result<PublishOutcome, EngineError>;

    /// Tells every subscribed node that a client joined the channel.
    async fn publish_join(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError>;

    /// Tells every subscribed node that a client left the channel.
    async fn publish_leave(&self, channel: &str, info: &ClientInfo) -> Result<(), EngineError>;

    /// Reads the channel's history stream (see [`HistoryQuery`] for `since`, `limit` and
    /// `reverse`). `stream` is the channel's stream shape: reading keeps the stream's meta alive
    /// for its meta ttl, as Centrifugo does, so a subscriber that was handed a position can
    /// recover against the same epoch later. A channel never published to gets an epoch here
    /// and top offset 0.
    async fn history(
        &self,
        channel: &str,
        query: &HistoryQuery,
        stream: &StreamOptions,
    ) -> Result<HistoryPage, EngineError>;

    /// Drops the channel's kept publications. Like centrifuge's memory engine the epoch and top
    /// offset stay, so offsets continue and a client behind the top learns it cannot recover.
    async fn remove_history(&self, channel: &str) -> Result<(), EngineError>;

    /// Whether the engine can serve now: false while a networked engine has lost its backend
    /// (the hub's `/health` answers 503 then). Engines in the process are always healthy.
    fn healthy(&self) -> bool {
        true
    }

    /// Releases the engine's resources at shutdown; the memory engine has none.
    async fn close(&self) -> Result<(), EngineError> {
        Ok(())
    }
}
