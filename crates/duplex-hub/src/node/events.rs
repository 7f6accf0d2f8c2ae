//! What the engine tells this node: a publication, a join or a leave in a channel that has
//! subscribers here. The engine holds this through a weak reference, so a hub that is dropped
//! is freed even though its engine still knows how to reach it.

use std::sync::Weak;

use crate::engine::{BrokerEvents, ClientInfo, Publication};

use super::Node;

pub(crate) struct Events(Weak<Node>);

impl Events {
    pub(crate) fn new(node: Weak<Node>) -> Self {
        Events(node)
    }
}

impl BrokerEvents for Events {
    fn on_publication(&self, channel: &str, publication: &Publication, epoch: &str) {
        if let Some(node) = self.0.upgrade() {
            node.channels.publish(channel, publication, epoch);
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

    fn on_events_lost(&self, channels: &[String]) {
        if let Some(node) = self.0.upgrade() {
            for channel in channels {
                node.channels.events_lost(channel);
            }
        }
    }
}
