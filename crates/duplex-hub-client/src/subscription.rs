//! Subscriptions: the options a program subscribes with, the handle it gets back, and the
//! state the client keeps per channel to resubscribe after a reconnect.
//!
//! The position is the heart of it: every publication with an offset moves the channel's
//! `{offset, epoch}` forward, and a resubscribe sends it with `recover: true`, so the hub
//! replies with exactly what was missed. A publication at or below the position (the same one
//! arriving live and recovered) is dropped, so each reaches the program once, in order.

use std::time::Duration;

use bytes::Bytes;
use duplex_hub::protocol::{Publication, StreamPosition, SubscribeRequest};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::client::Client;
use crate::error::{Error, TokenError};
use crate::token::TokenSource;

/// How to subscribe to a channel.
///
/// ```
/// use duplex_hub_client::{SubscriptionOptions, TokenError};
///
/// let options = SubscriptionOptions::new()
///     .join_leave(true)
///     .token_callback(|| async { Ok::<_, TokenError>("eyJ...".to_owned()) });
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct SubscriptionOptions {
    pub(crate) token: Option<String>,
    pub(crate) token_source: Option<TokenSource>,
    pub(crate) since: Option<StreamPosition>,
    pub(crate) join_leave: bool,
    pub(crate) data: Bytes,
}

impl SubscriptionOptions {
    /// No token, no recovery position, no join/leave: what most public channels need.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fixed subscription token, for channels that need one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Where subscription tokens come from: called before each subscribe that needs a new
    /// token and before the current one expires (the client then sends `sub_refresh`).
    /// [`TokenError::Unauthorized`] ends the subscription.
    pub fn token_callback<F, Fut>(mut self, callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        self.token_source = Some(TokenSource::new(callback));
        self
    }

    /// Recover from this position on the first subscribe too (a position the program saved
    /// from an earlier run).
    pub fn since(mut self, offset: u64, epoch: impl Into<String>) -> Self {
        self.since = Some(StreamPosition {
            offset,
            epoch: epoch.into(),
        });
        self
    }

    /// Ask for join and leave events (the namespace must have `join_leave`).
    pub fn join_leave(mut self, join_leave: bool) -> Self {
        self.join_leave = join_leave;
        self
    }

    /// Data for the hub's subscribe handler or proxy (JSON text).
    pub fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.data = data.into();
        self
    }
}

/// A subscription: its channel, and the channel's commands.
///
/// Dropping it does not unsubscribe (events keep coming on the client's stream); call
/// [`Subscription::unsubscribe`].
///
/// ```no_run
/// # async fn run(client: duplex_hub_client::Client) -> Result<(), duplex_hub_client::Error> {
/// let news = client.subscribe("news").await?;
/// news.publish(r#"{"text":"hello"}"#).await?;
/// let history = news.history(10).await?;
/// println!("{} publications, stream at {}", history.publications.len(), history.offset);
/// news.unsubscribe().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Subscription {
    channel: String,
    client: Client,
}

impl Subscription {
    pub(crate) fn new(channel: String, client: Client) -> Subscription {
        Subscription { channel, client }
    }

    /// The channel.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Publishes into the channel; see [`Client::publish`].
    pub async fn publish(&self, data: impl Into<Bytes>) -> Result<(), Error> {
        self.client.publish(&self.channel, data).await
    }

    /// The channel's last `limit` publications, oldest first; see [`Client::history`].
    pub async fn history(&self, limit: i32) -> Result<duplex_hub::protocol::HistoryResult, Error> {
        self.client
            .history(&self.channel, crate::HistoryOptions::last(limit))
            .await
    }

    /// Who is in the channel; see [`Client::presence`].
    pub async fn presence(
        &self,
    ) -> Result<std::collections::BTreeMap<String, duplex_hub::protocol::ClientInfo>, Error> {
        self.client.presence(&self.channel).await
    }

    /// Leaves the channel: no more events from it; an [`Event::Unsubscribed`] with code 0.
    ///
    /// [`Event::Unsubscribed`]: crate::Event::Unsubscribed
    pub async fn unsubscribe(&self) -> Result<(), Error> {
        self.client.unsubscribe(&self.channel).await
    }
}

/// Where a subscription stands on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// To be subscribed once connected (or once its retry time comes).
    Idle,
    /// Its token callback is running.
    FetchingToken,
    /// `subscribe` sent, no reply yet.
    Subscribing,
    /// Active.
    Subscribed,
}

/// What the client keeps per channel across connections.
#[derive(Debug)]
pub(crate) struct ChannelState {
    pub options: SubscriptionOptions,
    pub phase: Phase,
    /// The token for the next subscribe or refresh.
    pub token: Option<String>,
    /// The last position seen: recovery starts after it.
    pub position: Option<StreamPosition>,
    /// Whether to ask for recovery (the stream is recoverable or positioned).
    pub recover: bool,
    /// When to fetch a new token and send `sub_refresh`.
    pub refresh_at: Option<Instant>,
    /// When to try subscribing again after a temporary refusal.
    pub retry_at: Option<Instant>,
    pub backoff: Backoff,
}

impl ChannelState {
    pub fn new(options: SubscriptionOptions, min: Duration, max: Duration) -> ChannelState {
        let recover = options.since.is_some();
        ChannelState {
            token: options.token.clone(),
            position: options.since.clone(),
            recover,
            options,
            phase: Phase::Idle,
            refresh_at: None,
            retry_at: None,
            backoff: Backoff::new(min, max),
        }
    }

    /// Whether a token must be fetched before subscribing.
    pub fn needs_token(&self) -> bool {
        self.token.is_none() && self.options.token_source.is_some()
    }

    /// The subscribe command's request, with the recovery position when there is one.
    pub fn request(&self, channel: &str) -> SubscribeRequest {
        let mut request = SubscribeRequest {
            channel: channel.to_owned(),
            token: self.token.clone().unwrap_or_default(),
            join_leave: self.options.join_leave,
            data: self.options.data.clone(),
            ..SubscribeRequest::default()
        };
        if let (true, Some(position)) = (self.recover, &self.position) {
            request.recover = true;
            request.offset = position.offset;
            request.epoch = position.epoch.clone();
        }
        request
    }

    /// Whether `publication` is new: past the position in the same epoch. Moves the position
    /// to it if so. Publications without an offset (no history) are always new.
    pub fn advance(&mut self, publication: &Publication) -> bool {
        if publication.offset == 0 {
            return true;
        }
        match &mut self.position {
            Some(position) if publication.offset <= position.offset => false,
            Some(position) => {
                position.offset = publication.offset;
                true
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(offset: u64) -> Publication {
        Publication {
            offset,
            ..Publication::default()
        }
    }

    #[test]
    fn duplicates_and_old_publications_are_dropped() {
        let mut state = ChannelState::new(
            SubscriptionOptions::new().since(5, "e"),
            Duration::from_millis(1),
            Duration::from_millis(2),
        );
        assert!(!state.advance(&publication(4)));
        assert!(!state.advance(&publication(5)));
        assert!(state.advance(&publication(6)));
        assert!(!state.advance(&publication(6)));
        assert!(state.advance(&publication(0)), "no history, no position");
        let request = state.request("news");
        assert!(request.recover);
        assert_eq!((request.offset, request.epoch.as_str()), (6, "e"));
    }
}
