//! subscribe, unsubscribe and sub_refresh, and the subscriptions the server makes for a client.
//!
//! A subscription is allowed by a subscription token, by a user-limited channel naming the
//! user (`dialog#42,43`), by the backend where the namespace has `subscribe_proxy_enabled`
//! (the namespace's `allow_subscribe_*` options then do not apply), or by the namespace's
//! `allow_subscribe_for_client`; nothing else. In a namespace with `sub_refresh_proxy_enabled`
//! an expiring subscription is extended by the backend, not by the client's new token.
//!
//! Recovery: the subscriber is registered first, in a recovering state that buffers live
//! publications; then the stream is read from the client's position; then the reply is queued
//! and the buffered publications past the last offset in it follow, under the channel's lock
//! (see `node::channels`). A client gets every publication it missed, once and in order, or
//! `recovered: false` with the current position — never a silent gap.
//!
//! Deltas: a client that asks for `fossil` in a namespace whose `allowed_delta_types` has it
//! gets `delta: true` in the reply, and its payloads in the delta shape (see
//! `node::channels`); recovered publications in the reply are whole.

use std::sync::Arc;

use bytes::Bytes;

use crate::auth::TokenError;
use crate::codes::{Disconnect, Error, Unsubscribe};
use crate::config::{ChannelOptions, DeltaType};
use crate::engine::{ClientInfo, EngineError, HistoryQuery, StreamPosition};
use crate::node::channels::{full_for_delta, protocol_publication, Subscriber};
use crate::protocol::{
    append_encoded, Push, Reply, SubRefreshRequest, SubRefreshResult, Subscribe, SubscribeRequest,
    SubscribeResult, UnsubscribeRequest, UnsubscribeResult,
};
use crate::proxy::{RefreshOutcome, Refusal};

use super::subscriptions::{NewSubscription, Subscription};
use super::{flush_into, unix_now, Outcome, ServerSubscribe, Session};

/// What the client asked of a subscription, beyond the channel.
#[derive(Default)]
struct Wants {
    recover_since: Option<StreamPosition>,
    recoverable: bool,
    positioned: bool,
    join_leave: bool,
    /// The client takes fossil deltas (`delta: "fossil"`).
    delta: bool,
}

/// What a token or a callback granted the subscriber.
#[derive(Default)]
struct Grant {
    chan_info: Option<Bytes>,
    data: Option<Bytes>,
    expires_at: Option<i64>,
}

