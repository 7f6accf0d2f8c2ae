//! Telling the application that someone left: the webhook events of a session's end and of
//! each of its subscriptions' ends (see `webhook/`).
//!
//! Each leave is reported once, where it happens: `leave_channel` for every way a
//! subscription ends (the client's unsubscribe, the server API's, an expired token, the
//! connection's end), and the connection's task for the connection itself, after its
//! subscriptions. A connection that never completed connect is not reported: the application
//! never heard of it.
//!
//! Each report returns once its event is committed to the queue, and the connection is
//! unregistered only after its report: a graceful shutdown, which waits for every connection
//! to be unregistered, so never exits with an event not yet queued.

use bytes::Bytes;

use crate::codes::{Disconnect, Unsubscribe};
use crate::webhook::{Leaver, WebhookEvent};

use super::Session;

/// How a connection ended, as the webhook reports it.
pub(crate) enum Ending<'a> {
    /// The server closed it with this code (including the client's protocol errors).
    Server(&'a Disconnect),
    /// The client sent a close frame.
    Closed,
    /// The transport failed without a close frame.
    Lost,
}

impl Session {
    fn leaver(&self) -> Leaver<'_> {
        Leaver {
            node: self.node.name(),
            client: self.handle.client(),
            user: self.user(),
            conn_info: self.info.as_deref(),
        }
    }

    /// Reports the end of a subscription.
    pub(super) async fn report_unsubscribe(
        &self,
        channel: &str,
        chan_info: Option<&Bytes>,
        why: &Unsubscribe,
    ) {
        if !self.connected {
            return;
        }
        self.node
            .webhook(|| WebhookEvent::unsubscribe(&self.leaver(), channel, chan_info, why))
            .await;
    }

    /// Reports the end of the connection.
    pub(super) async fn report_disconnect(&self, ending: Ending<'_>) {
        if !self.connected {
            return;
        }
        // A lost connection has the code of a closed one (as in Centrifugo), with a reason
        // that tells them apart.
        let lost;
        let disconnect = match ending {
            Ending::Server(disconnect) => disconnect,
            Ending::Closed => &Disconnect::CONNECTION_CLOSED,
            Ending::Lost => {
                lost = Disconnect::new(Disconnect::CONNECTION_CLOSED.code, "connection lost");
                &lost
            }
        };
        self.node
            .webhook(|| WebhookEvent::disconnect(&self.leaver(), disconnect))
            .await;
    }
}
