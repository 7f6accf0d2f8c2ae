//! What the hub sends, and what it does to the session: replies matched to their commands by
//! id (connect, refresh, subscribe, sub_refresh, the program's requests), pushes (publications,
//! join, leave, unsubscribe, disconnect advice...), and the server's pings.
//!
//! Refusals are sorted as centrifuge-js sorts them: a token that expired (109) is fetched again
//! and the command retried; a temporary error is retried after a backoff delay; anything else
//! is final — the client stops (connect) or the subscription ends (subscribe).

use std::time::Duration;

use duplex_hub::protocol::{
    Command, ConnectResult, Publication, Push, Reply, SubRefreshRequest, SubscribeResult,
    UnsubscribeRequest,
};
use tokio::time::Instant;

use crate::codes;
use crate::driver::{reconnect_after, TokenTarget};
use crate::error::{Error, TokenError};
use crate::events::{ErrorKind, Event};
use crate::session::{refresh_delay, End, Pending, Session};
use crate::subscription::{ChannelState, Phase};

/// The hub's error code for an expired token: fetch a new one and retry.
const TOKEN_EXPIRED: u32 = 109;

impl Session<'_> {
    pub(crate) async fn on_reply(&mut self, reply: Reply) -> Option<End> {
        if reply.id == 0 {
            match reply.push {
                Some(push) => return self.on_push(push).await,
                None => {
                    // A server ping (an empty reply).
                    if self.pong {
                        self.queue_pong();
                    }
                    return None;
                }
            }
        }
        let pending = self.pending.remove(&reply.id)?;
        match pending {
            Pending::Connect => self.on_connect_reply(reply).await,
            Pending::Refresh => {
                self.on_refresh_reply(reply).await;
                None
            }
            Pending::Subscribe { channel, .. } => self.on_subscribe_reply(channel, reply).await,
            Pending::SubRefresh { channel } => {
                self.on_sub_refresh_reply(channel, reply).await;
                None
            }
            Pending::Unsubscribe => None,
            Pending::Request(answer) => {
                let result = match reply.error.clone() {
                    Some(error) => Err(Error::from(error)),
                    None => Ok(reply),
                };
                let _ = answer.send(result);
                None
            }
        }
    }

    async fn on_connect_reply(&mut self, reply: Reply) -> Option<End> {
        if let Some(error) = reply.error {
            let can_refetch = self.driver.settings.token_source.is_some();
            if (error.code == TOKEN_EXPIRED && can_refetch) || error.temporary {
                if error.code == TOKEN_EXPIRED {
                    self.driver.token = None;
                }
                let message = format!("{} (code {})", error.message, error.code);
                self.driver.emit_error(ErrorKind::Connect, message).await;
                return Some(End {
                    silent: true,
                    ..End::local(error.code, error.message, true)
                });
            }
            return Some(End::local(error.code, error.message, false));
        }
        let Some(result) = reply.connect else {
            let reason = "connect reply without a result";
            return Some(End::local(codes::BAD_PROTOCOL, reason, true));
        };
        self.connected(result).await;
        None
    }

    async fn connected(&mut self, result: ConnectResult) {
        let now = Instant::now();
        self.connected = true;
        self.driver.backoff.reset();
        if result.ping > 0 {
            let window = std::time::Duration::from_secs(result.ping.into())
                + self.driver.settings.max_ping_delay;
            self.ping_window = Some(window);
            self.alive_until = Some(now + window);
        }
        self.pong = result.pong;
        self.driver.token_expires = result
            .expires
            .then(|| now + Duration::from_secs(result.ttl.into()));
        if result.expires && self.driver.settings.token_source.is_some() {
            self.refresh_at = Some(now + refresh_delay(result.ttl));
        }
        let reconnected = self.driver.was_connected;
        self.driver.was_connected = true;
        self.driver
            .emit(Event::Connected {
                client: result.client,
                version: result.version,
                data: result.data,
                reconnected,
            })
            .await;
        // Server-side subscriptions made on connect: reported, not tracked.
        for (channel, subscribed) in result.subs {
            self.server_side.insert(channel.clone());
            self.emit_subscribed(&channel, subscribed.clone(), subscribed.publications)
                .await;
        }
        let channels: Vec<String> = self.driver.channels.keys().cloned().collect();
        for channel in channels {
            self.start_subscribe(&channel);
        }
        for (command, reply) in std::mem::take(&mut self.driver.queued) {
            self.queue_request(*command, reply);
        }
    }

    async fn on_refresh_reply(&mut self, reply: Reply) {
        let now = Instant::now();
        if let Some(error) = reply.error {
            let message = format!("{} (code {})", error.message, error.code);
            self.driver.emit_error(ErrorKind::Refresh, message).await;
            self.refresh_at = Some(now + self.refresh_backoff.next_delay());
            return;
        }
        self.refresh_backoff.reset();
        let expires = reply.refresh.filter(|result| result.expires);
        self.driver.token_expires = expires
            .as_ref()
            .map(|result| now + Duration::from_secs(result.ttl.into()));
        self.refresh_at = expires.map(|result| now + refresh_delay(result.ttl));
    }

    /// Subscribes `channel` (fetching its token first if it needs one).
    pub(crate) fn start_subscribe(&mut self, channel: &str) {
        let deadline = Instant::now() + self.driver.settings.connect_timeout;
        let Some(state) = self.driver.channels.get_mut(channel) else {
            return;
        };
        if state.needs_token() {
            state.phase = Phase::FetchingToken;
            if let Some(source) = state.options.token_source.clone() {
                self.fetch_token(TokenTarget::Channel(channel.to_owned()), source);
            }
            return;
        }
        state.phase = Phase::Subscribing;
        let command = Command {
            subscribe: Some(state.request(channel)),
            ..Command::default()
        };
        let pending = Pending::Subscribe {
            channel: channel.to_owned(),
            deadline,
        };
        if let Err(e) = self.queue(command, pending) {
            // Only the subscribe data can fail to encode: the program's mistake, final.
            tracing::warn!("subscribe data for {channel} is not JSON: {e}");
            self.driver.channels.remove(channel);
        }
    }

    async fn on_subscribe_reply(&mut self, channel: String, reply: Reply) -> Option<End> {
        let now = Instant::now();
        let Some(state) = self.driver.channels.get_mut(&channel) else {
            return None; // unsubscribed meanwhile
        };
        if let Some(error) = reply.error {
            let can_refetch = state.options.token_source.is_some();
            if (error.code == TOKEN_EXPIRED && can_refetch) || error.temporary {
                if error.code == TOKEN_EXPIRED {
                    state.token = None;
                }
                state.phase = Phase::Idle;
                state.retry_at = Some(now + state.backoff.next_delay());
                let message = format!("{} (code {})", error.message, error.code);
                self.driver
                    .emit_error(ErrorKind::Subscribe { channel }, message)
                    .await;
            } else {
                self.driver.channels.remove(&channel);
                self.driver
                    .emit(Event::Unsubscribed {
                        channel,
                        code: error.code,
                        reason: error.message,
                    })
                    .await;
            }
            return None;
        }
        let Some(result) = reply.subscribe else {
            let reason = "subscribe reply without a result";
            return Some(End::local(codes::BAD_PROTOCOL, reason, true));
        };
        state.phase = Phase::Subscribed;
        state.backoff.reset();
        state.retry_at = None;
        if result.expires && state.options.token_source.is_some() {
            state.refresh_at = Some(now + refresh_delay(result.ttl));
        }
        let fresh = take_position(state, &result);
        self.emit_subscribed(&channel, result, fresh).await;
        None
    }

    async fn emit_subscribed(
        &self,
        channel: &str,
        result: SubscribeResult,
        publications: Vec<Publication>,
    ) {
        self.driver
            .emit(Event::Subscribed {
                channel: channel.to_owned(),
                recoverable: result.recoverable,
                was_recovering: result.was_recovering,
                recovered: result.recovered,
                recovered_publications: publications.len(),
                epoch: result.epoch,
                offset: result.offset,
                data: result.data,
            })
            .await;
        for publication in publications {
            self.emit_publication(channel, publication).await;
        }
    }

    async fn emit_publication(&self, channel: &str, publication: Publication) {
        self.driver
            .emit(Event::Publication {
                channel: channel.to_owned(),
                data: publication.data,
                offset: publication.offset,
                info: publication.info,
                tags: publication.tags,
            })
            .await;
    }

    async fn on_sub_refresh_reply(&mut self, channel: String, reply: Reply) {
        let now = Instant::now();
        let Some(state) = self.driver.channels.get_mut(&channel) else {
            return;
        };
        if let Some(error) = reply.error {
            state.refresh_at = Some(now + state.backoff.next_delay());
            let message = format!("{channel}: {} (code {})", error.message, error.code);
            self.driver.emit_error(ErrorKind::Refresh, message).await;
            return;
        }
        state.refresh_at = reply
            .sub_refresh
            .filter(|result| result.expires)
            .map(|result| now + refresh_delay(result.ttl));
    }

    /// A subscription token arrived: subscribe with it, or refresh with it.
    pub(crate) async fn on_channel_token(
        &mut self,
        channel: String,
        result: Result<String, TokenError>,
    ) {
        let now = Instant::now();
        let Some(state) = self.driver.channels.get_mut(&channel) else {
            return;
        };
        let phase = state.phase;
        match result {
            Ok(token) => {
                state.token = Some(token.clone());
                if phase == Phase::FetchingToken {
                    self.start_subscribe(&channel);
                } else if phase == Phase::Subscribed {
                    let command = Command {
                        sub_refresh: Some(SubRefreshRequest {
                            channel: channel.clone(),
                            token,
                        }),
                        ..Command::default()
                    };
                    let _ = self.queue(command, Pending::SubRefresh { channel });
                }
            }
            Err(TokenError::Unauthorized) => {
                self.driver.channels.remove(&channel);
                if phase == Phase::Subscribed {
                    let command = Command {
                        unsubscribe: Some(UnsubscribeRequest {
                            channel: channel.clone(),
                        }),
                        ..Command::default()
                    };
                    let _ = self.queue(command, Pending::Unsubscribe);
                }
                self.driver
                    .emit(Event::Unsubscribed {
                        channel,
                        code: codes::UNAUTHORIZED,
                        reason: "unauthorized".to_owned(),
                    })
                    .await;
            }
            Err(TokenError::Failed(message)) => {
                let delay = state.backoff.next_delay();
                if phase == Phase::Subscribed {
                    state.refresh_at = Some(now + delay);
                } else {
                    state.phase = Phase::Idle;
                    state.retry_at = Some(now + delay);
                }
                self.driver.emit_error(ErrorKind::Token, message).await;
            }
        }
    }

    /// Whether the program hears about `channel`: it is subscribed, or the hub subscribed it.
    fn follows(&self, channel: &str) -> bool {
        self.driver.channels.contains_key(channel) || self.server_side.contains(channel)
    }

    async fn on_push(&mut self, push: Push) -> Option<End> {
        let channel = push.channel;
        if let Some(publication) = push.r#pub {
            let fresh = match self.driver.channels.get_mut(&channel) {
                Some(state) => state.phase == Phase::Subscribed && state.advance(&publication),
                // A server-side subscription, or one the program just left.
                None => self.server_side.contains(&channel),
            };
            if fresh {
                self.emit_publication(&channel, publication).await;
            }
        } else if let Some(join) = push.join {
            if self.follows(&channel) {
                let info = join.info.unwrap_or_default();
                self.driver.emit(Event::Join { channel, info }).await;
            }
        } else if let Some(leave) = push.leave {
            if self.follows(&channel) {
                let info = leave.info.unwrap_or_default();
                self.driver.emit(Event::Leave { channel, info }).await;
            }
        } else if let Some(unsubscribe) = push.unsubscribe {
            let resubscribe =
                duplex_hub::codes::Unsubscribe::new(unsubscribe.code, "").resubscribe();
            if resubscribe && self.driver.channels.contains_key(&channel) {
                self.start_subscribe(&channel);
            } else if self.driver.channels.remove(&channel).is_some()
                || self.server_side.remove(&channel)
            {
                self.driver
                    .emit(Event::Unsubscribed {
                        channel,
                        code: unsubscribe.code,
                        reason: unsubscribe.reason,
                    })
                    .await;
            }
        } else if let Some(subscribe) = push.subscribe {
            self.server_side.insert(channel.clone());
            let result = SubscribeResult {
                recoverable: subscribe.recoverable,
                epoch: subscribe.epoch,
                offset: subscribe.offset,
                positioned: subscribe.positioned,
                data: subscribe.data,
                ..SubscribeResult::default()
            };
            self.emit_subscribed(&channel, result, Vec::new()).await;
        } else if let Some(message) = push.message {
            self.driver
                .emit(Event::Message { data: message.data })
                .await;
        } else if let Some(disconnect) = push.disconnect {
            let reconnect =
                disconnect.reconnect && reconnect_after(disconnect.code, &disconnect.reason);
            self.advice = Some((disconnect.code, disconnect.reason, reconnect));
        } else if let Some(refresh) = push.refresh {
            let now = Instant::now();
            self.refresh_at = (refresh.expires && self.driver.settings.token_source.is_some())
                .then(|| now + refresh_delay(refresh.ttl));
        }
        None
    }
}

/// Takes the subscribe result's position into the channel's state and returns the recovered
/// publications that are new, oldest first.
fn take_position(state: &mut ChannelState, result: &SubscribeResult) -> Vec<Publication> {
    if !(result.recoverable || result.positioned) {
        state.position = None;
        state.recover = false;
        return result.publications.clone();
    }
    let same_epoch = state
        .position
        .as_ref()
        .is_some_and(|position| position.epoch == result.epoch);
    if !same_epoch {
        state.position = Some(duplex_hub::protocol::StreamPosition {
            offset: 0,
            epoch: result.epoch.clone(),
        });
    }
    let fresh: Vec<Publication> = result
        .publications
        .iter()
        .filter(|publication| state.advance(publication))
        .cloned()
        .collect();
    if let Some(position) = &mut state.position {
        position.offset = position.offset.max(result.offset);
    }
    state.recover = result.recoverable;
    fresh
}