impl Session {
    /// The subscribe command.
    pub(super) async fn subscribe(
        &mut self,
        id: u32,
        request: SubscribeRequest,
    ) -> Result<Outcome, Disconnect> {
        let channel = request.channel.clone();
        let node = self.node.clone();
        let mut options = match node.channel_options(&channel) {
            Ok(options) => options,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        if self.subscriptions.contains_key(channel.as_str()) {
            return Ok(Outcome::Error(Error::ALREADY_SUBSCRIBED));
        }
        let limit = node.config().client.channel_limit;
        if limit > 0 && self.subscriptions.len() >= limit {
            return Ok(Outcome::Error(Error::LIMIT_EXCEEDED));
        }
        // The application's callback may decide first: deny, or allow what the namespace
        // does not, with channel info and data of its own.
        let decision = match node
            .callbacks()
            .subscribing(&self.handle, self.user(), &channel)
            .await
        {
            Ok(decision) => decision,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        let mut grant = if !request.token.is_empty() {
            match node.verifier().verify_subscribe(&request.token).await {
                Ok(claims)
                    if claims.channel == channel
                        && claims.sub == self.user()
                        && claims
                            .client
                            .as_deref()
                            .is_none_or(|c| c.is_empty() || c == self.handle.client()) =>
                {
                    Grant {
                        expires_at: claims.expires_at(),
                        chan_info: claims.info,
                        data: claims.data,
                    }
                }
                Ok(_) => return Err(Disconnect::INVALID_TOKEN),
                Err(TokenError::Expired) => return Ok(Outcome::Error(Error::TOKEN_EXPIRED)),
                Err(TokenError::Unavailable(_)) => return Ok(Outcome::Error(Error::INTERNAL)),
                Err(_) => return Err(Disconnect::INVALID_TOKEN),
            }
        } else if decision.allow {
            Grant::default()
        } else {
            match node.user_limited(&channel, &options, self.user()) {
                Some(true) => Grant::default(),
                // The backend decides, before development mode opens everything (as in
                // Centrifugo); user-limited channels keep their own rule.
                None if options.subscribe_proxy_enabled => {
                    match node.proxies().subscribe(self.caller(), &request).await {
                        Some(Ok(outcome)) => {
                            outcome.overrides.apply(&mut options);
                            Grant {
                                chan_info: outcome.info,
                                data: outcome.data,
                                expires_at: outcome.expires_at,
                            }
                        }
                        Some(Err(Refusal::Error(error))) => return Ok(Outcome::Error(error)),
                        Some(Err(Refusal::Disconnect(disconnect))) => return Err(disconnect),
                        // The configuration check makes the endpoint present.
                        None => return Ok(Outcome::Error(Error::NOT_AVAILABLE)),
                    }
                }
                limited => {
                    // Development mode (`client.insecure`) opens every channel, as in
                    // Centrifugo.
                    let allowed = node.config().client.insecure
                        || limited.unwrap_or(
                            options.allow_subscribe_for_client
                                && (!self.user().is_empty()
                                    || options.allow_subscribe_for_anonymous),
                        );
                    if !allowed {
                        return Ok(Outcome::Error(Error::PERMISSION_DENIED));
                    }
                    Grant::default()
                }
            }
        };
        grant.chan_info = decision.info.or(grant.chan_info);
        grant.data = decision.data.or(grant.data);
        let wants = Wants {
            recover_since: request.recover.then(|| StreamPosition {
                offset: request.offset,
                epoch: request.epoch.clone(),
            }),
            recoverable: request.recoverable,
            positioned: request.positioned,
            join_leave: request.join_leave,
            delta: request.delta == "fossil",
        };
        let (result, join) = match self
            .join_channel(&channel, &options, grant, wants, false)
            .await
        {
            Ok(joined) => joined,
            Err(error) => return Ok(Outcome::Error(error)),
        };
        let (offset, epoch) = (result.offset, result.epoch.clone());
        self.append_reply(Reply {
            id,
            subscribe: Some(result),
            ..Default::default()
        });
        self.go_live(&channel, offset, &epoch);
        self.announce_join(&channel, join).await;
        Ok(Outcome::Nothing)
    }

    /// Queues the replies so far, then the publications buffered during the recovery;
    /// `offset` and `epoch` are the stream position the reply gave.
    pub(super) fn go_live(&mut self, channel: &str, offset: u64, epoch: &str) {
        let handle = self.handle.clone();
        let mut batch = self.batch.take().map(|b| *b).unwrap_or_default();
        self.node
            .channels()
            .go_live(channel, handle.id(), offset, epoch, |pushes| {
                for push in pushes {
                    append_encoded(handle.encoding(), &mut batch, &push);
                }
                flush_into(&handle, &mut batch)
            });
        if !batch.is_empty() {
            self.batch = Some(Box::new(batch));
        }
    }

    /// Registers the subscriber, keeps presence, publishes the join, reads the stream.
    async fn join_channel(
        &mut self,
        channel: &str,
        options: &ChannelOptions,
        grant: Grant,
        wants: Wants,
        server_side: bool,
    ) -> Result<(SubscribeResult, Option<ClientInfo>), Error> {
        let node = self.node.clone();
        let history = node.stream_options(options).keeps_history();
        let recoverable =
            history && (options.force_recovery || (options.allow_recovery && wants.recoverable));
        let positioned = history
            && (recoverable
                || options.force_positioning
                || (options.allow_positioning && wants.positioned));
        let push_join_leave =
            options.join_leave && (options.force_push_join_leave || wants.join_leave);
        let proxy_refresh = options.sub_refresh_proxy_enabled && node.proxies().has_sub_refresh();
        // Deltas are negotiated, not imposed: an SDK that did not ask, or a namespace that does
        // not allow them, gets payloads as published (and `delta` false in the reply).
        let delta = wants.delta && options.allowed_delta_types.contains(&DeltaType::Fossil);
        let mut subscriber =
            Subscriber::recovering(self.handle.clone(), push_join_leave, options.slow_consumer);
        if delta {
            subscriber = subscriber.with_delta(options.delta_publish);
        }
        let (_, name) = node
            .add_subscriber(channel, subscriber)
            .await
            .map_err(|_| Error::INTERNAL)?;
        let info = ClientInfo {
            user: self.user().to_owned(),
            client: self.handle.client().to_owned(),
            conn_info: self.info.as_deref().cloned(),
            chan_info: grant.chan_info.clone(),
        };
        let mut first_of_user = true;
        if options.presence {
            match node
                .presence()
                .add_presence(channel, &info, node.presence_ttl())
                .await
            {
                Ok(first) => first_of_user = first,
                Err(error) => tracing::warn!(%channel, "presence add failed: {error}"),
            }
        }
        // Published once the reply is queued (see `announce_join`), so that the subscriber's
        // own join follows its subscribe reply.
        let join =
            (options.join_leave && (!options.user_presence || first_of_user)).then_some(info);
        self.subscriptions.insert(
            name,
            Subscription::new(NewSubscription {
                server_side,
                expires_at: grant.expires_at,
                chan_info: grant.chan_info,
                presence: options.presence,
                user_presence: options.user_presence && options.presence,
                join_leave: options.join_leave,
                proxy_refresh,
            }),
        );
        node.metrics().subscribed();

        let mut result = SubscribeResult {
            recoverable,
            positioned,
            data: grant.data.unwrap_or_default(),
            was_recovering: wants.recover_since.is_some(),
            delta,
            ..Default::default()
        };
        // A subscription the backend refreshes is not the client's to refresh.
        if let Some(at) = grant.expires_at.filter(|_| !proxy_refresh) {
            result.expires = true;
            result.ttl = (at - unix_now()).clamp(0, u32::MAX as i64) as u32;
        }
        if positioned {
            let stream = node.stream_options(options);
            let limit = node.config().client.recovery_max_publication_limit;
            let recovered = match (&wants.recover_since, recoverable) {
                (Some(since), true) => {
                    let query = HistoryQuery {
                        since: Some(since.clone()),
                        limit: Some(limit + 1),
                        reverse: false,
                    };
                    match node.subscriber_history(channel, &query, &stream).await {
                        Ok(page) if page.publications.len() <= limit => {
                            // Whole, in the shape a delta subscriber's SDK decodes.
                            let encoding = self.handle.encoding();
                            result.publications = if delta {
                                page.publications
                                    .iter()
                                    .map(|p| full_for_delta(encoding, p))
                                    .collect()
                            } else {
                                page.publications.iter().map(protocol_publication).collect()
                            };
                            result.recovered = true;
                            Some(page.position)
                        }
                        Ok(page) => Some(page.position),
                        Err(EngineError::UnrecoverablePosition) => None,
                        Err(error) => {
                            tracing::warn!(%channel, "history failed: {error}");
                            None
                        }
                    }
                }
                _ => None,
            };
            let position = match recovered {
                Some(position) => position,
                None => {
                    let query = HistoryQuery {
                        since: None,
                        limit: Some(0),
                        reverse: false,
                    };
                    match node.subscriber_history(channel, &query, &stream).await {
                        Ok(page) => page.position,
                        Err(error) => {
                            tracing::warn!(%channel, "stream position failed: {error}");
                            // Never subscribed as far as the client knows: nothing to report.
                            self.leave_channel(channel, None).await;
                            return Err(Error::INTERNAL);
                        }
                    }
                }
            };
            result.offset = position.offset;
            result.epoch = position.epoch;
        }
        if result.was_recovering {
            node.metrics().recovery(result.recovered);
        }
        Ok((result, join))
    }

    /// Publishes a subscriber's join, after its reply.
    pub(super) async fn announce_join(&self, channel: &str, join: Option<ClientInfo>) {
        if let Some(info) = join {
            if let Err(error) = self.node.broker().publish_join(channel, &info).await {
                tracing::warn!(%channel, "join failed: {error}");
            }
        }
    }

    /// A server-side subscription at connect time; the caller queues the connect reply and
    /// then lets the subscription go live.
    pub(super) async fn subscribe_server_side_prepare(
        &mut self,
        request: &ServerSubscribe,
    ) -> Result<(SubscribeResult, Option<ClientInfo>), Error> {
        let options = self.node.channel_options(&request.channel)?;
        if self.subscriptions.contains_key(request.channel.as_str()) {
            return Err(Error::ALREADY_SUBSCRIBED);
        }
        let grant = Grant {
            chan_info: request.info.clone(),
            data: request.data.clone(),
            expires_at: None,
        };
        let wants = Wants {
            recover_since: request.recover_since.clone(),
            recoverable: true,
            positioned: true,
            join_leave: false,
            delta: false,
        };
        self.join_channel(&request.channel, &options, grant, wants, true)
            .await
    }

    /// The server API's subscribe for a connected client: a subscribe push, then live.
    pub(super) async fn server_subscribe(&mut self, request: ServerSubscribe) {
        let channel = request.channel.clone();
        let (result, join) = match self.subscribe_server_side_prepare(&request).await {
            Ok(joined) => joined,
            Err(error) => {
                tracing::debug!(%channel, "server-side subscribe refused: {error}");
                return;
            }
        };
        let (offset, epoch) = (result.offset, result.epoch.clone());
        self.append_reply(Reply {
            push: Some(Push {
                channel: channel.clone(),
                subscribe: Some(Subscribe {
                    recoverable: result.recoverable,
                    epoch: result.epoch,
                    offset: result.offset,
                    positioned: result.positioned,
                    data: result.data,
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        self.go_live(&channel, offset, &epoch);
        self.announce_join(&channel, join).await;
    }

    /// The server API's unsubscribe: an unsubscribe push.
    pub(super) async fn server_unsubscribe(&mut self, channel: &str, code: Unsubscribe) {
        if self.leave_channel(channel, Some(code.clone())).await {
            self.push_unsubscribe(channel, code);
        }
    }

    fn push_unsubscribe(&mut self, channel: &str, code: Unsubscribe) {
        self.append_reply(Reply {
            push: Some(Push {
                channel: channel.to_owned(),
                unsubscribe: Some(crate::protocol::Unsubscribe {
                    code: code.code,
                    reason: code.reason.to_string(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }

    /// A subscription whose token expired: unsubscribed with the "expired" code, after which
    /// the SDK subscribes again with a fresh token.
    pub(super) async fn expire_subscription(&mut self, channel: &str) {
        if self
            .leave_channel(channel, Some(Unsubscribe::EXPIRED))
            .await
        {
            self.push_unsubscribe(channel, Unsubscribe::EXPIRED);
            self.flush_batch();
        }
    }

    /// A subscription reached its expiry (and grace): the sub_refresh proxy may extend it;
    /// without one it ends.
    pub(super) async fn subscription_expired(&mut self, channel: &str) {
        let proxied = self
            .subscriptions
            .get(channel)
            .is_some_and(|s| s.proxy_refresh);
        if proxied {
            let node = self.node.clone();
            if let Some(RefreshOutcome::Extended {
                expires_at, info, ..
            }) = node.proxies().sub_refresh(self.caller(), channel).await
            {
                // An expiry already past would have the timer ask the backend again at once.
                if expires_at.is_none_or(|at| at > unix_now()) {
                    if let Some(subscription) = self.subscriptions.get_mut(channel) {
                        subscription.set_expires_at(expires_at);
                        if let Some(info) = info {
                            subscription.set_chan_info(info);
                        }
                    }
                    return;
                }
            }
        }
        self.expire_subscription(channel).await;
    }

    /// The unsubscribe command.
    pub(super) async fn unsubscribe(&mut self, request: UnsubscribeRequest) -> Outcome {
        // A subscription the server made is the server's to end.
        let server_side = self
            .subscriptions
            .get(request.channel.as_str())
            .is_some_and(|s| s.server_side);
        if !server_side {
            self.leave_channel(&request.channel, Some(Unsubscribe::CLIENT))
                .await;
        }
        Outcome::Reply(Box::new(Reply {
            unsubscribe: Some(UnsubscribeResult {}),
            ..Default::default()
        }))
    }

    /// Removes a subscription: the fan-out entry, presence, the leave, and the application's
    /// unsubscribe event with `why` (none for a subscription the client never saw made).
    /// False if there was none.
    pub(super) async fn leave_channel(&mut self, channel: &str, why: Option<Unsubscribe>) -> bool {
        let Some(mut subscription) = self.subscriptions.remove(channel) else {
            return false;
        };

        let node = self.node.clone();
        if node.channels().remove(channel, self.handle.id()) {
            if let Err(error) = node.broker().unsubscribe(channel).await {
                tracing::warn!(%channel, "broker unsubscribe failed: {error}");
            }
        }
        node.metrics().unsubscribed();
        let mut last_of_user = true;
        if subscription.presence {
            match node
                .presence()
                .remove_presence(channel, self.handle.client(), self.user())
                .await
            {
                Ok(last) => last_of_user = last,
                Err(error) => tracing::warn!(%channel, "presence remove failed: {error}"),
            }
        }
        // After presence: an application that looks when the event arrives sees them gone.
        if let Some(why) = why {
            self.report_unsubscribe(channel, subscription.chan_info(), &why)
                .await;
        }
        if subscription.join_leave && (!subscription.user_presence || last_of_user) {
            let info = ClientInfo {
                user: self.user().to_owned(),
                client: self.handle.client().to_owned(),
                conn_info: self.info.as_deref().cloned(),
                chan_info: subscription.take_chan_info(),
            };
            if let Err(error) = node.broker().publish_leave(channel, &info).await {
                tracing::warn!(%channel, "leave failed: {error}");
            }
        }
        true
    }

    /// Every subscription goes when the connection does.
    pub(super) async fn leave_all(&mut self) {
        let channels: Vec<Arc<str>> = self.subscriptions.keys().cloned().collect();
        for channel in channels {
            self.leave_channel(&channel, Some(Unsubscribe::DISCONNECT))
                .await;
        }
    }

    /// The sub_refresh command: a new subscription token extends a subscription.
    pub(super) async fn sub_refresh(
        &mut self,
        request: SubRefreshRequest,
    ) -> Result<Outcome, Disconnect> {
        if !self.subscriptions.contains_key(request.channel.as_str()) {
            return Ok(Outcome::Error(Error::PERMISSION_DENIED));
        }
        let claims = match self.node.verifier().verify_subscribe(&request.token).await {
            Ok(claims) => claims,
            Err(TokenError::Expired) => return Ok(Outcome::Error(Error::TOKEN_EXPIRED)),
            Err(TokenError::Unavailable(_)) => return Ok(Outcome::Error(Error::INTERNAL)),
            Err(_) => return Err(Disconnect::INVALID_TOKEN),
        };
        if claims.channel != request.channel || claims.sub != self.user() {
            return Err(Disconnect::INVALID_TOKEN);
        }
        let expires_at = claims.expires_at();
        if let Some(subscription) = self.subscriptions.get_mut(request.channel.as_str()) {
            subscription.set_expires_at(expires_at);
        }
        let ttl = expires_at.map(|at| (at - unix_now()).clamp(0, u32::MAX as i64) as u32);
        Ok(Outcome::Reply(Box::new(Reply {
            sub_refresh: Some(SubRefreshResult {
                expires: ttl.is_some(),
                ttl: ttl.unwrap_or(0),
            }),
            ..Default::default()
        })))
    }

    /// Whether this connection is subscribed to `channel`.
    pub(super) fn is_subscribed(&self, channel: &str) -> bool {
        self.subscriptions.contains_key(channel)
    }
}
