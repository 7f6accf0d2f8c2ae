//! The commands that act on a channel without subscribing to it — publish, presence,
//! presence_stats, history — and the two that reach the application: rpc and send.
//!
//! Each is denied unless the channel's namespace allows it for any client
//! (`allow_publish_for_client`...) or for subscribers and this client is one
//! (`allow_publish_for_subscriber`...); anonymous clients need the `_for_anonymous` option too.
//! Development mode (`client.insecure`) allows everything.
//!
//! Where the namespace has `publish_proxy_enabled`, the backend decides publications instead
//! (and may change their data or keep them out of history); an RPC whose method's namespace
//! has `proxy_enabled` is answered by the backend; other RPCs go to the application's hooks.

use crate::codes::{Disconnect, Error};
use crate::config::ChannelOptions;
use crate::engine::{ClientInfo, HistoryQuery, StreamPosition};
use crate::node::channels::{protocol_info, protocol_publication};
use crate::protocol::{
    HistoryRequest, HistoryResult, PresenceRequest, PresenceResult, PresenceStatsRequest,
    PresenceStatsResult, PublishRequest, PublishResult, Reply, RpcRequest, RpcResult, SendRequest,
};

use crate::node::PublishExtras;
use crate::proxy::Refusal;

use super::{Outcome, Session};

/// Which permission family a command needs.
#[derive(Clone, Copy)]
enum Action {
    Publish,
    Presence,
    History,
}

impl Session {
    /// Resolves the channel and checks the namespace's permission for `action`.
    fn permitted(&self, channel: &str, action: Action) -> Result<ChannelOptions, Error> {
        let options = self.node.channel_options(channel)?;
        self.check_permission(channel, &options, action)?;
        Ok(options)
    }

    /// Whether the namespace's options allow `action` in `channel` to this connection.
    fn check_permission(
        &self,
        channel: &str,
        options: &ChannelOptions,
        action: Action,
    ) -> Result<(), Error> {
        // Development mode (`client.insecure`): every channel is open, as in Centrifugo.
        if self.node.config().client.insecure {
            return Ok(());
        }
        let subscribed = self.is_subscribed(channel);
        let anonymous = self.user().is_empty();
        let (for_client, for_subscriber, for_anonymous) = match action {
            Action::Publish => (
                options.allow_publish_for_client,
                options.allow_publish_for_subscriber,
                options.allow_publish_for_anonymous,
            ),
            Action::Presence => (
                options.allow_presence_for_client,
                options.allow_presence_for_subscriber,
                options.allow_presence_for_anonymous,
            ),
            Action::History => (
                options.allow_history_for_client,
                options.allow_history_for_subscriber,
                options.allow_history_for_anonymous,
            ),
        };
        let allowed =
            (for_client || (for_subscriber && subscribed)) && (!anonymous || for_anonymous);
        if allowed {
            Ok(())
        } else {
            Err(Error::PERMISSION_DENIED)
        }
    }

