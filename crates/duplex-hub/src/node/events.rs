//! What the engine tells this node: a publication, a join or a leave in a channel that has
//! subscribers here. The engine holds this through a weak reference, so a hub that is dropped
//! is freed even though its engine still knows how to reach it.
//!
//! A publisher's own ask for a delta (the server API's `delta`) is not part of the engine's
//! publication, so it rides along as a task-local value around the publish: the memory engine
//! tells this node of a publication from inside the publish call, where the value is set. An
//! engine that delivers from elsewhere (another node's publish) would have to carry the flag in
//! its publication; until then such publications go as the namespace's `delta_publish` says.

use std::future::Future;
use std::sync::Weak;

use crate::engine::{BrokerEvents, ClientInfo, Publication};

use super::Node;

tokio::task_local! {
    /// Set around a publish by this node: whether the publisher asked for a delta.
    static ASKED_DELTA: bool;
}

/// Runs `publish` so that the fan-out it starts on this node knows whether its publisher asked
/// for a delta.
pub(crate) async fn asking_delta<F: Future>(delta: bool, publish: F) -> F::Output {
    ASKED_DELTA.scope(delta, publish).await
}

pub(crate) struct Events(Weak<Node>);

impl Events {
    pub(crate) fn new(node: Weak<Node>) -> Self {
        Events(node)
    }
}

impl BrokerEvents for Events {
    fn on_publication(&self, channel: &str, publication: &Publication, _epoch: &str) {
        if let Some(node) = self.0.upgrade() {
            let delta = ASKED_DELTA.try_with(|asked| *asked).unwrap_or(false);
            let report = node.channels.publish(channel, publication, delta);
            node.metrics.delivered(report.delivered, report.dropped);
        }
    }

    fn on_join(&self, channel: &str, info: &ClientInfo) {
        if let Some(node) = self.0.upgrade() {
            node.channels.join_leave(channel, info, true);
        }
    }

    fn on_leave(&self, channel: &str, info: &ClientInfo) {
        if let Some(node) = self.0.upgrade() {
            node.channels.join_leave(channel, info, false);
        }
    }
}