    /// The publish command.
    pub(super) async fn publish(&mut self, request: PublishRequest) -> Result<Outcome, Disconnect> {
        let node = self.node.clone();
        let options = match node.channel_options(&request.channel) {
            Ok(options) => options,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        let mut data = request.data;
        let mut extras = PublishExtras::default();
        if options.publish_proxy_enabled {
            match node
                .proxies()
                .publish(self.caller(), &request.channel, &data)
                .await
            {
                Some(Ok(outcome)) => {
                    data = outcome.data.unwrap_or(data);
                    extras.skip_history = outcome.skip_history;
                }
                Some(Err(Refusal::Error(error))) => return Ok(Outcome::Error(error)),
                Some(Err(Refusal::Disconnect(disconnect))) => return Err(disconnect),
                // The configuration check makes the endpoint present.
                None => return Ok(Outcome::Error(Error::NOT_AVAILABLE)),
            }
        } else if let Err(error) =
            self.check_permission(&request.channel, &options, Action::Publish)
        {
            return Ok(Outcome::Error(error));
        }
        let data = match node
            .callbacks()
            .publishing(&self.handle, self.user(), &request.channel, data)
            .await
        {
            Ok(data) => data,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        let info = ClientInfo {
            user: self.user().to_owned(),
            client: self.handle.client().to_owned(),
            conn_info: self.info.as_deref().cloned(),
            chan_info: self
                .subscriptions
                .get(request.channel.as_str())
                .and_then(|s| s.chan_info().cloned()),
        };
        Ok(
            match node
                .publish_in(&request.channel, &options, data, Some(info), extras)
                .await
            {
                Ok(_) => Outcome::Reply(Box::new(Reply {
                    publish: Some(PublishResult::default()),
                    ..Default::default()
                })),
                Err(error) => Outcome::Error(error),
            },
        )
    }

    /// The presence command.
    pub(super) async fn presence(&mut self, request: PresenceRequest) -> Outcome {
        let options = match self.permitted(&request.channel, Action::Presence) {
            Ok(options) => options,
            Err(error) => return Outcome::Error(error),
        };
        if !options.presence {
            return Outcome::Error(Error::NOT_AVAILABLE);
        }
        match self.node.presence().presence(&request.channel).await {
            Ok(clients) => Outcome::Reply(Box::new(Reply {
                presence: Some(PresenceResult {
                    presence: clients
                        .iter()
                        .map(|(client, info)| (client.clone(), protocol_info(info)))
                        .collect(),
                }),
                ..Default::default()
            })),
            Err(error) => {
                tracing::warn!(channel = %request.channel, "presence failed: {error}");
                Outcome::Error(Error::INTERNAL)
            }
        }
    }

    /// The presence_stats command.
    pub(super) async fn presence_stats(&mut self, request: PresenceStatsRequest) -> Outcome {
        let options = match self.permitted(&request.channel, Action::Presence) {
            Ok(options) => options,
            Err(error) => return Outcome::Error(error),
        };
        if !options.presence {
            return Outcome::Error(Error::NOT_AVAILABLE);
        }
        match self.node.presence().presence_stats(&request.channel).await {
            Ok(stats) => Outcome::Reply(Box::new(Reply {
                presence_stats: Some(PresenceStatsResult {
                    num_clients: stats.num_clients,
                    num_users: stats.num_users,
                }),
                ..Default::default()
            })),
            Err(error) => {
                tracing::warn!(channel = %request.channel, "presence stats failed: {error}");
                Outcome::Error(Error::INTERNAL)
            }
        }
    }

    /// The history command.
    pub(super) async fn history(&mut self, request: HistoryRequest) -> Outcome {
        let options = match self.permitted(&request.channel, Action::History) {
            Ok(options) => options,
            Err(error) => return Outcome::Error(error),
        };
        let max = self.node.config().client.history_max_publication_limit;
        let limit = if request.limit < 0 {
            // A negative limit asks for everything; the server caps it.
            max
        } else {
            (request.limit as usize).min(max)
        };
        let query = HistoryQuery {
            since: request.since.map(|since| StreamPosition {
                offset: since.offset,
                epoch: since.epoch,
            }),
            limit: Some(limit),
            reverse: request.reverse,
        };
        match self
            .node
            .history_in(&request.channel, &options, &query)
            .await
        {
            Ok(page) => Outcome::Reply(Box::new(Reply {
                history: Some(HistoryResult {
                    publications: page.publications.iter().map(protocol_publication).collect(),
                    epoch: page.position.epoch,
                    offset: page.position.offset,
                }),
                ..Default::default()
            })),
            Err(error) => Outcome::Error(error),
        }
    }

    /// The rpc command: answered by the RPC proxy where the method's namespace enables it,
    /// else by the application's callback, or 104 without one.
    pub(super) async fn rpc(&mut self, request: RpcRequest) -> Result<Outcome, Disconnect> {
        let node = self.node.clone();
        let proxied = node
            .config()
            .rpc
            .options(&request.method)
            .is_some_and(|options| options.proxy_enabled);
        let answer = if proxied {
            match node
                .proxies()
                .rpc(self.caller(), &request.method, &request.data)
                .await
            {
                Some(Ok(data)) => Ok(data),
                Some(Err(Refusal::Error(error))) => Err(error),
                Some(Err(Refusal::Disconnect(disconnect))) => return Err(disconnect),
                // The configuration check makes the endpoint present.
                None => Err(Error::NOT_AVAILABLE),
            }
        } else {
            node.callbacks()
                .rpc(&self.handle, self.user(), &request.method, request.data)
                .await
        };
        Ok(match answer {
            Ok(data) => Outcome::Reply(Box::new(Reply {
                rpc: Some(RpcResult { data }),
                ..Default::default()
            })),
            Err(error) => Outcome::Error(error),
        })
    }

    /// The send command: an asynchronous message to the application; no reply.
    pub(super) async fn send(&mut self, request: SendRequest) -> Outcome {
        self.node
            .callbacks()
            .message(&self.handle, self.user(), request.data)
            .await;
        Outcome::Nothing
    }
}
